"""What units and supervisors do to a task besides reporting: 签收, 退回 (not ours), 延期申请, cancel. Each change
that can move a light announces `tasks_changed` (core/events.py); the light itself is computed in reports/lights.py."""

import uuid
from datetime import date

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.core.events import tasks_changed
from backend.core.roles import Role
from backend.core.text import check_length
from backend.delivery.notify import notify_roles, notify_unit
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.i18n import _
from backend.tasks import policy
from backend.tasks.models import (
    AssignmentKind,
    ExtensionRequest,
    ExtensionState,
    Task,
    TaskAssignment,
    TaskState,
)
from backend.tasks.service import assignment_of, check_version, get_task

MAX_REASON = 500  # reasons and comments (the forms say so, and a send-back reason is kept in 500)


def _link(task: Task) -> str:
    return f"/tasks/{task.id}"


async def _own_assignment(session: AsyncSession, actor: Actor, task: Task) -> TaskAssignment:
    policy.require_unit_member(actor)
    assignment = await assignment_of(session, actor, task)
    if assignment is None:
        raise NotFound(_("找不到该任务，可能不属于您的单位或已被删除。"))
    return assignment


def _touch(task: Task) -> None:
    task.version += 1
    task.updated_at = clock.now()


async def acknowledge(session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, version: int | None) -> Task:
    """签收: the unit confirms it has the task. The task counts as acknowledged once its lead unit has."""
    task = await get_task(session, actor, task_id, for_update=True)
    check_version(task, version)
    assignment = await _own_assignment(session, actor, task)
    if assignment.state != TaskState.assigned:
        raise Conflict(_("本单位已经签收或处理过这项任务，无需再签收。"))
    assignment.state = TaskState.acknowledged
    assignment.acknowledged_at, assignment.acknowledged_by = clock.now(), actor.user_id
    session.add(assignment)
    if assignment.kind == AssignmentKind.lead and task.state == TaskState.assigned:
        task.state = TaskState.acknowledged
    _touch(task)
    session.add(task)
    await tasks_changed(session, actor, [task.id], _("签收"))
    await record(session, actor, "task.acknowledge", object_type="task", object_id=task.id,
                 summary=_("签收 %(number)s", number=task.number), details={"unit_id": str(assignment.unit_id)})
    return task



def _reason(text: str, label: str, missing: str) -> str:
    """A reason the person must give (`missing` says what to write), at most MAX_REASON characters."""
    reason = text.strip()
    if not reason:
        raise InvalidInput(missing, field="reason")
    check_length(reason, limit=MAX_REASON, label=label, field="reason")
    return reason

async def send_back(session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, reason: str,
                    version: int | None) -> Task:
    """The unit says the task is not theirs, with a reason; supervisors are told and reassign it."""
    reason = _reason(reason, _("退回理由"), _("请说明退回的理由，例如应由哪个单位承办。"))
    task = await get_task(session, actor, task_id, for_update=True)
    check_version(task, version)
    assignment = await _own_assignment(session, actor, task)
    if assignment.state not in (TaskState.assigned, TaskState.acknowledged):
        raise Conflict(_("任务已在推进中，不能再退回。如确有问题，请联系督查督办人员。"))
    assignment.state, assignment.sent_back_reason = TaskState.sent_back, reason
    session.add(assignment)
    if assignment.kind == AssignmentKind.lead:
        task.state = TaskState.sent_back
    _touch(task)
    session.add(task)
    await tasks_changed(session, actor, [task.id], _("单位退回"))
    await record(session, actor, "task.send_back", object_type="task", object_id=task.id,
                 summary=_("退回 %(number)s：%(reason)s", number=task.number, reason=reason[:100]))
    await notify_roles(session, actor.tenant_id, (Role.supervisor,), kind="task_sent_back",
                       key=f"sent-back:{task.id}:{assignment.unit_id}:{task.version}",
                       title=_("%(number)s 被退回", number=task.number), body=reason[:500], link=_link(task))
    return task


