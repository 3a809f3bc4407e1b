"""Deadlines (6月底前, 年底前, 上半年, 秋季开学前, damaged 20196月底前) and recurring duties (每季度, 月通报)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from backend.i18n import _

from .lines import cn_to_int
from .model import Deadline

_MON = r"(\d{1,2}|十[一二]|[一二三四五六七八九十])"
_Y = (r"(?:(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?P<ynian>年)?\s*(?:度\s*)?|(?P<rel>今|本|当|明)\s*年\s*(?:度\s*)?"
      r"|(?<!\d))")

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # 2019年6月30日前, 6月30日之前, 截至6月30日
    ("day", re.compile(_Y + _MON + r"\s*月\s*(?P<d>\d{1,2})\s*[日号]\s*(?P<mark>前|之前|以前|为止|止)")),
    ("day_pre", re.compile(r"(?:截至|截止|最迟|不晚于)\s*" + _Y + _MON + r"\s*月\s*(?P<d>\d{1,2})\s*[日号]")),
    ("day_post", re.compile(
        _Y + _MON + r"\s*月\s*(?P<d>\d{1,2})\s*[日号]\s*(?:前\s*)?(?P<mark>完成|到位|办结|上报|报送|提交|结束)"
    )),
    # 6月底前, 6月底, 6月末
    ("end", re.compile(_Y + _MON + r"\s*月\s*(?:份\s*)?(?P<mark>底|末)(?:前|之前|以前)?")),
    # 10月中旬前
    ("xun", re.compile(_Y + _MON + r"\s*月\s*(?:份\s*)?(?P<xun>上旬|中旬|下旬)(?P<mark>前|之前|以前|末)?")),
    # 9月前, 9月份前
    ("before", re.compile(_Y + _MON + r"\s*月\s*(?:份\s*)?(?P<mark>前|之前|以前)(?!后)")),
    # 年底前, 今年底, 2019年年底前, 年末
    ("yearend", re.compile(
        r"(?:(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:年\s*)?|(?P<rel>今|本|当|明))?"
        r"(?<!学)年\s*(?P<mark>底|末)(?:前|之前|以前)?"
    )),
    # 年内
    ("within", re.compile(r"(?<![\d一二三四五六七八九十两几数近多每学])(?P<rel>今|本|当)?年内")),
    # 上半年, 下半年
    ("half", re.compile(
        r"(?:(?<!\d)(?P<y>(?:19|20)\d{2})\s*年\s*|(?P<rel>今|本|当|明)年\s*)?"
        r"(?P<half>上|下)半年(?P<mark>前|内|底|末)?"
    )),
    # 第一季度, 一季度末
    ("quarter", re.compile(
        r"(?:(?<!\d)(?P<y>(?:19|20)\d{2})\s*年\s*)?(?<!每)(?:第)?(?P<q>[一二三四1-4])\s*季度(?P<mark>末|底|前|内)?"
    )),
    # 秋季开学前, 春季开学前
    ("term", re.compile(r"(?P<season>春季|秋季|春|秋)(?:学期)?\s*开学(?:前|之前|以前)(?!后)")),
    # 完成时限: 6月 (tables)
    ("field", re.compile(
        r"(?:完成时限|完成时间|时间节点|时限要求|截止时间|完成期限)\s*:\s*"
        + _Y
        + _MON
        + r"\s*月(?!\s*\d|\s*[底末份上中下])"
    )),
]

_AMBIGUOUS = re.compile(r"(?<![春秋])(?<!季)开学(?:前|之前|以前)(?!后)|暑假前|暑期前|寒假前|春节前|放假前")
_NOT_BEFORE = re.compile(r"(去|前|上|往|近)$")


def _last_day(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _month(text: str) -> int | None:
    v = cn_to_int(text)
    return v if v and 1 <= v <= 12 else None


# Each kind of phrase in _PATTERNS → the date it means in year y, and whether that date is only a reading of a
# vague phrase (上旬, 9月前, 秋季开学前). A new deadline form is a pattern above and a reading here.
Reading = Callable[[int, re.Match[str]], tuple[date | None, bool]]


def _on_day(y: int, m: re.Match[str]) -> tuple[date | None, bool]:
    mo = _month(m.groups()[3])
    return (date(y, mo, int(m.group("d"))) if mo else None), False


def _month_end(y: int, m: re.Match[str]) -> tuple[date | None, bool]:
    mo = _month(m.groups()[3])
    return (_last_day(y, mo) if mo else None), False


def _xun(y: int, m: re.Match[str]) -> tuple[date | None, bool]:
    mo = _month(m.groups()[3])
    day = {"上旬": 10, "中旬": 20}.get(m.group("xun"))
    return ((date(y, mo, day) if day else _last_day(y, mo)) if mo else None), True


def _before_month(y: int, m: re.Match[str]) -> tuple[date | None, bool]:
    mo = _month(m.groups()[3])
    return ((date(y, 1, 1) if mo == 1 else _last_day(y, mo - 1)) if mo else None), True


def _year_end(y: int, m: re.Match[str]) -> tuple[date | None, bool]:
    return date(y, 12, 31), False


def _half(y: int, m: re.Match[str]) -> tuple[date | None, bool]:
    return (date(y, 6, 30) if m.group("half") == "上" else date(y, 12, 31)), False


def _quarter(y: int, m: re.Match[str]) -> tuple[date | None, bool]:
    q = cn_to_int(m.group("q")) or 0
    return (_last_day(y, q * 3) if 1 <= q <= 4 else None), False


def _term(y: int, m: re.Match[str]) -> tuple[date | None, bool]:
    return (date(y, 8, 31) if m.group("season").startswith("秋") else _last_day(y, 2)), True


_READINGS: dict[str, Reading] = {
    "day": _on_day,
    "day_pre": _on_day,
    "day_post": _on_day,
    "end": _month_end,
    "field": _month_end,
    "xun": _xun,
    "before": _before_month,
    "yearend": _year_end,
    "within": _year_end,
    "half": _half,
    "quarter": _quarter,
    "term": _term,
}
# kinds with a month after the year: 2019 directly before the month (no 年) means a character was lost
_DAMAGEABLE = ("day", "day_pre", "day_post", "end", "xun", "before", "field")


@dataclass
class _Scan:
    found: list[Deadline] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    taken: list[tuple[int, int]] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def overlaps(self, a: int, b: int) -> bool:
        return any(a < e and s < b for s, e in self.taken)


def _not_a_deadline(kind: str, sh: str, a: int, g: dict[str, str | None]) -> bool:
    """去年底, 去年上半年, 前三季度 (the past), 每年内, 每半年 (recurrence)."""
    before = sh[max(0, a - 2) : a]
    if not g.get("y") and (_NOT_BEFORE.search(before[-1:]) or before in ("去年", "前年")):
        return True
    return kind in ("within", "half") and a > 0 and sh[a - 1] == "每"


def _year_of(kind: str, g: dict[str, str | None], year: int | None) -> tuple[int | None, bool]:
    """The phrase's year (its own, 明年, else the plan's) and whether the written year looks damaged."""
    if g.get("y"):
        return int(g["y"]), kind in _DAMAGEABLE and not g.get("ynian")  # type: ignore[arg-type]
    if g.get("rel") == "明" and year:
        return year + 1, False
    return year, False


def _flags(text: str, d: date, damaged: bool, uncertain: bool, year: int | None) -> list[str]:
    flags = []
    if damaged:
        flags.append(
            _(
                "日期疑似缺字：%(text)s，按%(year)s年%(month)s月%(day)s日计",
                text=text,
                year=d.year,
                month=d.month,
                day=d.day,
            )
        )
    elif uncertain:
        flags.append(_("截止日期含糊：%(text)s，按%(month)s月%(day)s日计", text=text, month=d.month, day=d.day))
    if year and d.year > year:
        flags.append(_("截止日期超出计划年度：%(text)s", text=text))
    return flags


def _read(scan: _Scan, kind: str, m: re.Match[str], raw: str, year: int | None) -> None:
    """One matched phrase: skipped, unresolved (no year), in the past, or a deadline with its flags."""
    a, b = m.span()
    g = m.groupdict()
    if scan.overlaps(a, b) or _not_a_deadline(kind, m.string, a, g):
        return
    text = raw[a:b]
    y, damaged = _year_of(kind, g, year)
    if y is None:
        scan.unresolved.append(text)
        scan.taken.append((a, b))
        return
    if year and y < year:
        return  # a date in the past: history, not a deadline
    try:
        d, uncertain = _READINGS[kind](y, m)
    except (ValueError, TypeError):
        return
    if d is None:
        return
    scan.taken.append((a, b))
    scan.found.append(Deadline(d, text, a, b, uncertain or damaged))
    scan.flags.extend(_flags(text, d, damaged, uncertain, year))


def find_deadlines(sh: str, raw: str, year: int | None) -> tuple[list[Deadline], list[str]]:
    """All deadline phrases in an item's text (shadow `sh`, original `raw`, same offsets)."""
    scan = _Scan()
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(sh):
            _read(scan, kind, m, raw, year)
    for m in _AMBIGUOUS.finditer(sh):
        recurring = re.search(r"每(学年|学期|年)\S{0,2}$", sh[max(0, m.start() - 6) : m.start()])
        if not scan.overlaps(*m.span()) and not recurring:
            scan.flags.append(_("截止日期含糊：%(text)s，未推算，请填写", text=raw[m.start() : m.end()]))
    if scan.unresolved:
        scan.flags.append(_("未识别到年份，无法推算截止日期：%(dates)s", dates="、".join(scan.unresolved)))
    scan.found.sort(key=lambda d: d.start)
    return scan.found, scan.flags


