"""Deadlines (6月底前, 年底前, 上半年, 秋季开学前, damaged 20196月底前) and recurring duties (每季度, 月通报)."""

from __future__ import annotations

import calendar
import re
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


def find_deadlines(sh: str, raw: str, year: int | None) -> tuple[list[Deadline], list[str]]:
    """All deadline phrases in an item's text (shadow `sh`, original `raw`, same offsets)."""
    found: list[Deadline] = []
    flags: list[str] = []
    taken: list[tuple[int, int]] = []
    unresolved: list[str] = []

    def overlaps(a: int, b: int) -> bool:
        return any(a < e and s < b for s, e in taken)

    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(sh):
            a, b = m.span()
            if overlaps(a, b):
                continue
            g = m.groupdict()
            before = sh[max(0, a - 2): a]
            if not g.get("y") and (_NOT_BEFORE.search(before[-1:]) or before in ("去年", "前年")):
                continue  # 去年底, 去年上半年, 前三季度 …
            if kind in ("within",) and a > 0 and sh[a - 1] == "每":
                continue
            if kind == "half" and a > 0 and sh[a - 1] in "每":
                continue
            text = raw[a:b]
            y = year
            damaged = False
            if g.get("y"):
                y = int(g["y"])
                if kind in ("day", "day_pre", "day_post", "end", "xun", "before", "field") and not g.get("ynian"):
                    damaged = True
            elif g.get("rel") == "明" and year:
                y = year + 1
            if y is None:
                unresolved.append(text)
                taken.append((a, b))
                continue
            if year and y < year:
                continue  # a date in the past: history, not a deadline
            uncertain = False
            try:
                if kind in ("day", "day_pre", "day_post"):
                    mo = _month(m.groups()[3])
                    d = date(y, mo, int(g["d"])) if mo else None
                elif kind in ("end", "field"):
                    mo = _month(m.groups()[3])
                    d = _last_day(y, mo) if mo else None
                elif kind == "xun":
                    mo = _month(m.groups()[3])
                    day = {"上旬": 10, "中旬": 20}.get(g["xun"])
                    d = (date(y, mo, day) if day else _last_day(y, mo)) if mo else None
                    uncertain = True
                elif kind == "before":
                    mo = _month(m.groups()[3])
                    d = (date(y, 1, 1) if mo == 1 else _last_day(y, mo - 1)) if mo else None
                    uncertain = True
                elif kind in ("yearend", "within"):
                    d = date(y, 12, 31)
                elif kind == "half":
                    d = date(y, 6, 30) if g["half"] == "上" else date(y, 12, 31)
                elif kind == "quarter":
                    q = cn_to_int(g["q"]) or 0
                    d = _last_day(y, q * 3) if 1 <= q <= 4 else None
                elif kind == "term":
                    d = date(y, 8, 31) if g["season"].startswith("秋") else _last_day(y, 2)
                    uncertain = True
                else:  # pragma: no cover
                    d = None
            except (ValueError, TypeError):
                d = None
            if d is None:
                continue
            taken.append((a, b))
            found.append(Deadline(d, text, a, b, uncertain or damaged))
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
    for m in _AMBIGUOUS.finditer(sh):
        if not overlaps(*m.span()) and not re.search(r"每(学年|学期|年)\S{0,2}$", sh[max(0, m.start() - 6): m.start()]):
            flags.append(_("截止日期含糊：%(text)s，未推算，请填写", text=raw[m.start(): m.end()]))
    if unresolved:
        flags.append(_("未识别到年份，无法推算截止日期：%(dates)s", dates="、".join(unresolved)))
    found.sort(key=lambda d: d.start)
    return found, flags


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
