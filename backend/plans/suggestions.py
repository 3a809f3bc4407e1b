"""Suggested lead units for a plan's unassigned tasks, by the units named in their text or by who led similar tasks
before (matching across simplified and traditional script, the plan parser's rule)."""

import uuid
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.i18n import _
from backend.plans.parser import to_simplified
from backend.tasks.models import (
    AssignmentKind,
    Task,
    TaskAssignment,
)
from backend.tenancy.models import Unit


@dataclass
class Suggestion:
    unit_id: uuid.UUID
    unit_name: str
    why: str


async def suggest_lead_units(session: AsyncSession, actor: Actor, tasks: list[Task]) -> dict[uuid.UUID, Suggestion]:
    """A lead unit for each unassigned task: a unit named in its text, else the unit that led the most similar
    task the bureau assigned before. Two queries whatever the number of tasks."""
    units = list((await session.exec(select(Unit))).all())
    history = (await session.exec(
        select(Task.title, TaskAssignment.unit_id).join(TaskAssignment, col(TaskAssignment.task_id) == Task.id)
        .where(TaskAssignment.kind == AssignmentKind.lead)
    )).all()
    names = {u.id: u.name for u in units}
    suggestions: dict[uuid.UUID, Suggestion] = {}
    for task in tasks:
        text = to_simplified(task.title + task.description)
        named = [u for u in units if len(u.name) >= 2 and to_simplified(u.name) in text]
        if named:
            best = max(named, key=lambda u: len(u.name))
            suggestions[task.id] = Suggestion(best.id, best.name, _("文中提到“%(name)s”", name=best.name))
            continue
        words = _bigrams(to_simplified(task.title))
        scored = [(len(words & _bigrams(to_simplified(title))), unit_id) for title, unit_id in history]
        score, unit_id = max(scored, default=(0, None), key=lambda pair: pair[0])
        if unit_id is not None and score >= 2:
            suggestions[task.id] = Suggestion(unit_id, names.get(unit_id, ""),
                                              _("以往类似任务由“%(name)s”牵头", name=names.get(unit_id, "")))
    return suggestions


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}
