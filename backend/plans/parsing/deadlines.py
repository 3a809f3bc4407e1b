"""Deadlines (6月底前, 年底前, 上半年, 秋季开学前, damaged 20196月底前) and recurring duties (每季度, 月通报)."""

from __future__ import annotations

import bisect
import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from backend.i18n import _

from .festivals import lunar_festival
from .lines import cn_to_int
from .model import Deadline

_MON = r"(\d{1,2}|十[一二]|[一二三四五六七八九十])"
_Y = (r"(?:(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?P<ynian>年)?\s*(?:度\s*)?|(?P<rel>今|本|当|明)\s*年\s*(?:度\s*)?"
      r"|(?<!\d))")

# _Y within one line (a date alone on its line: blanks must not run on into the next one)
_Y_LINE = (r"(?:(?<!\d)(?P<y>(?:19|20)\d{2})[ \t]*(?P<ynian>年)?[ \t]*(?:度[ \t]*)?|(?P<rel>今|本|当|明)[ \t]*年[ \t]*"
           r"(?:度[ \t]*)?|(?<!\d))")
_XUN = r"(?P<xun2>上旬|中旬|下旬|初|底|末|份)"
_DASH = r"(?:至|到|—|–|-|~|―)+"

# 2025年秋季开学前, 明年春节前: the phrase's own year
_YEAR_PREFIX = r"(?:(?<!\d)(?P<y>(?:19|20)\d{2})\s*年\s*|(?P<rel>今|本|当|明)年\s*)?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # 4月至5月上旬, 6月1日到8月31日, 3—5月, 2024年9月至2025年1月, 11月至次年1月: the end of the range
    ("range", re.compile(
        _Y + _MON + r"\s*月?\s*(?:份|\d{1,2}\s*[日号]|上旬|中旬|下旬|初|中|底)?\s*" + _DASH + r"\s*"
        r"(?:(?<!\d)(?P<y2>(?:19|20)\d{2})\s*年\s*|(?P<next>次年|翌年|明年)\s*)?(?:(?P<m2>\d{1,2}|十[一二]|[一二三四五六七八九十])\s*月\s*)?"
        r"(?:(?P<d2>\d{1,2})\s*[日号]|" + _XUN + r")?(?:前|之前|以前)?"
    )),
    # 2019年6月30日前, 6月30日之前, 截至6月30日
    ("day", re.compile(_Y + _MON + r"\s*月\s*(?P<d>\d{1,2})\s*[日号]\s*(?P<mark>前|之前|以前|为止|止)")),
    ("day_pre", re.compile(r"(?:截至|截止|最迟|不晚于)\s*" + _Y + _MON + r"\s*月\s*(?P<d>\d{1,2})\s*[日号]")),
    ("day_post", re.compile(
        _Y + _MON + r"\s*月\s*(?P<d>\d{1,2})\s*[日号]\s*(?:前\s*)?(?P<mark>完成|到位|办结|上报|报送|提交|结束)"
    )),
    # （2024年6月）, （6月底）, （2024年6月30日） after a step
    ("paren", re.compile(
        r"[(\[]\s*(?:完成时限|完成时间|时间节点|时间|时限)?\s*:?\s*" + _Y + _MON
        + r"\s*月\s*(?:份\s*)?(?:(?P<d>\d{1,2})\s*[日号]\s*)?(?:底|末)?\s*(?:前|之前|以前)?\s*(?:完成)?\s*[)\]]"
    )),
    # a line that is only a date: a flattened table's 完成时间 cell (2024年6月, 6月30日, 2024.6, 2024-06-30)
    ("cell", re.compile(
        r"^[ \t]*(?:" + _Y_LINE + _MON + r"[ \t]*月[ \t]*(?:份[ \t]*)?(?:(?P<d>\d{1,2})[ \t]*[日号][ \t]*)?"
        r"|(?P<ny>(?:19|20)\d{2})[ \t]*[./-][ \t]*(?P<nm>\d{1,2})(?:[ \t]*[./-][ \t]*(?P<nd>\d{1,2}))?[ \t]*)"
        r"[。;]?[ \t]*$",
        re.M,
    )),
    # （2024.6）, （2024.06.30前）
    ("paren_num", re.compile(
        r"[(\[]\s*(?P<ny>(?:19|20)\d{2})\s*[./-]\s*(?P<nm>\d{1,2})(?:\s*[./-]\s*(?P<nd>\d{1,2}))?\s*"
        r"(?:前|之前|以前)?\s*(?:完成)?\s*[)\]]"
    )),
    # 6月底前, 6月底, 6月末
    ("end", re.compile(_Y + _MON + r"\s*月\s*(?:份\s*)?(?P<mark>底|末)(?:前|之前|以前)?")),
    # 10月中旬前
    ("xun", re.compile(
        _Y + _MON + r"\s*月\s*(?:份\s*)?(?P<xun>上中旬|中下旬|上旬|中旬|下旬)(?P<mark>前|之前|以前|末)?"
    )),
    # 9月前, 9月份前
    ("before", re.compile(_Y + _MON + r"\s*月\s*(?:份\s*)?(?P<mark>前|之前|以前)(?!后)")),
    # 6月份, 6月内, 2024年6月完成
    ("month", re.compile(
        _Y + _MON + r"\s*月\s*(?:份(?![前底末上中下以之起后]|开始)|内"
        r"|(?=(?:份\s*)?(?:前\s*)?(?:全面)?(?:完成|完工|竣工|到位|办结|结束)))"
    )),
    # 年底前, 今年底, 2019年年底前, 年末, 年底前后
    ("yearend", re.compile(
        r"(?:(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:年\s*)?|(?P<rel>今|本|当|明))?"
        r"(?<!学)年\s*(?P<mark>底|末)(?:前后|前|之前|以前)?"
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
    ("term", re.compile(
        _YEAR_PREFIX + r"(?P<season>春季|秋季|春|秋)(?:学期)?\s*开学(?:前|之前|以前)(?!后)"
    )),
    # 春节前, “五一”前, 国庆节前, 中秋前: the day before the holiday
    ("holiday", re.compile(
        _YEAR_PREFIX
        + r"[“\"‘']?(?P<h>春节|元旦|五一|七一|八一|六一|国庆|清明|端午|中秋|教师节|高考|(?<=[“\"‘'])十一)[”\"’']?\s*"
        r"(?:节|劳动节|建党节|建军节|儿童节)?\s*(?:假期|放假)?\s*(?:前|之前|以前)(?!后)"
    )),
    # 暑假前, 寒假前, 开学前: when the school year is known, read as a date to confirm; 暑假期间 → its end
    ("school", re.compile(
        r"(?<![春秋季])(?:(?P<s>暑假|暑期|寒假|开学)\s*(?:前|之前|以前)(?!后)|(?P<during>暑假|暑期)\s*(?:期间|内))"
    )),
    # 完成时限: 6月, 时间节点: 6月30日 (tables)
    ("field", re.compile(
        r"(?:完成时限|完成时间|时间节点|时限要求|截止时间|截止日期|完成期限|时间安排|时限|时间)\s*:\s*"
        + _Y
        + _MON
        + r"\s*月\s*(?:(?P<d>\d{1,2})\s*[日号])?(?!\s*\d|\s*[底末份上中下])"
    )),
]

_AMBIGUOUS = re.compile(r"(?<![春秋])(?<!季)开学(?:前|之前|以前)(?!后)|暑假前|暑期前|寒假前|放假前")
_NOT_BEFORE = re.compile(r"(去|前|上|往|近|每)$")
# 截至2023年底，全市共有…: a data cut-off states what is, it sets no deadline
_CUTOFF_BEFORE = re.compile(r"(?:截至|截止|截至到|统计截至|数据截至|数据截止)\s*(?:目前|今年|本年)?\s*$")
_CUTOFF_AFTER = re.compile(r"^\s*[,，]?\s*(?:全[市区县州省国]|我[市区县]|本[市区县]|各[市区县]|[\u4e00-\u9fff]{0,8}?)"
                           r"(?:共有|共计|累计|现有|已有|已经|已|拥有|共)")


@dataclass(frozen=True)
class Period:
    """What a plan's dates are read against: a calendar year, or a school year (`school`) that runs from 1
    September of `year` to 31 August of the next, or one of its terms (1: autumn, ends 31 January; 2: spring).

    In a school year, a month without a year from January to July falls in the next calendar year (August is the
    one before the school year, as month calendars read it), and an item without a deadline is due at the period's
    end (the end of the plan's last month for a plan of part of a year: 上半年工作计划 → 30 June)."""

    year: int | None
    school: bool = False
    term: int = 0
    last_month: int = 12  # a calendar-year plan for part of the year (上半年 → 6, 第一季度 → 3, 3月份 → 3)

    def end(self) -> date | None:
        if self.year is None:
            return None
        if not self.school:
            return _last_day(self.year, self.last_month)
        return date(self.year + 1, 1, 31) if self.term == 1 else date(self.year + 1, 8, 31)


def as_period(year: int | Period | None) -> Period:
    return year if isinstance(year, Period) else Period(year)


def _last_day(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _month(text: str | None) -> int | None:
    v = cn_to_int(text or "")
    return v if v and 1 <= v <= 12 else None


# Each kind of phrase in _PATTERNS → the date it means in year y, and whether that date is only a reading of a
# vague phrase (上旬, 9月前, 秋季开学前). A new deadline form is a pattern above and a reading here.
Reading = Callable[[int, re.Match[str], Period], tuple[date | None, bool]]
_XUN_DAY = {"上旬": 10, "初": 10, "中旬": 20, "上中旬": 20}


def _on_day(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    mo = _month(m.groups()[3])
    return (date(y, mo, int(m.group("d"))) if mo else None), False


def _month_end(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    mo = _month(m.groups()[3])
    return (_last_day(y, mo) if mo else None), False


def _in_paren(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    return (_on_day if m.group("d") else _month_end)(y, m, p)


def _cell(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    """A date alone on its line, written in words (2024年6月) or in figures (2024.6.30, 2024-06)."""
    if not m.group("ny"):
        return _in_paren(y, m, p)
    y, mo = int(m.group("ny")), _month(m.group("nm"))
    if not mo:
        return None, False
    return (date(y, mo, int(m.group("nd"))) if m.group("nd") else _last_day(y, mo)), False


def _range_end(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    """The end of a range: 5月上旬 in 4月至5月上旬, 8月31日 in 6月1日到8月31日, 5月 in 3—5月."""
    mo = _month(m.group("m2")) or (_month(m.groups()[3]) if m.group("d2") else None)
    if not mo:
        return None, False
    y = int(m.group("y2")) if m.group("y2") else y + 1 if m.group("next") else y
    if m.group("d2"):
        return date(y, mo, int(m.group("d2"))), False
    day = _XUN_DAY.get(m.group("xun2") or "")
    return (date(y, mo, day) if day else _last_day(y, mo)), m.group("xun2") in ("上旬", "中旬", "下旬", "初")


def _xun(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    mo = _month(m.groups()[3])
    day = _XUN_DAY.get(m.group("xun"))
    return ((date(y, mo, day) if day else _last_day(y, mo)) if mo else None), True


def _before_month(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    mo = _month(m.groups()[3])
    return ((date(y, 1, 1) if mo == 1 else _last_day(y, mo - 1)) if mo else None), True


def _year_end(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    return date(y, 12, 31), m.group(0).endswith("前后")


def _half(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    return (date(y, 6, 30) if m.group("half") == "上" else date(y, 12, 31)), False


def _quarter(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    q = cn_to_int(m.group("q")) or 0
    return (_last_day(y, q * 3) if 1 <= q <= 4 else None), False


def _term(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    return (date(y, 8, 31) if m.group("season").startswith("秋") else _last_day(y, 2)), True


_FIXED_HOLIDAYS = {"元旦": (12, 31), "五一": (4, 30), "六一": (5, 31), "七一": (6, 30), "八一": (7, 31),
                   "教师节": (9, 9), "国庆": (9, 30), "十一": (9, 30), "高考": (6, 6)}


def _holiday(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    """The day before the holiday: fixed (五一 → 30 April), 清明 from its solar term, the lunar ones from a table."""
    h = m.group("h")
    if h in _FIXED_HOLIDAYS:
        return date(y, *_FIXED_HOLIDAYS[h]), False
    if h == "清明":  # the solar term 清明 falls on 4 or 5 April (21st-century formula)
        yy = y % 100
        return date(y, 4, int(yy * 0.2422 + 4.81) - yy // 4 - 1), False
    day = lunar_festival(h, y)
    # a calendar-year plan issued after the festival may mean the next one: the admin confirms 春节前
    return (day - timedelta(days=1) if day else None), h == "春节" and not p.school


def _school(y: int, m: re.Match[str], p: Period) -> tuple[date | None, bool]:
    """暑假前 → 30 June; in a school year also 寒假前 → 15 January and 开学前 → 31 August before it starts (the end
    of February for a spring term), all to confirm."""
    if m.group("during"):
        return date(y + 1 if p.school else y, 8, 31), True
    s = m.group("s")
    if s in ("暑假", "暑期"):
        return date(y + 1 if p.school else y, 6, 30), True
    if not p.school or p.year is None:
        return None, False
    if s == "寒假":
        return date(p.year + 1, 1, 15), True
    return (_last_day(p.year + 1, 2) if p.term == 2 else date(p.year, 8, 31)), True


_READINGS: dict[str, Reading] = {
    "range": _range_end,
    "day": _on_day,
    "day_pre": _on_day,
    "day_post": _on_day,
    "paren": _in_paren,
    "cell": _cell,
    "paren_num": _cell,
    "end": _month_end,
    "field": _in_paren,
    "month": _month_end,
    "xun": _xun,
    "before": _before_month,
    "yearend": _year_end,
    "within": _year_end,
    "half": _half,
    "quarter": _quarter,
    "term": _term,
    "holiday": _holiday,
    "school": _school,
}
# kinds with a month after the year: 2019 directly before the month (no 年) means a character was lost
_DAMAGEABLE = ("day", "day_pre", "day_post", "end", "xun", "before", "field", "month", "paren", "range", "cell")
# kinds whose month (without a year written) falls in the next calendar year in a school year when it is Jan–Jul
_SCHOOL_SHIFT = ("range", "day", "day_pre", "day_post", "paren", "cell", "end", "field", "month", "xun", "before",
                 "term", "holiday")


# what each kind's phrase cannot be written without: a pattern is run only over texts that hold one (the patterns
# start with an optional year, so the regex engine tries them at every character; most items hold few dates)
_NEEDS: dict[str, tuple[str, ...]] = {
    "range": ("月",), "day": ("日", "号"), "day_pre": ("日", "号"), "day_post": ("日", "号"),
    "paren": ("(", "["), "paren_num": ("(", "["),
    "cell": ("月", "-", ".", "/"), "end": ("底", "末"), "xun": ("旬",), "before": ("前",), "month": ("月",),
    "yearend": ("底", "末"), "within": ("年内",), "half": ("半年",), "quarter": ("季度",), "term": ("开学",),
    "holiday": ("前",), "school": ("前", "期间", "内"), "field": (":",),
}


@dataclass
class _Scan:
    """What the scan found; `starts`/`ends` are the spans taken so far, disjoint and sorted (a text of thousands of
    dates must not compare each with every other)."""

    found: list[Deadline] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def overlaps(self, a: int, b: int) -> bool:
        i = bisect.bisect_left(self.starts, b)  # the last span starting before b is the only one that can overlap
        return i > 0 and self.ends[i - 1] > a

    def take(self, a: int, b: int) -> None:
        i = bisect.bisect_left(self.starts, a)
        self.starts.insert(i, a)
        self.ends.insert(i, b)


def _not_a_deadline(kind: str, sh: str, a: int, b: int, g: dict[str, str | None]) -> bool:
    """去年底, 去年上半年, 前三季度 (the past), 每年内, 每半年 (recurrence), 截至2023年底，全市共有 (a cut-off)."""
    before = sh[max(0, a - 2) : a]
    if not g.get("y") and (_NOT_BEFORE.search(before[-1:]) or before in ("去年", "前年", "每年")):
        return True
    if kind in ("within", "half") and a > 0 and sh[a - 1] == "每":
        return True
    if kind == "day_pre" and re.search(r"(?:统计|数据)\s*(?:截至|截止)", sh[max(0, a - 4) : a + 4]):
        return True
    cut = _CUTOFF_BEFORE.search(sh[max(0, a - 8) : a]) or sh.startswith(("截至", "截止"), a)
    return bool(cut and _CUTOFF_AFTER.match(sh[b : b + 16]))


def _year_of(kind: str, g: dict[str, str | None], year: int | None) -> tuple[int | None, bool]:
    """The phrase's year (its own, 明年, else the plan's) and whether the written year looks damaged."""
    if g.get("ny"):
        return int(g["ny"]), False  # type: ignore[arg-type]
    if g.get("y"):
        return int(g["y"]), kind in _DAMAGEABLE and not g.get("ynian")  # type: ignore[arg-type]
    if g.get("rel") == "明" and year:
        return year + 1, False
    return year, False


def _flags(text: str, d: date, damaged: bool, uncertain: bool, period: Period) -> list[str]:
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
    end = period.end()
    if end and d > end:
        flags.append(_("截止日期超出计划年度：%(text)s", text=text))
    return flags


def _read(scan: _Scan, kind: str, m: re.Match[str], raw: str, period: Period) -> None:
    """One matched phrase: skipped, unresolved (no year), in the past, or a deadline with its flags."""
    a, b = m.span()
    g = m.groupdict()
    if scan.overlaps(a, b) or _not_a_deadline(kind, m.string, a, b, g):
        return
    text = raw[a:b]
    year = period.year
    y, damaged = _year_of(kind, g, year)
    if y is None:
        scan.unresolved.append(text)
        scan.take(a, b)
        return
    if year and y < year:
        return  # a date in the past: history, not a deadline
    try:
        d, uncertain = _READINGS[kind](y, m, period)
        written = g.get("y") or g.get("ny") or g.get("next")
        if d and period.school and not written and kind in _SCHOOL_SHIFT and d.month < 8:
            d, uncertain = _READINGS[kind](y + 1, m, period)
    except (ValueError, TypeError):
        return
    if d is None:
        return
    scan.take(a, b)
    scan.found.append(Deadline(d, text, a, b, uncertain or damaged))
    scan.flags.extend(_flags(text, d, damaged, uncertain, period))


def find_deadlines(sh: str, raw: str, year: int | Period | None) -> tuple[list[Deadline], list[str]]:
    """All deadline phrases in an item's text (shadow `sh`, original `raw`, same offsets), read against the plan's
    year or school year."""
    scan = _Scan()
    period = as_period(year)
    for kind, pattern in _PATTERNS:
        if not any(word in sh for word in _NEEDS[kind]):
            continue
        for m in pattern.finditer(sh):
            _read(scan, kind, m, raw, period)
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
# （全年）, 完成时限：长期坚持, a table's 时间 cell that says 持续推进: the duty lasts, it has no date
_ONGOING = re.compile(
    r"(?:[(\[,;]|(?:完成时限|完成时间|时间节点|时限要求|时间安排|时间|时限)\s*:)\s*"
    r"(?P<w>全年(?:推进|落实|开展)?|长期坚持|长期推进|持续推进|长期|常态化(?:推进|开展)?|每月|每季度|每学期|每年)"
    r"(?=\s*(?:[)\];。,\n]|$))"
)
_ONGOING_LINE = re.compile(
    r"^[ \t]*(?P<w>全年|长期坚持|长期推进|持续推进|长期|常态化推进|每月|每季度|每学期)[ \t]*[。;]?[ \t]*$", re.M
)
_SINGLE = re.compile(r"(?<![\d一二三四五六七八九十个本上下当每半两几数学年月周季第度])(?:月|季)(?:度)?"
                     r"(?:通报|点评|调度|例会|小结|讲评|简报)")


def find_recurrence(sh: str, raw: str) -> list[str]:
    """Recurring duties as written, in order of appearance, without repeats."""
    spans = [m.span("w") for pattern in (_ONGOING, _ONGOING_LINE) for m in pattern.finditer(sh)]
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
