"""Tasks: creation from published plan items (and later ad-hoc), numbering, and reading them back."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.core.events import tasks_changed
from backend.core.text import check_length
from backend.core.versions import is_stale
from backend.delivery.notify import notify_unit
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.i18n import _
from backend.tasks import policy
from backend.tasks.models import (
    AssignmentKind,
    EvidenceRule,
    ExtensionRequest,
    LightChange,
    Task,
    TaskAssignment,
    TaskChecklistItem,
    TaskOwner,
    TaskState,
    TaskTarget,
    evidence_rule_label,
)
from backend.tenancy.models import Membership, Unit
from backend.tenancy.service import UnitNode, list_units

NUMBER_PREFIX = "督"
MAX_DESCRIPTION = 5000  # an ad-hoc task's requirements, as long as a report's fields may be
MAX_EVIDENCE_REASON = 500


async def _next_seq(session: AsyncSession, tenant_id: uuid.UUID, year: int) -> int:
    """Numbers are per bureau and year (督-2024-001); the lock serialises two publishes of the same year."""
    lock = text("SELECT pg_advisory_xact_lock(hashtext(:key))").bindparams(key=f"task-seq:{tenant_id}:{year}")
    await session.execute(lock)
    last = (await session.exec(select(func.max(Task.seq)).where(Task.year == year))).one()
    return (last or 0) + 1


@dataclass
class NewTask:
    title: str
    description: str
    deadline: date
    plan_item_id: uuid.UUID | None = None
    recurrence: str | None = None
    measures: list[dict[str, Any]] | None = None
    targets: list[dict[str, Any]] | None = None
    lead_unit_ids: list[uuid.UUID] | None = None
    co_unit_ids: list[uuid.UUID] | None = None


async def create_tasks(session: AsyncSession, actor: Actor, year: int, new_tasks: list[NewTask]) -> list[Task]:
    """Creates the tasks with their checklist, targets and (where the text names units) assignments."""
    seq = await _next_seq(session, actor.tenant_id, year)
    tasks: list[Task] = []
    for offset, spec in enumerate(new_tasks):
        number = seq + offset
        lead = spec.lead_unit_ids or []
        task = Task(
            tenant_id=actor.tenant_id, number=f"{NUMBER_PREFIX}-{year}-{number:03d}", year=year, seq=number,
            title=spec.title[:500], description=spec.description, plan_item_id=spec.plan_item_id,
            deadline=spec.deadline, original_deadline=spec.deadline, recurrence=spec.recurrence,
            state=TaskState.assigned if lead else TaskState.unassigned, created_by=actor.user_id,
        )
        session.add(task)
        tasks.append(task)
        for position, measure in enumerate(spec.measures or []):
            session.add(TaskChecklistItem(tenant_id=actor.tenant_id, task_id=task.id, label=measure["label"][:20],
                                          text=measure["text"], position=position))
        for position, target in enumerate(spec.targets or []):
            session.add(TaskTarget(tenant_id=actor.tenant_id, task_id=task.id, value=target["value"],
                                   unit=target["unit"][:20], comparator=target.get("comparator"),
                                   text=target["text"][:300], position=position))
        for index, unit_id in enumerate(lead):
            session.add(TaskAssignment(tenant_id=actor.tenant_id, task_id=task.id, unit_id=unit_id,
                                       kind=AssignmentKind.lead if index == 0 else AssignmentKind.responsible,
                                       deadline=spec.deadline))
        for unit_id in spec.co_unit_ids or []:
            if unit_id not in lead:
                session.add(TaskAssignment(tenant_id=actor.tenant_id, task_id=task.id, unit_id=unit_id,
                                           kind=AssignmentKind.cooperating, deadline=spec.deadline))
    await session.flush()
    for task, spec in zip(tasks, new_tasks, strict=True):
        for unit_id in dict.fromkeys((spec.lead_unit_ids or []) + (spec.co_unit_ids or [])):
            await _tell_unit(session, actor, task, unit_id)
    await tasks_changed(session, actor, [t.id for t in tasks], _("新建任务"))
    return tasks


async def _tell_unit(session: AsyncSession, actor: Actor, task: Task, unit_id: uuid.UUID) -> None:
    await notify_unit(session, actor.tenant_id, unit_id, kind="task_assigned", key=f"assign:{task.id}:{unit_id}",
                      title=_("新交办任务 %(number)s", number=task.number), body=task.title[:200],
                      link=f"/tasks/{task.id}")


@dataclass
class TaskRow:
    task: Task
    lead_units: list[str]
    co_units: list[str]


async def tasks_for_plan_items(
    session: AsyncSession, actor: Actor, item_ids: list[uuid.UUID]
) -> dict[uuid.UUID, TaskRow]:
    """The task of each plan item with its units' names: two queries whatever the plan's size."""
    if not item_ids:
        return {}
    tasks = (await session.exec(select(Task).where(col(Task.plan_item_id).in_(item_ids)))).all()
    by_task = {task.id: TaskRow(task, [], []) for task in tasks}
    if by_task:
        rows = (await session.exec(
            select(TaskAssignment.task_id, TaskAssignment.kind, Unit.name)
            .join(Unit, col(Unit.id) == TaskAssignment.unit_id)
            .where(col(TaskAssignment.task_id).in_(list(by_task)))
            .order_by(col(TaskAssignment.created_at))
        )).all()
        for task_id, kind, name in rows:
            row = by_task[task_id]
            (row.co_units if kind == AssignmentKind.cooperating else row.lead_units).append(name)
    return {row.task.plan_item_id: row for row in by_task.values() if row.task.plan_item_id}


async def assign_units(
    session: AsyncSession, actor: Actor, task: Task, *, lead_unit_ids: list[uuid.UUID],
    co_unit_ids: list[uuid.UUID], deadline: date | None = None,
) -> Task:
    """交办: sets the task's units (the first lead answers for it, further leads are responsible, co-units
    cooperate) and, if given, its deadline. Units already on the task keep their own state."""
    policy.require_assign(actor)
    if not lead_unit_ids:
        raise InvalidInput(_("请至少选择一个牵头单位。"), field="lead_unit_id")
    wanted: dict[uuid.UUID, AssignmentKind] = {}
    for index, unit_id in enumerate(lead_unit_ids):
        wanted.setdefault(unit_id, AssignmentKind.lead if index == 0 else AssignmentKind.responsible)
    for unit_id in co_unit_ids:
        wanted.setdefault(unit_id, AssignmentKind.cooperating)
    known = set((await session.exec(select(Unit.id).where(col(Unit.id).in_(list(wanted))))).all())
    if known != set(wanted):
        raise InvalidInput(_("所选单位不存在或已被删除，请重新选择。"), field="lead_unit_id")
    if deadline is not None and task.deadline == task.original_deadline:
        task.deadline = task.original_deadline = deadline
    existing = {a.unit_id: a for a in (await session.exec(
        select(TaskAssignment).where(TaskAssignment.task_id == task.id)
    )).all()}
    before = {str(unit_id): a.kind for unit_id, a in existing.items()}
    for unit_id, assignment in existing.items():
        if unit_id not in wanted:
            await session.delete(assignment)
    for unit_id, kind in wanted.items():
        assignment = existing.get(unit_id) or TaskAssignment(
            tenant_id=actor.tenant_id, task_id=task.id, unit_id=unit_id, kind=kind, deadline=task.deadline
        )
        assignment.kind = kind
        session.add(assignment)
        if unit_id not in existing:
            await _tell_unit(session, actor, task, unit_id)
    if task.state == TaskState.unassigned:
        task.state = TaskState.assigned
    task.version += 1
    task.updated_at = clock.now()
    session.add(task)
    await session.flush()
    await tasks_changed(session, actor, [task.id], _("交办"))
    await record(session, actor, "task.assign", object_type="task", object_id=task.id,
                 summary=_("交办 %(number)s“%(title)s”", number=task.number, title=task.title[:60]),
                 details={"before": before, "after": {str(k): v for k, v in wanted.items()}})
    return task


def visible_task_ids(actor: Actor):
    """A subquery of the task ids the actor may see (None: all of the bureau's)."""
    if policy.sees_all_tasks(actor):
        return None
    return select(TaskAssignment.task_id).where(TaskAssignment.unit_id == actor.unit_id)


async def get_task(session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, for_update: bool = False) -> Task:
    """The task if the actor may see it; otherwise "not found", whether it exists or not."""
    query = select(Task).where(Task.id == task_id)
    visible = visible_task_ids(actor)
    if visible is not None:
        query = query.where(col(Task.id).in_(visible))
    if for_update:
        query = query.with_for_update()
    task = (await session.exec(query)).first()
    if task is None:
        raise NotFound(_("找不到该任务，可能不属于您的单位或已被删除。"))
    return task


async def assignment_of(session: AsyncSession, actor: Actor, task: Task) -> TaskAssignment | None:
    """The actor's own unit's assignment on the task, if any."""
    if actor.unit_id is None:
        return None
    return (await session.exec(select(TaskAssignment).where(
        TaskAssignment.task_id == task.id, TaskAssignment.unit_id == actor.unit_id
    ))).first()


def check_version(task: Task, version: int | None) -> None:
    """A stale form (the task changed since it was shown) is refused with an explanation (core/versions.py)."""
    if is_stale(task.version, version):
        message = _("任务“%(number)s”在您打开页面后已有变化。请刷新页面，看到最新情况后再操作。", number=task.number)
        raise Conflict(message)


@dataclass
class AssignmentRow:
    assignment: TaskAssignment
    unit_name: str


@dataclass
class TaskView:
    task: Task
    assignments: list[AssignmentRow]
    checklist: list[TaskChecklistItem]
    targets: list[TaskTarget]
    extensions: list[Any]
    light_changes: list[Any]
    history: list[Any]
    mine: TaskAssignment | None
    owners: list[tuple[uuid.UUID, str]]
    # What the page offers the actor (the services check each again when it is used).
    may_assign: bool = False
    may_tick: bool = False
    may_name_owners: bool = False
    may_set_evidence_rule: bool = False


async def task_view(session: AsyncSession, actor: Actor, task_id: uuid.UUID) -> TaskView:
    """Everything on a task's page except reports and evidence (their domains add those): a fixed number of
    queries."""
    task = await get_task(session, actor, task_id)
    assignments = [AssignmentRow(a, name) for a, name in (await session.exec(
        select(TaskAssignment, Unit.name).join(Unit, col(Unit.id) == TaskAssignment.unit_id)
        .where(TaskAssignment.task_id == task.id).order_by(col(TaskAssignment.kind), col(Unit.name))
    )).all()]
    checklist = list((await session.exec(select(TaskChecklistItem).where(TaskChecklistItem.task_id == task.id)
                                         .order_by(col(TaskChecklistItem.position)))).all())
    targets = list((await session.exec(select(TaskTarget).where(TaskTarget.task_id == task.id)
                                       .order_by(col(TaskTarget.position)))).all())
    extensions = list((await session.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)
                                          .order_by(col(ExtensionRequest.requested_at).desc()))).all())
    light_changes = list((await session.exec(select(LightChange).where(LightChange.task_id == task.id)
                                             .order_by(col(LightChange.changed_at).desc()))).all())
    history = list((await session.exec(select(AuditEvent).where(AuditEvent.object_id == str(task.id))
                                       .order_by(col(AuditEvent.occurred_at).desc()).limit(100))).all())
    mine = next((row.assignment for row in assignments if row.assignment.unit_id == actor.unit_id), None)
    owners = [(m_id, name) for m_id, name in (await session.exec(
        select(TaskOwner.membership_id, User.display_name)
        .join(Membership, col(Membership.id) == TaskOwner.membership_id)
        .join(User, col(User.id) == Membership.user_id).where(TaskOwner.task_id == task.id)
    )).all()]
    return TaskView(task, assignments, checklist, targets, extensions, light_changes, history, mine, owners,
                    may_assign=policy.may_assign(actor), may_tick=policy.may_tick(actor, mine),
                    may_name_owners=policy.may_name_owners(actor, mine),
                    may_set_evidence_rule=policy.may_set_evidence_rule(actor))


