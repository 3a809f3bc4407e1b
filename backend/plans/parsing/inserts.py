"""Items that do not come from the numbered outline: a task table's rows (`tables`) and a month calendar's lines
(`calendar`). They are lifted out of the text before the outline is read (`lift`: flattened tables and calendars
found in the text; HTML/Word tables arrive from `decode` already lifted) and placed into the sections after
(`Lifted.place`).

Where they go:
* inside a section (the table or calendar stands below a section's heading, before the next one, and no
  `附件` line comes between): the section's items, after its text items; a heading item that stood for the
  section's text alone gives way. Groups: a table's project column (else its heading row), a calendar's month.
* standing alone (the document is only the table or calendar, or it is an attachment after the body):
  a table's heading rows become sections, else its project column, else one section named after its caption;
  a calendar gets a section per month. A row that repeats a text item (same title, or one inside the other)
  fills that item's missing owners and deadline instead of counting the task twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .calendar import Calendar, calendar_items, find_calendars
from .flat import flat_tables
from .model import Group, Item, ParsedPlan, Section
from .script import shadow
from .tables import CellBudget, Table, in_section, merge_into, sections_of, table_items

_ATTACHMENT = re.compile(r"^(?:附件\s*\d*|\d{4}年\d{1,2}月\d{1,2}日$)")
def _key(text: str) -> str:
    return re.sub(r"[\s。.]+", "", shadow(text))


_CAPTION_PREFIX = re.compile(r"^附件\s*\d*\s*[:：]?\s*")


@dataclass
class Lifted:
    """What was lifted out of the text, each with the line it stood at, and the text's lines."""

    raws: list[str]
    tables: list[Table] = field(default_factory=list)
    calendars: list[Calendar] = field(default_factory=list)
    placed: dict[int, int] = field(default_factory=dict)  # id of a lifted item placed in a text section → its line

    def __bool__(self) -> bool:
        return bool(self.tables or self.calendars)

    def place(self, sections: list[Section], spans: list[tuple[int, int]], plan: ParsedPlan) -> list[Section]:
        """Sections with the lifted items placed (`spans`: each section's first and last line)."""
        blocks: list[tuple[int, Table | Calendar]] = [(t.line, t) for t in self.tables]
        blocks += [(c.line, c) for c in self.calendars]
        extra: list[Section] = []
        for line, block in sorted(blocks, key=lambda b: b[0]):
            k = self._section_at(line, spans)
            if k is not None:
                self._into_section(sections[k], spans[k], line, block, plan)
            elif isinstance(block, Table):
                pairs = table_items(block, plan.year, plan.title or "")
                pairs = merge_into([i for s in sections for i in s.items], pairs) if sections else pairs
                extra += sections_of(pairs, block.caption or plan.title or "")
            else:
                for mo, items in calendar_items(block, plan.year, plan.title or ""):
                    for item in items:
                        item.group = None  # the month is the section
                    extra.append(Section(label="", title=mo.heading, items=items))
            if isinstance(block, Table):
                plan.flags.extend(f for f in block.flags if f not in plan.flags)
        return sections + extra

    def _into_section(
        self, section: Section, span: tuple[int, int], line: int, block: Table | Calendar, plan: ParsedPlan
    ) -> None:
        """The block's items into the section where the block stands: after the text items above it. A heading item
        that only introduced it gives way: the section's own (its text goes to `discarded`), or a bare `（一）重点项目`
        right above it, which becomes the group of rows that have none."""
        items = section.items
        if len(items) == 1 and items[0].label is None and items[0].title == section.title:
            plan.discarded.extend(ln for ln in items[0].text.split("\n")[1:] if ln.strip())
            items.clear()
        pos = self._positions(items, span)
        above = [n + 1 for n, p in enumerate(pos) if p is not None and p < line]
        at = max(above) if above else (0 if any(p is not None for p in pos) else len(items))
        heading = items[at - 1] if at and self._bare_above(items[at - 1], pos[at - 1], line) else None
        if heading is not None:
            del items[at - 1]
            at -= 1
        if isinstance(block, Table):
            new = in_section(merge_into(items, table_items(block, plan.year, plan.title or "")))
            for item in new:
                if heading is not None and item.group is None:
                    item.group = Group(label=heading.label or "", title=heading.title)
        else:
            new = [i for _mo, month_items in calendar_items(block, plan.year, plan.title or "") for i in month_items]
            if heading is not None:
                plan.discarded.append(heading.title)
        items[at:at] = new
        self.placed.update((id(i), line) for i in new)

    def _bare_above(self, item: Item, pos: int | None, line: int) -> bool:
        """An item that is only the block's heading (`（一）重点项目清单`: no text of its own, no closing 。, named
        like a table) standing right above the block."""
        return (pos is not None and _key(item.text) == _key(item.title)
                and not shadow(self.raws[pos].strip()).endswith((".", ";", "。"))
                and bool(_TABLE_TITLE.search(shadow(item.title)))
                and not any(self.raws[i].strip() for i in range(pos + 1, line)))

    def _positions(self, items: list[Item], span: tuple[int, int]) -> list[int | None]:
        """The line each item stands on: where a lifted item was placed, else the first line (in order, within the
        section) holding its title."""
        out: list[int | None] = []
        at = span[0]
        for item in items:
            if id(item) in self.placed:
                out.append(self.placed[id(item)])
                continue
            key = _key(item.title)[:12]
            found = next((i for i in range(at, min(span[1] + 1, at + 400, len(self.raws)))
                          if key and key in _key(self.raws[i])), None)
            out.append(found)
            at = found + 1 if found is not None else at
        return out

    def _section_at(self, line: int, spans: list[tuple[int, int]]) -> int | None:
        """The section a block stands in: the last one starting above it, unless an 附件 line or a date (the
        signature) comes between that section's last line and the block."""
        k = next((n for n in range(len(spans) - 1, -1, -1) if 0 <= spans[n][0] <= line), None)
        if k is None:
            return None
        between = self.raws[spans[k][1] + 1:line]
        if any(_ATTACHMENT.match(shadow(r.strip())) for r in between):
            return None
        return k


def lift(text: str, tables: list[Table] | tuple[Table, ...] = ()) -> tuple[str, Lifted]:
    """The text with flattened tables and month calendars blanked out (line numbers kept), and what was lifted."""
    raws = text.splitlines()
    lifted = Lifted(raws, list(tables))
    blank: set[int] = set()
    for table, used in flat_tables(raws, CellBudget()):
        lifted.tables.append(table)
        blank.update(used)
    for cal, used in find_calendars([r if i not in blank else "" for i, r in enumerate(raws)]):
        lifted.calendars.append(cal)
        blank.update(used)
    for table in lifted.tables:
        table.caption = table.caption or _caption(raws, table.line, blank)
    if not blank:
        return text, lifted
    return "\n".join("" if i in blank else r for i, r in enumerate(raws)), lifted


_TABLE_TITLE = re.compile(r"(?:清单|[^代]表|台账|安排|任务|计划|方案|项目)\s*[)）]?$")


def _caption(raws: list[str], line: int, blank: set[int]) -> str:
    """The line just above a table when it reads as its title (附件：2024年重点工作任务清单)."""
    for i in range(min(line, len(raws)) - 1, max(-1, line - 8), -1):
        r = raws[i].strip()
        if not r or i in blank:
            continue
        r = _CAPTION_PREFIX.sub("", r).strip()
        return r if len(r) <= 60 and _TABLE_TITLE.search(shadow(r)) and not re.search(r"[。；;：:]", r) else ""
    return ""
