"""年度结转: the year's unfinished tasks are copied into next year's plan, each copy pointing back to its original.

The original stays in its year exactly as it was (its reports, evidence, reviews and history are its 台账); the
copy starts the new year with what is still open: the same title, requirements, priority and report frequency,
the checklist with its ticks, the targets with their actuals so far, the owners, and the units not yet done.
Running it twice copies nothing twice: a task that already has a copy is not a candidate any more, and one
advisory lock per bureau and year serialises two clicks. The copy is made in a fixed number of statements
(INSERT … SELECT over arrays of ids), whatever the number of tasks.
"""

import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.core.actor import Actor
from backend.delivery.notify import notify_decided
from backend.errors import Conflict, InvalidInput
from backend.i18n import _
from backend.plans.models import Plan, PlanItem, PlanSection
from backend.reports.lights import relight
from backend.tasks.models import AssignmentKind, Task, TaskAssignment, TaskState
from backend.tasks.policy import require_roll_over
from backend.tasks.service import NUMBER_PREFIX, _next_seq, visible_task_ids
from backend.tenancy.models import Unit

CLOSED = (TaskState.done, TaskState.cancelled)
# A unit that finished, refused the task (退回) or was cancelled has nothing to carry into the new year.
LEFT_BEHIND = (TaskState.done, TaskState.sent_back, TaskState.cancelled)
SECTION_LABEL = "结转"  # not a numeral, so a later update of the plan never merges its own sections into it


def default_year(today: date) -> int:
    """In the second half of the year the year closing is this one; in January–June it is last year."""
    return today.year if today.month >= 7 else today.year - 1


def check_year(year: int) -> int:
    if not 2000 <= year <= 2099:
        raise InvalidInput(_("年份应在 2000 到 2099 之间。"), field="year")
    return year


@dataclass
class CarryRow:
    task: Task
    units: list[tuple[str, str]]  # (unit name, its state) of the units that go with the copy


@dataclass
class RolloverPreview:
    from_year: int
    rows: list[CarryRow]
    per_unit: list[tuple[str, int]]
    already: int  # copies the next year already holds (carried before)
    plan: Plan | None  # next year's plan, if one is published
    fingerprint: str
    years: list[int] = field(default_factory=list)

    @property
    def to_year(self) -> int:
        return self.from_year + 1


def _fingerprint(tasks: list[Task]) -> str:
    """What the confirmation was given for: the candidates and their versions. A change since is refused."""
    seen = ",".join(f"{t.id}:{t.version}" for t in sorted(tasks, key=lambda t: t.id))
    return hashlib.sha256(seen.encode()).hexdigest()[:20]


async def _candidates(session: AsyncSession, from_year: int, *, lock: bool = False) -> list[Task]:
    copy_of = select(Task.carried_from_id).where(col(Task.carried_from_id).is_not(None))
    query = (select(Task).where(Task.year == from_year, col(Task.state).not_in(CLOSED),
                                col(Task.id).not_in(copy_of.scalar_subquery()))
             .order_by(col(Task.seq)))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list((await session.exec(query)).all())


async def _open_assignments(session: AsyncSession, task_ids: list[uuid.UUID]) -> list[tuple[TaskAssignment, str]]:
    if not task_ids:
        return []
    return list((await session.exec(
        select(TaskAssignment, Unit.name).join(Unit, col(Unit.id) == TaskAssignment.unit_id)
        .where(col(TaskAssignment.task_id).in_(task_ids), col(TaskAssignment.state).not_in(LEFT_BEHIND))
        .order_by(col(TaskAssignment.kind), col(Unit.name))
    )).all())