async def assign_many(
    session: AsyncSession, actor: Actor, task_ids: list[uuid.UUID], *, lead_unit_ids: list[uuid.UUID],
    co_unit_ids: list[uuid.UUID], deadline: date | None,
) -> list[Task]:
    """All or nothing: one task the actor may not see, or that is closed, refuses the whole batch."""
    policy.require_assign(actor)
    found = list((await session.exec(select(Task).where(col(Task.id).in_(task_ids)).with_for_update())).all())
    if len(found) != len(set(task_ids)):
        raise NotFound(_("所选任务中有的已不存在，请刷新页面后重新选择。"))
    closed = [t.number for t in found if t.state in (TaskState.done, TaskState.cancelled)]
    if closed:
        raise InvalidInput(_("这些任务已办结或已取消，不能再交办：%(numbers)s", numbers="、".join(closed)),
                           field="task_ids")
    for task in found:
        await assign_units(session, actor, task, lead_unit_ids=lead_unit_ids, co_unit_ids=co_unit_ids,
                           deadline=deadline)
    return found


async def set_owners(session: AsyncSession, actor: Actor, task_id: uuid.UUID, membership_ids: list[uuid.UUID]) -> Task:
    """责任人: supervisors name anyone; a unit head names people of their own unit, and only changes those."""
    task = await get_task(session, actor, task_id, for_update=True)
    if policy.may_assign(actor):
        scope = None
    elif policy.may_name_owners(actor, await assignment_of(session, actor, task)):
        scope = actor.unit_id
    else:
        raise Forbidden(_("只有督查督办人员或承办单位负责人可以指定责任人。"))
    query = select(Membership).where(col(Membership.id).in_(membership_ids), col(Membership.is_active))
    if scope is not None:
        query = query.where(Membership.unit_id == scope)
    chosen = list((await session.exec(query)).all())
    if len(chosen) != len(set(membership_ids)):
        raise InvalidInput(_("所选人员不存在、已停用或不属于本单位。"), field="owner_ids")
    current = list((await session.exec(select(TaskOwner).where(TaskOwner.task_id == task.id))).all())
    in_scope = {m.id for m in (await session.exec(select(Membership).where(
        col(Membership.id).in_([o.membership_id for o in current])))).all()
        if scope is None or m.unit_id == scope}
    for owner in current:
        if owner.membership_id in in_scope and owner.membership_id not in membership_ids:
            await session.delete(owner)
    existing = {o.membership_id for o in current}
    for membership in chosen:
        if membership.id not in existing:
            session.add(TaskOwner(tenant_id=actor.tenant_id, task_id=task.id, membership_id=membership.id))
    await session.flush()
    await record(session, actor, "task.owners", object_type="task", object_id=task.id,
                 summary=_("指定 %(number)s 的责任人", number=task.number),
                 details={"owners": [str(m) for m in membership_ids]})
    return task


