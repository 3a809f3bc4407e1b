"""A 完成时限 cell → (text, date, flags): date cells, Excel serial numbers and Chinese text."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from backend.i18n import _

from ..parsing.deadlines import find_deadlines, find_recurrence
from ..parsing.lines import cn_to_int
from ..parsing.script import shadow
from .text import cell_text

_LONG_TERM = re.compile(r"长期|持续|常态|常年|贯穿全年|经常性|不定期|动态|随时|适时")
_FULL_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*(?:[.\-/年]|\s)\s*(\d{1,2})\s*(?:[.\-/月]|\s)\s*(\d{1,2})(?!\d)\s*[日号]?"
)
_YEAR_MONTH = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[.\-/]\s*(\d{1,2})(?![\d.\-/])")
_MONTH_DAY = re.compile(r"(?<![\d.])(\d{1,2}|十[一二]|[一二三四五六七八九十])\s*月\s*(\d{1,2})\s*[日号]")
_MD_NUMERIC = re.compile(r"(?<![\d.\-/])(\d{1,2})\s*[./]\s*(\d{1,2})(?![\d.\-/%])")
_BARE_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年\s*(?:度\s*)?(?:内|前|底前|完成|全年)?\s*$")
_WHOLE_YEAR = re.compile(r"全年|年度内|本年度")
_BARE_MONTH = re.compile(
    r"(?:(?<!\d)((?:19|20)\d{2})\s*年\s*)?(?<![\d.])(\d{1,2}|十[一二]|[一二三四五六七八九十])\s*月\s*份?(?!\s*\d|\s*[底末上中下前])"
)


def _last_day(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _fmt(d: date) -> str:
    return _("%(year)s年%(month)s月%(day)s日", year=d.year, month=d.month, day=d.day)


def _excel_serial(n: float) -> date | None:
    if 20000 <= n <= 80000:
        return (datetime(1899, 12, 30) + timedelta(days=int(n))).date()
    return None


def _month_only(number_format: str) -> bool:
    """True for date formats without a day (yyyy年m月, mmm-yy): the cell means "within that month"."""
    fmt = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", number_format or "").lower()
    return "m" in fmt and "y" in fmt and "d" not in fmt and "h" not in fmt


Deadline = tuple[str, date | None, list[str]]  # (deadline_text, deadline, flags)


def parse_deadline(value: Any, year: int | None, number_format: str = "") -> tuple[str, date | None, list[str]]:
    """(deadline_text, deadline, flags) for a 完成时限 cell: a date cell, a serial number or Chinese text."""
    if value is None or cell_text(value) == "":
        return "", None, [_("未填写完成时限")]
    if isinstance(value, datetime) and _month_only(number_format):
        return f"{value.year}年{value.month}月", _last_day(value.year, value.month), []
    if isinstance(value, datetime):
        return value.date().isoformat(), value.date(), []
    if isinstance(value, date):
        return value.isoformat(), value, []
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_number(value, year)
    return _from_text(cell_text(value), year)


def _decimal_month(value: float) -> date | None:
    """2024.06 typed as a number reads 2024.6: the end of that month, if the fraction is a month."""
    y, frac = int(value), round((value - int(value)) * 100)
    m = frac // 10 if frac % 10 == 0 and frac >= 10 else frac
    return _last_day(y, m) if 1 <= m <= 12 else None


def _from_number(value: float, year: int | None) -> Deadline:
    """A number in the cell: an Excel date serial, a bare month of the plan's year, or 2024.06."""
    d = _excel_serial(float(value))
    if d is not None:
        return cell_text(value), d, [
            _("完成时限是数字 %(number)s，按 Excel 日期读作%(date)s，请核对", number=cell_text(value), date=_fmt(d))
        ]
    if float(value).is_integer() and 1 <= value <= 12 and year:
        d = _last_day(year, int(value))
        return cell_text(value), d, [
            _("完成时限只写了数字 %(number)s，按%(date)s计，请核对", number=int(value), date=_fmt(d))
        ]
    if 1990 < value < 2100 and not float(value).is_integer():
        d = _decimal_month(value)
        if d is not None:
            return cell_text(value), d, [
                _("完成时限“%(text)s”按%(date)s计，请核对月份", text=cell_text(value), date=_fmt(d))
            ]
    return cell_text(value), None, [_("无法识别完成时限“%(text)s”，请填写日期", text=cell_text(value))]


@dataclass
class _Scan:
    """Reading a text cell: dates found so far, the spans they took, and dates whose year is unknown."""

    raw: str
    sh: str
    year: int | None
    flags: list[str] = field(default_factory=list)
    found: list[date] = field(default_factory=list)
    taken: list[tuple[int, int]] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def free(self, m: re.Match[str]) -> bool:
        return not any(a < m.end() and m.start() < b for a, b in self.taken)

    def text_of(self, m: re.Match[str]) -> str:
        return self.raw[m.start() : m.end()]


