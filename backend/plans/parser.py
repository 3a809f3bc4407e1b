"""Plan parser: an education bureau's annual work plan (工作要点) → sections, items, measures.

Public API:
- `parse_plan(text, default_year=None) -> ParsedPlan`
- `parse_file(data, filename) -> ParsedPlan` (.txt in UTF-8 / GB18030 / GBK / UTF-16, .docx, .pdf, .html)
- `parse_to_dict(parsed) -> dict` (the JSON shape of `luoshi plan parse FILE --json` and of the API)
- `read_item(text, year, title)`: the facts of one item's text, as found inside a plan (for edited items)
- `to_simplified(text)` for matching and search across simplified and traditional characters
- `PlanInputError` (message in Simplified Chinese) for files that cannot be read as a plan

`Item.deadline` is the deadline stated in the text (or None); `Item.due` is always filled when the plan's
year is known: the stated deadline, or 31 December of the plan's year.
"""

from __future__ import annotations

from .parsing.attach import fill_item
from .parsing.decode import decode_bytes
from .parsing.frontmatter import plan_period
from .parsing.model import (
    Deadline,
    Group,
    Item,
    Measure,
    Owners,
    ParsedPlan,
    PlanInputError,
    Section,
    Target,
    parse_to_dict,
)
from .parsing.pipeline import parse_plan
from .parsing.script import matches_across_scripts, to_simplified

__all__ = [
    "Deadline",
    "Group",
    "Item",
    "Measure",
    "Owners",
    "ParsedPlan",
    "PlanInputError",
    "Section",
    "Target",
    "matches_across_scripts",
    "parse_file",
    "parse_plan",
    "parse_to_dict",
    "read_item",
    "to_simplified",
]


def parse_file(data: bytes, filename: str | None = None, *, default_year: int | None = None) -> ParsedPlan:
    """Decode an uploaded file (recording the encoding or format used) and parse it."""
    decoded = decode_bytes(data, filename)
    plan = parse_plan(decoded.text, default_year=default_year, tables=tuple(decoded.tables))
    plan.encoding = decoded.encoding
    plan.source_format = decoded.source_format
    plan.flags[:0] = decoded.flags
    return plan


def read_item(text: str, year: int | None, title: str = "", plan_title: str | None = None) -> Item:
    """The measures, targets, deadlines, recurrence and owners of one item's text, as the parser finds them inside a
    plan: for an item whose text the admin changed in the preview (merge, split, a level change). The plan's title
    says whether its dates are read in a school year."""
    item = Item(number=None, title=title, text=text)
    fill_item(item, [text], [], "ar", plan_period(plan_title, year), ("", ""))
    return item
