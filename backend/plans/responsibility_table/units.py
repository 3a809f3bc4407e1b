"""Unit names in a cell: splitting lists of names and reading 牵头/配合 marks."""

from __future__ import annotations

import re

from ..parsing.script import shadow
from .text import key

_SEP_CHARS = frozenset("、，,；;/／|｜")
_OPEN, _CLOSE = "（([【〔{《", "）)]】〕}》"
_SUFFIX = (
    "科", "室", "处", "局", "中心", "校", "园", "站", "所", "院", "馆", "会", "部", "办", "队", "组", "委", "团",
    "股", "司", "厅", "单位", "部门", "学", "社", "台", "公司", "府",
)  # fmt: skip
_JOIN = re.compile(r"以及|和|及|与|暨")
_TRAILING = re.compile(r"(?:等(?:相关|有关|其他)?(?:单位|部门|科室|处室|股室|学校)?|负责|牵头|配合|协办)$")
_BRACKETED_END = re.compile(r"[(（][^()（）]*[)）]$")
_DROP = {"各", "等", "和", "及", "与", "以及", "其他", "有关", "相关", "无", "暂无", "/", "-", "—", "待定"}
_MARK = re.compile(r"[(（]\s*(牵头|牽頭|主责|配合|协办|參與|参与)\s*[)）]")
_LABEL = re.compile(r"(牵头(?:单位|部门|科室)?|配合(?:单位|部门|科室)?|协办(?:单位)?|参与(?:单位)?)\s*[:：]")


def _tokens(text: str) -> list[str]:
    """Split on 、，；/ | and whitespace, but not inside brackets: 各县（市、区）教育局 is one name."""
    out: list[str] = []
    buf: list[str] = []
    depth = 0
    for ch in text:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and (ch in _SEP_CHARS or ch.isspace()):
            if buf:
                out.append("".join(buf))
                buf = []
            continue
        buf.append(ch)
    if depth:  # an unclosed bracket: brackets cannot be trusted, split everywhere
        return [t for t in re.split(r"[、，,；;/／|｜\s]+", text) if t]
    if buf:
        out.append("".join(buf))
    return out


def _ends_as_unit(text: str) -> bool:
    return shadow(_BRACKETED_END.sub("", text)).endswith(_SUFFIX)


def _split_joined(piece: str) -> list[str]:
    """基教科和德育科 → two names; 教育和体育局, 职业与成人教育科 stay whole."""
    out: list[str] = []
    start = 0
    for m in _JOIN.finditer(shadow(piece)):  # shadow: 與 → 与, same offsets
        left = piece[start : m.start()]
        right = piece[m.end() :]
        if left and right and _ends_as_unit(left) and right[:1] not in "其时時谐諧":
            out.append(left)
            start = m.end()
    out.append(piece[start:])
    return out


def _clean_unit(name: str) -> str:
    name = name.strip(" 　.。:：\"'“”‘’")
    name = re.sub(r"^(?:由|请|請)(?=.{2,})", "", name)
    for _pass in range(2):  # 局办公室等 → 局办公室, but 各高等学校 stays
        m = _TRAILING.search(shadow(name))
        if m and _ends_as_unit(name[: m.start()]):
            name = name[: m.start()]
    return name.strip()


def split_units(text: str) -> list[str]:
    """Unit names in a cell: split on 、，；/ spaces newlines and on 和/及 between whole names, de-duplicated."""
    if not text:
        return []
    tokens = _tokens(text.strip())
    if len(tokens) > 2 and all(len(t) == 1 for t in tokens):  # "基 教 科": spaced-out characters
        tokens = ["".join(tokens)]
    names: list[str] = []
    seen: set[str] = set()
    for token in tokens:
        for piece in _split_joined(token):
            name = _clean_unit(piece)
            if not name or name in _DROP:
                continue
            k = key(name)
            if k not in seen:
                seen.add(k)
                names.append(name)
    return names


def units_with_marks(text: str) -> tuple[list[str], list[str], list[str]]:
    """(marked lead, marked co, unmarked) from a cell like "牵头：基教科；配合：德育科" or "基教科（牵头）、德育科"."""
    lead: list[str] = []
    co: list[str] = []
    plain: list[str] = []
    labelled = list(_LABEL.finditer(shadow(text)))
    if labelled:
        plain += split_units(text[: labelled[0].start()])
        for i, m in enumerate(labelled):
            chunk = text[m.end() : labelled[i + 1].start() if i + 1 < len(labelled) else len(text)]
            (lead if m.group(1).startswith("牵头") else co).extend(split_units(chunk))
        return lead, co, plain
    for token in _tokens(text):
        mark = _MARK.search(token)
        names = split_units(_MARK.sub("", token))
        if mark and mark.group(1) in ("牵头", "牽頭", "主责"):
            lead += names
        elif mark:
            co += names
        else:
            plain += names
    return lead, co, plain


def dedupe(names: list[str], exclude: list[str] | None = None) -> list[str]:
    seen = {key(n) for n in exclude or []}
    out = []
    for n in names:
        k = key(n)
        if k not in seen:
            seen.add(k)
            out.append(n)
    return out
