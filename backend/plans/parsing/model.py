"""Data classes for a parsed work plan (工作要点).

`deadline` is the deadline *stated* in the text (or None); `due` is always the
date the item is due: the stated deadline, or 31 December of the plan's year
when the text states none (None only when the plan's year is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .units import is_collective


class PlanInputError(ValueError):
    """The input cannot be read as a plan; the message is Simplified Chinese, for the user."""


@dataclass
class Measure:
    label: str
    text: str


@dataclass
class Target:
    value: int | float
    unit: str
    comparator: str | None
    text: str
    start: int = 0  # offsets of `text` inside the item's text, for highlighting
    end: int = 0


@dataclass
class Deadline:
    """One deadline phrase found in an item's text."""

    date: date
    text: str
    start: int
    end: int
    uncertain: bool = False


@dataclass
class Owners:
    lead: list[str] = field(default_factory=list)
    co: list[str] = field(default_factory=list)


@dataclass
class Group:
    """The heading an item sits under below its section: `（一）` above `1.` tasks, a table's project column."""

    label: str
    title: str


@dataclass
class Item:
    number: int | None
    title: str
    text: str
    label: str | None = None  # the number as written, e.g. "1", "一", "①"
    measures: list[Measure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    deadline: date | None = None
    due: date | None = None
    deadlines: list[Deadline] = field(default_factory=list)
    recurrence: str | None = None
    owners: Owners = field(default_factory=Owners)
    flags: list[str] = field(default_factory=list)
    group: Group | None = None
    source: str = "text"  # text | table | calendar: where in the document the item was found


@dataclass
class Section:
    label: str
    title: str
    items: list[Item] = field(default_factory=list)


@dataclass
class ParsedPlan:
    title: str | None = None
    issuer: str | None = None
    year: int | None = None
    doc_number: str | None = None  # 文号 of the plan or of the notice it was sent with: 某教发〔2024〕12号
    encoding: str | None = None
    source_format: str = "text"  # text | txt | html | docx | pdf
    script: str = "simplified"  # simplified | traditional | mixed
    discarded: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # plan-level doubts (year, issuer, numbering)

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]


def _num(value: int | float) -> int | float:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def parse_to_dict(parsed: ParsedPlan) -> dict:
    """The JSON shape shared by the CLI (`luoshi plan parse FILE --json`) and the API.

    Each item also carries `due`: its stated deadline, or the end of the plan's year (31 December; a school
    year's 31 August); `group`: the heading it sits under below its section (or null); `source`: `text`, `table`
    or `calendar`; `collective_owners`: those of its owners that name a set of units (各学校) rather than one.
    The top-level `flags` lists doubts about the document as a whole; `doc_number` is the 文号, if any;
    `collective_owners` lists every item's collective owners once.
    """

    def item_dict(item: Item) -> dict:
        return {
            "number": item.number,
            "label": item.label,  # the number as written: 1, 一, 第一阶段, 任务1
            "title": item.title,
            "text": item.text,
            "measures": [{"label": m.label, "text": m.text} for m in item.measures],
            "targets": [
                {"value": _num(t.value), "unit": t.unit, "comparator": t.comparator, "text": t.text}
                for t in item.targets
            ],
            "deadline": item.deadline.isoformat() if item.deadline else None,
            "due": item.due.isoformat() if item.due else None,
            "recurrence": item.recurrence,
            "owners": {"lead": list(item.owners.lead), "co": list(item.owners.co)},
            # owners that are not one unit (各学校, 相关乡镇), for the admin to map to units
            "collective_owners": [u for u in item.owners.lead + item.owners.co if is_collective(u)],
            "flags": list(item.flags),
            "group": {"label": item.group.label, "title": item.group.title} if item.group else None,
            "source": item.source,
        }

    return {
        "title": parsed.title,
        "issuer": parsed.issuer,
        "year": parsed.year,
        "doc_number": parsed.doc_number,
        "encoding": parsed.encoding,
        "discarded": list(parsed.discarded),
        "flags": list(parsed.flags),
        "sections": [
            {"label": s.label, "title": s.title, "items": [item_dict(i) for i in s.items]}
            for s in parsed.sections
        ],
        # every collective owner once, in order of appearance: what the preview offers to map to units
        "collective_owners": list(dict.fromkeys(
            u for s in parsed.sections for i in s.items for u in i.owners.lead + i.owners.co if is_collective(u)
        )),
    }
