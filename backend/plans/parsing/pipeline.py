"""parse_plan: text → lines → outline → sections of blocks → items with what their text says.

Every line of the input ends up in exactly one place: the title or issuer header, a section heading, an
item's text, or `discarded` (web chrome, cover letter, preamble, signature, page numbers), so the admin
sees whatever the parser did not use.

The steps, in order: `_collect_lines` (page chrome, running headers, hard wraps, labels), `outline.find_outline`
(which numbering heads sections, where the body is), `outline.item_runs` (which numbered lines are items),
`_front_matter` (title, preamble), `_build_section` per section (lines into heading and item blocks, numbering
checks, what is discarded), `_trim_tail`, `_read_header` (issuer, year), then `_items` (blocks into items, each
filled by the steps in `attach.ATTACH`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from backend.i18n import _

from .attach import fill_item
from .deadlines import Period
from .frontmatter import ORG_LINE, Header, find_doc_number, find_issuer, find_title, find_year
from .inserts import lift
from .lines import (
    Label,
    find_label,
    is_hard_wrapped,
    is_page_chrome,
    looks_like_body,
    unwrap,
)
from .model import Group, Item, ParsedPlan, Section
from .outline import (
    Block,
    Level,
    Line,
    Outline,
    Region,
    choose_levels,
    dominant_kind,
    find_outline,
    item_runs,
    region_item_kind,
)
from .owners import ROLE_RE, owners_above_items
from .script import detect_script, shadow
from .tables import Table


def _split_title(raw: str, sh: str) -> tuple[str, int]:
    """Title of a heading line (up to its first 。 or colon, or a wide blank before a paragraph run into the
    heading) and where the rest begins."""
    cut = None
    depth = 0
    for i, ch in enumerate(sh):
        depth += (ch in "([") - (ch in ")]")
        if ch in "。!?;":
            cut = i
            break
        if ch == ":" and i <= 40 and depth <= 0:  # not the colon of a note: 加强党建(责任单位:组干科)
            cut = i
            break
        if ch == " " and 2 <= i <= 40 and (raw[i] == "\u3000" or sh[i + 1:i + 2] == " ") and len(sh) - i > 10:
            cut = i
            break
    if cut is None:
        return raw.strip().rstrip("。.").strip(), len(raw)
    return raw[:cut].strip().rstrip("。.").strip(), cut + 1


_TIME_NOTE = re.compile(r"[(\[][^()\[\]]*(?:\d{1,2}\s*月|\d{4}\s*年|长期坚持|持续推进|全年)[^()\[\]]*[)\]]\s*$")


def _strip_note(title: str) -> str:
    """`加强党建(责任单位:组干科)` → `加强党建`, `动员部署阶段(2025年3月)` → `动员部署阶段` (the notes stay in the
    item's text); a title that is only a note is kept."""
    sh = shadow(title)
    m = re.search(r"[(\[]\s*[^()\[\]]*?(?:单位|部门|科室|处室)\s*:[^()\[\]]*[)\]]\s*$", sh)
    if m and ROLE_RE.search(sh[m.start():]) and m.start() > 0:
        return title[: m.start()].rstrip()
    m = _TIME_NOTE.search(sh)
    if m and m.start() > 0:
        return title[: m.start()].rstrip()
    return title



def _collect_lines(text: str) -> tuple[list[Line], list[tuple[int, str]], bool]:
    """Non-empty lines without page chrome or running headers, hard wraps joined, each with its label."""
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
    kept = _join_continued(kept)
    wrapped, width = is_hard_wrapped([shadows[i] for i, _ in kept])
    # running page headers: a short line repeated on every page (PDF), or repeating one of the first lines
    counts = Counter(r for _, r in kept if len(r) <= 30)
    first = {r for _, r in kept[:3]}
    repeated = {
        r
        for r, c in counts.items()
        if ((wrapped and c >= 3) or (c >= 2 and r in first and shadow(r)[-1] not in "。;:!?"))
        and not find_label(r, shadow(r))
        and not (c == 2 and ORG_LINE.match(shadow(r)))  # the sender on top and in the signature: the issuer
    }
    if repeated:
        keep2: list[tuple[int, str]] = []
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
        lines.append(Line(pos, r, sh, find_label(r, sh)))
    return lines, discarded, wrapped


def _join_continued(kept: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A line that starts with 。 or ， continues the line before it (a title set apart from its description)."""
    out: list[tuple[int, str]] = []
    for pos, r in kept:
        if out and r[0] in "。，,；;":
            out[-1] = (out[-1][0], out[-1][1] + r)
        else:
            out.append((pos, r))
    return out


def _gap_flag(prev: Label, cur: Label) -> str | None:
    if cur.value == prev.value + 1:
        return None
    return _("编号不连续：%(previous)s之后是%(current)s", previous=prev.token, current=cur.token)


@dataclass
class _Parse:
    """What every step shares: the lines, the plan being filled and the (position, text) pairs discarded."""

    lines: list[Line]
    plan: ParsedPlan
    discarded: list[tuple[float, str]]

    def discard(self, i: int) -> None:
        self.discarded.append((self.lines[i].pos, self.lines[i].raw))


@dataclass
class _Front:
    """The lines before the body: the title found there, the preamble, and which lines are discarded."""

    header: Header
    first_line: int
    title_idx: int | None
    front_sh: list[str]
    preamble_sh: str
    discard: list[int]


@dataclass
class _Numbering:
    """The last section and item labels seen, to flag gaps across sections."""

    section: Label | None = None
    item: Label | None = None
    group: int | None = None


@dataclass
class _Built:
    """One section as built: its heading's title (and where its trailing text starts), blocks and intro lines."""

    section: Section
    blocks: list[Block]
    head: Block | None
    title: str = ""
    cut: int = 0
    intro: list[int] = field(default_factory=list)
    group_intro: list[int] = field(default_factory=list)  # group headings' own text before their first item
    above: list[int] = field(default_factory=list)  # headings above the groups, discarded whole


def parse_plan(text: str, *, default_year: int | None = None, tables: tuple[Table, ...] = ()) -> ParsedPlan:
    """Parse the text of an annual work plan (工作要点) into sections, items and measures; `tables` are the task
    tables `decode` lifted out of the text (their rows become items, see `inserts`)."""
    plan = ParsedPlan()
    text = text if isinstance(text, str) else str(text or "")
    plan.script = detect_script(text[:20000])
    text, lifted = lift(text, tables)  # tables and month calendars: placed into the sections at the end
    lines, discarded, _wrapped = _collect_lines(text)
    p = _Parse(lines, plan, list(discarded))
    outline = find_outline(lines)
    if outline.body_start >= 0 and not outline.heads and not lifted:
        plan.flags.append(_("未识别到分节标题（一、二、…），条目归入一个无标题的部分"))
    if outline.body_start < 0 and lifted:  # only a table or a calendar: the text around it is front matter
        _read_header(p, _front_matter(lines, len(lines)), [], default_year)
        plan.discarded = [r for _, r in sorted(p.discarded, key=lambda t: t[0])]
        plan.sections = lifted.place([], [], plan)
        return plan
    if outline.body_start < 0:
        return _no_structure(p, default_year)

    regions = outline.regions()
    kinds = outline.item_kinds()
    found_per_region = item_runs(lines, regions, kinds)
    dominant = dominant_kind(found_per_region)
    front = _front_matter(lines, outline.heads[0] if outline.heads else outline.body_start)
    numbering = _Numbering()
    runs = []
    for found in found_per_region:
        kind = region_item_kind(found, dominant, kinds)
        runs.append((kind, found.get(kind, []) if kind else []))
    levels = choose_levels(lines, regions, runs, outline.section_kind)
    built = [_build_section(p, region, level, numbering) for region, level in zip(regions, levels, strict=True)]
    tail = _trim_tail(lines, built, outline)
    _read_header(p, front, tail, default_year)
    plan.sections = _items(lines, built, front.header.period)
    plan.discarded = [r for _, r in sorted(p.discarded, key=lambda t: t[0])]
    plan.sections = lifted.place(plan.sections, [_span(lines, b) for b in built], plan)
    return plan


def _span(lines: list[Line], b: _Built) -> tuple[int, int]:
    """A section's first and last line, as positions in the text (where lifted tables and calendars stood)."""
    idx = [i for blk in ([b.head] if b.head else []) + b.blocks for i in (blk.line, *blk.body)] + b.intro
    return (lines[min(idx)].pos, lines[max(idx)].pos) if idx else (-1, -1)


def _no_structure(p: _Parse, default_year: int | None) -> ParsedPlan:
    """No numbered structure at all: every line is discarded, only the year is looked for."""
    plan = p.plan
    plan.flags.append(_("未识别到编号结构（一、 1. 等），全文放入舍弃区，请检查文档"))
    header = Header()
    find_year(header, None, "", "", "\n".join(ln.sh for ln in p.lines), default_year)
    plan.year = header.year
    plan.flags.extend(header.flags)
    p.discarded.extend((ln.pos, ln.raw) for ln in p.lines)
    plan.discarded = [r for _, r in sorted(p.discarded)]
    return plan


def _front_matter(lines: list[Line], first_line: int) -> _Front:
    """The title among the lines before the body, the preamble after it, and the rest to discard."""
    front_sh = [ln.sh for ln in lines[:first_line]]
    title, title_idx, title_is_line = find_title([ln.raw for ln in lines[:first_line]], front_sh, first_line)
    header = Header(title=title, title_idx=title_idx, title_is_line=title_is_line)
    pre_from = title_idx + 1 if title_idx is not None else 0
    preamble_idx = [i for i in range(pre_from, first_line) if looks_like_body(lines[i].sh)]
    preamble_sh = "\n".join(lines[i].sh for i in preamble_idx)
    discard = [i for i in range(first_line) if not (i == title_idx and title_is_line)]
    return _Front(header, first_line, title_idx, front_sh, preamble_sh, discard)


def _fill_region(lines: list[Line], region: Region, level: Level) -> _Built:
    """A section's lines into its heading block and item blocks; lines before the first item are its intro.

    A group heading ends the item before it; its own text up to its first item is the group's intro."""
    h = region.heading
    head = Block(h, lines[h].label) if h is not None else None
    blocks: list[Block] = []
    intro: list[int] = []
    run, kind, group_lines = set(level.items), level.kind, level.heads
    in_group_intro = False
    group_intro: list[int] = []
    above: list[int] = []
    grouping = set(level.groups.values())
    for i in range(region.start, region.end):
        if i in run:
            blocks.append(Block(i, lines[i].label, group=level.groups.get(i)))
            in_group_intro = False
            continue
        if i in group_lines:
            in_group_intro = True
            if i not in grouping:
                above.append(i)  # a heading above the groups: kept in full among the discarded
            continue
        if in_group_intro:
            group_intro.append(i)
        elif blocks:
            blocks[-1].body.append(i)
            label = lines[i].label
            if label and kind and label.kind == kind:
                blocks[-1].flags.append(
                    _("行首编号“%(label)s”未作为条目（编号顺序不符），请核对", label=label.token)
                )
        elif head is not None:
            head.body.append(i)
        else:
            intro.append(i)
    if blocks and head is not None:
        intro, head.body = head.body, []
    return _Built(Section(label="", title=""), blocks, head, intro=intro, group_intro=group_intro, above=above)


def _name_section(p: _Parse, b: _Built, numbering: _Numbering) -> None:
    """The section's label and title from its heading line, with a flag when its number skips."""
    hl = p.lines[b.head.line]  # type: ignore[union-attr]
    assert hl.label is not None
    b.title, b.cut = _split_title(hl.raw[hl.label.end:], hl.sh[hl.label.end:])
    b.section = Section(label=hl.label.token, title=b.title)
    if numbering.section is not None:
        gap = _gap_flag(numbering.section, hl.label)
        if gap:
            p.plan.flags.append(gap)
            (b.blocks[0].flags if b.blocks else b.head.flags).append(gap)  # type: ignore[union-attr]
    numbering.section = hl.label


def _check_item_numbers(blocks: list[Block], numbering: _Numbering) -> None:
    """Flag items whose number skips (across sections for one style; a section may restart at 1)."""
    for blk in blocks:
        assert blk.label is not None
        prev = numbering.item
        if prev is not None and prev.kind == blk.label.kind:
            gap = _gap_flag(prev, blk.label)
            if gap and not (blk.label.value == 1 and (blk is blocks[0] or blk.group != numbering.group)):
                blk.flags.append(gap)
        numbering.item, numbering.group = blk.label, blk.group


def _discard_intro(p: _Parse, b: _Built) -> None:
    """What is neither heading title nor item: the heading's trailing text and the lines before item 1, and the
    same under each group heading."""
    if not b.blocks:
        return
    _discard_group_intros(p, b)
    if b.head is None:
        for i in b.intro:
            p.discard(i)
        return
    hl = p.lines[b.head.line]
    rest = hl.raw[hl.label.end:][b.cut:].strip()  # type: ignore[union-attr]
    if rest:
        p.discarded.append((hl.pos + 0.5, rest))
    for i in b.intro:
        p.discard(i)
    if rest or b.intro:
        p.plan.flags.append(_("“%(section)s”下、第一条之前的导语未归入条目，已放入舍弃区", section=b.title))


def _discard_group_intros(p: _Parse, b: _Built) -> None:
    """Group headings' trailing text and the lines before their first item; headings above the groups (一、 between
    第一部分 and （一）) are discarded whole, with a flag of their own."""
    rests = []
    for g in dict.fromkeys(blk.group for blk in b.blocks if blk.group is not None):
        gl = p.lines[g]
        _title, cut = _split_title(gl.raw[gl.label.end:], gl.sh[gl.label.end:])  # type: ignore[union-attr]
        rest = gl.raw[gl.label.end:][cut:].strip()  # type: ignore[union-attr]
        if rest:
            rests.append((gl.pos + 0.5, rest))
    p.discarded.extend(rests)
    for i in b.group_intro + b.above:
        p.discard(i)
    if rests or b.group_intro:
        p.plan.flags.append(_("“%(section)s”下分组标题后的导语未归入条目，已放入舍弃区", section=b.title))
    if b.above:
        p.plan.flags.append(_("“%(section)s”下分组之上的标题（如“%(heading)s”）未作为分组，已放入舍弃区",
                              section=b.title, heading=p.lines[b.above[0]].raw[:20]))


def _build_section(p: _Parse, region: Region, level: Level, numbering: _Numbering) -> _Built:
    b = _fill_region(p.lines, region, level)
    owners_above_items(p.lines, b.blocks, [b.intro, b.group_intro, b.above])
    if b.head is not None:
        _name_section(p, b, numbering)
    _check_item_numbers(b.blocks, numbering)
    _discard_intro(p, b)
    return b


def _trim_tail(lines: list[Line], built: list[_Built], outline: Outline) -> list[int]:
    """The tail after the last heading or item stops at the first line that is not plan text; then the lines
    after the body's end. Both are returned to be discarded (or read for the issuer)."""
    tail: list[int] = []
    last = built[-1] if built else None
    target = (last.blocks[-1] if last.blocks else last.head) if last else None
    if target is not None:
        body = target.body
        keep = []
        for j, i in enumerate(body):
            if looks_like_body(lines[i].sh):
                keep.append(i)
                continue
            tail.extend(body[j:])
            break
        target.body = keep
    tail.extend(range(outline.body_end, len(lines)))
    return tail


def _read_header(p: _Parse, front: _Front, tail: list[int], default_year: int | None) -> None:
    """Issuer and year from the front matter and the tail; what they do not use is discarded."""
    lines, plan, header = p.lines, p.plan, front.header
    full_sh = "\n".join(ln.sh for ln in lines)
    find_issuer(
        [ln.raw for ln in lines],
        [ln.sh for ln in lines],
        header,
        front.discard + tail,
        front.first_line,
        front.preamble_sh,
        full_sh,
    )
    title_sh = lines[front.title_idx].sh if front.title_idx is not None else None
    if title_sh is not None and header.title:
        title_sh = shadow(header.title)
    find_year(header, title_sh, front.preamble_sh, "\n".join(front.front_sh), full_sh, default_year)
    find_doc_number(header, [ln.raw for ln in lines], [ln.sh for ln in lines], front.discard + tail)
    plan.title, plan.issuer, plan.year, plan.doc_number = header.title, header.issuer, header.year, header.doc_number
    plan.flags[:0] = header.flags
    issuer = re.sub(r"\s+", "", plan.issuer or "")
    for i in front.discard:
        if i == header.issuer_idx and re.sub(r"\s+", "", lines[i].raw) == issuer:
            continue
        p.discard(i)
    for i in tail:
        p.discard(i)


def _items(lines: list[Line], built: list[_Built], year: Period) -> list[Section]:
    """Blocks become items: each numbered block is an item; a section without items is one item itself.

    A table's rows and a month calendar's lines become items afterwards, in `inserts.Lifted.place`.
    """
    sections = []
    for b in built:
        if b.blocks:
            owner = (lines[b.head.line].raw, lines[b.head.line].sh) if b.head is not None else ("", "")
            for blk in b.blocks:
                item = _item_from_block(lines, blk, year, _group_owner(lines, blk) or owner)
                item.group = _group(lines, blk)
                b.section.items.append(item)
        elif b.head is not None:
            b.section.items.append(_item_from_heading(lines, b.head, b.section.title, year))
        sections.append(b.section)
    return sections


def _group(lines: list[Line], blk: Block) -> Group | None:
    if blk.group is None:
        return None
    gl = lines[blk.group]
    assert gl.label is not None
    title, _cut = _split_title(gl.raw[gl.label.end:], gl.sh[gl.label.end:])
    return Group(gl.label.token, _strip_note(title))


def _group_owner(lines: list[Line], blk: Block) -> tuple[str, str] | None:
    """A group heading that names owners hands them to its items that name none."""
    if blk.group is None or not ROLE_RE.search(lines[blk.group].sh):
        return None
    return lines[blk.group].raw, lines[blk.group].sh


def _item_from_block(lines: list[Line], blk: Block, year: Period, section_owner: tuple[str, str]) -> Item:
    ln = lines[blk.line]
    assert blk.label is not None
    content_raw = ln.raw[blk.label.end:]
    title, cut = _split_title(content_raw, ln.sh[blk.label.end:])
    if re.fullmatch(r"[(（][^()（）]*[)）]", title) and cut < len(content_raw):
        # 第一阶段（2025年3月）：宣传发动。 — the note before the colon is not the title, the words after it are
        more, more_cut = _split_title(content_raw[cut:], ln.sh[blk.label.end:][cut:])
        title, cut = (more, cut + more_cut) if more else (title, cut)
    item = Item(number=blk.label.value, title=_strip_note(title), text="", label=blk.label.token)
    if cut >= len(content_raw) and not blk.body and len(title) > 25:
        item.flags.append(_("未找到标题与正文的分隔（可能缺少标点），整段作为标题，请核对"))
    raw_parts = [content_raw] + [lines[i].raw for i in blk.body]
    fill_item(item, raw_parts, blk.flags, blk.label.kind, year, section_owner)
    return item


def _item_from_heading(lines: list[Line], head: Block, title: str, year: Period) -> Item:
    """A section with no numbered items under it is one item: the heading's title, its text."""
    hl = lines[head.line]
    assert hl.label is not None
    item = Item(number=None, title=title, text="", label=None)
    raw_parts = [hl.raw[hl.label.end:]] + [lines[i].raw for i in head.body]
    fill_item(item, raw_parts, head.flags, hl.label.kind, year, ("", ""))
    return item
