"""What the report services and queries share: who may do what, the clock, and loading."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.core.models import utcnow
from backend.core.roles import Role
from backend.errors import Conflict, Forbidden, NotFound
from backend.i18n import N_, _
from backend.reports.models import ProgressReport, ReportKind, ReportState
from backend.tasks.models import AssignmentKind, Task, TaskAssignment, TaskState, state_label
from backend.tasks.service import assignment_of, get_task

UNIT_ROLES = (Role.unit_staff, Role.unit_head)
REVIEW_ROLES = (Role.supervisor, Role.admin)
WRITING_KINDS = (AssignmentKind.lead, AssignmentKind.responsible)
EDITABLE = (ReportState.draft, ReportState.returned)
OPEN_TASK = (TaskState.assigned, TaskState.acknowledged, TaskState.in_progress)
MAX_TEXT = 5000

REPORT_STATE_LABELS = {
    ReportState.draft: N_("草稿"),
    ReportState.awaiting_unit_head: N_("待单位负责人审核"),
    ReportState.submitted: N_("已报送，待审核"),
    ReportState.accepted: N_("已通过"),
    ReportState.returned: N_("已退回"),
}
COMPLETION_STATE_LABELS = {
    ReportState.draft: N_("草稿"),
    ReportState.awaiting_unit_head: N_("待单位负责人审核"),
    ReportState.submitted: N_("已申请办结，待审批"),
    ReportState.accepted: N_("已批准办结"),
    ReportState.returned: N_("办结申请已退回"),
}


DECISION_LABELS = {
    "unit_head_approve": N_("单位负责人审核通过"),
    "unit_head_return": N_("单位负责人退回"),
    "accept": N_("审核通过"),
    "return": N_("退回"),
}


COMPLETION_DECISION_LABELS = {"accept": N_("批准办结"), "return": N_("退回办结申请")}


def decision_label(decision: str, kind: ReportKind | str = ReportKind.periodic) -> str:
    decision = str(decision)
    if ReportKind(kind) == ReportKind.completion and decision in COMPLETION_DECISION_LABELS:
        return _(COMPLETION_DECISION_LABELS[decision])
    return _(DECISION_LABELS.get(decision, decision))


def report_state_label(state: ReportState | str, kind: ReportKind | str = ReportKind.periodic) -> str:
    labels = COMPLETION_STATE_LABELS if ReportKind(kind) == ReportKind.completion else REPORT_STATE_LABELS
    return _(labels[ReportState(state)])


_held_clock: ContextVar[datetime | None] = ContextVar("report_clock", default=None)


def now() -> datetime:
    """The clock of every report decision: the real time, unless `clock_at` holds another moment."""
    return _held_clock.get() or utcnow()


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Runs the report services as of `moment` (UTC if naive) inside the block, in this task only: how the demo
    files a year of reports on their own dates, and how tests move the clock. Requests never set it."""
    token = _held_clock.set(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    try:
        yield
    finally:
        _held_clock.reset(token)


def local_today(actor: Actor) -> date:
    """Today in the bureau's time zone: report days and deadlines are dates people mean there."""
    return now().astimezone(ZoneInfo(actor.timezone or "Asia/Shanghai")).date()


def require_reviewer(actor: Actor) -> None:
    if actor.role not in REVIEW_ROLES:
        raise Forbidden(_("只有督查督办人员（或系统管理员）可以审核报告和审批办结；局领导可以查阅，不参与审核。"))


async def writing_assignment(session: AsyncSession, actor: Actor, task: Task) -> TaskAssignment:
    """The actor's unit's assignment if it writes the task's reports (lead or responsible unit, staff or head)."""
    if actor.role not in UNIT_ROLES:
        raise Forbidden(_("进展报告由牵头（责任）单位的经办人或单位负责人填报；您的角色只能查阅和审核。"))
    assignment = await assignment_of(session, actor, task)
    if assignment is None:
        raise Forbidden(_("您所在的单位不是该任务的承办单位，不能填报进展。"))
    if assignment.kind not in WRITING_KINDS:
        raise Forbidden(_("贵单位是该任务的配合单位：请在牵头单位的报告中填写本单位的配合情况，报告由牵头单位填报。"))
    if assignment.state in (TaskState.sent_back, TaskState.cancelled, TaskState.done):
        raise Conflict(_("贵单位在该任务上的状态为“%(state)s”，不能再报送进展。", state=state_label(assignment.state)))
    return assignment


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
