"""Seeds the `luoshi_bench` database for the task-board benchmark (bench/board.py).

    .venv/bin/python bench/seed_tasks.py                      # 100 bureaus; bench000: 300 units, 1,000 tasks
    .venv/bin/python bench/seed_tasks.py --bureaus 10 --units 50 --tasks 100     # a quick small run

The database is dropped and rebuilt by `luoshi migrate` (only a database whose name starts with
`luoshi_bench` is ever dropped). Everything is then created through the services, as the tests'
fixtures do: tenancy.create_tenant / create_unit / add_member, accounts.create_user, tasks.create_tasks
(with lead, responsible and cooperating units, so every assignment also notifies its unit), and
lights.refresh_lights (so the board shows green, yellow and red lights with their reasons).

The first bureau (code bench000) is the large one: --units units and --tasks tasks. The other
--bureaus - 1 are smaller (--small-units, --small-tasks; 20 and 50 by default) to keep seeding quick;
they are there so that bench000's rows sit among other bureaus' rows, behind row-level security.

Every unit gets a unit head and a unit staff member. Each bureau also has an admin, a supervisor and a
leader. Logins: `<code>-admin`, `<code>-supervisor`, `<code>-leader`, `<code>-u<NNN>-head`,
`<code>-u<NNN>-staff`; all with the password in PASSWORD below.

Lead units are skewed towards the bureau's offices (科室), the first few of them most (a Zipf-like
weighting), so some units carry hundreds of tasks (the staff member that bench/board.py signs in as)
while most schools have a few. The generator uses a fixed seed (--seed): the same parameters give
the same names, units, deadlines and assignments (ids and timestamps differ).

Passwords are hashed with argon2id at a cheap cost for speed (LUOSHI_ARGON2_TIME_COST=1,
LUOSHI_ARGON2_MEMORY_KIB=8192, as the tests do); set them yourself to override. The benchmark itself
is unaffected: it signs in once per role before measuring.

Work is committed in batches (--batch units, members or tasks per transaction). Timings are printed
per phase and written to bench/results/seed.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RESULTS, ROOT  # noqa: E402
from bench.harness.database import bench_environment, recreate_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/luoshi_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
PASSWORD = "Correct-Horse-42"  # noqa: S105 — a benchmark database's throwaway password
YEAR = 2026

OFFICES = [
    "办公室", "组织人事科", "基础教育科", "职业与成人教育科", "督导室", "计划财务科", "安全稳定科", "体卫艺科",
    "教师发展中心", "教研室", "装备中心", "招生考试中心", "学生资助管理中心", "信息中心", "政策法规科", "宣传科",
    "德育科", "学前教育科", "民办教育科", "审计科", "机关党委", "纪检监察组", "工会", "团委", "后勤服务中心",
]
TOPICS = [
    "党史学习教育", "“双减”政策落实", "课后服务提质", "义务教育优质均衡", "学前教育普及普惠", "县域高中振兴",
    "职业教育产教融合", "教师队伍建设", "师德师风建设", "校园安全隐患排查", "食品安全专项整治", "学生体质健康",
    "近视防控", "心理健康教育", "劳动教育", "美育浸润行动", "智慧校园建设", "教育信息化2.0", "集团化办学",
    "新改扩建中小学", "校舍维修改造", "学生资助", "控辍保学", "特殊教育融合", "家校社协同育人", "语言文字工作",
    "教育督导评估", "民办学校规范管理", "校外培训机构治理", "中考改革", "教育经费绩效", "法治宣传教育",
]
VERBS = ["推进", "深化", "完成", "落实", "开展", "加强", "组织", "健全"]
MEASURES = [
    "制定工作方案，明确责任分工和时间节点", "召开专题推进会不少于2次", "建立月报制度，按时报送进展",
    "开展专项检查并形成问题清单", "组织业务培训，覆盖全体相关人员", "年底前形成总结报告报局办公室",
]
TARGET_UNITS = [("所", "新改扩建学校"), ("次", "专题培训"), ("人", "培训教师"), ("%", "覆盖率"), ("个", "示范校")]


# --- the plan of the data: decided up front from the seed, so it does not depend on the database -----


@dataclass
class UnitSpec:
    index: int
    name: str
    kind: str
    parent: int | None  # index of the parent unit


@dataclass
class TaskSpec:
    title: str
    description: str
    deadline: date
    lead: list[int]
    co: list[int]
    measures: list[dict]
    targets: list[dict]


@dataclass
class BureauSpec:
    index: int
    code: str
    name: str
    units: list[UnitSpec] = field(default_factory=list)
    tasks: list[TaskSpec] = field(default_factory=list)


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date.fromordinal(date(year, month + 1, 1).toordinal() - 1)


# Deadlines: month ends from 2026-06 to 2027-06, most at 6月底 and 年底 as plans usually say.
DEADLINES = [_month_end(2026 + (m - 1) // 12, (m - 1) % 12 + 1) for m in range(6, 19)]
DEADLINE_WEIGHTS = [4 if d.month in (6, 12) else 1 for d in DEADLINES]


def plan_units(rng: random.Random, n: int) -> list[UnitSpec]:
    offices = min(len(OFFICES), max(5, n // 12))
    sub_bureaus = n // 60
    units = [UnitSpec(i, OFFICES[i], "office", None) for i in range(min(offices, n))]
    for i in range(sub_bureaus):
        if len(units) < n:
            units.append(UnitSpec(len(units), f"第{i + 1}学区教育管理办公室", "sub_bureau", None))
    basic = 2  # 基础教育科 looks after the schools when there are no 学区
    parents = [u.index for u in units if u.kind == "sub_bureau"] or [basic]
    counters = {"中学": 0, "实验小学": 0, "幼儿园": 0}
    while len(units) < n:
        suffix = rng.choices(list(counters), weights=[3, 5, 2])[0]
        counters[suffix] += 1
        kind = "kindergarten" if suffix == "幼儿园" else "school"
        units.append(UnitSpec(len(units), f"第{counters[suffix]}{suffix}", kind, rng.choice(parents)))
    return units


def measures_and_targets(rng: random.Random) -> tuple[list[dict], list[dict]]:
    """A task's 1–3 measures (一是 … 三是) and, for half the tasks, a numeric target."""
    measures = [{"label": label, "text": text} for label, text in
                zip(["一是", "二是", "三是"], rng.sample(MEASURES, rng.randint(1, 3)), strict=False)]
    targets = []
    if rng.random() < 0.5:
        unit, what = rng.choice(TARGET_UNITS)
        value = rng.choice([5, 10, 12, 20, 26, 95, 100])
        targets.append({"value": value, "unit": unit, "comparator": "不少于", "text": f"{what}不少于{value}{unit}"})
    return measures, targets


