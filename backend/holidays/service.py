"""The platform operator keeps the national holiday schedule: each year's days off and make-up working days, typed
from the State Council's notice with its number (a year entered overrides the chinese-calendar package's). Every
process reads the table into `backend.core.calendar`."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.core import calendar, clock
from backend.core.actor import Operator
from backend.core.text import check_length
from backend.errors import InvalidInput
from backend.holidays.models import HolidayYear
from backend.i18n import _

# 2027-02-15, 2027年2月15日 or 2月15日 (the form's year), alone or as a range: …~2027-02-21, …至21日, …至2月21日.
_RANGE = re.compile(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?(?:\s*(?:~|～|至|-{1,2}|—)\s*"
                    r"(?:(\d{4})[-/.年])?(?:(\d{1,2})[-/.月])?(\d{1,2})日?)?$")
# What the notice writes beside a date and the form can drop: （周五）, (星期六), 放假, 上班.
_ASIDES = re.compile(r"[（(][^）)]*[）)]|放假|上班|调休|\s+")


async def load_calendar(session: AsyncSession) -> None:
    """Reads every year of the table into the in-memory calendar the rules use."""
    calendar.use_years({row.year: _known(row) for row in (await session.exec(select(HolidayYear))).all()})


def _known(row: HolidayYear) -> calendar.KnownYear:
    return calendar.KnownYear(frozenset(row.days_off), frozenset(row.workdays), row.notice)


@dataclass
class YearView:
    """A year as the operator's page lists it: entered (with its notice), from the package, or unknown."""

    year: int
    entered: HolidayYear | None
    known: calendar.KnownYear | None


def parse_days(text: str, *, year: int, label: str, field: str) -> list[date]:
    """Dates one per line or separated by commas, as ISO dates or as the notice writes them (2月15日（周一）至21日);
    a range as 2027-02-15~2027-02-21 (or 至). Each within the year or its neighbouring weeks (a make-up day can fall
    at the end of the year before)."""
    days: set[date] = set()
    for written in re.split(r"[\n,，、;；]", text.strip()):
        part = _ASIDES.sub("", written)
        if not part:
            continue
        match = _RANGE.match(part)
        if not match:
            raise InvalidInput(_("%(label)s中“%(part)s”不是日期，请写成 2027-01-01 或 1月1日，"
                                 "连续几天写成 2027-02-15~2027-02-21 或 2月15日至21日。",
                                 label=label, part=written.strip()), field=field)
        y, m, d, y2, m2, d2 = match.groups()
        y = y or str(year)
        try:
            start = date(int(y), int(m), int(d))
            end = date(int(y2 or y), int(m2 or m), int(d2)) if d2 else start
        except ValueError:
            raise InvalidInput(_("%(label)s中“%(part)s”不是有效的日期。", label=label, part=written.strip()),
                               field=field) from None
        if end < start or (end - start).days > 31:
            raise InvalidInput(_("%(label)s中“%(part)s”的起止日期不对。", label=label, part=written.strip()),
                               field=field)
        if start < date(year - 1, 12, 1) or end > date(year + 1, 1, 31):
            raise InvalidInput(_("%(label)s中“%(part)s”不在%(year)s年内。", label=label, part=written.strip(),
                                 year=year), field=field)
        days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    return sorted(days)


def as_ranges(days: list[date]) -> str:
    """The stored days written back for the form, consecutive ones as a range: 2027-02-06~2027-02-14."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] + timedelta(days=1) == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    return "\n".join(run[0].isoformat() if len(run) == 1 else f"{run[0].isoformat()}~{run[-1].isoformat()}"
                     for run in runs)


@dataclass
class CalendarPage:
    years: list[YearView]  # newest first
    next_year: int
    form: dict[str, str]  # the form's values: the year asked (or next year), filled with what was entered
    saved: HolidayYear | None  # the year just saved, to confirm


async def calendar_page(
    session: AsyncSession, operator: Operator, *, today: date, year: int | None = None, saved: int | None = None,
) -> CalendarPage:
    """The years entered from two years back, and last, this and next year even when nobody entered them (from the
    package, or unknown); the form for `year` (next year by default), filled with what was entered."""
    rows = {row.year: row for row in (await session.exec(
        select(HolidayYear).where(col(HolidayYear.year) >= today.year - 2))).all()}
    views = []
    for number in sorted(set(rows) | {today.year - 1, today.year, today.year + 1}, reverse=True):
        row = rows.get(number)
        views.append(YearView(number, row, _known(row) if row else calendar.package_year(number)))
    asked = year or today.year + 1
    row = await session.get(HolidayYear, asked)
    form = ({"year": str(asked), "notice": row.notice, "days_off": as_ranges(row.days_off),
             "workdays": as_ranges(row.workdays)} if row else {"year": str(asked)})
    return CalendarPage(views, today.year + 1, form, await session.get(HolidayYear, saved) if saved else None)


async def save_year(
    session: AsyncSession, operator: Operator, *, year: str, notice: str, days_off: str, workdays: str,
) -> HolidayYear:
    """Enters (or corrects) a year's schedule from the official notice; the rules use it at once in this process
    and within minutes everywhere else."""
    try:
        number = int(year.strip())
    except ValueError:
        raise InvalidInput(_("请填写年份，例如 2027。"), field="year") from None
    if not 2000 <= number <= 2100:
        raise InvalidInput(_("年份应在 2000 到 2100 之间。"), field="year")
    notice = notice.strip()
    if not notice:
        raise InvalidInput(_("请填写通知文号，例如 国办发明电〔2026〕7号。"), field="notice")
    check_length(notice, limit=100, label=_("通知文号"), field="notice")
    off = parse_days(days_off, year=number, label=_("放假日期"), field="days_off")
    if not off:
        raise InvalidInput(_("请填写放假日期（通知中各节日的放假起止日期）。"), field="days_off")
    on = parse_days(workdays, year=number, label=_("调休上班日期"), field="workdays")
    both = sorted(set(off) & set(on))
    if both:
        raise InvalidInput(_("%(day)s 既写在放假日期中又写在调休上班日期中。", day=both[0].isoformat()),
                           field="workdays")
    weekdays = [day for day in on if day.weekday() < 5]
    if weekdays:
        raise InvalidInput(_("%(day)s 是周一至周五，本来就上班；调休上班日只填周六或周日。",
                             day=weekdays[0].isoformat()), field="workdays")
    row = await session.get(HolidayYear, number)
    if row is None:
        row = HolidayYear(year=number)
        session.add(row)
    row.notice, row.days_off, row.workdays = notice, off, on
    row.updated_at, row.updated_by = clock.now(), operator.user_id
    await session.flush()
    await record(session, operator, "calendar.update", object_type="holiday_year", object_id=number,
                 summary=_("录入%(year)s年法定节假日安排（%(notice)s）", year=number, notice=notice),
                 details={"days_off": [d.isoformat() for d in off], "workdays": [d.isoformat() for d in on]})
    await load_calendar(session)
    return row