async def set_evidence_rule(
    session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, rule: str, reason: str, version: int | None
) -> Task:
    """佐证要求 (减负): whether the task asks for evidence. "Required" needs a reason, which the units read on the
    task page and the report form; the other two keep none (a reason for asking nothing is not needed)."""
    task = await get_task(session, actor, task_id, for_update=True)
    policy.require_set_evidence_rule(actor)
    check_version(task, version)
    try:
        wanted = EvidenceRule(rule)
    except ValueError:
        raise InvalidInput(_("请选择佐证材料要求：不需要、可选或必须。"), field="evidence_rule") from None
    reason = check_length(" ".join(reason.split()), limit=MAX_EVIDENCE_REASON, label=_("要求佐证的原因"),
                          field="evidence_reason")
    if wanted == EvidenceRule.required and not reason:
        raise InvalidInput(_("要求必须上传佐证材料时，请写明原因，例如：涉及资金拨付，需留存验收单。"
                             "承办单位会看到这段原因。"), field="evidence_reason")
    if wanted != EvidenceRule.required:
        reason = ""
    before = {"rule": str(task.evidence_rule), "reason": task.evidence_reason}
    if before == {"rule": str(wanted), "reason": reason}:
        return task
    task.evidence_rule, task.evidence_reason = wanted, reason
    task.version += 1
    task.updated_at = clock.now()
    session.add(task)
    await session.flush()
    await record(session, actor, "task.evidence_rule", object_type="task", object_id=task.id,
                 summary=_("将 %(number)s 的佐证材料要求设为“%(rule)s”", number=task.number,
                           rule=evidence_rule_label(wanted)),
                 details={"before": before, "after": {"rule": str(wanted), "reason": reason}})
    return task


