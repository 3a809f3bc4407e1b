"""Bulletin tests: a small bureau taken through three months of reports (see scenario.py), with the reports'
clock moved like tests/reports does."""

from tests.reports.conftest import browser, clock

__all__ = ["browser", "clock"]