# ------------------------------------------------------------------------------------ recurrence
_EVERY = re.compile(r"每\s*(?:个\s*)?(?:周|星期|月|季度|季|学期|学年|年度|年|半年|两年|两周|双周|半月|旬)")
_BY = re.compile(
    r"按\s*(?:月|季度|季|学期|学年|年度|周)(?=[^\u4e00-\u9fff]|报|开展|召开|通报|公布|统计|检查|考核|调度|督查|更新|发布"
    r"|总结|评估|进行|组织|上报|报送|对|向|梳理|分析|汇总|落实|推进|推送)"
)
_PERIODIC = (
    r"(?:周|月|季|年)(?:度)?"
    r"(?:通报|点评|考核|调度|督查|督导|例会|报告|报送|小结|总结|评估|分析|检查|讲评|排名|评比|会商|简报)"
)
_CHAIN = re.compile(rf"{_PERIODIC}(?:\s*[、,和及与]\s*{_PERIODIC})+")
_SINGLE = re.compile(r"(?<![\d一二三四五六七八九十个本上下当每半两几数学年月周季第度])(?:月|季)(?:度)?"
                     r"(?:通报|点评|调度|例会|小结|讲评|简报)")


def find_recurrence(sh: str, raw: str) -> list[str]:
    """Recurring duties as written, in order of appearance, without repeats."""
    spans: list[tuple[int, int]] = []
    for pattern in (_CHAIN, _EVERY, _BY, _SINGLE):
        for m in pattern.finditer(sh):
            a, b = m.span()
            if any(a < e and s < b for s, e in spans):
                continue
            if pattern is _CHAIN and a > 0 and sh[a - 1] in "0123456789一二三四五六七八九十个本上下当每半两几数":
                continue
            spans.append((a, b))
    spans.sort()
    out: list[str] = []
    for a, b in spans:
        phrase = raw[a:b]
        if phrase not in out:
            out.append(phrase)
    return out