async def preview(session: AsyncSession, actor: Actor, from_year: int) -> RolloverPreview:
    """What a roll-over of the year would carry: the tasks, their units, a count per unit. Five queries."""
    require_roll_over(actor)
    check_year(from_year)
    tasks = await _candidates(session, from_year)
    by_task: dict[uuid.UUID, CarryRow] = {t.id: CarryRow(t, []) for t in tasks}
    per_unit: Counter[str] = Counter()
    for assignment, name in await _open_assignments(session, list(by_task)):
        by_task[assignment.task_id].units.append((name, assignment.state))
        per_unit[name] += 1
    already = (await session.exec(select(func.count()).select_from(Task).where(
        Task.year == from_year + 1, col(Task.carried_from_id).is_not(None)))).one()
    plan = (await session.exec(select(Plan).where(Plan.year == from_year + 1)
                               .order_by(col(Plan.published_at)).limit(1))).first()
    years = list((await session.exec(select(Task.year).distinct().order_by(col(Task.year).desc()))).all())
    return RolloverPreview(from_year, list(by_task.values()), sorted(per_unit.items(), key=lambda p: (-p[1], p[0])),
                           already, plan, _fingerprint(tasks), years)


@dataclass
class RolloverResult:
    from_year: int
    created: int
    plan: Plan | None
    already: int


def _copy_state(task: Task, kinds_states: list[tuple[AssignmentKind, TaskState]]) -> TaskState:
    """The copy's state from the units that go with it: work under way stays under way."""
    answering = [state for kind, state in kinds_states if kind != AssignmentKind.cooperating]
    if not answering:
        return TaskState.unassigned
    if TaskState.in_progress in answering or task.state in (TaskState.in_progress, TaskState.completion_requested):
        return TaskState.in_progress
    lead = next((state for kind, state in kinds_states if kind == AssignmentKind.lead), None)
    return TaskState.acknowledged if lead == TaskState.acknowledged else TaskState.assigned


