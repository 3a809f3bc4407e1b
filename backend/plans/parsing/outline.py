"""The outline of a plan: which numbering style heads its sections, where its body starts and ends, and which
numbered lines are the items of each section.

A numbering style is a `Label.kind` from `lines.find_label`, ranked by `lines.RANK` (第一部分 above 一、 above
(一) above 1. …). A new numbering scheme is taught to `find_label` and `lines.KINDS`, then listed here in
`SECTION_KINDS` if it can head sections and in `ITEM_KINDS` if it can number items; the recognisers below pick
levels by rank and by runs of numbers, not by naming styles.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass, field

from .lines import OWNER_MARK, RANK, Label, is_hard_end

SECTION_KINDS = ("part", "cn", "act", "pcn")
ITEM_KINDS = ("cn", "act", "pcn", "phase", "task", "ar", "par", "circ")


@dataclass
class Line:
    pos: int  # position in the document, for ordering what is discarded
    raw: str
    sh: str
    label: Label | None = None


@dataclass
class Block:
    """A section heading or an item: its label line and the lines that follow."""

    line: int
    label: Label | None
    body: list[int] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    group: int | None = None  # the line of the heading it is grouped under, below its section's


@dataclass
class Region:
    """The lines of one section: its heading (None for the unnamed section) and [start, end)."""

    heading: int | None
    start: int
    end: int


@dataclass
class Outline:
    """Where the body is and how it is cut into sections; `body_start` is -1 when no numbering was found."""

    section_kind: str | None
    heads: list[int]
    body_start: int
    body_end: int

    def regions(self) -> list[Region]:
        if not self.heads:
            return [Region(None, self.body_start, self.body_end)]
        ends = self.heads[1:] + [self.body_end]
        return [Region(h, h + 1, end) for h, end in zip(self.heads, ends, strict=True)]

    def item_kinds(self) -> list[str]:
        """Styles that can number items: those ranked below the section headings' (below (一) without headings)."""
        floor = RANK[self.section_kind or "pcn"]
        return [k for k in ITEM_KINDS if RANK[k] > floor]


def _labelled(lines: list[Line], kind: str, start: int = 0, end: int | None = None) -> list[int]:
    stop = len(lines) if end is None else end
    return [i for i in range(start, stop) if lines[i].label and lines[i].label.kind == kind]  # type: ignore[union-attr]


def chains(lines: list[Line], idxs: list[int], starts: tuple[int, ...] = (1,)) -> list[list[int]]:
    """Runs of labels of one style whose numbers go up (gaps of up to 2 and repeats tolerated).

    Several runs can be open at once (a list numbered 一、二、 quoted inside a section does not break the run of
    section headings): a label continues the run it follows exactly, else one it follows loosely, else it
    starts a new run. Among runs it could continue, the longest wins, then the one whose last label is nearest.

    The open runs are kept in a heap per last number (best first, stale entries dropped when met), so a label
    looks at the few numbers it could follow instead of every run: thousands of lines numbered “1.” used to cost
    one comparison per run per line (16,000 such lines took 19 s).
    """
    runs: list[list[int]] = []
    by_last: dict[int, list[tuple[int, int, int]]] = {}  # last value -> heap of (-len, -last index, run no.)

    def push(n: int) -> None:
        run = runs[n]
        heapq.heappush(by_last.setdefault(lines[run[-1]].label.value, []),  # type: ignore[union-attr]
                       (-len(run), -run[-1], n))

    def best(value: int) -> tuple[int, int, int] | None:
        heap = by_last.get(value)
        while heap:
            length, last, n = heap[0]
            run = runs[n]
            if -length == len(run) and -last == run[-1]:
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
            runs[n].append(i)
            push(n)
        elif v in starts:
            runs.append([i])
            push(len(runs) - 1)
    return runs


def _first_hard_end(lines: list[Line], start: int) -> int:
    """The first hard end marker (上一篇, 附件, 主办单位, a date line …) after the body starts."""
    for i in range(start + 1, len(lines)):
        if is_hard_end(lines[i].sh):
            return i
    return len(lines)


def _headings_below(lines: list[Line], run: list[int], kind: str) -> int:
    """Numbered lines of a lower style under a run of headings (looking up to 40 lines past its last one)."""
    end = run[-1] + 1
    while end < min(len(lines), run[-1] + 40) and not is_hard_end(lines[end].sh):
        end += 1
    labels = (lines[j].label for j in range(run[0], end))
    return sum(1 for label in labels if label is not None and RANK[label.kind] > RANK[kind])


