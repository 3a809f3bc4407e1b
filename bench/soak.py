"""Soak test: 100 simulated people use Luoshi for ten minutes; zero errors and flat memory are the bar.

    .venv/bin/python bench/soak.py                                   # 100 users, 10 minutes, 2 web workers
    .venv/bin/python bench/soak.py --users 20 --minutes 1            # a one-minute trial

One command does everything:

1. Builds its own database, luoshi_soak (dropped and rebuilt by `luoshi migrate`; only a database whose name
   starts with `luoshi_soak` is ever dropped), and seeds it through the services, as tests/support/fixtures.py
   and backend/demo.py do: one bureau (code `soak`) with --users × 0.3 units (30 for 100 users: 8 offices and 22
   schools and kindergartens, the demo plan's unit names among them), a unit head and two unit staff in every
   unit, supervisors (6 %) and leaders (4 %), all with e-mail addresses; the demo work plan
   (backend/demo_plan.txt) imported and published (plans.start_import + publish); three ad-hoc tasks
   (tasks.create_tasks) for every unit head and staff member, led by their unit with 0–2 cooperating units;
   last month's report filed and accepted on about half of them, and this month's report submitted (so the
   review queue is not empty) or drafted on some more (reports.save_report / submit_report / review). The
   reminder rules keep no quiet hours, so the notification e-mails go out whatever the time of day.
   Passwords use the real argon2id cost (LUOSHI_ARGON2_TIME_COST=3, LUOSHI_ARGON2_MEMORY_KIB=65536, about
   0.4 s a hash here): 100 logins cost about 40 CPU-seconds in ten minutes, which does not dominate.

2. Starts Luoshi for real, as subprocesses: `luoshi serve --workers N` and `luoshi worker`, with
   DATABASE_URL, REDIS_URL (database 15 by default, flushed at the start), LUOSHI_DATA_DIR (a temporary
   directory) and LUOSHI_SMTP_PORT pointed at an aiosmtpd sink this process runs (in a thread), which counts
   every e-mail the worker's outbox sender hands it. Logs: bench/results/soak-web.log and soak-worker.log.

3. Runs --users simulated people, each with their own httpx client and cookies, starting spread over --ramp
   seconds. Each signs in once through the login form (GET /login for the CSRF token, POST /login) and then
   loops with a think time of --think-min to --think-max seconds (seeded) before every request; a redirect is
   followed at once, as a browser does. CSRF tokens come from the page the form is on.
   - unit staff and unit heads: home (sometimes), the bell (`/notifications/bell`, HX-Request), 我的任务
     (`/tasks`), one of their own tasks (`/tasks/{id}`, with up to two evidence thumbnails), its report form;
     if the form is editable: save a draft (POST /tasks/{id}/report, version from the form), then sometimes
     upload a ~200 KB JPEG as the report's evidence (POST /tasks/{id}/evidence) and sometimes submit the
     report. When this month's report has been accepted they go on to an earlier month's. Every task is
     written by one person only (the unit's tasks are shared out among its head and staff), so two people
     never edit the same report and no 409 is expected from that.
   - supervisors: home (sometimes), the board (`/tasks`, a second page, a filter by unit, plan, state, light
     or number, half of them as the htmx fragment), a task, the review queue (`/reviews`): accept (85 %) or
     return with a comment up to five reports one by one, or (about one visit in three) batch-accept up to ten.
     Each supervisor decides only the reports whose id falls in their share (id modulo supervisors), as a
     team splits its queue, so two supervisors never decide the same report.
   - leaders: home, the board (sometimes filtered), a task, its 台账 workbook (`/tasks/{id}/ledger.xlsx`), its
     reports (`/tasks/{id}/reports`), the bell.
   Every response is counted with its status and latency (client-side, to the last byte). Outcomes: ok (the
   expected status), refusal (409 / 422: a business rule said no; counted and listed apart), error (5xx, a
   timeout, a connection error, or any other unexpected status, e.g. a redirect to /login).

4. Every --sample seconds (10): requests/s, p50 / p95 / p99, errors and refusals in the window; RSS of the
   web workers (the uvicorn children, summed), of the uvicorn supervisor, and of the arq worker; their CPU;
   PostgreSQL connections to the database (pg_stat_activity); the review queue and the outbox; the machine's
   CPU use and load average. At the end: a per-minute table, a per-path table, totals, the memory verdict
   (mean RSS in minute 1 and in the last minute, the least-squares slope after minute 1 in MB/min, a flag on
   growth over 10 %), ERROR lines in the server's and worker's logs, and bench/results/soak.json (--out).

5. Stops every subprocess it started (SIGINT, then SIGKILL to its own process group after a grace period) and
   the sink, in finally blocks; removes the temporary data directory. The luoshi_soak database is kept for
   inspection (the next run drops it); Redis database 15 is flushed again at the end.

Exit status 0 when there was no error and memory did not grow by more than 10 %, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

from bench.board import free_port, machine, pad, percentile  # noqa: E402
from bench.board import wait_ready as board_wait_ready  # noqa: E402
from bench.seed_tasks import MEASURES, TARGET_UNITS, TOPICS, VERBS  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/luoshi_soak"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
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

CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TASK_LINK_RE = re.compile(rf'href="/tasks/({UUID})"')
UNIT_SELECT_RE = re.compile(r'<select id="f-unit" name="unit">(.*?)</select>', re.S)
PLAN_SELECT_RE = re.compile(r'<select id="f-plan" name="plan">(.*?)</select>', re.S)
OPTION_RE = re.compile(rf'value="({UUID})"')
THUMB_RE = re.compile(rf'src="(/evidence/{UUID}/thumbnail)"')
REPORT_FORM_RE = re.compile(rf'<form method="post" action="/tasks/{UUID}/report" class="card report-form"(.*?)</form>',
                            re.S)
VERSION_RE = re.compile(r'name="version" value="(\d+)"')
PERIOD_RE = re.compile(r'name="period" value="([^"]*)"')
ACTUAL_RE = re.compile(rf'name="(actual-{UUID})"')
REPORT_ID_RE = re.compile(rf'name="report_id" value="({UUID})"')
PERIOD_SECTION_RE = re.compile(r'<section class="card" aria-labelledby="period-h">(.*?)</section>', re.S)
REVIEW_FORM_RE = re.compile(
    rf'<form method="post" action="/reports/({UUID})/(review|completion|unit-head)">\s*'
    r'<input type="hidden" name="csrf_token" value="[0-9a-f]+">\s*<input type="hidden" name="version" value="(\d+)">')
ALERT_RE = re.compile(r'(?:class="alert error"|class="field-error")[^>]*>(.*?)<', re.S)


def environment(args, data_dir: Path, smtp_port: int) -> None:
    """Settings come from the environment: set before anything imports backend.config."""
    os.environ.update({
        "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "LUOSHI_DATA_DIR": str(data_dir),
        "LUOSHI_SMTP_HOST": "127.0.0.1", "LUOSHI_SMTP_PORT": str(smtp_port), "LUOSHI_SMTP_FROM": f"duban@{MAIL_DOMAIN}",
        "LUOSHI_ENVIRONMENT": "bench", "LUOSHI_SECRET_KEY": "soak-secret-not-for-production",
        "LUOSHI_LOG_LEVEL": "WARNING",  # this process's own logging (seeding); the servers get --log-level
    })
    if args.cheap_argon2:
        os.environ.update({"LUOSHI_ARGON2_TIME_COST": "1", "LUOSHI_ARGON2_MEMORY_KIB": "8192"})
    else:  # the production cost, whatever the calling shell says
        os.environ.pop("LUOSHI_ARGON2_TIME_COST", None)
        os.environ.pop("LUOSHI_ARGON2_MEMORY_KIB", None)


def recreate_database(database_url: str) -> None:
    import psycopg

    base, _, name = database_url.rpartition("/")
    if not name.startswith("luoshi_soak"):
        raise SystemExit(f"refusing to drop {name!r}: the soak test only drops databases named luoshi_soak*")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


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

    import backend.wiring  # noqa: F401 — tasks announce their changes (core/events.py)
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
            await plans.publish(session, admin, draft.id, version=draft.version)
        timings["plan"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        names = [name for name, _kind in units_plan]
        writers_per_unit = 3
        for name in names:
            new = []
            for k in range(writers_per_unit * TASKS_PER_WRITER):
                topic = rng.choice(TOPICS)
                co = [unit_ids[n] for n in rng.sample([n for n in names if n != name], rng.choice([0, 0, 1, 1, 2]))]
                measures = [{"label": label, "text": text} for label, text in
                            zip(["一是", "二是", "三是"], rng.sample(MEASURES, rng.randint(1, 3)), strict=False)]
                targets = []
                if rng.random() < 0.5:
                    unit, what = rng.choice(TARGET_UNITS)
                    value = rng.choice([5, 10, 12, 20, 26, 95, 100])
                    targets.append({"value": value, "unit": unit, "comparator": "不少于",
                                    "text": f"{what}不少于{value}{unit}"})
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


# --- the SMTP sink -------------------------------------------------------------------------------------------


class Sink:
    """aiosmtpd in a thread of this process: accepts every message and counts it."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.count = 0
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 — aiosmtpd's hook name
                sink.count += 1
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