def _full_dates(scan: _Scan) -> None:
    """2024.06.30, 2024-6-30, 2024年6月30日."""
    for m in _FULL_DATE.finditer(scan.sh):
        scan.taken.append(m.span())
        try:
            scan.found.append(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            scan.flags.append(_("日期不存在：%(text)s，请改正", text=scan.text_of(m)))


def _year_months(scan: _Scan) -> None:
    """2024.06, 2024-6: by the end of that month."""
    for m in _YEAR_MONTH.finditer(scan.sh):
        if scan.free(m) and 1 <= int(m.group(2)) <= 12:
            scan.taken.append(m.span())
            scan.found.append(_last_day(int(m.group(1)), int(m.group(2))))


def _month_days(scan: _Scan) -> None:
    """6月30日, 6.30: the year from the table."""
    for pattern in (_MONTH_DAY, _MD_NUMERIC):
        for m in pattern.finditer(scan.sh):
            mo, day = cn_to_int(m.group(1)), int(m.group(2))
            if not scan.free(m) or not mo:
                continue
            scan.taken.append(m.span())
            if scan.year is None:
                scan.unresolved.append(scan.text_of(m))
                continue
            try:
                scan.found.append(date(scan.year, mo, day))
            except ValueError:
                scan.flags.append(_("日期不存在：%(text)s，请改正", text=scan.text_of(m)))


def _phrases(scan: _Scan) -> None:
    """6月底前, 年底前, 上半年, 三季度末, 秋季开学前 … from the plan parser, on what is left."""
    masked = list(scan.sh)
    for a, b in scan.taken:
        masked[a:b] = " " * (b - a)
    rest = "".join(masked)
    phrases, more = find_deadlines(rest, scan.raw, scan.year)
    if not phrases and scan.year:
        earlier, _flags = find_deadlines(rest, scan.raw, None)
        if earlier:
            phrases = earlier
            more = [_("完成时限早于计划年度（%(year)s年）：%(text)s，请核对", year=scan.year, text=scan.raw)]
    scan.flags += more
    for p in phrases:
        scan.found.append(p.date)
        scan.taken.append((p.start, p.end))


def _bare_months(scan: _Scan) -> None:
    """6月, 2024年6月: by the end of that month."""
    for m in _BARE_MONTH.finditer(scan.sh):
        mo = cn_to_int(m.group(2))
        if not scan.free(m) or not mo or not 1 <= mo <= 12:
            continue
        scan.taken.append(m.span())
        y = int(m.group(1)) if m.group(1) else scan.year
        if y is None:
            scan.unresolved.append(scan.text_of(m))
            continue
        scan.found.append(_last_day(y, mo))


def _whole_year(scan: _Scan) -> Deadline | None:
    """Nothing but a year (2024年) or the whole year (全年): 31 December."""
    m = _BARE_YEAR.search(scan.sh)
    if m and scan.free(m):
        d = date(int(m.group(1)), 12, 31)
        return scan.raw, d, [_("完成时限只写了年份，按%(date)s计", date=_fmt(d))]
    if _WHOLE_YEAR.search(scan.sh) and not _LONG_TERM.search(scan.sh):
        if scan.year is None:
            return scan.raw, None, [_("未识别到年份，无法推算截止日期：%(dates)s", dates=scan.raw)]
        d = date(scan.year, 12, 31)
        return scan.raw, d, [_("完成时限“%(text)s”按%(date)s计", text=scan.raw, date=_fmt(d))]
    return None


def _no_date(scan: _Scan) -> Deadline:
    """No date: the flags found, else a long-term or recurring task, else unreadable."""
    raw, sh = scan.raw, scan.sh
    if scan.flags:
        return raw, None, scan.flags
    if _LONG_TERM.search(sh):
        return raw, None, [_("长期任务（%(text)s），没有截止日期", text=raw)]
    recurring = find_recurrence(sh, raw)
    if recurring:
        return raw, None, [_("周期性任务（%(phrases)s），没有截止日期", phrases="、".join(recurring))]
    return raw, None, [_("无法识别完成时限“%(text)s”，请填写日期", text=raw)]


_TEXT_STEPS = (_full_dates, _year_months, _month_days, _phrases, _bare_months)


def _from_text(raw: str, year: int | None) -> Deadline:
    """Dates and phrases in the text, each taking its span so that a shorter form does not read it again; the
    latest date wins."""
    scan = _Scan(raw, shadow(raw), year)
    for step in _TEXT_STEPS:
        step(scan)
    if scan.unresolved:
        scan.flags.append(_("未识别到年份，无法推算截止日期：%(dates)s", dates="、".join(scan.unresolved)))
    if not scan.found and not scan.flags:
        whole = _whole_year(scan)
        if whole is not None:
            return whole
    if not scan.found:
        return _no_date(scan)
    latest = max(scan.found)
    if len(set(scan.found)) > 1:
        scan.flags.append(_("完成时限含多个时间，取最晚的%(date)s", date=_fmt(latest)))
    return raw, latest, scan.flags