def find_sections(lines: list[Line], start: int = 0) -> tuple[str | None, list[int]]:
    """The highest numbering style that forms a run of at least two headings (from line `start`), and that run.

    Between equal runs (a numbered cover letter before the plan) the one with numbered items under it wins.
    """
    for kind in SECTION_KINDS:

        def weight(run: list[int], kind: str = kind) -> tuple[int, int]:
            return len(run), _headings_below(lines, run, kind)

        best = max(chains(lines, _labelled(lines, kind, start)), key=weight, default=[])
        if len(best) >= 2:
            return kind, best
    return None, []


_SIGNED = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*$")


_NOTICE = re.compile(r"印发|现将|转发")
_PLAN_TITLE = re.compile(r"(?:计划|要点|方案|安排|意见|规划)\s*(?:\(.{0,20}\))?\s*$")


def _letter_before_plan(lines: list[Line], kind: str, heads: list[int], end: int) -> bool:
    """Headings with nothing numbered under them in a 印发通知, ended by the letter's signed date, with the plan's
    title and a numbered plan after it: the 一、二、 of the notice's requirements, not the plan's sections.

    (A plan whose sections are single paragraphs, signed, with a numbered 附件 after it, keeps its sections.)"""
    if end >= len(lines) or not _SIGNED.search(lines[end].sh):
        return False
    if not any(_NOTICE.search(ln.sh) for ln in lines[:heads[0]]):
        return False
    if any(ln.label and RANK[ln.label.kind] > RANK[kind] for ln in lines[heads[0]:end]):
        return False
    later_kind, later = find_sections(lines, end)
    if later_kind is None or _headings_below(lines, later, later_kind) == 0:
        return False
    between = lines[end + 1:later[0]]
    return not any(is_hard_end(ln.sh) for ln in between) and any(_PLAN_TITLE.search(ln.sh) for ln in between)


def _first_item_run(lines: list[Line], kinds: list[str]) -> int:
    """Without section headings: where the first run of at least two numbered items starts (-1 if none)."""
    for kind in kinds:
        best = max(chains(lines, _labelled(lines, kind)), key=len, default=[])
        if len(best) >= 2:
            return best[0]
    return -1


def find_outline(lines: list[Line]) -> Outline:
    """Sections if the plan has headings, else numbered items under one unnamed section, else nothing (-1)."""
    section_kind, heads = find_sections(lines)
    if section_kind:
        body_end = _first_hard_end(lines, heads[0])
        if _letter_before_plan(lines, section_kind, heads, body_end):
            section_kind, heads = find_sections(lines, body_end)
            body_end = _first_hard_end(lines, heads[0])
        return Outline(section_kind, [i for i in heads if i < body_end], heads[0], body_end)
    outline = Outline(None, [], -1, len(lines))
    outline.body_start = _first_item_run(lines, outline.item_kinds())
    if outline.body_start >= 0:
        outline.body_end = _first_hard_end(lines, outline.body_start)
    return outline


def item_runs(lines: list[Line], regions: list[Region], kinds: list[str]) -> list[dict[str, list[int]]]:
    """Per region and style, the best run of item numbers (longest, then earliest).

    A style's numbering may continue from the previous section instead of restarting at 1.
    """
    found_per_region: list[dict[str, list[int]]] = []
    last_value: dict[str, int] = {}
    for region in regions:
        found: dict[str, list[int]] = {}
        for kind in kinds:
            idxs = _labelled(lines, kind, region.start, region.end)
            if not idxs:
                continue
            starts = (1,) + ((last_value[kind] + 1,) if kind in last_value else ())
            runs = [c for c in chains(lines, idxs, starts) if c]
            if runs:
                found[kind] = max(runs, key=lambda c: (len(c), -c[0]))
        found_per_region.append(found)
        for kind, run in found.items():
            last_value[kind] = lines[run[-1]].label.value  # type: ignore[union-attr]
    return found_per_region


def dominant_kind(found_per_region: list[dict[str, list[int]]]) -> str | None:
    """The style that numbers items in most sections (the higher one between equals)."""
    usage = Counter(k for found in found_per_region for k in found)
    if not usage:
        return None
    return max(usage, key=lambda k: (usage[k], -RANK[k]))


