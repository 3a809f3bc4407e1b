"""The home tests use the report tests' bureau (the office leads 深化理论学习, the school co-operates), their
signed-in browsers and their clock."""

from tests.reports.conftest import browser, clock, loop

__all__ = ["browser", "clock", "loop"]
