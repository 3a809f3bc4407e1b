"""Month calendars (月度安排, a school's 行事历): `一月份` … `十二月` (also `1月`, `2月份`, `【一月】`, `九月：…`)
headings
with the month's work listed under each, one per line (bulleted, numbered or plain) or after the heading's colon
separated by `；`. Each line is an item (source "calendar") due at the end of its month, unless it names a day
of that month itself.

A month heading is a whole line: the month and nothing else but brackets, `份`, a word such as `工作安排`, and a
colon with the month's work after it. `3月底前完成验收` is a deadline sentence, not a heading; a calendar needs
three month headings in calendar order (a school year wraps from 十二月 to 一月 once).

Which year a month falls in: a plan for a school year (`2023学年`, `2023—2024学年`) puts 八月 and later in its
first year and 一月 to 七月 in the next; otherwise the plan's year, and the next one after the months wrap.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date

from ..responsibility_table.units import dedupe, units_with_marks
from .attach import fill_item
from .lines import cn_to_int
from .model import Group, Item, Owners
from .script import shadow

_CN = "一二三四五六七八九十"
_MONTH = re.compile(
    rf"^(?:[{_CN}]+\s*[、.]\s*|[(\[]?[{_CN}]+[)\]]\s*)?"  # an outline label before the month: 一、九月份
    r"[\[(【〔]?\s*(?:(?:19|20)\d{2}\s*年\s*)?"
    rf"(?P<head>(?:(?P<a>\d{{1,2}}|[{_CN}]{{1,3}})\s*(?:[-—–~至、]|到)\s*)?(?P<m>\d{{1,2}}|[{_CN}]{{1,3}})\s*月份?"
    r"\s*[\])】〕]?\s*(?:(?:工作|活动|重点)?(?:安排|要点|重点|计划|行事历|事项)|重点工作|主要工作|工作)?)"
    r"\s*(?:\([^()]{1,12}\))?"  # a note on the month: 九月（开学月）, 二月(寒假)
    r"\s*(?:(?P<sep>:|\s)\s*(?P<rest>.*))?$"
)
_BULLET = re.compile(r"^(?:[•·●○◆◇■□▪►▶\-—*>]+\s*|(?P<n>\d{1,2})\s*[.、)]\s*(?!\d(?!\d*[月日]))"
                     r"|[(]\s*(?P<p>\d{1,2})\s*[)]\s*|(?P<c>[①-⑳])\s*)")
_STOP = re.compile(rf"^(?:[{_CN}]+\s*[、.]|第[{_CN}]+部分|附件|抄送|印发|上一篇|下一篇|打印|关闭)"
                   r"|^\d{4}年\d{1,2}月\d{1,2}日$"
                   r"|^\S{2,20}(?:学校|小学|中学|幼儿园|教育局|办公室|委员会|中心)$")
_SCHOOL_YEAR = re.compile(r"((?:19|20)\d{2})\s*(?:[-—–~至]\s*((?:19|20)?\d{2})\s*)?学年")
MAX_LINES = 60  # lines under one month
_OWNER_NOTE = re.compile(
    r"[(]\s*(?:(?:责任|牵头|负责|承办)(?:单位|部门|科室|股室|处室|人)?\s*:\s*)?([^()]{2,60})[)]\s*$"
)
_UNIT_END = re.compile(r"(?:[科室股处局办组委站所院校队部会馆]|中心|学校|各学校|年级组)$")


@dataclass
class Month:
    month: int
    heading: str  # as written, without brackets and colon: 九月份
    line: int
    entries: list[tuple[str, str | None]] = field(default_factory=list)  # (text, label as written)


@dataclass
class Calendar:
    months: list[Month]
    line: int  # where it starts, a line index of the text


def _month_of(token: str) -> int | None:
    n = int(token) if token.isdigit() else cn_to_int(token)
    return n if n and 1 <= n <= 12 else None


def _heading(line: str) -> tuple[int, str, str] | None:
    """(month, heading as written, the work after its colon) for a month heading line."""
    if len(line) > 200:
        return None
    sh = shadow(line)
    m = _MONTH.match(sh)
    if not m:
        return None
    month = _month_of(m.group("m"))
    rest = (m.group("rest") or "").strip()
    if month is None or (m.group("a") and _month_of(m.group("a")) is None) or (rest and m.group("sep") != ":"):
        return None
    head = line[m.start("head"):m.end("head")]
    return month, head.strip().strip("【】[]〔〕()（）:： "), line[m.start("rest"):].strip() if rest else ""


def _entry(line: str) -> tuple[str, str | None]:
    m = _BULLET.match(shadow(line))
    if not m:
        return line.strip(), None
    return line[m.end():].strip(), m.group("n") or m.group("p") or m.group("c")


def _in_order(months: list[int]) -> bool:
    wraps = sum(1 for a, b in zip(months, months[1:], strict=False) if b <= a)
    return wraps <= 1 and (wraps == 0 or months[-1] < months[0])


def find_calendars(raws: list[str]) -> list[tuple[Calendar, list[int]]]:
    """Month calendars in the text's lines, each with the indices of the lines it took."""
    idx = [i for i, r in enumerate(raws) if r.strip()]
    heads = [(k, h) for k, i in enumerate(idx) if (h := _heading(raws[i].strip()))]
    found: list[tuple[Calendar, list[int]]] = []
    run: list[tuple[int, tuple[int, str, str]]] = []
    for pos, (k, h) in enumerate(heads):
        run.append((k, h))
        nxt = heads[pos + 1] if pos + 1 < len(heads) else None
        gap = nxt[0] - k if nxt else 0
        if nxt and 0 < gap <= MAX_LINES and _in_order([x[1][0] for x in run] + [nxt[1][0]]):
            continue
        if len(run) >= 3:
            found.append(_calendar(raws, idx, run))
        run = []
    return found


