"""Working days on China's official calendar (the `chinese-calendar` package): holidays off, 调休 make-up
workdays on. For a year the package does not know yet, Monday to Friday stands in until it is updated."""

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar


@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(day: date, count: int) -> date:
    """The date `count` working days after (or, negative, before) `day`."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if is_workday(day):
            remaining -= 1
    return day


def workdays_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (negative when `end` is earlier)."""
    if end < start:
        return -workdays_between(end, start)
    return sum(1 for offset in range(1, (end - start).days + 1) if is_workday(start + timedelta(days=offset)))