def plan_tasks(rng: random.Random, units: list[UnitSpec], n: int) -> list[TaskSpec]:
    offices = [u.index for u in units if u.kind == "office"]
    others = [u.index for u in units if u.kind != "office"] or offices
    office_weights = [1 / (rank + 1) for rank in range(len(offices))]
    tasks = []
    for i in range(n):
        topic = rng.choice(TOPICS)
        title = f"{rng.choice(VERBS)}{topic}工作（第{i + 1}项）"
        lead = [rng.choices(offices, weights=office_weights)[0] if rng.random() < 0.7 else rng.choice(others)]
        if rng.random() < 0.15:  # a second, responsible unit
            extra = rng.choice(offices)
            if extra not in lead:
                lead.append(extra)
        co: list[int] = []
        for _ in range(rng.choices([0, 1, 2, 3], weights=[3, 4, 2, 1])[0]):
            unit = rng.choice(others) if rng.random() < 0.6 else rng.choice(offices)
            if unit not in lead and unit not in co:
                co.append(unit)
        measures, targets = measures_and_targets(rng)
        description = f"围绕{topic}，" + "；".join(m["label"] + m["text"] for m in measures) + "。"
        deadline = rng.choices(DEADLINES, weights=DEADLINE_WEIGHTS)[0]
        tasks.append(TaskSpec(title, description, deadline, lead, co, measures, targets))
    return tasks


def plan_bureaus(args) -> list[BureauSpec]:
    rng = random.Random(args.seed)
    bureaus = []
    for b in range(args.bureaus):
        large = b == 0
        spec = BureauSpec(b, f"bench{b:03d}", f"基准{b:03d}区教育局")
        spec.units = plan_units(rng, args.units if large else args.small_units)
        spec.tasks = plan_tasks(rng, spec.units, args.tasks if large else args.small_tasks)
        bureaus.append(spec)
    return bureaus


# --- writing it through the services ---------------------------------------------------------------------


