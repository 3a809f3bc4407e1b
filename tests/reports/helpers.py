"""Small helpers for the report tests: each call is one unit of work, as a request would be."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import event
from sqlmodel import col, func, select

from backend.accounts.service import create_user
from backend.audit.models import AuditEvent
from backend.core.actor import Actor
from backend.core.roles import Role
from backend.db import get_engine, unit_of_work
from backend.notifications.models import Notification
from backend.reports import service as reports
from backend.reports.models import ProgressReport, ReportReview
from backend.tasks.models import Task, TaskAssignment, TaskState, TaskTarget
from backend.tenancy import service as tenancy
from backend.tenancy.acting import actor_for
from backend.tenancy.bureau_settings import update_bureau_settings
from tests.support.fixtures import PASSWORD, Bureau


@dataclass
class Loop:
    bureau: Bureau
    task_id: uuid.UUID
    task_number: str
    target_id: uuid.UUID  # the task's target 开展专题学习不少于12次
    actors: dict[str, Actor]
    usernames: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.bureau.tenant.id

    def __getattr__(self, name: str) -> Actor:
        try:
            return self.__dict__["actors"][name]
        except KeyError:
            raise AttributeError(name) from None


async def make_loop(bureau: Bureau) -> Loop:
    """Adds an office staff member and head (the lead unit's people); the school's come with the bureau."""
    suffix = uuid.uuid4().hex[:8]
    admin = bureau.actors[Role.admin]
    usernames = {"co_staff": bureau.username(Role.unit_staff), "co_head": bureau.username(Role.unit_head),
                 "supervisor": bureau.username(Role.supervisor), "admin": bureau.username(Role.admin),
                 "leader": bureau.username(Role.leader)}
    async with unit_of_work(bureau.tenant.id) as session:
        actors = {}
        for name, role in (("staff", Role.unit_staff), ("head", Role.unit_head)):
            usernames[name] = f"office-{name}-{suffix}"
            actors[name] = await add_member(session, bureau, usernames[name], f"办公室{name}{suffix}", role,
                                            bureau.units["office"].id)
        task = (await session.exec(select(Task).where(col(Task.title).contains("深化理论学习")))).one()
        target = (await session.exec(select(TaskTarget).where(TaskTarget.task_id == task.id))).one()
    actors.update(co_staff=bureau.actors[Role.unit_staff], co_head=bureau.actors[Role.unit_head],
                  supervisor=bureau.actors[Role.supervisor], admin=admin, leader=bureau.actors[Role.leader])
    return Loop(bureau=bureau, task_id=task.id, task_number=task.number, target_id=target.id, actors=actors,
                usernames=usernames)


async def add_member(session, bureau: Bureau, username: str, display_name: str, role: Role,
                     unit_id: uuid.UUID | None = None) -> Actor:
    """A new person in the bureau, added by its admin, as the actor they act as."""
    user = await create_user(session, username=username, display_name=display_name, password=PASSWORD)
    await tenancy.add_member(session, bureau.actors[Role.admin], tenant_id=bureau.tenant.id, user=user, role=role,
                             unit_id=unit_id)
    return await actor_for(session, user, bureau.tenant.id)


def main(response) -> str:
    """The page's own content, without the layout around it."""
    text = response.text
    return text[text.index("<main"):text.index("</main>")]


STALE = "已被修改，请刷新"  # what a stale form's refusal says

# Times (UTC) inside November 2026 in Asia/Shanghai, before and after the default report day (25th).
EARLY_NOVEMBER = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


def just_after(moment: datetime, value: datetime | None) -> bool:
    """The clock runs on from where a test moved it: `value` was stamped within a minute of `moment`."""
    return value is not None and moment <= value < moment + timedelta(minutes=1)


async def run(loop: Loop, fn, actor: Actor, *args, **kwargs):
    async with unit_of_work(loop.tenant_id) as session:
        return await fn(session, actor, *args, **kwargs)


async def save(loop: Loop, actor: Actor | None = None, **kwargs) -> ProgressReport:
    kwargs.setdefault("progress", "开展专题学习3次，覆盖全体党员。")
    kwargs.setdefault("percent", 30)
    kwargs.setdefault("version", 0)
    return await run(loop, reports.save_report, actor or loop.staff, loop.task_id, **kwargs)


async def filed(loop: Loop, actor: Actor | None = None, **kwargs) -> ProgressReport:
    """A saved and submitted report."""
    report = await save(loop, actor, **kwargs)
    return await run(loop, reports.submit_report, actor or loop.staff, report.id, version=report.version)


async def report_of(loop: Loop, report_id: uuid.UUID) -> ProgressReport:
    async with unit_of_work(loop.tenant_id) as session:
        return (await session.exec(select(ProgressReport).where(ProgressReport.id == report_id))).one()


async def task_of(loop: Loop) -> Task:
    async with unit_of_work(loop.tenant_id) as session:
        return (await session.exec(select(Task).where(Task.id == loop.task_id))).one()


async def assignments_of(loop: Loop) -> dict[str, TaskAssignment]:
    async with unit_of_work(loop.tenant_id) as session:
        rows = (await session.exec(select(TaskAssignment).where(TaskAssignment.task_id == loop.task_id))).all()
    return {str(a.kind): a for a in rows}


async def set_task_state(loop: Loop, state: TaskState) -> None:
    async with unit_of_work(loop.tenant_id) as session:
        task = (await session.exec(select(Task).where(Task.id == loop.task_id))).one()
        task.state = state
        session.add(task)


async def set_settings(loop: Loop, *, report_day: int = 25, unit_head_approval: bool = False) -> None:
    await run(loop, update_bureau_settings, loop.admin, report_day=report_day,
              unit_head_approval=unit_head_approval)


async def events(loop: Loop, action: str, object_id: object | None = None) -> list[AuditEvent]:
    async with unit_of_work(loop.tenant_id) as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.occurred_at))
        if object_id is not None:
            query = query.where(AuditEvent.object_id == str(object_id))
        return list((await session.exec(query)).all())


async def notifications(loop: Loop, kind: str, membership_id: uuid.UUID | None = None) -> list[Notification]:
    async with unit_of_work(loop.tenant_id) as session:
        query = select(Notification).where(Notification.kind == kind)
        if membership_id is not None:
            query = query.where(Notification.membership_id == membership_id)
        return list((await session.exec(query)).all())


async def count_reports(loop: Loop) -> int:
    async with unit_of_work(loop.tenant_id) as session:
        return (await session.exec(select(func.count()).select_from(ProgressReport)
                                   .where(ProgressReport.task_id == loop.task_id))).one()


async def reviews_of(loop: Loop, report_id: uuid.UUID) -> list[ReportReview]:
    async with unit_of_work(loop.tenant_id) as session:
        return list((await session.exec(select(ReportReview).where(ReportReview.report_id == report_id)
                                        .order_by(col(ReportReview.decided_at)))).all())


class QueryCounter:
    """Counts the SQL statements sent while it is active."""

    def __init__(self) -> None:
        self.count = 0

    def _count(self, *_args) -> None:
        self.count += 1

    def __enter__(self) -> "QueryCounter":
        event.listen(get_engine().sync_engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(get_engine().sync_engine, "before_cursor_execute", self._count)


async def report_for(loop: Loop, period: str = "2026-11", unit: str = "office") -> ProgressReport | None:
    async with unit_of_work(loop.tenant_id) as session:
        return (await session.exec(select(ProgressReport).where(
            ProgressReport.task_id == loop.task_id, ProgressReport.period == period,
            ProgressReport.unit_id == loop.bureau.units[unit].id))).first()
