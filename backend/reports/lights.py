"""A task's traffic light depends on its state, deadline and progress and on its reports (is this period's filed,
was the last one returned), so it is computed here, where reports are visible. The tasks layer announces its
changes through `core.events.tasks_changed`; `backend/wiring.py` subscribes `relight` to it."""

import uuid
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.core.clock import local_today
from backend.reports.models import ProgressReport, ReportKind, ReportState
from backend.tasks.lights import LightInput, compute_light
from backend.tasks.models import LightChange, Task, TaskState
from backend.tasks.periods import current_period, due_on
from backend.tenancy.bureau_settings import get_bureau_settings


async def relight(session: AsyncSession, actor: Actor, task_ids: list[uuid.UUID], trigger: str) -> None:
    """After a change that can move a light: recompute those tasks' lights on the bureau's date."""
    today = local_today(actor.timezone)
    await refresh_lights(session, actor.tenant_id, today=today, trigger=trigger, task_ids=task_ids)


async def refresh_lights(
    session: AsyncSession, tenant_id: uuid.UUID, *, today: date, trigger: str, task_ids: list[uuid.UUID] | None = None,
) -> int:
    """Recomputes the lights of the bureau's open tasks (or of `task_ids`), logging each change with its trigger.
    Three queries whatever the number of tasks."""
    settings = await get_bureau_settings(session, tenant_id)
    query = select(Task).where(col(Task.state).not_in([TaskState.done, TaskState.cancelled]))
    if task_ids is not None:
        query = select(Task).where(col(Task.id).in_(task_ids))
    tasks = list((await session.exec(query)).all())
    if not tasks:
        return 0
    latest: dict[uuid.UUID, ProgressReport] = {}
    reports = await session.exec(
        select(ProgressReport).where(col(ProgressReport.task_id).in_([t.id for t in tasks]),
                                     ProgressReport.kind == ReportKind.periodic)
        .order_by(col(ProgressReport.created_at))
    )
    for found in reports.all():
        latest[found.task_id] = found
    changed = 0
    for task in tasks:
        period = current_period(task.report_frequency, today)
        report = latest.get(task.id)
        filed = report is not None and report.period == period and report.state != ReportState.draft
        facts = LightInput(
            state=TaskState(task.state), start=task.created_at.date(), deadline=task.deadline, progress=task.progress,
            report_due=None if filed or task.state == TaskState.unassigned else
            due_on(period, settings.report_day, deadline=task.deadline),
            returned=report is not None and report.state == ReportState.returned,
        )
        light, reason = compute_light(facts, today)
        if light != task.light or reason != task.light_reason:
            if light != task.light:
                session.add(LightChange(tenant_id=tenant_id, task_id=task.id, from_light=task.light, to_light=light,
                                        trigger=f"{trigger}：{reason}"[:200]))
                changed += 1
            task.light, task.light_reason = light, reason
            session.add(task)
    await session.flush()
    return changed
