"""The same clock and year 2030 as the assessment tests (tests/assessments/world.py)."""

from tests.assessments.conftest import login_as, world

__all__ = ["login_as", "world"]