class Timer:
    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    def add(self, phase: str, seconds: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


async def seed_bureau(spec: BureauSpec, batch: int, timer: Timer) -> dict:
    from sqlmodel import select

    import backend.wiring  # noqa: F401 — tasks announce their changes (core/events.py)
    from backend.accounts.models import User
    from backend.accounts.service import create_user
    from backend.core.roles import Role
    from backend.db import unit_of_work
    from backend.reports import lights
    from backend.tasks import service as tasks
    from backend.tenancy import service as tenancy
    from backend.tenancy.acting import actor_for
    from backend.tenancy.models import UnitKind

    code = spec.code
    t0 = time.perf_counter()
    async with unit_of_work() as session:
        tenant = await tenancy.create_tenant(session, None, name=spec.name, code=code)
        admin_user = await create_user(session, username=f"{code}-admin", display_name=f"{code}管理员",
                                       password=PASSWORD)
        await tenancy.add_member(session, None, tenant_id=tenant.id, user=admin_user, role=Role.admin)
        admin = await actor_for(session, admin_user, tenant.id)
        for role, label in ((Role.supervisor, "督查员"), (Role.leader, "局领导")):
            user = await create_user(session, username=f"{code}-{role.value}", display_name=f"{code}{label}",
                                     password=PASSWORD)
            await tenancy.add_member(session, admin, tenant_id=tenant.id, user=user, role=role)
    tenant_id, admin_user_id = tenant.id, admin_user.id
    timer.add("bureaus", time.perf_counter() - t0)

    async def admin_actor(session):
        user = (await session.exec(select(User).where(User.id == admin_user_id))).one()
        return await actor_for(session, user, tenant_id)

    unit_ids: dict[int, object] = {}
    t0 = time.perf_counter()
    for chunk in _chunks(spec.units, batch):
        async with unit_of_work(tenant_id) as session:
            admin = await admin_actor(session)
            for unit in chunk:
                created = await tenancy.create_unit(session, admin, name=unit.name, kind=UnitKind(unit.kind),
                                                    parent_id=unit_ids[unit.parent] if unit.parent is not None
                                                    else None)
                unit_ids[unit.index] = created.id
    timer.add("units", time.perf_counter() - t0)

    t0 = time.perf_counter()
    for chunk in _chunks(spec.units, batch):
        async with unit_of_work(tenant_id) as session:
            admin = await admin_actor(session)
            for unit in chunk:
                for role, label in ((Role.unit_head, "负责人"), (Role.unit_staff, "经办人")):
                    short = "head" if role == Role.unit_head else "staff"
                    user = await create_user(session, username=f"{code}-u{unit.index:03d}-{short}",
                                             display_name=f"{unit.name}{label}"[:50], password=PASSWORD)
                    await tenancy.add_member(session, admin, tenant_id=tenant_id, user=user, role=role,
                                             unit_id=unit_ids[unit.index])
    timer.add("members", time.perf_counter() - t0)

    t0 = time.perf_counter()
    supervisor_user = None
    for chunk in _chunks(spec.tasks, batch):
        async with unit_of_work(tenant_id) as session:
            if supervisor_user is None:
                supervisor_user = (await session.exec(
                    select(User).where(User.username == f"{code}-supervisor"))).one()
            supervisor = await actor_for(session, supervisor_user, tenant_id)
            await tasks.create_tasks(session, supervisor, YEAR, [tasks.NewTask(
                title=t.title, description=t.description, deadline=t.deadline, measures=t.measures,
                targets=t.targets, lead_unit_ids=[unit_ids[i] for i in t.lead],
                co_unit_ids=[unit_ids[i] for i in t.co],
            ) for t in chunk])
    timer.add("tasks", time.perf_counter() - t0)

    t0 = time.perf_counter()
    async with unit_of_work(tenant_id) as session:
        changed = await lights.refresh_lights(session, tenant_id, today=date.today(), trigger="基准数据")
    timer.add("lights", time.perf_counter() - t0)

    per_unit: dict[int, int] = {}
    for t in spec.tasks:
        for i in t.lead + t.co:
            per_unit[i] = per_unit.get(i, 0) + 1
    busiest = max(per_unit, key=lambda i: (per_unit[i], -i)) if per_unit else 0
    return {"code": code, "units": len(spec.units), "tasks": len(spec.tasks), "lights_changed": changed,
            "busiest_unit": spec.units[busiest].name, "busiest_unit_tasks": per_unit.get(busiest, 0),
            "busiest_unit_staff": f"{code}-u{busiest:03d}-staff"}


async def seed(args, bureaus: list[BureauSpec], timer: Timer) -> list[dict]:
    from backend.db import dispose_engine

    summaries = []
    try:
        started = time.perf_counter()
        for spec in bureaus:
            t0 = time.perf_counter()
            summaries.append(await seed_bureau(spec, args.batch, timer))
            if spec.index == 0 or (spec.index + 1) % 10 == 0 or spec.index == len(bureaus) - 1:
                print(f"  {spec.code}: {len(spec.units):4d} units, {len(spec.tasks):5d} tasks in "
                      f"{time.perf_counter() - t0:6.1f} s   (total {time.perf_counter() - started:6.1f} s)",
                      flush=True)
    finally:
        await dispose_engine()
    return summaries


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bureaus", type=int, default=100, help="number of bureaus (the first one is the large one)")
    ap.add_argument("--units", type=int, default=300, help="units of the large bureau")
    ap.add_argument("--tasks", type=int, default=1000, help="tasks of the large bureau")
    ap.add_argument("--small-units", type=int, default=20, help="units of each other bureau")
    ap.add_argument("--small-tasks", type=int, default=50, help="tasks of each other bureau")
    ap.add_argument("--batch", type=int, default=100, help="units, members or tasks per transaction")
    ap.add_argument("--seed", type=int, default=20261123, help="random seed of the generated data")
    ap.add_argument("--database-url", default=os.environ.get("LUOSHI_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    ap.add_argument("--redis-url", default=os.environ.get("LUOSHI_BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = ap.parse_args()
    if args.bureaus < 1 or args.units < 1 or args.small_units < 1:
        ap.error("--bureaus, --units and --small-units must be at least 1")

    bench_environment(args.database_url, args.redis_url)
    bureaus = plan_bureaus(args)
    total_units = sum(len(b.units) for b in bureaus)
    total_tasks = sum(len(b.tasks) for b in bureaus)
    print(f"seeding {args.database_url.rpartition('/')[2]}: {len(bureaus)} bureaus, {total_units} units, "
          f"{2 * total_units + 3 * len(bureaus)} people, {total_tasks} tasks (seed {args.seed}, "
          f"argon2 t={os.environ['LUOSHI_ARGON2_TIME_COST']} m={os.environ['LUOSHI_ARGON2_MEMORY_KIB']} KiB)",
          flush=True)

    timer = Timer()
    t0 = time.perf_counter()
    recreate_database(args.database_url)
    from backend.core.migrate import migrate

    migrate()
    timer.add("migrate", time.perf_counter() - t0)
    print(f"  database rebuilt and migrated in {timer.phases['migrate']:.1f} s", flush=True)

    t0 = time.perf_counter()
    summaries = asyncio.run(seed(args, bureaus, timer))
    seeding = time.perf_counter() - t0

    import psycopg

    with psycopg.connect(args.database_url) as conn:
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 — fixed names
                  for table in ("tenants", "units", "users", "memberships", "tasks", "task_assignments",
                                "notifications", "audit_events")}
        conn.execute("ANALYZE")

    large = summaries[0]
    print(f"\nseeded in {seeding:.1f} s (+ {timer.phases['migrate']:.1f} s migrate)")
    print("  by phase: " + ", ".join(f"{k} {v:.1f} s" for k, v in timer.phases.items()))
    print("  rows:     " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"  large bureau {large['code']}: {large['units']} units, {large['tasks']} tasks; busiest unit "
          f"{large['busiest_unit']} with {large['busiest_unit_tasks']} tasks (login {large['busiest_unit_staff']})")
    print(f"  logins: {large['code']}-supervisor, {large['busiest_unit_staff']}; password {PASSWORD}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "parameters": {k: v for k, v in vars(args).items() if k not in ("database_url", "redis_url")},
        "database": args.database_url.rpartition("/")[2],
        "argon2": {"time_cost": os.environ["LUOSHI_ARGON2_TIME_COST"],
                   "memory_kib": os.environ["LUOSHI_ARGON2_MEMORY_KIB"]},
        "seconds": {"total": round(seeding + timer.phases["migrate"], 1),
                    **{k: round(v, 1) for k, v in timer.phases.items()}},
        "rows": counts, "large_bureau": large,
    }
    (RESULTS / "seed.json").write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    print(f"  written: {(RESULTS / 'seed.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
