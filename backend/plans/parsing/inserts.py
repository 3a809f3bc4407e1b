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
from .model import Item, ParsedPlan, Section
from .script import shadow
from .tables import CellBudget, Table, in_section, merge_into, sections_of, table_items

_ATTACHMENT = re.compile(r"^(?:附件\s*\d*|\d{4}年\d{1,2}月\d{1,2}日$)")
_CAPTION_PREFIX = re.compile(r"^附件\s*\d*\s*[:：]?\s*")


@dataclass
class Lifted:
    """What was lifted out of the text, each with the line it stood at, and the text's lines."""

    raws: list[str]
    tables: list[Table] = field(default_factory=list)
    calendars: list[Calendar] = field(default_factory=list)

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
                _into_section(sections[k], block, plan)
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


def _into_section(section: Section, block: Table | Calendar, plan: ParsedPlan) -> None:
    if len(section.items) == 1 and section.items[0].label is None and section.items[0].title == section.title:
        # the heading item stood for the section's text alone: its text (an intro to the table) is discarded
        plan.discarded.extend(ln for ln in section.items[0].text.split("\n")[1:] if ln.strip())
        section.items = []
    if isinstance(block, Table):
        items: list[Item] = in_section(merge_into(section.items, table_items(block, plan.year, plan.title or "")))
    else:
        items = [i for _mo, month_items in calendar_items(block, plan.year, plan.title or "") for i in month_items]
    section.items.extend(items)


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


_TABLE_TITLE = re.compile(r"(?:清单|[^代]表|台账|安排|任务|计划|方案)\s*[)）]?$")


def _caption(raws: list[str], line: int, blank: set[int]) -> str:
    """The line just above a table when it reads as its title (附件：2024年重点工作任务清单)."""
    for i in range(min(line, len(raws)) - 1, max(-1, line - 8), -1):
        r = raws[i].strip()
        if not r or i in blank:
            continue
        r = _CAPTION_PREFIX.sub("", r).strip()
        return r if len(r) <= 60 and _TABLE_TITLE.search(shadow(r)) and not re.search(r"[。；;：:]", r) else ""
    return ""
