"""The home tests use the report tests' bureau (the office leads 深化理论学习, the school co-operates), their
signed-in browsers (the clock is tests/support/fixtures.py's `clock`)."""

from tests.reports.conftest import browser, loop

__all__ = ["browser", "loop"]
