"""A 完成时限 cell → (text, date, flags): date cells, Excel serial numbers and Chinese text."""

from __future__ import annotations

import calendar
import re
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
        if 1990 < value < 2100 and not float(value).is_integer():  # 2024.06 typed as a number → 2024.6
            y, frac = int(value), round((value - int(value)) * 100)
            m = frac // 10 if frac % 10 == 0 and frac >= 10 else frac
            if 1 <= m <= 12:
                d = _last_day(y, m)
                return cell_text(value), d, [
                    _("完成时限“%(text)s”按%(date)s计，请核对月份", text=cell_text(value), date=_fmt(d))
                ]
        return cell_text(value), None, [_("无法识别完成时限“%(text)s”，请填写日期", text=cell_text(value))]

    raw = cell_text(value)
    sh = shadow(raw)
    flags: list[str] = []
    found: list[date] = []
    taken: list[tuple[int, int]] = []
    unresolved: list[str] = []

    def free(m: re.Match[str]) -> bool:
        return not any(a < m.end() and m.start() < b for a, b in taken)

    for m in _FULL_DATE.finditer(sh):  # 2024.06.30, 2024-6-30, 2024年6月30日
        taken.append(m.span())
        try:
            found.append(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            flags.append(_("日期不存在：%(text)s，请改正", text=raw[m.start() : m.end()]))
    for m in _YEAR_MONTH.finditer(sh):  # 2024.06, 2024-6
        if free(m) and 1 <= int(m.group(2)) <= 12:
            taken.append(m.span())
            found.append(_last_day(int(m.group(1)), int(m.group(2))))
    for pattern in (_MONTH_DAY, _MD_NUMERIC):  # 6月30日, 6.30 (the year from the table)
        for m in pattern.finditer(sh):
            mo, day = cn_to_int(m.group(1)), int(m.group(2))
            if not free(m) or not mo:
                continue
            taken.append(m.span())
            if year is None:
                unresolved.append(raw[m.start() : m.end()])
                continue
            try:
                found.append(date(year, mo, day))
            except ValueError:
                flags.append(_("日期不存在：%(text)s，请改正", text=raw[m.start() : m.end()]))
    # phrases (6月底前, 年底前, 上半年, 三季度末, 秋季开学前 …) from the plan parser, on what is left
    masked = list(sh)
    for a, b in taken:
        masked[a:b] = " " * (b - a)
    rest = "".join(masked)
    phrases, more = find_deadlines(rest, raw, year)
    if not phrases and year:
        earlier, _flags = find_deadlines(rest, raw, None)
        if earlier:
            phrases, more = earlier, [_("完成时限早于计划年度（%(year)s年）：%(text)s，请核对", year=year, text=raw)]
    flags += more
    for p in phrases:
        found.append(p.date)
        taken.append((p.start, p.end))
    for m in _BARE_MONTH.finditer(sh):  # 6月, 2024年6月: by the end of that month
        mo = cn_to_int(m.group(2))
        if not free(m) or not mo or not 1 <= mo <= 12:
            continue
        taken.append(m.span())
        y = int(m.group(1)) if m.group(1) else year
        if y is None:
            unresolved.append(raw[m.start() : m.end()])
            continue
        found.append(_last_day(y, mo))
    if unresolved:
        flags.append(_("未识别到年份，无法推算截止日期：%(dates)s", dates="、".join(unresolved)))
    if not found and not flags:
        m = _BARE_YEAR.search(sh)
        if m and free(m):
            d = date(int(m.group(1)), 12, 31)
            return raw, d, [_("完成时限只写了年份，按%(date)s计", date=_fmt(d))]
        if _WHOLE_YEAR.search(sh) and not _LONG_TERM.search(sh):
            if year is None:
                return raw, None, [_("未识别到年份，无法推算截止日期：%(dates)s", dates=raw)]
            d = date(year, 12, 31)
            return raw, d, [_("完成时限“%(text)s”按%(date)s计", text=raw, date=_fmt(d))]
    if found:
        latest = max(found)
        if len(set(found)) > 1:
            flags.append(_("完成时限含多个时间，取最晚的%(date)s", date=_fmt(latest)))
        return raw, latest, flags
    if flags:
        return raw, None, flags
    if _LONG_TERM.search(sh):
        return raw, None, [_("长期任务（%(text)s），没有截止日期", text=raw)]
    recurring = find_recurrence(sh, raw)
    if recurring:
        return raw, None, [_("周期性任务（%(phrases)s），没有截止日期", phrases="、".join(recurring))]
    return raw, None, [_("无法识别完成时限“%(text)s”，请填写日期", text=raw)]
