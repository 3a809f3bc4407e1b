"""A bureau's year 2030 built through the services, with numbers small enough to follow by hand.

Units: A = 办公室 (office), B = 实验小学 (school), C = 第二中学 (made here). Tasks of 2030, all monthly, due 12-31:

    T1  lead A, responsible B        T2  lead A, cooperating B (B's part does not count)
    T3  lead B                       T4  lead C
    T5  lead A, cancelled            (the plan's own 2024 task is cancelled too, so it is due nowhere)

Reports (the bureau's report day is the 25th; a report filed after it is late):
    A: T1 2030-01 on 01-20, T1 2030-02 on 02-20 (on time); T2 2030-01 on 02-03 (late)
    B: T3 2030-01, T1 2030-01 on 01-20, T3 2030-02 on 02-20, T3 2030-03 on 03-20 (on time)
    C: T4 2030-01 on 02-03 (late)
办结 on 2030-12-28: A's T2 and B's T3.
Quarterly reviews: Q1 on the 优良中差 scale (A: T1 优, T2 良; B: T1 中, T3 优), published; Q2 after the admin
switched the rubric to 0–100 (A: T1 90, T2 80; B: T3 70), published; Q3 opened with C: T4 100, not published.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from backend.accounts.service import create_user
from backend.assessments import rubric as rubrics
from backend.core.actor import Actor
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.reports import service as reports
from backend.reports.models import ProgressReport
from backend.reviews import service as reviews
from backend.reviews.models import QuarterlyReview
from backend.reviews.service import RatingEntry
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import Task
from backend.tenancy import service as tenancy
from backend.tenancy.acting import actor_for
from backend.tenancy.models import UnitKind
from tests.support.fixtures import PASSWORD, Bureau

YEAR = 2030
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(y: int, m: int, d: int, hour: int = 10) -> datetime:
    """A bureau-local moment, as UTC (what the clocks take)."""
    return datetime(y, m, d, hour, tzinfo=SHANGHAI).astimezone(UTC)


def rubric_form(**overrides) -> rubrics.RubricForm:
    values = {"completion_weight": "40", "timeliness_weight": "20", "rating_weight": "30", "bonus_weight": "10",
              "rating_scale": "grade", "self_scoring": True, "appeal_days": "5"}
    return rubrics.RubricForm(**(values | overrides))


@dataclass
class World:
    bureau: Bureau
    units: dict[str, uuid.UUID]  # "A", "B", "C"
    names: dict[str, str]
    tasks: dict[str, Task]  # "T1" … "T5"
    staff: dict[str, Actor]  # each unit's 经办人
    heads: dict[str, Actor]  # each unit's 负责人
    reviews: dict[int, uuid.UUID]  # quarter → review id
    usernames: dict[tuple[str, Role], str]  # (unit, unit role) → login name

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.bureau.tenant.id

    def actor(self, role: Role) -> Actor:
        return self.bureau.actors[role]


async def call(tenant_id: uuid.UUID, fn, *args, **kwargs):
    """One service call in its own unit of work, as a request would make it."""
    async with unit_of_work(tenant_id) as session:
        return await fn(session, *args, **kwargs)


async def _people(bureau: Bureau, unit_id: uuid.UUID, tag: str) -> tuple[Actor, Actor, list[str]]:
    suffix = uuid.uuid4().hex[:8]
    made, names = [], []
    async with unit_of_work(bureau.tenant.id) as session:
        for role in (Role.unit_staff, Role.unit_head):
            user = await create_user(session, username=f"{tag}-{role.value}-{suffix}",
                                     display_name=f"{tag}{role.value}{suffix}", password=PASSWORD)
            await tenancy.add_member(session, bureau.actors[Role.admin], tenant_id=bureau.tenant.id, user=user,
                                     role=role, unit_id=unit_id)
            made.append(await actor_for(session, user, bureau.tenant.id))
            names.append(user.username)
    return made[0], made[1], names


async def file(world: World, unit: str, task: str, period: str) -> ProgressReport:
    staff = world.staff[unit]
    report = await call(world.tenant_id, reports.save_report, staff, world.tasks[task].id, period=period,
                        progress="按计划推进。", percent=30, version=0)
    return await call(world.tenant_id, reports.submit_report, staff, report.id, version=report.version)


async def complete(world: World, unit: str, task: str) -> None:
    async with unit_of_work(world.tenant_id) as session:
        current = (await session.exec(select(Task).where(Task.id == world.tasks[task].id))).one()
    request = await call(world.tenant_id, reports.request_completion, world.staff[unit], current.id,
                         summary="已全部完成。", version=current.version)
    await call(world.tenant_id, reports.decide_completion, world.actor(Role.supervisor), request.id, approve=True,
               version=request.version, override_reason="经核对同意办结")


async def rate(world: World, quarter: int, unit: str, values: dict[str, str]) -> int:
    entries = {str(world.tasks[t].id): RatingEntry(raw, comment=f"{t}评语") for t, raw in values.items()}
    return await call(world.tenant_id, reviews.rate_unit, world.actor(Role.supervisor), world.reviews[quarter],
                      world.units[unit], entries, version=None)


async def review_of(world: World, quarter: int) -> QuarterlyReview:
    async with unit_of_work(world.tenant_id) as session:
        return (await session.exec(select(QuarterlyReview).where(
            QuarterlyReview.id == world.reviews[quarter]))).one()


async def build_year(bureau: Bureau, clock) -> World:
    admin, supervisor = bureau.actors[Role.admin], bureau.actors[Role.supervisor]
    office, school = bureau.units["office"].id, bureau.units["school"].id
    async with unit_of_work(bureau.tenant.id) as session:
        third = await tenancy.create_unit(session, admin, name="第二中学", kind=UnitKind.school)
    units = {"A": office, "B": school, "C": third.id}
    staff_a, head_a, names_a = await _people(bureau, office, "a")
    staff_c, head_c, names_c = await _people(bureau, third.id, "c")
    usernames = {("A", Role.unit_staff): names_a[0], ("A", Role.unit_head): names_a[1],
                 ("B", Role.unit_staff): bureau.username(Role.unit_staff),
                 ("B", Role.unit_head): bureau.username(Role.unit_head),
                 ("C", Role.unit_staff): names_c[0], ("C", Role.unit_head): names_c[1]}
    staff = {"A": staff_a, "B": bureau.actors[Role.unit_staff], "C": staff_c}
    heads = {"A": head_a, "B": bureau.actors[Role.unit_head], "C": head_c}
    specs = [("T1", [office, school], []), ("T2", [office], [school]), ("T3", [school], []), ("T4", [third.id], []),
             ("T5", [office], [])]
    async with unit_of_work(bureau.tenant.id) as session:
        made = await tasks.create_tasks(session, supervisor, YEAR, [tasks.NewTask(
            title=f"{name} 年度任务", description="", deadline=date(YEAR, 12, 31), lead_unit_ids=lead,
            co_unit_ids=co) for name, lead, co in specs])
        plan_task = (await session.exec(select(Task).where(Task.year == 2024, Task.state != "unassigned"))).one()
    world = World(bureau, units, {"A": "办公室", "B": "实验小学", "C": "第二中学"},
                  {name: task for (name, _l, _c), task in zip(specs, made, strict=True)}, staff, heads, {},
                  usernames)
    for task in (world.tasks["T5"], plan_task):
        await call(bureau.tenant.id, lifecycle.cancel, supervisor, task.id, reason="不再实施", version=task.version)
    clock(local(YEAR, 1, 20))
    await file(world, "A", "T1", f"{YEAR}-01")
    await file(world, "B", "T3", f"{YEAR}-01")
    await file(world, "B", "T1", f"{YEAR}-01")
    clock(local(YEAR, 2, 3))
    await file(world, "A", "T2", f"{YEAR}-01")
    await file(world, "C", "T4", f"{YEAR}-01")
    clock(local(YEAR, 2, 20))
    await file(world, "A", "T1", f"{YEAR}-02")
    await file(world, "B", "T3", f"{YEAR}-02")
    clock(local(YEAR, 3, 20))
    await file(world, "B", "T3", f"{YEAR}-03")
    clock(local(YEAR, 4, 1))
    world.reviews[1] = (await call(bureau.tenant.id, reviews.open_review, supervisor, year=YEAR, quarter=1)).id
    await rate(world, 1, "A", {"T1": "excellent", "T2": "good"})
    await rate(world, 1, "B", {"T1": "fair", "T3": "excellent"})
    await call(bureau.tenant.id, reviews.publish_review, supervisor, world.reviews[1], version=None,
               summary="一季度总体推进有力。")
    await call(bureau.tenant.id, rubrics.update_rubric, admin, rubric_form(rating_scale="score"))
    clock(local(YEAR, 7, 1))
    world.reviews[2] = (await call(bureau.tenant.id, reviews.open_review, supervisor, year=YEAR, quarter=2)).id
    await rate(world, 2, "A", {"T1": "90", "T2": "80"})
    await rate(world, 2, "B", {"T3": "70"})
    await call(bureau.tenant.id, reviews.publish_review, supervisor, world.reviews[2], version=None)
    clock(local(YEAR, 10, 2))
    world.reviews[3] = (await call(bureau.tenant.id, reviews.open_review, supervisor, year=YEAR, quarter=3)).id
    await rate(world, 3, "C", {"T4": "100"})
    clock(local(YEAR, 12, 28))
    await complete(world, "A", "T2")
    await complete(world, "B", "T3")
    return world