async def roll_over_year(
    session: AsyncSession, actor: Actor, from_year: int, *, fingerprint: str, confirmed: bool,
    deadline: date | None = None,
) -> RolloverResult:
    """Carries the year's unfinished tasks into next year's plan (section 上年度结转事项). A deadline in the new
    year is kept; an earlier one becomes `deadline` (by default the new year's 31 December). Running it again,
    or a second click, carries nothing twice."""
    require_roll_over(actor)
    check_year(from_year)
    to_year = from_year + 1
    if not confirmed:
        raise InvalidInput(_("请先核对结转清单，勾选“我已核对”后再结转。"), field="confirmed")
    new_deadline = deadline or date(to_year, 12, 31)
    if new_deadline.year != to_year:
        raise InvalidInput(_("结转后的时限应在 %(year)s 年内，例如 %(year)s-12-31。", year=to_year), field="deadline")
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))").bindparams(
        key=f"rollover:{actor.tenant_id}:{from_year}"))
    tasks = await _candidates(session, from_year, lock=True)
    already = (await session.exec(select(func.count()).select_from(Task).where(
        Task.year == to_year, col(Task.carried_from_id).is_not(None)))).one()
    if not tasks:  # nothing left: done before (a second click lands here) or nothing was open
        plan = (await session.exec(select(Plan).where(Plan.year == to_year).order_by(col(Plan.published_at))
                                   .limit(1))).first()
        return RolloverResult(from_year, 0, plan, already)
    if fingerprint != _fingerprint(tasks):
        raise Conflict(_("自您打开结转清单以来，%(year)s 年的任务有了变化（有任务办结、取消、修改或新建）。"
                         "请刷新页面，核对最新的清单后再结转。", year=from_year))
    assignments = await _open_assignments(session, [t.id for t in tasks])
    plan, section = await _plan_section(session, actor, to_year)
    first_position = (await session.exec(select(func.max(PlanItem.position)).where(
        PlanItem.plan_id == plan.id))).one()
    first_position = -1 if first_position is None else first_position
    first_number = (await session.exec(select(func.count()).select_from(PlanItem).where(
        PlanItem.section_id == section.id))).one()
    seq = await _next_seq(session, actor.tenant_id, to_year)

    new_ids = {t.id: uuid.uuid4() for t in tasks}
    by_task: dict[uuid.UUID, list[TaskAssignment]] = {t.id: [] for t in tasks}
    for assignment, _name in assignments:
        by_task[assignment.task_id].append(assignment)
    copied: dict[str, list] = {"id": [], "task": [], "kind": [], "deadline": [], "state": []}
    tasks_rows: dict[str, list] = {"old": [], "new": [], "item": [], "seq": [], "number": [], "deadline": [],
                                   "state": [], "position": [], "item_number": []}
    units: Counter[uuid.UUID] = Counter()
    for index, task in enumerate(tasks):
        keep = by_task[task.id]
        kinds = {a.id: a.kind for a in keep}
        if keep and not any(kind == AssignmentKind.lead for kind in kinds.values()):
            answering = [a for a in keep if a.kind == AssignmentKind.responsible]
            if answering:  # the lead finished its part: the next answering unit leads what is left
                kinds[answering[0].id] = AssignmentKind.lead
        states = {a.id: TaskState.in_progress if a.state == TaskState.completion_requested else TaskState(a.state)
                  for a in keep}
        task_deadline = task.deadline if task.deadline.year == to_year else new_deadline
        for a in keep:
            copied["id"].append(a.id)
            copied["task"].append(new_ids[task.id])
            copied["kind"].append(str(kinds[a.id]))
            copied["deadline"].append(a.deadline if a.deadline.year == to_year else new_deadline)
            copied["state"].append(str(states[a.id]))
            units[a.unit_id] += 1
        tasks_rows["old"].append(task.id)
        tasks_rows["new"].append(new_ids[task.id])
        tasks_rows["item"].append(uuid.uuid4())
        tasks_rows["seq"].append(seq + index)
        tasks_rows["number"].append(f"{NUMBER_PREFIX}-{to_year}-{seq + index:03d}")
        tasks_rows["deadline"].append(task_deadline)
        tasks_rows["state"].append(str(_copy_state(task, [(kinds[a.id], states[a.id]) for a in keep])))
        tasks_rows["position"].append(first_position + 1 + index)
        tasks_rows["item_number"].append(first_number + 1 + index)
    params = {"tenant": actor.tenant_id, "actor": actor.user_id, "plan": plan.id, "section": section.id,
              **{f"t_{k}": v for k, v in tasks_rows.items()}}
    await session.execute(text(_INSERT_ITEMS), params=params)
    await session.execute(text(_INSERT_TASKS), params=params)
    pairs = {"tenant": actor.tenant_id, "old": tasks_rows["old"], "new": tasks_rows["new"]}
    for statement in (_INSERT_CHECKLIST, _INSERT_TARGETS, _INSERT_OWNERS):
        await session.execute(text(statement), params=pairs)
    await session.execute(text(_INSERT_ASSIGNMENTS), params={"tenant": actor.tenant_id,
                                                          **{f"a_{k}": v for k, v in copied.items()}})
    await session.execute(text(_INSERT_HISTORY), params={
        **pairs, "actor": actor.user_id, "actor_name": actor.display_name[:50], "ip": actor.ip,
        "request_id": actor.request_id, "summary": _("由 %(year)s 年结转", year=from_year)})
    await relight(session, actor, tasks_rows["new"], _("年度结转"))
    await _tell_units(session, actor, from_year, plan, units)
    await record(session, actor, "plans.roll_over", object_type="plan", object_id=plan.id,
                 summary=_("%(from)s 年未完成的 %(n)s 项任务结转至 %(to)s 年“%(plan)s”", n=len(tasks),
                           plan=plan.title[:60], **{"from": from_year, "to": to_year}),
                 details={"from_year": from_year, "to_year": to_year, "count": len(tasks),
                          "deadline": new_deadline.isoformat(),
                          "numbers": [t.number for t in tasks][:1000]})
    return RolloverResult(from_year, len(tasks), plan, already)


