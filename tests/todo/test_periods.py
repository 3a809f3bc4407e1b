"""The periods the home counts with: days left, and the latest period whose report day has passed."""

from datetime import date

import pytest

from backend.tasks.models import ReportFrequency
from backend.todo.service import _last_due_period, days_left_note


@pytest.mark.parametrize(("frequency", "today", "expected"), [
    (ReportFrequency.monthly, date(2027, 1, 10), ("2026-12", date(2026, 12, 25))),  # January: last December
    (ReportFrequency.monthly, date(2027, 1, 25), ("2026-12", date(2026, 12, 25))),  # the day itself is not late
    (ReportFrequency.monthly, date(2027, 1, 26), ("2027-01", date(2027, 1, 25))),
    (ReportFrequency.quarterly, date(2027, 2, 1), ("2026-Q4", date(2026, 12, 25))),
    (ReportFrequency.quarterly, date(2027, 3, 26), ("2027-Q1", date(2027, 3, 25))),
])
def test_last_due_period(frequency, today, expected):
    assert _last_due_period(frequency, today, 25) == expected


def test_days_left_note():
    today = date(2026, 11, 10)
    assert days_left_note(date(2026, 11, 25), today) == ("还剩 15 天（2026-11-25 截止）", False)
    assert days_left_note(date(2026, 11, 12), today)[1] is True
    assert days_left_note(today, today) == ("今天截止", True)
    assert days_left_note(date(2026, 11, 8), today) == ("已过报送日 2 天", True)