def _calendar(
    raws: list[str], idx: list[int], run: list[tuple[int, tuple[int, str, str]]]
) -> tuple[Calendar, list[int]]:
    months: list[Month] = []
    used: list[int] = []
    for n, (k, (month, head, rest)) in enumerate(run):
        mo = Month(month, head, idx[k])
        used.append(idx[k])
        if rest:
            mo.entries += [_entry(x) for x in re.split(r"[；;]", rest) if x.strip()]
        end = run[n + 1][0] if n + 1 < len(run) else min(len(idx), k + 1 + MAX_LINES)
        for j in range(k + 1, end):
            line = raws[idx[j]].strip()
            if n + 1 == len(run) and (_STOP.match(shadow(line)) or _signed(raws, idx, j)):
                break
            mo.entries.append(_entry(line))
            used.append(idx[j])
        months.append(mo)
    return Calendar(months, idx[run[0][0]]), used


def _signed(raws: list[str], idx: list[int], j: int) -> bool:
    """A signature line: a short name with no punctuation whose next line is the date of signing."""
    line = raws[idx[j]].strip()
    nxt = raws[idx[j + 1]].strip() if j + 1 < len(idx) else ""
    return len(line) <= 30 and not re.search(r"[，。；、,;:：]", line) and bool(_DATE_LINE.match(shadow(nxt)))


_DATE_LINE = re.compile(
    r"^(?:\d{4}|[〇零一二三四五六七八九]{4})\s*年\s*[\d一二三四五六七八九十]{1,2}\s*月[\d一二三四五六七八九十]{1,3}\s*日"
)


def month_years(months: list[int], year: int | None, title: str) -> list[int | None]:
    """The year each month of a calendar falls in (see the module's docstring)."""
    m = _SCHOOL_YEAR.search(shadow(title or ""))
    if m:
        first = int(m.group(1))
        return [first if mo >= 8 else first + 1 for mo in months]
    if year is None:
        return [None] * len(months)
    out: list[int | None] = []
    y = year
    for a, b in zip([months[0], *months], months, strict=False):
        y += b < a
        out.append(y)
    return out


def calendar_items(cal: Calendar, year: int | None, title: str) -> list[tuple[Month, list[Item]]]:
    """Each month's lines as items due at the end of the month (or the day of that month a line names)."""
    out = []
    years = month_years([mo.month for mo in cal.months], year, title)
    for mo, y in zip(cal.months, years, strict=True):
        items = []
        for n, (text, label) in enumerate(mo.entries, 1):
            item = Item(number=int(label) if label and label.isdigit() else n, title=_title(text), text="",
                        label=label, source="calendar", group=Group(label="", title=mo.heading))
            fill_item(item, [text], [], "ar", y, ("", ""))
            _owner_note(item)
            stated = [d.date.day for d in item.deadlines if d.date.month == mo.month] + _day_named(text, mo.month)
            if y is not None:
                day = min(max(stated), monthrange(y, mo.month)[1]) if stated else monthrange(y, mo.month)[1]
                item.deadline = date(y, mo.month, day)
                item.due = item.deadline
            items.append(item)
        out.append((mo, items))
    return out


_DAY = re.compile(rf"(?P<m>\d{{1,2}}|[{_CN}]{{1,3}})\s*月\s*(?P<d>\d{{1,2}})\s*[日号]|(?<!\d)(?P<e>\d{{1,2}})\s*日")


def _day_named(text: str, month: int) -> list[int]:
    """The day of the month a calendar line names (`9月10日：教师节表彰`, `15日前`), when it is that month's."""
    m = _DAY.search(shadow(text))
    day = int(m.group("d") or m.group("e")) if m else 0
    if not m or (m.group("m") and _month_of(m.group("m")) != month) or not 1 <= day <= 31:
        return []
    return [day]


def _owner_note(item: Item) -> None:
    """`召开全县教育工作会议（办公室）`: a bracket of unit names at the end of a calendar line names its owners
    (marked 牵头 / 配合, else all lead), and leaves the title."""
    m = _OWNER_NOTE.search(shadow(item.title))
    if not m or item.owners.lead or item.owners.co:
        return
    lead, co, plain = units_with_marks(item.title[m.start(1):m.end(1)])
    names = lead + co + plain
    if names and all(_UNIT_END.search(shadow(n)) for n in names):
        item.owners = Owners(dedupe(lead + plain), dedupe(co))
        item.title = item.title[: m.start()].rstrip()


def _title(text: str) -> str:
    sh = shadow(text)
    cut = next((i for i, ch in enumerate(sh) if ch in "。;!?"), len(text))
    return text[:cut].strip().rstrip("。.")
