"""parse_plan: text → sections → items → measures, with targets, deadlines, recurrence and owners.

Every line of the input ends up in exactly one place: the title or issuer header, a section heading, an
item's text, or `discarded` (web chrome, cover letter, preamble, signature, page numbers), so the admin
sees whatever the parser did not use.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from backend.i18n import _

from .deadlines import find_deadlines, find_recurrence
from .frontmatter import Header, find_issuer, find_title, find_year
from .lines import (
    RANK,
    Label,
    find_label,
    is_hard_end,
    is_hard_wrapped,
    is_page_chrome,
    looks_like_body,
    unwrap,
)
from .measures import find_measures
from .model import Item, Owners, ParsedPlan, Section
from .owners import ROLE_RE, find_owners
from .script import detect_script, shadow
from .targets import find_targets

SECTION_KINDS = ("part", "cn", "pcn")
ITEM_KINDS = ("cn", "pcn", "ar", "par", "circ")


@dataclass
class _Line:
    pos: int  # position in the document, for ordering what is discarded
    raw: str
    sh: str
    label: Label | None = None


@dataclass
class _Block:
    """A section heading or an item: its label line and the lines that follow."""

    line: int
    label: Label | None
    body: list[int] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def _split_title(raw: str, sh: str) -> tuple[str, int]:
    """Title of a heading line (up to its first 。 or colon) and where the rest begins."""
    cut = None
    for i, ch in enumerate(sh):
        if ch in "。!?;":
            cut = i
            break
        if ch == ":" and i <= 40:
            cut = i
            break
    if cut is None:
        return raw.strip().rstrip("。.").strip(), len(raw)
    return raw[:cut].strip().rstrip("。.").strip(), cut + 1


def _strip_owner_note(title: str) -> str:
    """`加强党建(责任单位:组干科)` → `加强党建` (the owners stay in the item's text)."""
    sh = shadow(title)
    m = re.search(r"[(\[]\s*[^()\[\]]*?(?:单位|部门|科室|处室)\s*:[^()\[\]]*[)\]]\s*$", sh)
    if m and ROLE_RE.search(sh[m.start():]):
        return title[: m.start()].rstrip()
    return title


def _chains(lines: list[_Line], idxs: list[int], starts: tuple[int, ...] = (1,)) -> list[list[int]]:
    """Runs of labels of one style whose numbers go up (gaps of up to 2 and repeats tolerated).

    Several runs can be open at once (a list numbered 一、二、 quoted inside a section does not break the run of
    section headings): a label continues the run it follows exactly, else one it follows loosely, else it
    starts a new run. Among runs it could continue, the longest wins, then the one whose last label is nearest.

    The open runs are kept in a heap per last number (best first, stale entries dropped when met), so a label
    looks at the few numbers it could follow instead of every run: thousands of lines numbered “1.” used to cost
    one comparison per run per line (16,000 such lines took 19 s).
    """
    chains: list[list[int]] = []
    by_last: dict[int, list[tuple[int, int, int]]] = {}  # last value -> heap of (-len, -last index, chain no.)

    def push(n: int) -> None:
        chain = chains[n]
        heapq.heappush(by_last.setdefault(lines[chain[-1]].label.value, []),  # type: ignore[union-attr]
                       (-len(chain), -chain[-1], n))

    def best(value: int) -> tuple[int, int, int] | None:
        heap = by_last.get(value)
        while heap:
            length, last, n = heap[0]
            chain = chains[n]
            if -length == len(chain) and -last == chain[-1]:
                return heap[0]
            heapq.heappop(heap)  # the run has grown since: it is filed under its new last number
        return None

    for i in idxs:
        label = lines[i].label
        assert label is not None
        v = label.value
        fits = [e for e in (best(v - 1),) if e is not None]
        if not fits and not label.loose:
            # a repeated number continues a run (五、五、七 as published), but a repeated 1 starts a new one
            previous = range(v - 3, v + (0 if v in starts else 1))
            fits = [e for e in (best(prev) for prev in previous) if e is not None]
        if fits:
            n = min(fits)[2]  # the longest run; the nearest among equals
            chains[n].append(i)
            push(n)
        elif v in starts:
            chains.append([i])
            push(len(chains) - 1)
    return chains


def _gap_flag(prev: Label, cur: Label) -> str | None:
    if cur.value == prev.value + 1:
        return None
    return _("编号不连续：%(previous)s之后是%(current)s", previous=prev.token, current=cur.token)


def _collect_lines(text: str) -> tuple[list[_Line], list[tuple[int, str]], bool]:
    raws = [s.strip() for s in (text or "").splitlines()]
    positions = [i for i, s in enumerate(raws) if s]
    discarded: list[tuple[int, str]] = []
    kept: list[tuple[int, str]] = []
    shadows = {i: shadow(raws[i]) for i in positions}
    for i in positions:
        if is_page_chrome(shadows[i]):
            discarded.append((i, raws[i]))
        else:
            kept.append((i, raws[i]))
    wrapped, width = is_hard_wrapped([shadows[i] for i, _ in kept])
    # running page headers: a short line repeated on every page (PDF), or repeating one of the first lines
    counts = Counter(r for _, r in kept if len(r) <= 30)
    first = {r for _, r in kept[:3]}
    repeated = {
        r
        for r, c in counts.items()
        if ((wrapped and c >= 3) or (c >= 2 and r in first and shadow(r)[-1] not in "。;:!?"))
        and not find_label(r, shadow(r))
    }
    if repeated:
        keep2 = []
        for pos, r in kept:
            (discarded if r in repeated else keep2).append((pos, r))
        kept = keep2
    if wrapped:
        joined: list[tuple[int, str]] = []
        merged = unwrap([r for _, r in kept], width)
        # map merged lines back to positions: unwrap only concatenates consecutive lines
        k = 0
        for m in merged:
            joined.append((kept[k][0], m))
            length = 0
            while k < len(kept) and length < len(m):
                length += len(kept[k][1])
                k += 1
        kept = joined
    lines = []
    for pos, r in kept:
        sh = shadows[pos] if not wrapped and len(shadows[pos]) == len(r) else shadow(r)
        lines.append(_Line(pos, r, sh, find_label(r, sh)))
    return lines, discarded, wrapped


def parse_plan(text: str, *, default_year: int | None = None) -> ParsedPlan:
    """Parse the text of an annual work plan (工作要点) into sections, items and measures."""
    plan = ParsedPlan()
    text = text if isinstance(text, str) else str(text or "")
    plan.script = detect_script(text[:20000])
    lines, discarded, _wrapped = _collect_lines(text)
    n = len(lines)

    # ---- sections: the highest numbering style that forms a run of at least two headings
    section_kind: str | None = None
    section_chain: list[int] = []
    for kind in SECTION_KINDS:
        idxs = [i for i, ln in enumerate(lines) if ln.label and ln.label.kind == kind]
        chains = _chains(lines, idxs)

        def weight(chain: list[int], kind: str = kind) -> tuple[int, int]:
            # equal runs (a numbered cover letter before the plan): prefer the one with numbered items under it
            end = chain[-1] + 1
            while end < min(len(lines), chain[-1] + 40) and not is_hard_end(lines[end].sh):
                end += 1
            below = sum(1 for j in range(chain[0], end) if lines[j].label and RANK[lines[j].label.kind] > RANK[kind])
            return len(chain), below

        best = max(chains, key=weight, default=[])
        if len(best) >= 2:
            section_kind, section_chain = kind, best
            break

    # ---- body end: the first hard end marker (上一篇, 附件, 主办单位, a date line …) after the body starts
    def first_hard_end(start: int) -> int:
        for i in range(start + 1, n):
            if is_hard_end(lines[i].sh):
                return i
        return n

    item_rank_floor = RANK[section_kind] if section_kind else RANK["pcn"]
    if section_kind:
        body_start = section_chain[0]
        body_end = first_hard_end(body_start)
        section_chain = [i for i in section_chain if i < body_end]
        heads = section_chain
    else:
        # no headings: numbered items under one unnamed section
        body_start, heads = -1, []
        for kind in ITEM_KINDS:
            if RANK[kind] <= item_rank_floor:
                continue
            idxs = [i for i, ln in enumerate(lines) if ln.label and ln.label.kind == kind]
            best = max(_chains(lines, idxs), key=len, default=[])
            if len(best) >= 2:
                body_start = best[0]
                break
        body_end = first_hard_end(body_start) if body_start >= 0 else n

    if body_start >= 0 and not heads:
        plan.flags.append(_("未识别到分节标题（一、二、…），条目归入一个无标题的部分"))
    if body_start < 0:
        plan.flags.append(_("未识别到编号结构（一、 1. 等），全文放入舍弃区，请检查文档"))
        header = Header()
        find_year(header, None, "", "", "\n".join(ln.sh for ln in lines), default_year)
        plan.year = header.year
        plan.flags.extend(header.flags)
        discarded.extend((ln.pos, ln.raw) for ln in lines)
        plan.discarded = [r for _, r in sorted(discarded)]
        return plan

    # ---- regions: (heading line or None, first line, end line)
    regions: list[tuple[int | None, int, int]] = []
    if heads:
        for k, h in enumerate(heads):
            end = heads[k + 1] if k + 1 < len(heads) else body_end
            regions.append((h, h + 1, end))
    else:
        regions.append((None, body_start, body_end))

    # ---- items: per region, the dominant numbering style below the section's
    floor = RANK[section_kind] if section_kind else item_rank_floor
    candidates = [k for k in ITEM_KINDS if RANK[k] > floor]
    region_chains: list[dict[str, list[int]]] = []
    last_value: dict[str, int] = {}
    for _heading, a, b in regions:
        found: dict[str, list[int]] = {}
        for kind in candidates:
            idxs = [i for i in range(a, b) if lines[i].label and lines[i].label.kind == kind]
            if not idxs:
                continue
            starts = (1,) + ((last_value[kind] + 1,) if kind in last_value else ())
            chains = [c for c in _chains(lines, idxs, starts) if c]
            if chains:
                found[kind] = max(chains, key=lambda c: (len(c), -c[0]))
        region_chains.append(found)
        for kind, chain in found.items():
            last_value[kind] = lines[chain[-1]].label.value  # type: ignore[union-attr]
    usage = Counter(k for found in region_chains for k in found)
    dominant = None
    if usage:
        dominant = max(usage, key=lambda k: (usage[k], -RANK[k]))

    # ---- front matter: title, issuer, year
    first_line = heads[0] if heads else body_start
    front_sh = [ln.sh for ln in lines[:first_line]]
    title, title_idx, title_is_line = find_title([ln.raw for ln in lines[:first_line]], front_sh, first_line)
    header = Header(title=title, title_idx=title_idx, title_is_line=title_is_line)
    pre_from = title_idx + 1 if title_idx is not None else 0
    preamble_idx = [i for i in range(pre_from, first_line) if looks_like_body(lines[i].sh)]
    preamble_sh = "\n".join(lines[i].sh for i in preamble_idx)
    front_discard = [i for i in range(first_line) if not (i == title_idx and title_is_line)]
    tail_idx: list[int] = []

    # ---- build sections and items
    section_label_prev: Label | None = None
    item_prev: Label | None = None
    built: list[tuple[Section, list[_Block], _Block | None]] = []
    for (h, a, b), found in zip(regions, region_chains, strict=True):
        kind = None
        if dominant and dominant in found:
            kind = dominant
        else:
            for k in candidates:
                if k in found and len(found[k]) >= 2:
                    kind = k
                    break
        chain = set(found.get(kind, [])) if kind else set()
        head_block = _Block(h, lines[h].label if h is not None else None) if h is not None else None
        blocks: list[_Block] = []
        intro: list[int] = []
        for i in range(a, b):
            if i in chain:
                blocks.append(_Block(i, lines[i].label))
            elif blocks:
                blocks[-1].body.append(i)
            elif head_block is not None:
                head_block.body.append(i)
            else:
                intro.append(i)
            if lines[i].label and kind and lines[i].label.kind == kind and i not in chain and blocks:
                blocks[-1].flags.append(
                    _("行首编号“%(label)s”未作为条目（编号顺序不符），请核对", label=lines[i].label.token)
                )
        if blocks and head_block is not None:
            intro = head_block.body
            head_block.body = []
        # section
        if h is not None:
            hl = lines[h]
            assert hl.label is not None
            rest_raw, rest_sh = hl.raw[hl.label.end:], hl.sh[hl.label.end:]
            stitle, cut = _split_title(rest_raw, rest_sh)
            section = Section(label=hl.label.token, title=stitle)
            if section_label_prev is not None:
                gap = _gap_flag(section_label_prev, hl.label)
                if gap:
                    plan.flags.append(gap)
                    (blocks[0].flags if blocks else head_block.flags).append(gap)  # type: ignore[union-attr]
            section_label_prev = hl.label
        else:
            section = Section(label="", title="")
            stitle, cut = "", 0
        built.append((section, blocks, head_block))
        # item numbering continuity
        for blk in blocks:
            assert blk.label is not None
            if item_prev is not None and item_prev.kind == blk.label.kind:
                gap = _gap_flag(item_prev, blk.label)
                if gap and not (blk.label.value == 1 and blk is blocks[0]):
                    blk.flags.append(gap)
            item_prev = blk.label
        # what is neither heading title nor item: the heading's trailing text and lines before item 1
        if blocks and h is not None:
            hl = lines[h]
            rest = hl.raw[hl.label.end:][cut:].strip()  # type: ignore[union-attr]
            if rest:
                discarded.append((hl.pos + 0.5, rest))
            for i in intro:
                discarded.append((lines[i].pos, lines[i].raw))
            if rest or intro:
                plan.flags.append(_("“%(section)s”下、第一条之前的导语未归入条目，已放入舍弃区", section=stitle))
        elif blocks:
            for i in intro:
                discarded.append((lines[i].pos, lines[i].raw))

    # ---- the tail after the last heading or item: stop at the first line that is not plan text
    if built:
        _section, blocks, head_block = built[-1]
        target = blocks[-1] if blocks else head_block
        if target is not None:
            body = target.body
            keep = []
            for j, i in enumerate(body):
                if looks_like_body(lines[i].sh):
                    keep.append(i)
                    continue
                tail_idx.extend(body[j:])
                break
            target.body = keep
    after = list(range(body_end, n))
    tail_idx.extend(after)

    # ---- header
    full_sh = "\n".join(ln.sh for ln in lines)
    find_issuer(
        [ln.raw for ln in lines],
        [ln.sh for ln in lines],
        header,
        front_discard + tail_idx,
        first_line,
        preamble_sh,
        full_sh,
    )
    title_sh = lines[title_idx].sh if title_idx is not None else None
    if title_sh is not None and header.title:
        title_sh = shadow(header.title)
    find_year(header, title_sh, preamble_sh, "\n".join(front_sh), full_sh, default_year)
    plan.title, plan.issuer, plan.year = header.title, header.issuer, header.year
    plan.flags[:0] = header.flags
    for i in front_discard:
        if i == header.issuer_idx and re.sub(r"\s+", "", lines[i].raw) == re.sub(r"\s+", "", plan.issuer or ""):
            continue
        discarded.append((lines[i].pos, lines[i].raw))
    for i in tail_idx:
        discarded.append((lines[i].pos, lines[i].raw))

    # ---- items
    year = plan.year
    for section, blocks, head_block in built:
        section_owner: tuple[str, str] = ("", "")
        if head_block is not None:
            hl = lines[head_block.line]
            section_owner = (hl.raw, hl.sh)
        if blocks:
            for blk in blocks:
                ln = lines[blk.line]
                assert blk.label is not None
                content_raw = ln.raw[blk.label.end:]
                content_sh = ln.sh[blk.label.end:]
                title, cut = _split_title(content_raw, content_sh)
                item = Item(number=blk.label.value, title=_strip_owner_note(title), text="", label=blk.label.token)
                if cut >= len(content_raw) and not blk.body and len(title) > 25:
                    item.flags.append(_("未找到标题与正文的分隔（可能缺少标点），整段作为标题，请核对"))
                raw_parts = [content_raw] + [lines[i].raw for i in blk.body]
                _fill(item, raw_parts, blk.flags, blk.label.kind, year, section_owner)
                section.items.append(item)
        elif head_block is not None:
            hl = lines[head_block.line]
            assert hl.label is not None
            item = Item(number=None, title=section.title, text="", label=None)
            raw_parts = [hl.raw[hl.label.end:]] + [lines[i].raw for i in head_block.body]
            _fill(item, raw_parts, head_block.flags, hl.label.kind, year, ("", ""))
            section.items.append(item)
        plan.sections.append(section)

    plan.discarded = [r for _, r in sorted(discarded, key=lambda t: t[0])]
    return plan


def _fill(
    item: Item, raw_parts: list[str], flags: list[str], kind: str, year: int | None, section: tuple[str, str]
) -> None:
    text = "\n".join(p.strip() for p in raw_parts if p.strip())
    sh = shadow(text)
    item.text = text
    item.flags.extend(flags)
    # measures: styles at or above the item's own numbering are not measures
    styles = {"cn": "cn", "pcn": "pcn", "ar": "ar", "par": "par", "circ": "circ"}
    exclude = tuple(s for k, s in styles.items() if RANK[k] <= RANK[kind])
    title_end = len(item.title) if text.startswith(item.title) else 0
    body_sh, body_raw = sh[title_end:], text[title_end:]
    item.measures = find_measures(body_sh, body_raw, exclude)
    item.targets, tflags = find_targets(sh, text)
    item.flags.extend(tflags)
    deadlines, dflags = find_deadlines(sh, text, year)
    item.deadlines = deadlines
    item.flags.extend(dflags)
    if deadlines:
        dates = sorted({d.date for d in deadlines})
        item.deadline = dates[-1]
        if len(dates) > 1:
            shown = "、".join(
                _("%(month)s月%(day)s日", month=d.month, day=d.day) if d.year == (year or d.year) else d.isoformat()
                for d in dates
            )
            item.flags.append(_("含多个截止日期：%(dates)s，取最晚", dates=shown))
    if item.deadline:
        item.due = item.deadline
    elif year:
        item.due = date(year, 12, 31)
    else:
        item.flags.append(_("未识别到年份，无法确定完成期限"))
    phrases = find_recurrence(sh, text)
    item.recurrence = "；".join(phrases) if phrases else None
    item.owners, oflags = find_owners(sh, text)
    item.flags.extend(oflags)
    if not item.owners.lead and not item.owners.co and section[0]:
        inherited, _flags = find_owners(section[1], section[0])
        if inherited.lead or inherited.co:
            item.owners = Owners(list(inherited.lead), list(inherited.co))
            item.flags.append(_("责任单位取自所在部分的标题"))
    if len(item.title) > 60:
        item.flags.append(_("条目标题过长，可能缺少句号，请核对"))
    if not item.title:
        item.flags.append(_("条目没有标题"))
