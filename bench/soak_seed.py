"""The soak test's bureau (bench/soak.py), built through the services: its units, people, the demo plan, ad-hoc
tasks and some reports; and the simulated people read back from the database."""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.seed_tasks import TOPICS, VERBS, measures_and_targets

PASSWORD = "Correct-Horse-42"  # noqa: S105 — a soak database's throwaway password
CODE = "soak"
YEAR = 2026
TIMEZONE = "Asia/Shanghai"
MAIL_DOMAIN = "soak.edu.test"

# The demo plan names the first seven units, so its items are assigned when it is published.
UNITS = [
    ("局办公室", "office"), ("督导室", "office"), ("基础教育科", "office"), ("安全稳定科", "office"),
    ("第一实验小学", "school"), ("城关中学", "school"), ("实验幼儿园", "kindergarten"),
    ("组织人事科", "office"), ("计划财务科", "office"), ("体卫艺科", "office"), ("教研室", "office"),
]
SCHOOL_KINDS = [("实验小学", "school"), ("中学", "school"), ("幼儿园", "kindergarten")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文"
TASKS_PER_WRITER = 3
PROGRESS = [
    "本月召开专题推进会1次，明确了各校责任分工和时间节点。", "完成了第一轮专项检查，形成问题清单12条，已整改9条。",
    "组织全体相关人员业务培训，参训86人次。", "已完成方案初稿，征求各科室意见后修改完善。",
    "按计划推进，完成阶段目标的七成左右。", "与相关单位对接两次，协调解决场地和经费问题。",
]
PROBLEMS = ["部分学校进度偏慢。", "经费尚未全部到位。", "", "个别环节衔接不够顺畅。", ""]
NEXT_STEPS = ["下月完成全部整改并组织复查。", "继续督促进度偏慢的学校。", "形成总结报告报局办公室。", ""]
RETURN_COMMENTS = ["请补充具体数据和现场照片。", "进展情况写得太笼统，请分条说明。", "请说明存在问题的整改时限。"]

# --- the bureau, through the services ----------------------------------------------------------------------


@dataclass
class Persona:
    index: int
    username: str
    role: str  # unit_staff, unit_head, supervisor, leader
    unit: str = ""
    tasks: list[str] = field(default_factory=list)  # the tasks this person writes the reports of
    share: int = 0  # a supervisor's share of the review queue
    shares: int = 1


def people_plan(users: int, units: int) -> tuple[list[tuple[str, str]], int, int]:
    unit_list = list(UNITS)
    counters = Counter()
    while len(unit_list) < units:
        suffix, kind = SCHOOL_KINDS[len(unit_list) % 3]
        counters[suffix] += 1
        unit_list.append((f"第{counters[suffix] + 1}{suffix}" if suffix == "实验小学" else
                          f"第{counters[suffix]}{suffix}", kind))
    supervisors = max(1, round(users * 0.06))
    leaders = max(1, round(users * 0.04))
    return unit_list[:units], supervisors, leaders


def chinese_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def periods_now() -> tuple[str, str]:
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    previous = today.replace(day=1) - timedelta(days=1)
    return f"{today.year}-{today.month:02d}", f"{previous.year}-{previous.month:02d}"


async def _file_chunks(data: bytes):
    yield data


async def seed(args) -> dict:
    """The bureau, its people, the demo plan, ad-hoc tasks and some reports: everything through the services."""
    from sqlmodel import select

    from backend.accounts.models import User
    from backend.accounts.service import create_user
    from backend.core.roles import Role
    from backend.db import dispose_engine, unit_of_work
    from backend.demo import DEMO_PLAN
    from backend.plans import service as plans
    from backend.reminders import service as reminders
    from backend.reports import service as reports
    from backend.tasks import service as tasks
    from backend.tenancy import service as tenancy
    from backend.tenancy.acting import actor_for
    from backend.tenancy.models import UnitKind

    rng = random.Random(args.seed)
    units_plan, n_supervisors, n_leaders = people_plan(args.users, args.units)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    people: list[tuple[str, str, str, str]] = []  # username, role, unit name, display name
    for i in range(n_supervisors):
        people.append((f"soak-supervisor{i + 1}", "supervisor", "", chinese_name(rng)))
    for i in range(n_leaders):
        people.append((f"soak-leader{i + 1}", "leader", "", chinese_name(rng)))
    for u, (name, _kind) in enumerate(units_plan):
        people.append((f"soak-u{u:02d}-head", "unit_head", name, chinese_name(rng)))
        for s in (1, 2):
            people.append((f"soak-u{u:02d}-staff{s}", "unit_staff", name, chinese_name(rng)))

    try:
        async with unit_of_work() as session:
            tenant = await tenancy.create_tenant(session, None, name="浸泡测试县教育局", code=CODE)
            admin_user = await create_user(session, username="soak-admin", display_name="王管理", password=PASSWORD,
                                           email=f"soak-admin@{MAIL_DOMAIN}")
            await tenancy.add_member(session, None, tenant_id=tenant.id, user=admin_user, role=Role.admin)
            admin = await actor_for(session, admin_user, tenant.id)
            unit_ids: dict[str, object] = {}
            for name, kind in units_plan:
                parent = unit_ids.get("基础教育科") if kind != "office" else None
                unit_ids[name] = (await tenancy.create_unit(session, admin, name=name, kind=UnitKind(kind),
                                                            parent_id=parent)).id
            # No quiet hours: notification e-mails go out at any hour the soak runs.
            await reminders.update_policy(session, admin, reminders.PolicyForm(
                enabled=True, deadline_workdays="7,3,1", report_day_workdays="3,0", escalate_unit_head_after="1",
                escalate_leaders_after="5", quiet_start="00:00", quiet_end="00:00", nudge_interval_hours="24",
                daily_digest_at="07:30", weekly_digest_weekday="1"))
        tenant_id, admin_id = tenant.id, admin_user.id
        timings["bureau_and_units"] = time.perf_counter() - t0

        async def actor_of(session, user_id):
            user = (await session.exec(select(User).where(User.id == user_id))).one()
            return await actor_for(session, user, tenant_id)

        t0 = time.perf_counter()
        user_ids: dict[str, object] = {}
        for start in range(0, len(people), 20):
            async with unit_of_work(tenant_id) as session:
                admin = await actor_of(session, admin_id)
                for username, role, unit, display in people[start:start + 20]:
                    user = await create_user(session, username=username, display_name=display, password=PASSWORD,
                                             email=f"{username}@{MAIL_DOMAIN}")
                    await tenancy.add_member(session, admin, tenant_id=tenant_id, user=user, role=Role(role),
                                             unit_id=unit_ids[unit] if unit else None)
                    user_ids[username] = user.id
        timings["people"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        async with unit_of_work(tenant_id) as session:
            admin = await actor_of(session, admin_id)
            draft = await plans.start_import(session, admin, filename="浸泡测试县教育局2026年教育工作要点.txt",
                                             chunks=_file_chunks(DEMO_PLAN.read_bytes()))
            await plans.publish(session, admin, draft.id, version=draft.version, confirm_dates=True)
        timings["plan"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        names = [name for name, _kind in units_plan]
        writers_per_unit = 3
        for name in names:
            new = []
            for k in range(writers_per_unit * TASKS_PER_WRITER):
                topic = rng.choice(TOPICS)
                co = [unit_ids[n] for n in rng.sample([n for n in names if n != name], rng.choice([0, 0, 1, 1, 2]))]
                measures, targets = measures_and_targets(rng)
                month = rng.choice([12, 12, 13, 15, 18])
                new.append(tasks.NewTask(
                    title=f"{rng.choice(VERBS)}{topic}工作（{name}第{k + 1}项）",
                    description=f"围绕{topic}，" + "；".join(m["label"] + m["text"] for m in measures) + "。",
                    deadline=month_end(YEAR + (month - 1) // 12, (month - 1) % 12 + 1), measures=measures,
                    targets=targets, lead_unit_ids=[unit_ids[name]], co_unit_ids=co))
            async with unit_of_work(tenant_id) as session:
                supervisor = await actor_of(session, user_ids["soak-supervisor1"])
                await tasks.create_tasks(session, supervisor, YEAR, new)
        timings["tasks"] = time.perf_counter() - t0

        # Who writes what: each unit's lead tasks (plan tasks too) shared out among its staff and its head.
        personas = personas_from_database(args.database_url)
        t0 = time.perf_counter()
        current, previous = periods_now()
        counts = Counter()
        for p in personas:
            if not p.tasks:
                continue
            async with unit_of_work(tenant_id) as session:
                writer = await actor_of(session, user_ids[p.username])
                supervisor = await actor_of(session, user_ids["soak-supervisor1"])
                for task_id in p.tasks:
                    roll = rng.random()
                    if roll < 0.5:  # last month's report, filed and accepted
                        report = await reports.save_report(session, writer, task_id, period=previous,
                                                           progress=rng.choice(PROGRESS), percent=rng.randint(10, 40),
                                                           version=0)
                        report = await reports.submit_report(session, writer, report.id, version=report.version)
                        await reports.review(session, supervisor, report.id, accept=True, comment="",
                                             version=report.version)
                        counts["accepted_last_month"] += 1
                    roll = rng.random()
                    if roll < 0.3:  # this month's: submitted (the review queue) or a draft
                        report = await reports.save_report(session, writer, task_id, period=current,
                                                           progress=rng.choice(PROGRESS), percent=rng.randint(30, 60),
                                                           version=0)
                        if roll < 0.15:
                            await reports.submit_report(session, writer, report.id, version=report.version)
                            counts["submitted_this_month"] += 1
                        else:
                            counts["drafts_this_month"] += 1
        timings["reports"] = time.perf_counter() - t0
    finally:
        await dispose_engine()
    return {"timings_s": {k: round(v, 1) for k, v in timings.items()}, "reports": dict(counts),
            "units": len(units_plan), "supervisors": n_supervisors, "leaders": n_leaders}


def personas_from_database(database_url: str) -> list[Persona]:
    """Read as the owner: the bureau's people and, for each unit, its lead tasks shared out among its writers."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        tenant_id = conn.execute("SELECT id FROM tenants WHERE code = %s", (CODE,)).fetchone()[0]
        members = conn.execute(
            """SELECT u.username, m.role, coalesce(un.name, '') FROM memberships m JOIN users u ON u.id = m.user_id
               LEFT JOIN units un ON un.id = m.unit_id
               WHERE m.tenant_id = %s AND m.role <> 'admin' ORDER BY u.username""", (tenant_id,)).fetchall()
        lead = conn.execute(
            """SELECT un.name, t.id::text FROM task_assignments a JOIN tasks t ON t.id = a.task_id
               JOIN units un ON un.id = a.unit_id
               WHERE a.tenant_id = %s AND a.kind IN ('lead', 'responsible') ORDER BY t.seq""",
            (tenant_id,)).fetchall()
    personas = [Persona(i, username, role, unit) for i, (username, role, unit) in enumerate(members)]
    writers: dict[str, list[Persona]] = defaultdict(list)
    for p in personas:
        if p.role in ("unit_staff", "unit_head"):
            writers[p.unit].append(p)
    for unit in writers:  # staff first, then the head
        writers[unit].sort(key=lambda p: (p.role != "unit_staff", p.username))
    dealt: Counter = Counter()
    for unit, task_id in lead:
        if writers.get(unit):
            writers[unit][dealt[unit] % len(writers[unit])].tasks.append(task_id)
            dealt[unit] += 1
    supervisors = [p for p in personas if p.role == "supervisor"]
    for share, p in enumerate(supervisors):
        p.share, p.shares = share, len(supervisors)
    return personas
