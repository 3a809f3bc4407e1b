"""The task board: one page of the tasks the actor may see, filtered by unit, plan, section, state, light or text.
It filters by plan and section, so it lives in plans, above tasks."""

import uuid
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.plans.models import PlanItem
from backend.tasks import policy
from backend.tasks.models import (
    AssignmentKind,
    Task,
    TaskAssignment,
    TaskState,
)
from backend.tasks.service import TaskRow, visible_task_ids
from backend.tenancy.models import Unit


@dataclass
class BoardFilter:
    unit_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    section_id: uuid.UUID | None = None
    state: str = ""
    light: str = ""
    query: str = ""
    page: int = 1


BOARD_LIMIT = 100  # rows per page


@dataclass
class Board:
    rows: list[TaskRow]
    page: int
    has_more: bool
    whole_bureau: bool = False  # every task of the bureau, so the page offers to filter by unit and plan


async def board(session: AsyncSession, actor: Actor, filters: BoardFilter) -> Board:
    """One page of the tasks the actor may see, filtered: two queries whatever the number of rows."""
    query = select(Task).order_by(col(Task.deadline), col(Task.seq))
    visible = visible_task_ids(actor)
    if visible is not None:
        query = query.where(col(Task.id).in_(visible))
    if filters.unit_id:
        query = query.where(col(Task.id).in_(select(TaskAssignment.task_id).where(
            TaskAssignment.unit_id == filters.unit_id)))
    if filters.plan_id:
        query = query.where(col(Task.plan_item_id).in_(select(PlanItem.id).where(PlanItem.plan_id == filters.plan_id)))
    if filters.section_id:
        query = query.where(col(Task.plan_item_id).in_(
            select(PlanItem.id).where(PlanItem.section_id == filters.section_id)))
    if filters.state in TaskState.__members__:
        query = query.where(Task.state == filters.state)
    if filters.light in ("green", "yellow", "red"):
        query = query.where(Task.light == filters.light)
    if filters.query.strip():
        needle = f"%{filters.query.strip()}%"
        query = query.where(col(Task.title).ilike(needle) | col(Task.number).ilike(needle))
    page = max(1, filters.page)
    tasks = list((await session.exec(query.offset((page - 1) * BOARD_LIMIT).limit(BOARD_LIMIT + 1))).all())
    has_more = len(tasks) > BOARD_LIMIT
    rows = {task.id: TaskRow(task, [], []) for task in tasks[:BOARD_LIMIT]}
    if rows:
        units = await session.exec(
            select(TaskAssignment.task_id, TaskAssignment.kind, Unit.name)
            .join(Unit, col(Unit.id) == TaskAssignment.unit_id)
            .where(col(TaskAssignment.task_id).in_(list(rows))).order_by(col(TaskAssignment.created_at))
        )
        for task_id, kind, name in units.all():
            (rows[task_id].co_units if kind == AssignmentKind.cooperating else rows[task_id].lead_units).append(name)
    return Board(list(rows.values()), page, has_more, whole_bureau=policy.sees_all_tasks(actor))
