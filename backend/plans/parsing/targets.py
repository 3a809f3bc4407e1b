"""Quantitative targets: 新改扩建中小学26所, 增加学位3.1万个 (= 31000), 覆盖率达95%以上, 提高5%—10% (a range, its lower
bound)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from backend.i18n import _

from .model import Target

# longest first; matched on the simplified shadow, so 個 → 个 already
UNITS = sorted(
    [
        "万人次", "人次", "平方公里", "平方米", "立方米", "公里", "千米", "公顷", "亩", "米", "亿元", "万元", "元",
        "个百分点", "百分点", "课时", "学时", "小时", "分钟", "个月", "学分", "人", "名", "位", "所", "个", "项",
        "间", "栋", "幢", "座", "家", "支", "套", "台", "件", "册", "本", "场", "次", "期", "批", "门", "节", "班",
        "张", "条", "篇", "处", "块", "轮", "届", "类", "种", "户", "组", "队", "室", "校", "园", "床", "辆", "首",
        "份", "款", "倍", "天", "周", "%", "‰",
    ],
    key=len,
    reverse=True,
)
_UNIT_RE = "|".join(re.escape(u) for u in UNITS)
_NUM = r"\d+(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
TARGET_RE = re.compile(
    rf"(?<![\d.A-Za-z])(?P<n1>{_NUM})(?:\s*[%‰]?\s*(?P<range>[-—–~至到])\s*(?P<n2>{_NUM}))?"
    rf"\s*(?P<mult>万|亿|千)?\s*(?P<approx>余|多)?\s*(?P<unit>{_UNIT_RE})(?P<suffix>\s*(?:及以上|以上|以下|以内|之内|左右|内))?"
)
PREFIXES = (
    "不低于", "不少于", "不超过", "不高于", "不多于", "不小于", "不大于", "超过", "突破", "高于", "低于", "达到",
    "力争", "确保", "至少", "控制在", "稳定在", "保持在", "达",
)
_NORMAL = {"达": "达到", "及以上": "以上", "之内": "以内", "内": "以内", "余": "以上", "多": "以上"}
_CLAUSE_END = re.compile(r"[,。;:、!?\n“”\"]")
# a unit char that actually starts another word: 3所以上 is fine, 5家长 / 2台账 / 3门户 are not targets
_UNIT_FOLLOW_STOP = {"家": "长庭属", "台": "账阶", "门": "户槛", "名": "称单义额", "本": "科领", "处": "理置",
                     "期": "间末刊中", "节": "点约能日", "校": "长园区", "园": "区长", "批": "准示复", "条": "件例",
                     "周": "年边期", "座": "谈", "场": "所景地馆", "室": "内外", "款": "项"}
_MULT = {"万": 10_000, "亿": 100_000_000, "千": 1_000}


def _value(text: str, mult: str | None) -> int | float | None:
    try:
        v = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if mult:
        v *= _MULT[mult]
    return int(v) if v == v.to_integral_value() else float(v)


def _book_spans(sh: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"《[^《》]*》", sh)]


def _not_a_target(m: re.Match[str], sh: str, books: list[tuple[int, int]]) -> bool:
    """Numbers inside 《titles》, ordinals (第5期, 前10名), units that start another word, years as counts."""
    a, b = m.span()
    if any(s <= a < e for s, e in books):
        return True
    if a > 0 and sh[a - 1] in "第前":
        return True
    unit = m.group("unit")
    stop = _UNIT_FOLLOW_STOP.get(unit)
    if stop and b < len(sh) and not m.group("suffix") and sh[b] in stop:
        return True
    return bool(re.fullmatch(r"(19|20)\d{2}", m.group("n1")) and unit in ("天", "周", "届", "期", "批"))


def _clause(sh: str, a: int, b: int) -> tuple[int, int]:
    """Where the clause around a number starts and ends (at most 40 characters either side)."""
    start = a
    while start > max(0, a - 40) and not _CLAUSE_END.match(sh[start - 1]):
        start -= 1
    stop = b
    while stop < min(len(sh), b + 40) and not _CLAUSE_END.match(sh[stop]):
        stop += 1
    return start, stop


def _prefix_comparator(clause: str) -> str | None:
    """The comparator word (不低于, 力争 …) nearest before the number; the longest among those ending there."""
    best_end, best_word = -1, None
    for word in PREFIXES:
        i = clause.rfind(word)
        if i < 0:
            continue
        end = i + len(word)
        if end > best_end or (end == best_end and len(word) > len(best_word or "")):
            best_end, best_word = end, word
    return _NORMAL.get(best_word, best_word) if best_word else None


def find_targets(sh: str, raw: str) -> tuple[list[Target], list[str]]:
    targets: list[Target] = []
    flags: list[str] = []
    books = _book_spans(sh)
    prev_end = 0
    for m in TARGET_RE.finditer(sh):
        if _not_a_target(m, sh, books):
            continue
        a, b = m.span()
        value = _value(m.group("n1"), m.group("mult"))
        if value is None:
            continue
        comparator = None
        suffix = (m.group("suffix") or "").strip() or m.group("approx")
        if m.group("n2"):
            comparator = "区间"
            flags.append(_("指标为区间：%(text)s，按下限%(value)s计", text=raw[a:b].strip(), value=value))
        elif suffix:
            comparator = _NORMAL.get(suffix, suffix)
        # the clause around the number: the subject of the target, and a comparator such as 不低于 / 力争
        start, stop = _clause(sh, a, b)
        if comparator is None:
            comparator = _prefix_comparator(sh[max(start, prev_end) : a])
        while start < a and sh[start].isspace():
            start += 1
        targets.append(Target(value, m.group("unit"), comparator, raw[start:stop].rstrip(), start, stop))
        prev_end = b
    return targets, flags
