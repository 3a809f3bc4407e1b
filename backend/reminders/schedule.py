"""When rules fire, in the bureau's own time: working-day windows, overdue cut-offs and quiet hours.

A rule "T-k working days" fires on a working day for the deadlines in [k-th working day after today, (k+1)-th):
consecutive working days tile the calendar with these windows, so every deadline (a Sunday one too) is reminded
exactly once per rule, and nothing fires on a day off.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from backend.core.calendar import add_workdays, is_workday, workdays_between


@dataclass(frozen=True)
class Window:
    offset: int
    start: date  # inclusive
    end: date  # exclusive


def windows(today: date, offsets: list[int]) -> list[Window]:
    """The deadline windows each offset covers today; none on a day off."""
    if not is_workday(today):
        return []
    return [Window(k, today if k == 0 else add_workdays(today, k), add_workdays(today, k + 1))
            for k in sorted(set(offsets)) if k >= 0]


def overdue_cutoff(today: date, workdays: int) -> date:
    """The latest deadline that is at least `workdays` working days past today (counted as in the lights)."""
    day = today - timedelta(days=1)
    while workdays_between(day, today) < workdays:
        day -= timedelta(days=1)
    return day


