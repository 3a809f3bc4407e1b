"""Owners written in the text: (责任单位:组干科、机关党委), 牵头单位:…, 配合单位:…, 支撑单位:…, 由X牵头，Y配合,
(X牵头，Y、Z配合); and owner lines written above the item they belong to."""

from __future__ import annotations

import re

from backend.i18n import _

from .model import Owners
from .outline import Block, Line

_ROLE = (r"(?P<role>牵头单位|牵头部门|牵头科室|牵头处室|牵头股室|主责单位|主责部门|责任单位|责任部门|责任科室|责任处室"
         r"|责任股室|承办单位"
         r"|配合单位|配合部门|配合科室|配合处室|配合股室|协办单位|协同单位|参与单位|参与部门|协助单位|协作单位|支撑单位"
         r"|支撑部门|支持单位)")
# 牵头单位：X, and 【牵头单位】X (shadowed: [牵头单位]X)
ROLE_RE = re.compile(r"(?:\[\s*)?" + _ROLE + r"\s*(?:[:：]|(?<=[位门室])\s*\])\s*")
_STOP = re.compile(_ROLE + r"|完成时限|完成时间|时间节点|责任人|分管领导|牵头领导|联系人|时限")
# 由X牵头，Y配合 in the text; (X牵头，Y、Z配合) or (X负责) in brackets
_LED_BY = re.compile(
    r"(?:由|(?P<open>[(\[]))\s*(?P<lead>[\u4e00-\u9fff()、,]{2,60}?)\s*(?:按职责分工|按职责|分别|共同)?\s*"
    r"(?:牵头负责|牵头|(?(open)负责|牵头))"
    r"(?:\s*[,;、]\s*(?P<co>[\u4e00-\u9fff()、]{2,80}?)\s*(?:按职责分工|按职责|分别|共同)?\s*"
    r"(?:配合|协助|参与|协同|协办|负责))?\s*(?(open)[)\]])"
)
# …。市教育局牵头，市财政局、各县区配合。 — a sentence of its own naming the owners
_LED_SENTENCE = re.compile(
    r"(?:^|(?<=[。;\n]))\s*(?P<lead>[\u4e00-\u9fff()、]{2,40}?)\s*牵头(?:负责)?\s*,\s*"
    r"(?P<co>[\u4e00-\u9fff()、]{2,80}?)\s*(?:等)?\s*(?:按职责分工|按职责|分别|共同)?\s*(?:配合|协助|参与|协同|协办|负责)"
    r"\s*(?=[。;\n]|$)"
)
OWNER_LINE = re.compile(r"^\s*[(\[]?\s*" + _ROLE + r"\s*[:\]]")
_OPEN, _CLOSE = "([（【[", ")]）】]"


def _scan_list(sh: str, start: int) -> int:
    """End of a unit list that starts at `start`: stops at 。;\\n, an unmatched closing bracket or the next role."""
    depth = 0
    i = start
    n = len(sh)
    while i < n:
        ch = sh[i]
        if ch in _OPEN:
            if depth == 0 and i > start and ROLE_RE.match(sh, i):  # [配合单位] after [牵头单位]X
                return i
            depth += 1
        elif ch in _CLOSE:
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and ch in "。;；\n" or depth == 0 and _STOP.match(sh, i) and i > start:
            return i
        i += 1
    return n


def _split(raw: str, sh: str) -> list[tuple[str, bool]]:
    """Split a unit list on 、,， and blanks outside brackets; a (牵头) mark makes a unit lead."""
    out: list[tuple[str, bool]] = []
    depth = 0
    cur_start = 0
    for i, ch in enumerate(sh + ","):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and (ch in "、,，/" or ch.isspace()):
            piece_raw = raw[cur_start:i].strip().strip("等")
            piece_sh = sh[cur_start:i].strip()
            cur_start = i + 1
            if not piece_raw:
                continue
            lead = False
            m = re.search(r"[(（]\s*牵头\s*[)）]$", piece_sh)
            if m:
                lead = True
                piece_raw = piece_raw[: len(piece_raw) - (len(piece_sh) - m.start())].strip()
            piece_raw = piece_raw.rstrip(":：,，;；")
            if piece_raw and len(piece_raw) <= 40:
                out.append((piece_raw, lead))
    return out


def find_owners(sh: str, raw: str) -> tuple[Owners, list[str]]:
    owners = Owners()
    flags: list[str] = []
    responsible: list[tuple[str, bool]] = []
    explicit_lead = False
    for m in ROLE_RE.finditer(sh):
        role = m.group("role")
        end = _scan_list(sh, m.end())
        units = _split(raw[m.end(): end], sh[m.end(): end])
        if role.startswith(("牵头", "主责")):
            explicit_lead = True
            owners.lead.extend(u for u, _ in units)
        elif role.startswith(("责任", "承办")):
            responsible.extend(units)
        else:
            owners.co.extend(u for u, _ in units)
    if responsible:
        marked = [u for u, lead in responsible if lead]
        if explicit_lead or marked:
            owners.lead.extend(marked)
            owners.co[:0] = [u for u, lead in responsible if not lead]
        else:
            owners.lead.extend(u for u, _ in responsible)
            if len(responsible) > 1:
                flags.append(
                    _("责任单位有多个，未注明牵头单位：%(units)s", units="、".join(u for u, _lead in responsible))
                )
    if not owners.lead and not owners.co:
        led = _LED_BY.search(sh) or _LED_SENTENCE.search(sh)
        if led:
            units = _split(raw[led.start("lead"): led.end("lead")], led.group("lead"))
            owners.lead.extend(u for u, _ in units)
            if led.group("co"):
                owners.co.extend(u for u, _ in _split(raw[led.start("co"): led.end("co")], led.group("co")))
            if units and not led.groupdict().get("open"):
                flags.append(_("牵头单位取自正文：%(text)s", text=raw[led.start(): led.end()]))
            elif len(units) > 1 and "牵头" not in led.group(0):  # (A、B按职责分工负责)
                flags.append(_("责任单位有多个，未注明牵头单位：%(units)s", units="、".join(u for u, _lead in units)))
    owners.lead = list(dict.fromkeys(owners.lead))
    owners.co = [u for u in dict.fromkeys(owners.co) if u not in owners.lead]
    return owners, flags


def owners_above_items(lines: list[Line], blocks: list[Block], others: list[list[int]]) -> None:
    """When a section writes each item's owners on the line above it (牵头单位：X, then 1.…), give those lines to
    the item below: they leave the item above, the section's intro or a group's intro (`others`) and come first in
    the item's lines (the tail after the last item is cut at its first line that is not plan text).

    That is the section's way when its first item and most of its items have an owner line right above them and its
    last item does not end with one; an owner line after each item (the last one too) stays where it is."""

    def above(blk: Block) -> list[int]:
        j = blk.line - 1
        while j >= 0 and lines[j].label is None and OWNER_LINE.match(lines[j].sh):
            j -= 1
        return list(range(j + 1, blk.line))

    if not blocks:
        return
    owned = [above(blk) for blk in blocks]
    last = blocks[-1].body
    if not owned[0] or 2 * sum(1 for o in owned if o) <= len(blocks) or (last and OWNER_LINE.match(lines[last[-1]].sh)):
        return
    moving = {i for o in owned for i in o}
    for container in others + [blk.body for blk in blocks]:
        container[:] = [i for i in container if i not in moving]
    for blk, o in zip(blocks, owned, strict=True):
        blk.body[:0] = o