async def units_to_assign(session: AsyncSession, actor: Actor) -> list[UnitNode]:
    """The units a supervisor picks from when handing a task out."""
    policy.require_assign(actor)
    return await list_units(session, actor)


async def create_adhoc_task(
    session: AsyncSession, actor: Actor, *, title: str, description: str, deadline: date | None,
    lead_unit_id: uuid.UUID | None, co_unit_ids: list[uuid.UUID], priority: str = "normal",
) -> Task:
    """交办事项: a task a supervisor hands out outside the annual plan."""
    policy.require_assign(actor)
    title = " ".join(title.split())
    if not title:
        raise InvalidInput(_("请填写任务名称。"), field="title")
    if len(title) > 500:
        raise InvalidInput(_("任务名称不能超过 500 个字。"), field="title")
    description = check_length(description.strip(), limit=MAX_DESCRIPTION, label=_("任务要求"), field="description")
    if deadline is None:
        raise InvalidInput(_("请填写完成时限。"), field="deadline")
    if lead_unit_id is None:
        raise InvalidInput(_("请至少选择一个牵头单位。"), field="lead_unit_id")
    known = set((await session.exec(select(Unit.id).where(col(Unit.id).in_([lead_unit_id, *co_unit_ids])))).all())
    if known != {lead_unit_id, *co_unit_ids}:
        raise InvalidInput(_("所选单位不存在或已被删除，请重新选择。"), field="lead_unit_id")
    [task] = await create_tasks(session, actor, deadline.year, [NewTask(
        title=title, description=description, deadline=deadline, lead_unit_ids=[lead_unit_id],
        co_unit_ids=co_unit_ids)])
    task.priority = "high" if priority == "high" else "normal"
    session.add(task)
    await record(session, actor, "task.create", object_type="task", object_id=task.id,
                 summary=_("交办事项 %(number)s“%(title)s”", number=task.number, title=title[:60]))
    return task