# --- the servers -------------------------------------------------------------------------------------------------


def luoshi_command() -> list[str]:
    script = Path(sys.executable).with_name("luoshi")
    return [str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]


def start(args_: list[str], log_path: Path, log_level: str) -> subprocess.Popen:
    env = {**os.environ, "LUOSHI_LOG_LEVEL": log_level}
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(  # noqa: S603 — our own command
            luoshi_command() + args_, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the cleanup can reach uvicorn's children too
        )


def stop(process: subprocess.Popen | None, grace: float = 20.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the group this script created for it
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, 0)  # anything of the group left (an orphaned worker)?
        os.killpg(process.pid, signal.SIGKILL)


async def wait_ready(base_url: str, server: subprocess.Popen, within: float = 60.0) -> None:
    await board_wait_ready(base_url, server, within, log="its log (soak-web.log beside --out)")


# --- the simulated people ------------------------------------------------------------------------------------


def make_jpeg(rng: random.Random, target_kib: int = 200) -> bytes:
    """A photo-like JPEG of about target_kib: smooth gradients with noise, as a phone photo of a meeting."""
    from PIL import Image, ImageDraw, ImageFilter

    size = (1280, 960)
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise(size, 60).convert("RGB")
    image = Image.blend(base, noise, 0.35).filter(ImageFilter.SMOOTH)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle((x, y, x + rng.randrange(40, 300), y + rng.randrange(40, 200)),
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    best = b""
    for quality in (95, 90, 85, 80, 75, 70, 60, 50, 40):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        best = out.getvalue()
        if len(best) <= target_kib * 1024 * 1.1:
            break
    return best


def unique_jpeg(base: bytes, tag: str) -> bytes:
    """The same picture with a JPEG comment (COM segment) after SOI: other bytes, so not a duplicate upload."""
    payload = tag.encode()
    return base[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + base[2:]


@dataclass
class Record:
    t: float  # seconds since the load started, when the response ended
    label: str
    status: int  # 0 for a timeout or connection error
    ms: float
    outcome: str  # ok, refusal, error


@dataclass
class Stats:
    records: list[Record] = field(default_factory=list)
    examples: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    started: float = 0.0

    def add(self, label: str, status: int, ms: float, outcome: str, detail: str = "") -> None:
        t = time.monotonic() - self.started
        self.records.append(Record(t, label, status, ms, outcome))
        if outcome != "ok":
            kind = f"{outcome} {status} {label}"
            if len(self.examples[kind]) < 5:
                self.examples[kind].append({"t_s": round(t, 1), "detail": detail[:400]})


class Stop(Exception):
    pass


class SimulatedUser:
    def __init__(self, persona: Persona, base_url: str, stats: Stats, args, stop_at: float, photo: bytes) -> None:
        import httpx

        self.p = persona
        self.stats = stats
        self.args = args
        self.stop_at = stop_at
        self.photo = photo
        self.rng = random.Random(args.seed * 1000 + persona.index)
        self.client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(args.timeout),
                                        limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
                                        headers={"User-Agent": f"luoshi-soak/{persona.username}"})
        self.cursor: dict[str, str] = {}  # task → the period being written (this month until it is accepted)
        self.uploads = 0
        self.current, _previous = periods_now()

    async def think(self) -> None:
        if time.monotonic() >= self.stop_at:
            raise Stop
        await asyncio.sleep(self.rng.uniform(self.args.think_min, self.args.think_max))
        if time.monotonic() >= self.stop_at:
            raise Stop

    async def call(self, method: str, url: str, label: str, expect: tuple[int, ...] = (200,), **kwargs):
        import httpx

        t0 = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as error:
            self.stats.add(label, 0, (time.perf_counter() - t0) * 1000, "error", f"timeout {error!r} {url}")
            return None
        except httpx.HTTPError as error:
            self.stats.add(label, 0, (time.perf_counter() - t0) * 1000, "error", f"transport {error!r} {url}")
            return None
        ms = (time.perf_counter() - t0) * 1000
        status = response.status_code
        if status in expect:
            self.stats.add(label, status, ms, "ok")
            return response
        if status in (409, 422):
            found = ALERT_RE.search(response.text)
            message = " ".join(found.group(1).split()) if found else response.text[:200]
            self.stats.add(label, status, ms, "refusal", f"{self.p.username} {url}: {message}")
            return None
        detail = f"{self.p.username} {method} {url} → {status} {response.headers.get('location', '')} " + \
            " ".join(response.text[:300].split())
        self.stats.add(label, status, ms, "error", detail)
        return None

    async def get(self, url: str, label: str, **kwargs):
        return await self.call("GET", url, label, **kwargs)

    async def follow(self, response, label: str):
        """A browser follows the 303 at once."""
        return await self.get(response.headers["location"], label)

    async def login(self) -> bool:
        page = await self.get("/login", "GET /login")
        if page is None:
            return False
        token = CSRF_RE.search(page.text)
        response = await self.call("POST", "/login", "POST /login", expect=(303,),
                                   data={"username": self.p.username, "password": PASSWORD,
                                         "csrf_token": token.group(1) if token else ""})
        if response is None:
            return False
        return await self.follow(response, "GET /") is not None

    async def run(self, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            if not await self.login():
                return
            loop = {"unit_staff": self.writer, "unit_head": self.writer, "supervisor": self.supervisor,
                    "leader": self.leader}[self.p.role]
            while True:
                await loop()
        except Stop:
            pass
        finally:
            await self.client.aclose()

    # unit staff and unit heads ----------------------------------------------------------------------------

    async def writer(self) -> None:
        if self.rng.random() < 0.3:
            await self.think()
            await self.get("/", "GET /")
        await self.think()
        await self.get("/notifications/bell", "GET /notifications/bell (htmx)", headers={"HX-Request": "true"})
        if self.p.role == "unit_head" and self.rng.random() < 0.3:
            await self.think()
            await self.get("/reviews", "GET /reviews (unit head)")
        await self.think()
        await self.get("/tasks", "GET /tasks (我的任务)")
        if not self.p.tasks:
            return
        task = self.rng.choice(self.p.tasks)
        await self.think()
        page = await self.get(f"/tasks/{task}", "GET /tasks/{id}")
        if page is not None:
            for thumb in THUMB_RE.findall(page.text)[:2]:  # what the browser loads with the page
                await self.get(thumb, "GET /evidence/{id}/thumbnail")
        period = self.cursor.get(task, self.current)
        url = f"/tasks/{task}/report" + (f"?period={period}" if period != self.current else "")
        await self.think()
        page = await self.get(url, "GET /tasks/{id}/report")
        if page is None:
            return
        form = REPORT_FORM_RE.search(page.text)
        if form is None:  # submitted and waiting, or accepted: then an earlier month's
            section = PERIOD_SECTION_RE.search(page.text)
            if section and "已通过" in section.group(1):
                year, month = int(period[:4]), int(period[5:7])
                if (year, month) > (YEAR, 1):
                    self.cursor[task] = f"{year}-{month - 1:02d}" if month > 1 else f"{year - 1}-12"
            return
        version = VERSION_RE.search(form.group(1)).group(1)
        form_period = PERIOD_RE.search(form.group(1)).group(1)
        data = {"csrf_token": CSRF_RE.search(page.text).group(1), "period": form_period, "version": version,
                "progress": self.rng.choice(PROGRESS) + f"（{datetime.now(ZoneInfo(TIMEZONE)):%H:%M}更新）",
                "problems": self.rng.choice(PROBLEMS), "next_steps": self.rng.choice(NEXT_STEPS),
                "support_needed": "", "percent": str(self.rng.randint(20, 95)), "expected_completion": "",
                "action": "save"}
        for name in ACTUAL_RE.findall(form.group(1)):
            data[name] = str(self.rng.randint(1, 30))
        await self.think()
        saved = await self.call("POST", f"/tasks/{task}/report", "POST /tasks/{id}/report (save draft)",
                                expect=(303,), data=data)
        if saved is None:
            return
        page = await self.follow(saved, "GET /tasks/{id}/report")
        if page is None:
            return
        report_id = REPORT_ID_RE.search(page.text)
        if report_id and self.rng.random() < self.args.upload_share:
            self.uploads += 1
            photo = unique_jpeg(self.photo, f"{self.p.username}-{self.uploads}-{self.rng.random()}")
            await self.think()
            uploaded = await self.call(
                "POST", f"/tasks/{task}/evidence", "POST /tasks/{id}/evidence (photo)", expect=(303, 200),
                data={"csrf_token": CSRF_RE.search(page.text).group(1), "report_id": report_id.group(1),
                      "description": "现场照片"},
                files={"camera": (f"IMG_{self.uploads:04d}.jpg", photo, "image/jpeg")})
            if uploaded is None:
                return
            if uploaded.status_code == 303:
                page = await self.follow(uploaded, "GET /tasks/{id}/report")
                if page is None:
                    return
            if form_period != self.current:  # the upload went back to this month's form
                page = await self.get(f"/tasks/{task}/report?period={form_period}", "GET /tasks/{id}/report")
                if page is None:
                    return
        if self.rng.random() < self.args.submit_share:
            form = REPORT_FORM_RE.search(page.text)
            if form is None:
                return
            data["version"] = VERSION_RE.search(form.group(1)).group(1)
            data["csrf_token"] = CSRF_RE.search(page.text).group(1)
            data["action"] = "submit"
            await self.think()
            submitted = await self.call("POST", f"/tasks/{task}/report", "POST /tasks/{id}/report (submit)",
                                        expect=(303,), data=data)
            if submitted is not None:
                await self.follow(submitted, "GET /tasks/{id}/report")

    # supervisors --------------------------------------------------------------------------------------------

    async def board(self, label_suffix: str) -> list[str]:
        """The board, then one filter; returns the task ids seen."""
        await self.think()
        page = await self.get("/tasks", f"GET /tasks (board{label_suffix})")
        if page is None:
            return []
        seen = TASK_LINK_RE.findall(page.text)
        units = OPTION_RE.findall(UNIT_SELECT_RE.search(page.text).group(1)) if UNIT_SELECT_RE.search(page.text) \
            else []
        plans = OPTION_RE.findall(PLAN_SELECT_RE.search(page.text).group(1)) if PLAN_SELECT_RE.search(page.text) \
            else []
        choice = self.rng.random()
        if choice < 0.15:
            url = "/tasks?page=2"
        elif choice < 0.5 and units:
            url = f"/tasks?unit={self.rng.choice(units)}"
        elif choice < 0.6 and plans:
            url = f"/tasks?plan={plans[0]}"
        elif choice < 0.75:
            url = f"/tasks?state={self.rng.choice(['assigned', 'in_progress', 'acknowledged'])}"
        elif choice < 0.9:
            url = f"/tasks?light={self.rng.choice(['green', 'yellow', 'red'])}"
        else:
            url = f"/tasks?q=督-{YEAR}-{self.rng.randint(1, 29):02d}"
        htmx = self.rng.random() < 0.5
        await self.think()
        filtered = await self.get(url, f"GET /tasks?filter (board{label_suffix}{', htmx' if htmx else ''})",
                                  headers={"HX-Request": "true", "HX-Target": "results"} if htmx else {})
        if filtered is not None:
            seen += TASK_LINK_RE.findall(filtered.text)
        return seen

    async def supervisor(self) -> None:
        if self.rng.random() < 0.3:
            await self.think()
            await self.get("/", "GET /")
        seen = await self.board("")
        if seen:
            await self.think()
            await self.get(f"/tasks/{self.rng.choice(seen)}", "GET /tasks/{id}")
        await self.think()
        page = await self.get("/reviews", "GET /reviews")
        decided = 0
        batch = self.rng.random() < 0.35
        while page is not None and decided < 5:
            mine = [(rid, kind, version) for rid, kind, version in REVIEW_FORM_RE.findall(page.text)
                    if kind == "review" and int(rid.replace("-", ""), 16) % self.p.shares == self.p.share]
            if not mine:
                break
            token = CSRF_RE.search(page.text).group(1)
            await self.think()
            if batch:
                picked = mine[:10]
                done = await self.call("POST", "/reviews/batch", "POST /reviews/batch (accept)", expect=(303,),
                                       data={"csrf_token": token, "comment": "",
                                             "report": [f"{rid}:{version}" for rid, _k, version in picked]})
                if done is not None:
                    await self.follow(done, "GET /reviews")
                break
            rid, _kind, version = mine[0]
            accept = self.rng.random() < 0.85
            done = await self.call("POST", f"/reports/{rid}/review",
                                   f"POST /reports/{{id}}/review ({'accept' if accept else 'return'})", expect=(303,),
                                   data={"csrf_token": token, "version": version, "next": "/reviews",
                                         "decision": "accept" if accept else "return",
                                         "comment": "" if accept else self.rng.choice(RETURN_COMMENTS)})
            decided += 1
            page = await self.follow(done, "GET /reviews") if done is not None else None
        await self.think()
        await self.get("/notifications/bell", "GET /notifications/bell (htmx)", headers={"HX-Request": "true"})

    # leaders ---------------------------------------------------------------------------------------------------

    async def leader(self) -> None:
        await self.think()
        await self.get("/", "GET /")
        seen = await self.board(", leader")
        if seen:
            task = self.rng.choice(seen)
            await self.think()
            await self.get(f"/tasks/{task}", "GET /tasks/{id}")
            if self.rng.random() < 0.6:
                await self.think()
                await self.get(f"/tasks/{task}/ledger.xlsx", "GET /tasks/{id}/ledger.xlsx")
            if self.rng.random() < 0.4:
                await self.think()
                await self.get(f"/tasks/{task}/reports", "GET /tasks/{id}/reports")
        await self.think()
        await self.get("/notifications/bell", "GET /notifications/bell (htmx)", headers={"HX-Request": "true"})


# --- sampling ------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    t: float
    requests: int
    rps: float
    p50: float | None
    p95: float | None
    p99: float | None
    errors: int
    refusals: int
    web_workers_rss_mb: float
    web_supervisor_rss_mb: float
    arq_worker_rss_mb: float
    web_cpu_pct: float
    arq_cpu_pct: float
    machine_cpu_pct: float
    load_1m: float
    pg_connections: int
    pg_connections_all: int
    review_queue: int
    outbox_pending: int
    outbox_sent: int
    emails_received: int
    web_workers: int


def _tree(pid: int, only: str = ""):
    """The process and its descendants (those whose command line contains `only`, if given)."""
    import psutil

    try:
        root = psutil.Process(pid)
        children = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return None, []
    if only:
        kept = []
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                if only in " ".join(child.cmdline()):
                    kept.append(child)
        children = kept
    return root, children


def _rss_cpu(processes) -> tuple[float, float]:
    import psutil

    rss = cpu = 0.0
    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            rss += p.memory_info().rss
            times = p.cpu_times()
            cpu += times.user + times.system
    return rss / 2**20, cpu


async def sampler(stats: Stats, web_pid: int, worker_pid: int, sink: Sink, args, samples: list[Sample],
                  done: asyncio.Event) -> None:
    import psutil
    import psycopg

    name = args.database_url.rpartition("/")[2]
    conn = await psycopg.AsyncConnection.connect(args.database_url, autocommit=True)
    root, children = _tree(web_pid, "spawn_main")
    arq_root, arq_children = _tree(worker_pid)
    last_cpu = {"t": 0.0, "web": _rss_cpu(children or ([root] if root else []))[1],
                "arq": _rss_cpu(([arq_root] if arq_root else []) + arq_children)[1]}
    psutil.cpu_percent(None)
    seen = 0
    try:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=args.sample)
            t = time.monotonic() - stats.started
            window = stats.records[seen:]
            seen += len(window)
            latencies = sorted(r.ms for r in window if r.status)
            root, children = _tree(web_pid, "spawn_main")  # uvicorn's workers (one process with --workers 1)
            workers_rss, workers_cpu = _rss_cpu(children or ([root] if root else []))
            supervisor_rss, _cpu = _rss_cpu([root] if root and children else [])
            arq_root, arq_children = _tree(worker_pid)
            arq_rss, arq_cpu = _rss_cpu(([arq_root] if arq_root else []) + arq_children)
            elapsed = t - last_cpu["t"]
            web_pct = 100 * (workers_cpu - last_cpu["web"]) / max(elapsed, 1e-6)
            arq_pct = 100 * (arq_cpu - last_cpu["arq"]) / max(elapsed, 1e-6)
            last_cpu = {"t": t, "web": workers_cpu, "arq": arq_cpu}
            row = await (await conn.execute(
                """SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = %s),
                          (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
                          (SELECT count(*) FROM progress_reports WHERE state = 'submitted'),
                          (SELECT count(*) FROM outbox WHERE state = 'pending'),
                          (SELECT count(*) FROM outbox WHERE state = 'sent')""", (name,))).fetchone()
            samples.append(Sample(
                t=round(t, 1), requests=len(window), rps=round(len(window) / max(elapsed, 1e-6), 1),
                p50=_pct(latencies, 50), p95=_pct(latencies, 95), p99=_pct(latencies, 99),
                errors=sum(r.outcome == "error" for r in window), refusals=sum(r.outcome == "refusal" for r in window),
                web_workers_rss_mb=round(workers_rss, 1), web_supervisor_rss_mb=round(supervisor_rss, 1),
                arq_worker_rss_mb=round(arq_rss, 1), web_cpu_pct=round(web_pct, 1), arq_cpu_pct=round(arq_pct, 1),
                machine_cpu_pct=psutil.cpu_percent(None), load_1m=round(os.getloadavg()[0], 2),
                pg_connections=row[0], pg_connections_all=row[1], review_queue=row[2], outbox_pending=row[3],
                outbox_sent=row[4], emails_received=sink.count, web_workers=len(children) or 1))
            s = samples[-1]
            print(f"  {s.t:6.0f} s  {s.rps:6.1f} req/s  p50 {_fmt(s.p50)}  p95 {_fmt(s.p95)}  p99 {_fmt(s.p99)} ms  "
                  f"errors {s.errors:3d}  refusals {s.refusals:2d}  web RSS {s.web_workers_rss_mb:6.1f} MB "
                  f"(CPU {s.web_cpu_pct:4.0f}%)  worker {s.arq_worker_rss_mb:5.1f} MB  PG {s.pg_connections:3d}  "
                  f"queue {s.review_queue:3d}  mails {s.emails_received:5d}  load {s.load_1m:4.2f}", flush=True)
            if done.is_set():
                return
    finally:
        await conn.close()


def _pct(sorted_ms: list[float], q: float) -> float | None:
    return round(percentile(sorted_ms, q), 1) if sorted_ms else None


def _fmt(value: float | None, width: int = 6) -> str:
    return f"{value:{width}.0f}" if value is not None else " " * (width - 1) + "-"


async def run_load(personas: list[Persona], base_url: str, web_pid: int, worker_pid: int, sink: Sink, args):
    stats = Stats()
    samples: list[Sample] = []
    photo = make_jpeg(random.Random(args.seed))
    print(f"photo: {len(photo) / 1024:.0f} KiB JPEG (each upload made unique by a JPEG comment)", flush=True)
    stats.started = time.monotonic()
    stop_at = stats.started + args.minutes * 60
    users = [SimulatedUser(p, base_url, stats, args, stop_at, photo) for p in personas]
    rng = random.Random(args.seed)
    order = list(range(len(users)))
    rng.shuffle(order)  # the roles start mixed
    done = asyncio.Event()
    sampling = asyncio.create_task(sampler(stats, web_pid, worker_pid, sink, args, samples, done))
    cpu0 = time.process_time()
    await asyncio.gather(*(users[i].run(args.ramp * rank / max(1, len(users)))
                           for rank, i in enumerate(order)))
    wall = time.monotonic() - stats.started
    client_cpu = time.process_time() - cpu0
    done.set()
    await sampling
    return stats, samples, wall, client_cpu


# --- the report ------------------------------------------------------------------------------------------


def minute_of(t: float, last: int) -> int:
    return min(last, max(1, math.ceil(t / 60 - 1e-9)))


def summarize(stats: Stats, samples: list[Sample], args, wall: float) -> dict:
    minutes = []
    last = max(1, math.ceil(args.minutes - 1e-9))
    for m in range(1, last + 1):
        rows = [r for r in stats.records if minute_of(r.t, last) == m]
        lat = sorted(r.ms for r in rows if r.status)
        in_minute = [s for s in samples if minute_of(s.t, last) == m]
        span = 60.0 if m < last else wall - (m - 1) * 60
        minutes.append({
            "minute": m, "requests": len(rows), "rps": round(len(rows) / span, 1) if span > 0 else 0,
            "p50": _pct(lat, 50), "p95": _pct(lat, 95), "p99": _pct(lat, 99), "max": round(lat[-1], 1) if lat else None,
            "errors": sum(r.outcome == "error" for r in rows), "refusals": sum(r.outcome == "refusal" for r in rows),
            "web_rss_mb": _mean([s.web_workers_rss_mb for s in in_minute]),
            "arq_rss_mb": _mean([s.arq_worker_rss_mb for s in in_minute]),
            "web_cpu_pct": _mean([s.web_cpu_pct for s in in_minute]),
            "machine_cpu_pct": _mean([s.machine_cpu_pct for s in in_minute]),
            "load_1m": _mean([s.load_1m for s in in_minute]),
            "pg_connections_max": max((s.pg_connections for s in in_minute), default=None),
            "review_queue": in_minute[-1].review_queue if in_minute else None,
            "emails_received": in_minute[-1].emails_received if in_minute else None,
        })
    labels = defaultdict(list)
    for r in stats.records:
        labels[r.label].append(r)
    per_label = []
    for label, rows in sorted(labels.items(), key=lambda kv: -len(kv[1])):
        lat = sorted(r.ms for r in rows if r.status)
        per_label.append({"label": label, "requests": len(rows), "p50": _pct(lat, 50), "p95": _pct(lat, 95),
                          "p99": _pct(lat, 99), "max": round(lat[-1], 1) if lat else None,
                          "errors": sum(r.outcome == "error" for r in rows),
                          "refusals": sum(r.outcome == "refusal" for r in rows),
                          "statuses": dict(Counter(str(r.status) for r in rows))})
    lat = sorted(r.ms for r in stats.records if r.status)
    errors = [r for r in stats.records if r.outcome == "error"]
    totals = {
        "requests": len(stats.records), "seconds": round(wall, 1), "rps": round(len(stats.records) / wall, 1),
        "p50": _pct(lat, 50), "p95": _pct(lat, 95), "p99": _pct(lat, 99), "max": round(lat[-1], 1) if lat else None,
        "errors": len(errors), "refusals": sum(r.outcome == "refusal" for r in stats.records),
        "errors_by_kind": dict(Counter("5xx" if r.status >= 500 else ("timeout/connection" if r.status == 0
                                                                       else f"unexpected {r.status}")
                                       for r in errors)),
        "statuses": dict(Counter(str(r.status) for r in stats.records)),
    }
    return {"per_minute": minutes, "per_label": per_label, "totals": totals, "memory": memory_verdict(samples, last)}


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


def _slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB), in MB per minute."""
    if len(points) < 3:
        return None
    mx = statistics.fmean(p[0] for p in points)
    my = statistics.fmean(p[1] for p in points)
    var = sum((x - mx) ** 2 for x, _y in points)
    return round(60 * sum((x - mx) * (y - my) for x, y in points) / var, 2) if var else None


def memory_verdict(samples: list[Sample], last_minute: int) -> dict:
    verdict = {}
    for key in ("web_workers_rss_mb", "arq_worker_rss_mb", "web_supervisor_rss_mb"):
        first = _mean([getattr(s, key) for s in samples if minute_of(s.t, last_minute) == 1])
        last = _mean([getattr(s, key) for s in samples if minute_of(s.t, last_minute) == last_minute])
        second = _mean([getattr(s, key) for s in samples if minute_of(s.t, last_minute) == 2])
        slope = _slope([(s.t, getattr(s, key)) for s in samples if s.t > 60])
        slope_3 = _slope([(s.t, getattr(s, key)) for s in samples if s.t > 120])
        growth = round(100 * (last - first) / first, 1) if first and last is not None else None
        # Minute 1 holds the ramp and every sign-in (argon2 buffers of 64 MiB in flight): minute 2 is the
        # first steady one.
        growth_2 = round(100 * (last - second) / second, 1) if second and last is not None and last_minute > 2 \
            else None
        verdict[key] = {"minute_1_mb": first, "minute_2_mb": second, "last_minute": last_minute,
                        "last_minute_mb": last, "growth_pct": growth, "growth_from_minute_2_pct": growth_2,
                        "slope_mb_per_min_after_minute_1": slope, "slope_mb_per_min_after_minute_2": slope_3,
                        "peak_mb": max((getattr(s, key) for s in samples), default=None),
                        "flag_growth_over_10pct": bool((growth is not None and growth > 10)
                                                       or (growth_2 is not None and growth_2 > 10))}
    return verdict


def log_summary(path: Path) -> dict:
    """ERROR / CRITICAL / WARNING lines of a JSON log (and any raw traceback lines), by message."""
    levels: Counter = Counter()
    messages: Counter = Counter()
    tracebacks = 0
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("Traceback"):
                tracebacks += 1
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            level = entry.get("level", "")
            levels[level] += 1
            if level in ("ERROR", "CRITICAL", "WARNING"):
                messages[f"{level} {entry.get('logger', '')}: {str(entry.get('message', ''))[:160]}"] += 1
    return {"lines_by_level": dict(levels), "raw_tracebacks": tracebacks,
            "messages": [{"message": m, "count": n} for m, n in messages.most_common(20)]}


def print_report(summary: dict, args, personas: list[Persona], wall: float, client_cpu: float) -> None:
    roles = Counter(p.role for p in personas)
    print(f"\nSoak: {len(personas)} users ({', '.join(f'{n} {r}' for r, n in roles.items())}), {wall / 60:.1f} min, "
          f"luoshi serve --workers {args.web_workers} + luoshi worker; think {args.think_min:g}–{args.think_max:g} s")
    print(f"\n  {'min':>3} {'requests':>8} {'req/s':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6} {'errors':>6} "
          f"{'refus.':>6} {'web RSS':>8} {'arq RSS':>8} {'web CPU':>7} {'PG conn':>7} {'queue':>5} {'mails':>6} "
          f"{'load':>5}")
    for m in summary["per_minute"]:
        print(f"  {m['minute']:3d} {m['requests']:8d} {m['rps']:6.1f} {_fmt(m['p50'])} {_fmt(m['p95'])} "
              f"{_fmt(m['p99'])} {_fmt(m['max'])} {m['errors']:6d} {m['refusals']:6d} {_fmt(m['web_rss_mb'], 8)} "
              f"{_fmt(m['arq_rss_mb'], 8)} {_fmt(m['web_cpu_pct'], 6)}% {m['pg_connections_max'] or 0:7d} "
              f"{m['review_queue'] or 0:5d} {m['emails_received'] or 0:6d} {m['load_1m'] or 0:5.2f}")
    t = summary["totals"]
    print(f"  all {t['requests']:8d} {t['rps']:6.1f} {_fmt(t['p50'])} {_fmt(t['p95'])} {_fmt(t['p99'])} "
          f"{_fmt(t['max'])} {t['errors']:6d} {t['refusals']:6d}")
    print("  (latency in ms, client-side; RSS in MB, mean of the minute's samples; web CPU: all web workers, % of one "
          "core;\n   queue: submitted reports awaiting review; mails: e-mails the SMTP sink received so far)")
    print(f"\n  {'path':<52} {'n':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6} {'err':>4} {'ref':>4}")
    for row in summary["per_label"]:
        print(f"  {pad(row['label'], 52)} {row['requests']:6d} {_fmt(row['p50'])} {_fmt(row['p95'])} "
              f"{_fmt(row['p99'])} {_fmt(row['max'])} {row['errors']:4d} {row['refusals']:4d}")
    print("\n  memory:")
    for key, v in summary["memory"].items():
        growth = "?" if v["growth_pct"] is None else f"{v['growth_pct']:+.1f}"
        print(f"    {key:<22} minute 1 {v['minute_1_mb']} MB → minute {v['last_minute']} {v['last_minute_mb']} MB "
              f"({growth} %; from minute 2 {v['minute_2_mb']} MB: {v['growth_from_minute_2_pct']} %),\n"
              f"    {'':<22} slope after minute 1 {v['slope_mb_per_min_after_minute_1']} MB/min "
              f"(after minute 2 {v['slope_mb_per_min_after_minute_2']}), "
              f"peak {v['peak_mb']} MB" + ("  ** GROWTH OVER 10 % **" if v["flag_growth_over_10pct"] else ""))
    print(f"\n  client: {client_cpu:.0f} CPU-s in this process ({1000 * client_cpu / max(1, t['requests']):.1f} ms per "
          f"request)")
    if t["errors"] or t["refusals"]:
        print(f"  errors by kind: {t['errors_by_kind']}")


def main() -> int:
    import psutil

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100, help="simulated people (the bureau is sized for them)")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--web-workers", type=int, default=2, help="luoshi serve --workers")
    ap.add_argument("--units", type=int, default=0, help="units (default: 30 %% of --users)")
    ap.add_argument("--ramp", type=float, default=30.0, help="seconds over which the users start (and sign in)")
    ap.add_argument("--think-min", type=float, default=0.5)
    ap.add_argument("--think-max", type=float, default=2.0)
    ap.add_argument("--submit-share", type=float, default=0.15, help="share of draft saves followed by a submit")
    ap.add_argument("--upload-share", type=float, default=0.35, help="share of draft saves followed by a photo")
    ap.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--timeout", type=float, default=60.0, help="client timeout per request, seconds")
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--log-level", default="INFO", help="LUOSHI_LOG_LEVEL of the web server and the worker")
    ap.add_argument("--cheap-argon2", action="store_true", help="argon2 t=1, 8 MiB instead of the production cost")
    ap.add_argument("--out", default=str(RESULTS / "soak.json"),
                    help="the JSON results; the servers' logs go beside it (<name>-web.log, <name>-worker.log)")
    ap.add_argument("--database-url", default=os.environ.get("LUOSHI_SOAK_DATABASE_URL", DEFAULT_DATABASE_URL))
    ap.add_argument("--redis-url", default=os.environ.get("LUOSHI_SOAK_REDIS_URL", DEFAULT_REDIS_URL))
    args = ap.parse_args()
    if args.users < 4:
        ap.error("--users must be at least 4")
    args.units = args.units or max(2, round(args.users * 0.3))
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    web_log = out_path.with_name(out_path.stem + "-web.log")
    worker_log = out_path.with_name(out_path.stem + "-worker.log")

    data_dir = Path(tempfile.mkdtemp(prefix="luoshi-soak-"))
    smtp_port = free_port()
    environment(args, data_dir, smtp_port)
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(f"luoshi_soak: {args.users} users, {args.minutes:g} min, {args.web_workers} web workers; data in {data_dir}; "
          f"load average before {load_before}", flush=True)

    web = worker = sink = None
    try:
        t0 = time.perf_counter()
        flush_redis(args.redis_url)
        recreate_database(args.database_url)
        from backend.core.migrate import migrate

        migrate()
        migrate_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        seeded = asyncio.run(seed(args))
        seed_s = time.perf_counter() - t0
        personas = personas_from_database(args.database_url)
        writers = [p for p in personas if p.role in ("unit_staff", "unit_head")]
        print(f"  migrated in {migrate_s:.1f} s, seeded in {seed_s:.1f} s ({seeded['timings_s']}); "
              f"{seeded['units']} units, {len(personas)} people, {sum(len(p.tasks) for p in writers)} tasks "
              f"written by {len(writers)} people; reports {seeded['reports']}", flush=True)

        sink = Sink(smtp_port)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        web = start(["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.web_workers)],
                    web_log, args.log_level)
        worker = start(["worker"], worker_log, args.log_level)
        asyncio.run(wait_ready(base_url, web))
        time.sleep(2)  # noqa: ASYNC251 — let every uvicorn worker finish starting
        print(f"  luoshi serve on {base_url} (pid {web.pid}), luoshi worker (pid {worker.pid}), SMTP sink on "
              f"127.0.0.1:{smtp_port}\n", flush=True)
        stats, samples, wall, client_cpu = asyncio.run(
            run_load(personas[:args.users], base_url, web.pid, worker.pid, sink, args))
        time.sleep(1)  # noqa: ASYNC251 — let the last log lines reach the files
    finally:
        stop(web)
        stop(worker)
        if sink is not None:
            sink.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        with contextlib.suppress(Exception):
            flush_redis(args.redis_url)

    summary = summarize(stats, samples, args, wall)
    logs = {"web": log_summary(web_log), "worker": log_summary(worker_log)}
    print_report(summary, args, personas[:args.users], wall, client_cpu)
    for name, info in logs.items():
        bad = [m for m in info.get("messages", []) if not m["message"].startswith("WARNING")]
        print(f"  {name} log: {info.get('lines_by_level', {})}, raw tracebacks {info.get('raw_tracebacks', 0)}"
              + "".join(f"\n    {m['count']:5d} × {m['message']}" for m in bad))
    examples = {k: v for k, v in stats.examples.items()}
    if examples:
        print("\n  examples of what was not ok:")
        for kind, rows in examples.items():
            print(f"    {kind}: {len([r for r in stats.records if f'{r.outcome} {r.status} {r.label}' == kind])}×; "
                  f"e.g. {rows[0]['detail'][:200]}")

    loads = [s.load_1m for s in samples]
    out = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {**machine(), "load_average_before": load_before,
                    "load_1m_during": {"min": min(loads, default=None), "mean": _mean(loads),
                                       "max": max(loads, default=None)},
                    "ram_gb": round(psutil.virtual_memory().total / 2**30, 1)},
        "parameters": {k: v for k, v in vars(args).items() if k not in ("database_url", "redis_url")},
        "argon2": "t=1, 8 MiB (--cheap-argon2)" if args.cheap_argon2 else "t=3, 64 MiB (production default)",
        "database": args.database_url.rpartition("/")[2],
        "seed": {**seeded, "people": len(personas), "simulated": Counter(p.role for p in personas[:args.users])},
        **summary,
        "client_cpu_s": round(client_cpu, 1),
        "examples_not_ok": examples,
        "logs": logs,
        "samples": [asdict(s) for s in samples],
    }
    out_path.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten: {out_path}, logs {web_log}, {worker_log}")
    flagged = any(v["flag_growth_over_10pct"] for k, v in summary["memory"].items() if k != "web_supervisor_rss_mb")
    return 1 if summary["totals"]["errors"] or flagged else 0


if __name__ == "__main__":
    raise SystemExit(main())
