"""Working days on China's official calendar: holidays off, 调休 make-up workdays on.

Each year's schedule comes from Luoshi's `holiday_years` table, which the platform operator fills from the State
Council's notice (packages publish it months later), and for a year the table lacks, from the `chinese-calendar`
package when it knows the year (2004–2026 in 1.11.0). This module keeps the table in memory, so the rules stay plain
functions; `backend.holidays.service.load_calendar` refreshes it.
A year nobody has entered yet counts Monday to Friday only, and `weekends_only_note` says so wherever a figure
depends on it."""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

from backend.i18n import _


@dataclass(frozen=True)
class KnownYear:
    days_off: frozenset[date]
    workdays: frozenset[date]
    notice: str = ""


# From 1 November the operator is reminded that next year's schedule is still missing.
WARN_FROM_MONTH = 11
_years: dict[int, KnownYear] = {}
_days_off: frozenset[date] = frozenset()
_workdays: frozenset[date] = frozenset()


def use_years(years: dict[int, KnownYear]) -> None:
    """Replaces the in-memory schedule (the table's rows)."""
    global _years, _days_off, _workdays
    _years = dict(years)
    _days_off = frozenset(day for known in years.values() for day in known.days_off)
    _workdays = frozenset(day for known in years.values() for day in known.workdays)


def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def package_year(year: int) -> KnownYear | None:
    """The year as the chinese-calendar package has it, or None when it does not know the year."""
    if not _package_knows(year):
        return None
    from chinese_calendar import constants

    return KnownYear(frozenset(day for day in constants.holidays if day.year == year),
                     frozenset(day for day in constants.workdays if day.year == year), "chinese-calendar")


def is_known(year: int) -> bool:
    """Whether the year's official schedule is known (entered, or in the package when the table lacks it)."""
    return year in _years or _package_knows(year)


def is_workday(day: date) -> bool:
    if day.year in _years:
        if day in _workdays:
            return True
        if day in _days_off:
            return False
        return day.weekday() < 5
    return _package_workday(day)


@lru_cache(maxsize=4096)
def _package_workday(day: date) -> bool:
    """The package's answer (the sweeps ask about the same thousand days every half hour)."""
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


def unknown_years(*days: date) -> list[int]:
    """The years between the earliest and the latest of `days` whose schedule is not known."""
    if not days:
        return []
    return [year for year in range(min(days).year, max(days).year + 1) if not is_known(year)]


def weekends_only_note(*days: date) -> str:
    """Said beside a working-day figure that spans a year whose holidays are unknown: it counts weekends only."""
    years = unknown_years(*days)
    if not years:
        return ""
    return _("%(years)s年法定节假日安排尚未录入，工作日暂按周一至周五计算", years="、".join(map(str, years)))


def missing_year_warning(today: date) -> str:
    """For the operator: the year (this one, or from 1 November the next) whose schedule is still unknown."""
    for year in (today.year, today.year + 1):
        if year == today.year + 1 and today.month < WARN_FROM_MONTH:
            break
        if not is_known(year):
            return _("%(year)s年的法定节假日安排尚未录入：国务院办公厅的通知发布后，"
                     "请在“节假日安排”中录入放假和调休上班日期。"
                     "录入前，该年的工作日只按周一至周五计算，节假日也会被当作工作日。", year=year)
    return ""