async def cancel(session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, reason: str,
                 version: int | None) -> Task:
    policy.require_assign(actor)
    reason = _reason(reason, _("取消理由"), _("请说明取消的理由。"))
    task = await get_task(session, actor, task_id, for_update=True)
    check_version(task, version)
    if task.state in (TaskState.done, TaskState.cancelled):
        raise Conflict(_("任务已办结或已取消。"))
    before = task.state
    task.state = TaskState.cancelled
    _touch(task)
    session.add(task)
    await record(session, actor, "task.cancel", object_type="task", object_id=task.id,
                 summary=_("取消 %(number)s：%(reason)s", number=task.number, reason=reason[:100]),
                 details={"before": before})
    return task


async def request_extension(
    session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, requested_deadline: date, reason: str,
) -> ExtensionRequest:
    reason = _reason(reason, _("延期理由"), _("请说明延期的理由。"))
    task = await get_task(session, actor, task_id, for_update=True)
    assignment = await _own_assignment(session, actor, task)
    if assignment.kind == AssignmentKind.cooperating:
        raise Forbidden(_("延期由牵头单位申请。"))
    if task.state in (TaskState.done, TaskState.cancelled):
        raise Conflict(_("任务已办结或已取消，无需延期。"))
    if requested_deadline <= task.deadline:
        raise InvalidInput(_("申请的新时限应晚于现在的时限 %(d)s。", d=task.deadline), field="requested_deadline")
    pending = (await session.exec(select(ExtensionRequest).where(
        ExtensionRequest.task_id == task.id, ExtensionRequest.state == ExtensionState.pending))).first()
    if pending is not None:
        raise Conflict(_("这项任务已有一份待审批的延期申请，请等待审批结果。"))
    request = ExtensionRequest(tenant_id=actor.tenant_id, task_id=task.id, unit_id=assignment.unit_id,
                               reason=reason, current_deadline=task.deadline, requested_deadline=requested_deadline,
                               requested_by=actor.user_id)
    session.add(request)
    await session.flush()
    await record(session, actor, "task.extension_request", object_type="task", object_id=task.id,
                 summary=_("%(number)s 申请延期至 %(d)s", number=task.number, d=requested_deadline))
    await notify_roles(session, actor.tenant_id, (Role.supervisor, Role.leader), kind="extension_requested",
                       key=f"extension:{request.id}", title=_("%(number)s 申请延期", number=task.number),
                       body=reason[:500], link=_link(task))
    return request


async def decide_extension(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, *, approve: bool, comment: str = "",
) -> ExtensionRequest:
    """A supervisor or leader decides; the original deadline stays on the task beside the new one."""
    policy.require_extension_decider(actor)
    request = (await session.exec(
        select(ExtensionRequest).where(ExtensionRequest.id == request_id).with_for_update())).first()
    if request is None:
        raise NotFound(_("找不到该延期申请。"))
    if request.state != ExtensionState.pending:
        raise Conflict(_("该延期申请已经审批过了（%(state)s）。", state=_("已批准") if request.state == "approved"
                                                          else _("未批准")))
    if not approve and not comment.strip():
        raise InvalidInput(_("不批准时请写明理由。"), field="comment")
    check_length(comment.strip(), limit=MAX_REASON, label=_("审批意见"), field="comment")
    task = await get_task(session, actor, request.task_id, for_update=True)
    request.state = ExtensionState.approved if approve else ExtensionState.refused
    request.decided_by, request.decided_at, request.decision_comment = actor.user_id, clock.now(), comment.strip()
    session.add(request)
    if approve:
        before = task.deadline
        task.deadline = request.requested_deadline
        for assignment in (await session.exec(select(TaskAssignment).where(TaskAssignment.task_id == task.id))).all():
            assignment.original_deadline = assignment.original_deadline or assignment.deadline
            assignment.deadline = request.requested_deadline
            session.add(assignment)
        _touch(task)
        session.add(task)
        details = {"before": str(before), "after": str(task.deadline), "original": str(task.original_deadline)}
    else:
        details = {"refused": comment.strip()}
    await tasks_changed(session, actor, [task.id], _("延期审批"))
    await record(session, actor, "task.extension_decide", object_type="task", object_id=task.id,
                 summary=(_("批准 %(number)s 延期至 %(d)s", number=task.number, d=request.requested_deadline) if approve
                          else _("不批准 %(number)s 延期", number=task.number)), details=details)
    await notify_unit(session, actor.tenant_id, request.unit_id, kind="extension_decided",
                      key=f"extension-decided:{request.id}",
                      title=_("%(number)s 的延期申请已审批", number=task.number), link=_link(task))
    return request
