"""A small bureau with hand-countable reports over January–March of next year (so that the assignments, made
today, exist before every due date). Report day: the 25th (the default). Everything goes through the services.

Units: 办公室 (office), 实验小学 (school), 第二中学 (second, nobody in it, so it never files).
Tasks of the plan year Y (all monthly):
  T1 lead office, cooperating school (cooperating units owe no report)        deadline Y-12-31
  T2 lead school, responsible office                                        deadline Y-12-31
  T3 lead second                                                            deadline Y-03-10 (overdue by April)
  T4 lead school, done on Y-02-20 (completion approved)                     deadline Y-06-30
  T5 lead office, cancelled                                                 deadline Y-12-31
The plan's own task 深化理论学习 (lead office) is cancelled too, so it owes nothing.

Reports filed (local dates; late = filed after the 25th):
  January:  T1 office 01-20 on time, T2 school 01-24 on time, T2 office 01-28 late, T4 school 01-26 late
  February: T1 office 02-25 on time (the day itself), T2 school 02-10 on time; T2 office never files
  March:    T1 office 03-26 late, T2 office 03-05 on time, T2 school 03-30 late (then returned by the supervisor)
Exemplary: T1 office's February and March reports.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import col, select

from backend.accounts.service import create_user
from backend.bulletins.exemplary import mark_exemplary
from backend.core.actor import Actor
from backend.core.clock import local_today
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.reports import lights
from backend.reports import service as reports
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import Task
from backend.tenancy import service as tenancy
from backend.tenancy.acting import actor_for
from backend.tenancy.models import Unit, UnitKind
from tests.support.fixtures import PASSWORD, Bureau


@dataclass
class Scenario:
    bureau: Bureau
    year: int
    office: Unit
    school: Unit
    second: Unit
    office_staff: Actor
    tasks: dict[str, Task]

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.bureau.tenant.id


def next_year() -> int:
    return local_today().year + 1


def at(year: int, month: int, day: int) -> datetime:
    """10:00 in Beijing on that date."""
    return datetime(year, month, day, 2, 0, tzinfo=UTC)


async def _file(tenant_id, clock, actor: Actor, task: Task, period: str, when: datetime):
    clock(when)
    async with unit_of_work(tenant_id) as session:
        report = await reports.save_report(session, actor, task.id, period=period,
                                           progress=f"{task.title}：{period}进展。", percent=60, version=0)
        return await reports.submit_report(session, actor, report.id, version=report.version)


async def build(bureau: Bureau, clock) -> Scenario:
    y = next_year()
    admin, supervisor = bureau.actors[Role.admin], bureau.actors[Role.supervisor]
    school_staff = bureau.actors[Role.unit_staff]
    office, school = bureau.units["office"], bureau.units["school"]
    async with unit_of_work(bureau.tenant.id) as session:
        second = await tenancy.create_unit(session, admin, name="第二中学", kind=UnitKind.school)
        user = await create_user(session, username=f"office-staff-{uuid.uuid4().hex[:8]}", display_name="办公室经办",
                                 password=PASSWORD)
        await tenancy.add_member(session, admin, tenant_id=bureau.tenant.id, user=user, role=Role.unit_staff,
                                 unit_id=office.id)
        office_staff = await actor_for(session, user, bureau.tenant.id)
        plan_task = (await session.exec(select(Task).where(col(Task.title).contains("深化理论学习")))).one()
        await lifecycle.cancel(session, supervisor, plan_task.id, reason="测试不计", version=plan_task.version)
        specs = [("T1", date(y, 12, 31), [office.id], [school.id]), ("T2", date(y, 12, 31), [school.id, office.id], []),
                 ("T3", date(y, 3, 10), [second.id], []), ("T4", date(y, 6, 30), [school.id], []),
                 ("T5", date(y, 12, 31), [office.id], [])]
        created = await tasks.create_tasks(session, supervisor, y, [
            tasks.NewTask(title=f"{name}任务", description="", deadline=deadline, lead_unit_ids=lead, co_unit_ids=co)
            for name, deadline, lead, co in specs])
        named = dict(zip([s[0] for s in specs], created, strict=True))
        await lifecycle.cancel(session, supervisor, named["T5"].id, reason="测试取消", version=named["T5"].version)
    t1, t2, t4 = named["T1"], named["T2"], named["T4"]
    tid = bureau.tenant.id
    await _file(tid, clock, office_staff, t1, f"{y}-01", at(y, 1, 20))
    await _file(tid, clock, school_staff, t2, f"{y}-01", at(y, 1, 24))
    await _file(tid, clock, office_staff, t2, f"{y}-01", at(y, 1, 28))
    await _file(tid, clock, school_staff, t4, f"{y}-01", at(y, 1, 26))
    feb_t1 = await _file(tid, clock, office_staff, t1, f"{y}-02", at(y, 2, 25))
    await _file(tid, clock, school_staff, t2, f"{y}-02", at(y, 2, 10))
    clock(at(y, 2, 18))
    async with unit_of_work(tid) as session:
        task = await session.get(Task, t4.id)
        request = await reports.request_completion(session, school_staff, t4.id, summary="已全部完成。",
                                                   version=task.version)
    clock(at(y, 2, 20))
    async with unit_of_work(tid) as session:
        await reports.decide_completion(session, supervisor, request.id, approve=True, comment="同意办结",
                                        version=request.version, override_reason="经核对同意办结")
    mar_t1 = await _file(tid, clock, office_staff, t1, f"{y}-03", at(y, 3, 26))
    await _file(tid, clock, office_staff, t2, f"{y}-03", at(y, 3, 5))
    returned = await _file(tid, clock, school_staff, t2, f"{y}-03", at(y, 3, 30))
    async with unit_of_work(tid) as session:
        await reports.review(session, supervisor, returned.id, accept=False, comment="请补充数据。",
                             version=returned.version)
        for report in (feb_t1, mar_t1):
            await mark_exemplary(session, supervisor, report.id, exemplary=True)
        # The lights as the morning job of April 1st leaves them.
        await lights.refresh_lights(session, tid, today=date(y, 4, 1), trigger="测试")
    return Scenario(bureau=bureau, year=y, office=office, school=school, second=second, office_staff=office_staff,
                    tasks=named)
