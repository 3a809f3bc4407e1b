"""Report periods and their due dates."""

from datetime import date

import pytest

from backend.tasks.models import ReportFrequency
from backend.tasks.periods import current_period, due_on, is_period_of, no_change_label, period_label


@pytest.mark.parametrize(("frequency", "today", "period"), [
    ("monthly", date(2026, 11, 23), "2026-11"),
    ("monthly", date(2026, 1, 1), "2026-01"),
    ("quarterly", date(2026, 11, 23), "2026-Q4"),
    ("quarterly", date(2026, 3, 31), "2026-Q1"),
    ("quarterly", date(2026, 4, 1), "2026-Q2"),
    ("once", date(2026, 11, 23), "once"),
])
def test_current_period(frequency, today, period):
    assert current_period(ReportFrequency(frequency), today) == period
    assert is_period_of(frequency, period)


@pytest.mark.parametrize(("period", "report_day", "due"), [
    ("2026-11", 25, date(2026, 11, 25)),
    ("2026-11", 31, date(2026, 11, 30)),  # clamped to the month's end
    ("2026-02", 30, date(2026, 2, 28)),
    ("2028-02", 30, date(2028, 2, 29)),  # leap year
    ("2026-Q4", 25, date(2026, 12, 25)),
    ("2026-Q1", 31, date(2026, 3, 31)),
    ("2026-Q2", 31, date(2026, 6, 30)),
])
def test_due_on(period, report_day, due):
    assert due_on(period, report_day) == due


def test_once_is_due_on_the_deadline():
    assert due_on("once", 25, deadline=date(2026, 6, 30)) == date(2026, 6, 30)
    with pytest.raises(ValueError, match="deadline"):
        due_on("once", 25)


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "26-11", "", "2026-11-01", "once!"])
def test_not_a_period(period):
    with pytest.raises(ValueError):
        due_on(period, 25)
    assert not any(is_period_of(f, period) for f in ReportFrequency)


def test_frequency_decides_which_periods_fit():
    assert is_period_of("monthly", "2026-11") and not is_period_of("monthly", "2026-Q4")
    assert is_period_of("quarterly", "2026-Q4") and not is_period_of("quarterly", "2026-11")
    assert is_period_of("once", "once") and not is_period_of("once", "2026-11")


def test_labels():
    assert period_label("2026-09") == "2026年9月"
    assert period_label("2026-Q4") == "2026年第4季度"
    assert period_label("once") == "一次性报送"
    assert no_change_label("monthly") == "本月无新进展"
    assert no_change_label("quarterly") == "本季度无新进展"