def region_item_kind(found: dict[str, list[int]], dominant: str | None, kinds: list[str]) -> str | None:
    """The style of a section's items: the dominant one if it has a run here, else the highest with two or more."""
    if dominant and dominant in found:
        return dominant
    for k in kinds:
        if k in found and len(found[k]) >= 2:
            return k
    return None


# a unit's own accountability: owners named (责任单位：…, 责任人：…, 【牵头单位】…), or a note in brackets that ends it
# and names who leads ((市教育局牵头，市财政局配合), (各区按职责分工负责), (办公室、宣传科)) or when ((2025年6月底前),
# (长期坚持))
_UNIT = r"[\u4e00-\u9fff]{1,15}(?:科|处|室|股|局|办|中心|委|站|院|馆|部|组|所)"
_WHO_NOTE = re.compile(
    r"[(\[][^()\[\]]*(?:牵头|负责)[^()\[\]]*[)\]]\s*[。.;]?\s*$|(?:责任人|牵头领导|分管领导|责任领导|责任|负责)\s*:"
    rf"|[(\[]\s*{_UNIT}(?:\s*[、,]\s*{_UNIT})*\s*[)\]]\s*[。.;]?\s*$",
    re.M,
)
_WHEN_NOTE = re.compile(
    r"[(\[](?:[^()\[\]]*\d{1,2}\s*月[^()\[\]]*|长期坚持|持续推进|全年)[)\]]\s*[。.;]?\s*$|完成时间\s*:", re.M
)


@dataclass
class Level:
    """The items of one section: their style, their lines, and for each the heading it is grouped under."""

    kind: str | None
    items: list[int]
    groups: dict[int, int] = field(default_factory=dict)  # item line -> group heading line
    heads: set[int] = field(default_factory=set)  # every heading above the items below the section's (groups too)


def _accountable(lines: list[Line], start: int, end: int, when: bool = True) -> bool:
    """Whether the numbered unit on lines [start, end) names its own owners or (`when`) ends with its own time note;
    completion times (完成时限) count as owners do."""
    sh = "\n".join(lines[i].sh for i in range(start, end))
    return bool(OWNER_MARK.search(sh) or _WHO_NOTE.search(sh) or (when and _WHEN_NOTE.search(sh)))


def _children(lines: list[Line], parents: list[int], end: int, kind: str) -> dict[int, list[int]]:
    """Per parent unit, the run of `kind` labels inside it (restarting at 1 or continuing the previous parent's)."""
    found: dict[int, list[int]] = {}
    last: int | None = None
    for p, stop in zip(parents, parents[1:] + [end], strict=True):
        idxs = _labelled(lines, kind, p + 1, stop)
        if not idxs:
            continue
        # numbering that runs on through the plan starts this section's first group where it left off
        starts = (1, last + 1 if last is not None else lines[idxs[0]].label.value)  # type: ignore[union-attr]
        runs = [c for c in chains(lines, idxs, starts) if c]
        if runs:
            found[p] = max(runs, key=lambda c: (len(c), -c[0]))
            last = lines[found[p][-1]].label.value  # type: ignore[union-attr]
    return found


def finer_level(lines: list[Line], region: Region, kind: str | None, run: list[int], least: int = 2) -> Level:
    """Items are the finest level that carries its own owners or deadline.

    Below the section's item style, the next style numbered inside its units (1. under (一), 1. under 行动一) is
    taken as the items when at least two of its units, and at least half of them, name their own owners or end
    with a time note; the units above become their groups (a unit with nothing numbered under it stays an item).
    This repeats downwards ((1) under such 1. only if they too carry owners). A level that carries nothing may be
    passed through on the way down (一、/(一)/1. under 第一部分), one that carries owners stops the search.
    `least` is 1 in a section of a plan whose other sections already went down to that level.
    """
    level = trial = Level(kind, sorted(run))
    if kind is None:
        return level
    for lower in ITEM_KINDS[ITEM_KINDS.index(kind) + 1:]:
        found = _children(lines, trial.items, region.end, lower)
        if not found:
            continue
        groups = {c: p for p, cs in found.items() for c in cs}
        items = sorted(set(groups) | {p for p in trial.items if p not in found})
        below = Level(lower, items, {i: g for i in items if (g := groups.get(i, trial.groups.get(i, -1))) >= 0},
                      trial.heads | set(found))
        # under units that name their owners, sub-steps with dates are their steps (the deadline stays with them)
        owned = _carries(lines, sorted(found), trial.items, region.end, trial.kind, 1, head=True, when=False)
        if _carries(lines, sorted(groups), below.items, region.end, lower, least, when=not owned):
            level = trial = below
        elif trial is level and not _carries(lines, level.items, level.items, region.end, level.kind, least, True):
            trial = below  # nothing carried at this level yet: look one level further down
        else:
            break
    return level


