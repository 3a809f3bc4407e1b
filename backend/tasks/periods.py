"""Report periods, a rule of a task's ReportFrequency: `2026-11` (monthly), `2026-Q4` (quarterly), `once`; when
each is due; how it is shown."""

import calendar
import re
from datetime import date

from backend.i18n import _
from backend.tasks.models import ReportFrequency

ONCE = "once"
MONTHLY_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUARTERLY_RE = re.compile(r"^(\d{4})-Q([1-4])$")


def current_period(frequency: ReportFrequency | str, today: date) -> str:
    """The period a report filed today belongs to."""
    frequency = ReportFrequency(frequency)
    if frequency == ReportFrequency.monthly:
        return f"{today.year}-{today.month:02d}"
    if frequency == ReportFrequency.quarterly:
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    return ONCE


def _report_day_in(year: int, month: int, report_day: int) -> date:
    """The bureau's report day in that month, clamped to the month's end (the 31st is the 30th in November)."""
    return date(year, month, min(max(report_day, 1), calendar.monthrange(year, month)[1]))


def due_on(period: str, report_day: int, *, deadline: date | None = None) -> date:
    """Monthly: that month's report day; quarterly: the report day of the quarter's last month; once: the task's
    deadline (which must then be given)."""
    if match := MONTHLY_RE.match(period):
        return _report_day_in(int(match.group(1)), int(match.group(2)), report_day)
    if match := QUARTERLY_RE.match(period):
        return _report_day_in(int(match.group(1)), int(match.group(2)) * 3, report_day)
    if period == ONCE:
        if deadline is None:
            raise ValueError("a one-off report is due on the task's deadline: pass deadline=")
        return deadline
    raise ValueError(f"not a report period: {period!r}")


def is_period_of(frequency: ReportFrequency | str, period: str) -> bool:
    frequency = ReportFrequency(frequency)
    if frequency == ReportFrequency.monthly:
        return bool(MONTHLY_RE.match(period))
    if frequency == ReportFrequency.quarterly:
        return bool(QUARTERLY_RE.match(period))
    return period == ONCE


def period_year(period: str) -> int | None:
    match = MONTHLY_RE.match(period) or QUARTERLY_RE.match(period)
    return int(match.group(1)) if match else None


def period_label(period: str) -> str:
    """2026-11 → 2026年11月; 2026-Q4 → 2026年第4季度; once → 一次性报送; a completion request's date as is."""
    if match := MONTHLY_RE.match(period):
        return _("%(y)s年%(m)s月", y=match.group(1), m=int(match.group(2)))
    if match := QUARTERLY_RE.match(period):
        return _("%(y)s年第%(q)s季度", y=match.group(1), q=match.group(2))
    if period == ONCE:
        return _("一次性报送")
    return period


def no_change_label(frequency: ReportFrequency | str) -> str:
    """The one-tap button's words: 本月 / 本季度 / 本期."""
    frequency = ReportFrequency(frequency)
    if frequency == ReportFrequency.monthly:
        return _("本月无新进展")
    if frequency == ReportFrequency.quarterly:
        return _("本季度无新进展")
    return _("本期无新进展")