async def _plan_section(session: AsyncSession, actor: Actor, to_year: int) -> tuple[Plan, PlanSection]:
    """Next year's plan (the first published) with its section 上年度结转事项, both made if missing. With no
    plan published yet, a plan of the carried tasks alone is published; the year's own plan, imported later,
    becomes a plan of its own beside it."""
    plan = (await session.exec(select(Plan).where(Plan.year == to_year).order_by(col(Plan.published_at))
                               .limit(1))).first()
    if plan is None:
        plan = Plan(tenant_id=actor.tenant_id, title=_("%(year)s年上年度结转事项", year=to_year), year=to_year,
                    source_sha256="", published_by=actor.user_id)
        session.add(plan)
        await session.flush()
    section = (await session.exec(select(PlanSection).where(PlanSection.plan_id == plan.id,
                                                            PlanSection.label == SECTION_LABEL))).first()
    if section is None:
        last = (await session.exec(select(func.max(PlanSection.position)).where(
            PlanSection.plan_id == plan.id))).one()
        section = PlanSection(tenant_id=actor.tenant_id, plan_id=plan.id, label=SECTION_LABEL,
                              title=_("上年度结转事项"), position=(last if last is not None else -1) + 1)
        session.add(section)
        await session.flush()
    return plan, section


async def _tell_units(
    session: AsyncSession, actor: Actor, from_year: int, plan: Plan, units: Counter[uuid.UUID]
) -> None:
    """One notification per unit (to its head and staff) saying how many of its tasks moved: one statement."""
    unit_ids = list(units)
    decided = """
        SELECT m.id AS membership_id, CAST(:key AS text) || ':' || m.unit_id::text AS key,
               replace(CAST(:title AS text), '{n}', u.n::text) AS title, CAST(:body AS text) AS body,
               CAST(:link AS text) AS link
        FROM unnest(CAST(:units AS uuid[]), CAST(:counts AS int[])) AS u(unit_id, n)
        JOIN memberships m ON m.unit_id = u.unit_id AND m.is_active AND m.role IN ('unit_head', 'unit_staff')"""
    await notify_decided(session, actor.tenant_id, decided, {
        "key": f"rollover:{from_year}", "units": unit_ids, "counts": [units[u] for u in unit_ids],
        "title": _("本单位 %(year)s 年未完成的 {n} 项任务已结转至 %(next)s 年", year=from_year, next=from_year + 1),
        "body": _("原任务的报告、佐证和审核记录仍在原任务的台账中，可从新任务页面的“由…结转”链接查看。"),
        "link": f"/tasks?plan={plan.id}"}, kind="tasks_carried_over")


@dataclass
class CarryLinks:
    carried_from: tuple[uuid.UUID, str] | None  # (id, number) of the original
    carried_to: tuple[uuid.UUID, str] | None  # (id, number) of the copy


async def carry_links(session: AsyncSession, actor: Actor, task: Task) -> CarryLinks:
    """The task's original and its copy, for the task page: one query."""
    query = select(Task.id, Task.number, Task.carried_from_id).where(
        or_(Task.id == task.carried_from_id, Task.carried_from_id == task.id))
    visible = visible_task_ids(actor)
    if visible is not None:
        query = query.where(col(Task.id).in_(visible))
    links = CarryLinks(None, None)
    for task_id, number, carried_from_id in (await session.exec(query)).all():
        if carried_from_id == task.id:
            links.carried_to = (task_id, number)
        else:
            links.carried_from = (task_id, number)
    return links


# --- the set-based copy ------------------------------------------------------------------------------------

_INSERT_ITEMS = """
INSERT INTO plan_items (id, tenant_id, plan_id, section_id, number, title, text, measures, targets, deadline,
                        recurrence, owners, flags, position, removed_in_update)
SELECT m.item, CAST(:tenant AS uuid), CAST(:plan AS uuid), CAST(:section AS uuid), m.item_number, t.title,
       coalesce(nullif(t.description, ''), t.title), coalesce(p.measures, '[]'::jsonb),
       coalesce(p.targets, '[]'::jsonb), m.deadline, t.recurrence, coalesce(p.owners, '{}'::jsonb), '[]'::jsonb,
       m.position, false
FROM unnest(CAST(:t_old AS uuid[]), CAST(:t_item AS uuid[]), CAST(:t_deadline AS date[]),
            CAST(:t_position AS int[]), CAST(:t_item_number AS int[]))
     AS m(old, item, deadline, position, item_number)
JOIN tasks t ON t.id = m.old
LEFT JOIN plan_items p ON p.id = t.plan_item_id
"""

