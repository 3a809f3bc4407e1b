"""Which reports a person may read, whether a task takes reports, and loading a report with its task under those
rules (who may write and review is reports/policy.py)."""

import uuid

from sqlalchemy import exists, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.errors import Conflict, NotFound
from backend.i18n import N_, _
from backend.reports.models import ProgressReport, ReportState
from backend.tasks.models import AssignmentKind, Task, TaskAssignment, TaskState, state_label
from backend.tasks.service import get_task

EDITABLE = (ReportState.draft, ReportState.returned)
OPEN_TASK = (TaskState.assigned, TaskState.acknowledged, TaskState.in_progress)


def check_task_open(task: Task) -> None:
    """Reports are filed while the task is being worked on."""
    if task.state in OPEN_TASK:
        return
    if task.state == TaskState.completion_requested:
        raise Conflict(_("任务“%(number)s”已申请办结，正在等待审批；如被退回，可继续报送进展。", number=task.number))
    raise Conflict(_("任务“%(number)s”当前状态为“%(state)s”，不能再报送进展。", number=task.number,
                     state=state_label(task.state)))


REPORT_NOT_FOUND = N_("找不到该报告，可能不属于您的单位或已被删除。")


def readable_reports(actor: Actor):
    """The one rule for which reports a person may read (lists and the object route alike), on top of seeing the
    task: a submitted report, or a draft of their own unit, or a draft their unit writes its part into as a
    cooperating unit. A draft is a unit's working copy; the bureau's roles see it once it is submitted."""
    not_draft = col(ProgressReport.state) != ReportState.draft
    if actor.unit_id is None:
        return not_draft
    cooperating = exists().where(col(TaskAssignment.task_id) == ProgressReport.task_id,
                                 col(TaskAssignment.unit_id) == actor.unit_id,
                                 col(TaskAssignment.kind) == AssignmentKind.cooperating)
    return or_(not_draft, col(ProgressReport.unit_id) == actor.unit_id, cooperating)


async def readable_report(session: AsyncSession, actor: Actor, report_id: uuid.UUID) -> tuple[ProgressReport, Task]:
    """The report and its task for reading; a report the actor may not read is not found (404, nothing leaks)."""
    report, task = await load_report(session, actor, report_id)
    allowed = (await session.exec(select(ProgressReport.id).where(ProgressReport.id == report.id,
                                                                  readable_reports(actor)))).first()
    if allowed is None:
        raise NotFound(_(REPORT_NOT_FOUND))
    return report, task


async def load_report(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, *, lock: bool = False
) -> tuple[ProgressReport, Task]:
    """The report and its task if the actor may see the task. With `lock`, the task row and then the report row
    are locked (always in that order, so two decisions never deadlock) and the report is read afresh."""
    report = (await session.exec(select(ProgressReport).where(ProgressReport.id == report_id))).first()
    if report is None:
        raise NotFound(_(REPORT_NOT_FOUND))
    try:
        task = await get_task(session, actor, report.task_id, for_update=lock)
    except NotFound as error:
        raise NotFound(_(REPORT_NOT_FOUND)) from error
    if lock:
        query = (select(ProgressReport).where(ProgressReport.id == report_id).with_for_update()
                 .execution_options(populate_existing=True))
        report = (await session.exec(query)).one()
    return report, task