def _carries(
    lines: list[Line],
    units: list[int],
    items: list[int],
    end: int,
    kind: str | None,
    least: int,
    head: bool = False,
    when: bool = True,
) -> bool:
    """Whether at least `least` of these units, and more than half of them, carry their own owners or (`when`)
    deadline (`head`: in the lines before anything numbered under them, as a group heading would)."""
    if kind is None or not units:
        return False
    heads = sorted(set(items) | set(units))
    bounds = dict(zip(heads, heads[1:] + [end], strict=True))
    stop = "circ" if head else kind
    own = sum(
        1 for i in units if _accountable(lines, i, _unit_end(lines, i, bounds[i], stop), when) or _owner_above(lines, i)
    )
    return own >= least and 2 * own > len(units)


_OWNER_LINE = re.compile(r"\s*[(\[]?\s*" + OWNER_MARK.pattern)


def _owner_above(lines: list[Line], i: int) -> bool:
    """A line of owners just above a numbered unit (牵头单位：X, then 1.…) is the unit's."""
    return i > 0 and lines[i - 1].label is None and bool(_OWNER_LINE.match(lines[i - 1].sh))


def _unit_end(lines: list[Line], start: int, stop: int, kind: str) -> int:
    """Where a unit ends: before the next label at or above its own rank, at the latest at `stop`."""
    for i in range(start + 1, stop):
        label = lines[i].label
        if label is not None and RANK[label.kind] <= RANK[kind]:
            return i
    return stop


def choose_levels(
    lines: list[Line], regions: list[Region], runs: list[tuple[str | None, list[int]]], section_kind: str | None
) -> list[Level]:
    """Each section's items by `finer_level`; a section whose few tasks carry owners follows the plan's others;
    then headings numbered between the sections and the items become groups (`groups_above`)."""
    levels = [finer_level(lines, r, kind, run) for r, (kind, run) in zip(regions, runs, strict=True)]
    went = {(kind, level.kind) for (kind, _run), level in zip(runs, levels, strict=True) if level.kind != kind}
    for n, (region, (kind, run)) in enumerate(zip(regions, runs, strict=True)):
        if levels[n].kind == kind and any(k == kind for k, _ in went):
            levels[n] = finer_level(lines, region, kind, run, least=1)
    return [groups_above(lines, r, level, section_kind) for r, level in zip(regions, levels, strict=True)]


def groups_above(lines: list[Line], region: Region, level: Level, section_kind: str | None) -> Level:
    """Items numbered 1. straight under their section in some sections and under （一） headings in others: in the
    latter, the （一） headings are groups, not text of the item before them.

    Only a run of a style ranked between the section's and the items' that starts before the section's first
    item and is followed by an item each time counts; the items keep the numbering they have."""
    if level.kind is None or level.groups or not level.items:
        return level
    floor = RANK[section_kind] if section_kind else -1
    items = set(level.items)
    for kind in ITEM_KINDS:
        if not floor < RANK[kind] < RANK[level.kind]:
            continue
        idxs = _labelled(lines, kind, region.start, region.end)
        run = max(chains(lines, idxs), key=len, default=[])
        if not run or run[0] > level.items[0] or not all(_next_label(lines, g, region.end) in items for g in run):
            continue
        groups, g = {}, -1
        heads = iter(run + [region.end])
        nxt = next(heads)
        for i in level.items:
            while nxt < i:
                g, nxt = nxt, next(heads)
            groups[i] = g
        return Level(level.kind, level.items, groups, set(run))
    return level


def _next_label(lines: list[Line], start: int, end: int) -> int:
    return next((i for i in range(start + 1, end) if lines[i].label is not None), end)