_INSERT_TASKS = """
INSERT INTO tasks (id, tenant_id, number, year, seq, title, description, plan_item_id, carried_from_id, deadline,
                   original_deadline, recurrence, priority, state, light, light_reason, report_frequency, progress,
                   version, created_by, created_at, updated_at)
SELECT m.new, CAST(:tenant AS uuid), m.number, t.year + 1, m.seq, t.title, t.description, m.item, t.id, m.deadline,
       m.deadline, t.recurrence, t.priority, m.state, 'green', '', t.report_frequency, t.progress, 1,
       CAST(:actor AS uuid), now(), now()
FROM unnest(CAST(:t_old AS uuid[]), CAST(:t_new AS uuid[]), CAST(:t_item AS uuid[]), CAST(:t_seq AS int[]),
            CAST(:t_number AS text[]), CAST(:t_deadline AS date[]), CAST(:t_state AS text[]))
     AS m(old, new, item, seq, number, deadline, state)
JOIN tasks t ON t.id = m.old
"""

_INSERT_CHECKLIST = """
INSERT INTO task_checklist_items (id, tenant_id, task_id, label, text, position, done)
SELECT gen_random_uuid(), CAST(:tenant AS uuid), m.new, c.label, c.text, c.position, c.done
FROM unnest(CAST(:old AS uuid[]), CAST(:new AS uuid[])) AS m(old, new) JOIN task_checklist_items c ON c.task_id = m.old
"""

_INSERT_TARGETS = """
INSERT INTO task_targets (id, tenant_id, task_id, value, unit, comparator, text, actual, position)
SELECT gen_random_uuid(), CAST(:tenant AS uuid), m.new, g.value, g.unit, g.comparator, g.text, g.actual, g.position
FROM unnest(CAST(:old AS uuid[]), CAST(:new AS uuid[])) AS m(old, new) JOIN task_targets g ON g.task_id = m.old
"""

_INSERT_OWNERS = """
INSERT INTO task_owners (id, tenant_id, task_id, membership_id)
SELECT gen_random_uuid(), CAST(:tenant AS uuid), m.new, o.membership_id
FROM unnest(CAST(:old AS uuid[]), CAST(:new AS uuid[])) AS m(old, new) JOIN task_owners o ON o.task_id = m.old
"""

_INSERT_ASSIGNMENTS = """
INSERT INTO task_assignments (id, tenant_id, task_id, unit_id, kind, deadline, original_deadline, state,
                              acknowledged_at, acknowledged_by, sent_back_reason, done_at, created_at)
SELECT gen_random_uuid(), CAST(:tenant AS uuid), m.task, a.unit_id, m.kind, m.deadline, NULL, m.state,
       a.acknowledged_at, a.acknowledged_by, '', NULL, a.created_at
FROM unnest(CAST(:a_id AS uuid[]), CAST(:a_task AS uuid[]), CAST(:a_kind AS text[]), CAST(:a_deadline AS date[]),
            CAST(:a_state AS text[])) AS m(id, task, kind, deadline, state)
JOIN task_assignments a ON a.id = m.id
"""

# Each copy's 办理记录 starts with where it came from (the original's own history is left as it was).
_INSERT_HISTORY = """
INSERT INTO audit_events (id, tenant_id, occurred_at, actor_user_id, actor_name, action, object_type, object_id,
                          summary, details, ip, request_id)
SELECT gen_random_uuid(), CAST(:tenant AS uuid), now(), CAST(:actor AS uuid), CAST(:actor_name AS text),
       'task.carry_over', 'task', m.new::text, left(CAST(:summary AS text) || ' ' || t.number, 500),
       jsonb_build_object('carried_from_id', t.id::text, 'carried_from', t.number), CAST(:ip AS text),
       CAST(:request_id AS text)
FROM unnest(CAST(:old AS uuid[]), CAST(:new AS uuid[])) AS m(old, new) JOIN tasks t ON t.id = m.old
"""