async def tick_measure(
    session: AsyncSession, actor: Actor, task_id: uuid.UUID, item_id: uuid.UUID, *, done: bool
) -> Task:
    """Ticks a measure of the checklist off (or back on): the lead and responsible units, or supervisors."""
    task = await get_task(session, actor, task_id, for_update=True)
    mine = await assignment_of(session, actor, task)
    policy.require_tick(actor, mine)
    item = (await session.exec(select(TaskChecklistItem).where(
        TaskChecklistItem.id == item_id, TaskChecklistItem.task_id == task.id))).first()
    if item is None:
        raise NotFound(_("找不到该项措施，请刷新页面。"))
    if item.done != done:
        item.done = done
        session.add(item)
        await record(session, actor, "task.measure", object_type="task", object_id=task.id,
                     summary=_("%(number)s 措施“%(label)s”%(state)s", number=task.number, label=item.label,
                               state=_("已完成") if done else _("改为未完成")))
    return task


def rollup_label(task: Task, assignments: list[TaskAssignment]) -> str:
    """The task's state as its units see it: partly done when some answering units are done and others not."""
    answering = [a for a in assignments if a.kind != AssignmentKind.cooperating]
    finished = sum(1 for a in answering if a.state == TaskState.done)
    if task.state != TaskState.done and 0 < finished < len(answering):
        return _("部分完成（%(done)s/%(all)s 个责任单位）", done=finished, all=len(answering))
    return ""


async def open_unit_names(session: AsyncSession, task_id: uuid.UUID) -> list[str]:
    """The units still working on a task (lead first): whom a 交办 or a 催办 reached, for the message that says so."""
    rows = await session.exec(
        select(Unit.name).join(TaskAssignment, col(TaskAssignment.unit_id) == Unit.id)
        .where(TaskAssignment.task_id == task_id,
               col(TaskAssignment.state).in_([TaskState.assigned, TaskState.acknowledged, TaskState.in_progress]))
        .order_by(col(TaskAssignment.kind) != AssignmentKind.lead, col(Unit.name)))
    return list(rows.all())
