"""Attaching what an item's text says to the item: measures, targets, deadlines and due date, recurrence, owners.

Each step reads the item's text (`ItemText`) and writes its own fields and flags; `ATTACH` runs them in order
(the order of the flags the admin sees). A new kind of fact found in an item's text is a new step here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from backend.i18n import _

from .deadlines import Period, as_period, find_deadlines, find_recurrence
from .lines import RANK
from .measures import find_measures
from .model import Item, Owners
from .outline import ITEM_KINDS
from .owners import find_owners
from .script import shadow
from .targets import find_targets


@dataclass(frozen=True)
class ItemText:
    """An item's text with its shadow, its numbering style, the plan's year (or school year) and its section
    heading (raw, shadow)."""

    text: str
    sh: str
    kind: str
    period: Period
    section: tuple[str, str]


def attach_measures(item: Item, it: ItemText) -> None:
    """Measures after the title; numbering styles at or above the item's own are not measures."""
    exclude = tuple(k for k in ITEM_KINDS if RANK[k] <= RANK[it.kind])
    title_end = len(item.title) if it.text.startswith(item.title) else 0
    item.measures = find_measures(it.sh[title_end:], it.text[title_end:], exclude)


def attach_targets(item: Item, it: ItemText) -> None:
    item.targets, flags = find_targets(it.sh, it.text)
    item.flags.extend(flags)


def _dates_shown(dates: list[date], year: int | None) -> str:
    return "、".join(
        _("%(month)s月%(day)s日", month=d.month, day=d.day) if d.year == (year or d.year) else d.isoformat()
        for d in dates
    )


def attach_deadlines(item: Item, it: ItemText) -> None:
    """The stated deadlines (the latest one is the item's) and the due date: the deadline, else the end of the
    plan's year (31 December) or school year (31 August; 31 January for an autumn term)."""
    deadlines, flags = find_deadlines(it.sh, it.text, it.period)
    item.deadlines = deadlines
    item.flags.extend(flags)
    if deadlines:
        dates = sorted({d.date for d in deadlines})
        item.deadline = dates[-1]
        if len(dates) > 1:
            item.flags.append(_("含多个截止日期：%(dates)s，取最晚", dates=_dates_shown(dates, it.period.year)))
    if item.deadline:
        item.due = item.deadline
    elif it.period.year:
        item.due = it.period.end()
    else:
        item.flags.append(_("未识别到年份，无法确定完成期限"))


def attach_recurrence(item: Item, it: ItemText) -> None:
    phrases = find_recurrence(it.sh, it.text)
    item.recurrence = "；".join(phrases) if phrases else None


def attach_owners(item: Item, it: ItemText) -> None:
    """Owners named in the item, else those named in its section's heading."""
    item.owners, flags = find_owners(it.sh, it.text)
    item.flags.extend(flags)
    if item.owners.lead or item.owners.co or not it.section[0]:
        return
    inherited, _flags = find_owners(it.section[1], it.section[0])
    if inherited.lead or inherited.co:
        item.owners = Owners(list(inherited.lead), list(inherited.co))
        item.flags.append(_("责任单位取自所在部分的标题"))


def check_title(item: Item, it: ItemText) -> None:
    if len(item.title) > 60:
        item.flags.append(_("条目标题过长，可能缺少句号，请核对"))
    if not item.title:
        item.flags.append(_("条目没有标题"))


ATTACH: tuple[Callable[[Item, ItemText], None], ...] = (
    attach_measures,
    attach_targets,
    attach_deadlines,
    attach_recurrence,
    attach_owners,
    check_title,
)


def fill_item(
    item: Item,
    raw_parts: list[str],
    flags: list[str],
    kind: str,
    year: int | Period | None,
    section: tuple[str, str],
) -> None:
    """The item's text from its lines, the flags its block collected, then every attachment step."""
    text = "\n".join(p.strip() for p in raw_parts if p.strip())
    item.text = text
    item.flags.extend(flags)
    it = ItemText(text, shadow(text), kind, as_period(year), section)
    for step in ATTACH:
        step(item, it)
