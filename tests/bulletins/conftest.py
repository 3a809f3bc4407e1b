"""Bulletin tests: a small bureau taken through three months of reports (see scenario.py), with the clock moved by
tests/support/fixtures.py's `clock`."""

from tests.reports.conftest import browser

__all__ = ["browser"]
