"""One command for Luoshi's performance figures (issue 7): `make bench`, or

    .venv/bin/python bench/run.py                       # seeds luoshi_bench_run if needed, then ~6 minutes
    .venv/bin/python bench/run.py --reseed --bureaus 10 --tasks 1000      # any bench/seed.py flag is passed on
    .venv/bin/python bench/run.py --reminders-1m        # also the 1,000 × 1,000 sweep (bench/reminders.py, ~1 h)

What it does:
1. Seeds `luoshi_bench_run` with bench/seed.py (through the services) unless it exists with the same parameters.
2. In-process (httpx.ASGITransport on backend.web.create_app): the SQL statements each measured request sends
   (SQLAlchemy `before_cursor_execute`, counted on the second of two identical requests), and the statements of
   我的任务, with their parameters, for the bare endpoint (bench/bare_app.py).
3. Starts `luoshi serve --workers N` (uvicorn, as compose.yaml runs it: 2 workers) and the bare app
   (`uvicorn bench.bare_app:app --workers N`) on free ports, against the same database as the same RLS-bound role.
4. Under load, each path for --warmup s (discarded) then --duration s, at --concurrency clients:
   GET paths with wrk (Debian's; installed with apt-get if missing) and a Lua script that prints p50/p95/p99;
   POST paths (sign-in at the production argon2id cost, a 2 MB photo on a report, a review) with an in-process
   httpx closed loop. Peak RSS of the web server (all its processes) and the server's CPU per request (psutil).
5. In-process, timed with their SQL counted: bulletin generation and assessment computation (if their services
   exist yet), the reminder sweep over the seeded bureaus, the plan parser over the sample plans.
6. Page weights: each main page with Accept-Encoding: gzip, br, bytes on the wire; and the first page load (the
   HTML plus every stylesheet, script and font it references) as deploy/nginx.conf serves it (HTML not
   compressed, static files gzip level 5).
Prints a table and the targets, and writes bench/results/run.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import importlib
import json
import os
import pickle
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

from bench import seed as seed_module  # noqa: E402
from bench.board import CSRF_RE, free_port, machine, percentile  # noqa: E402
from bench.board import wait_ready as board_wait_ready  # noqa: E402
from bench.seed_tasks import PASSWORD, _environment  # noqa: E402
from bench.soak import unique_jpeg  # noqa: E402

TARGETS = {"my_tasks_ratio": 0.60, "my_tasks_p95_ms": 50, "upload_p95_ms": 250, "bulletin_ms": 500,
           "bulletin_queries": 15, "sweep_1m_s": 30, "first_load_kib": 80}
LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
    .. '"timeout":%d,"p50":%d,"p95":%d,"p99":%d,"mean":%.1f,"max":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
"""


@dataclass
class Row:
    name: str
    method: str = "GET"
    path: str = ""
    tool: str = ""
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    rps: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    queries: int | None = None
    rss_start_mib: float | None = None
    rss_peak_mib: float | None = None
    rss_end_mib: float | None = None
    server_cpu_ms: float | None = None
    client_cpu_ms: float | None = None
    postgres_cpu_ms: float | None = None
    wire_bytes: int | None = None
    load_average: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)


# --- set-up ----------------------------------------------------------------------------------------------------


def ensure_wrk() -> str | None:
    if shutil.which("wrk"):
        return shutil.which("wrk")
    print("wrk is missing: apt-get install -y wrk", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "wrk"]):
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # noqa: S603
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


def seed_if_needed(args, seed_argv: list[str]) -> dict:
    wanted = vars(seed_module.build_parser().parse_args([*seed_argv, "--database-url", args.database_url]))
    wanted = {k: (str(v) if isinstance(v, Path) else v) for k, v in wanted.items()
              if k not in ("database_url", "redis_url")}
    path = RESULTS / "seed-run.json"
    previous = json.loads(path.read_text()) if path.exists() else None
    pristine = args.database_url + "_pristine"
    if args.reseed or previous is None or previous["parameters"] != wanted or not database_exists(pristine):
        seed_module.main([*seed_argv, "--database-url", args.database_url, "--redis-url", args.redis_url])
        previous = json.loads(path.read_text())
        copy_database(args.database_url, pristine)
    else:
        print(f"reusing {previous['database']} ({previous['database_size']}) as seeded: restored from "
              f"{pristine.rpartition('/')[2]} (--reseed to rebuild)", flush=True)
        copy_database(pristine, args.database_url)
        remove_newer_files(Path(previous["parameters"]["data_dir"]), path.stat().st_mtime)
    return previous


def remove_newer_files(data_dir: Path, seeded_at: float) -> None:
    """The photos earlier runs uploaded (about 1 GB a run): the restored database no longer knows them."""
    for file in data_dir.rglob("*"):
        if file.is_file() and file.stat().st_mtime > seeded_at:
            file.unlink()


def copy_database(source_url: str, target_url: str) -> None:
    """A run writes (reviews, photos, the sweep's reminders): each run starts from a copy of the seeded state."""
    import psycopg

    base, _, source = source_url.rpartition("/")
    target = target_url.rpartition("/")[2]
    if not target.startswith("luoshi_bench"):
        raise SystemExit(f"refusing to replace {target!r}: the benchmark only drops databases named luoshi_bench*")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def database_exists(database_url: str) -> bool:
    import psycopg

    base, _, name = database_url.rpartition("/")
    with psycopg.connect(base + "/postgres") as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def owner(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


@dataclass
class Subjects:
    code: str
    tenant_id: str
    staff: str
    supervisor: str
    login: str
    unit_id: str
    ledger_task: str
    draft_tasks: list[str]
    queue: list[tuple[str, int]]
    typical_staff: str = ""
    typical_tasks: int = 0


def find_subjects(database_url: str, seeded: dict) -> Subjects:
    large = seeded["bureaus"][0]
    code = large["code"]
    tenant_id, = owner(database_url, "SELECT id FROM tenants WHERE code = %s", (code,))[0]
    unit_id, = owner(database_url, "SELECT m.unit_id FROM memberships m JOIN users u ON u.id = m.user_id "
                     "WHERE u.username = %s", (large["busiest_unit_staff"],))[0]
    current = seed_module.periods(1, datetime.now(seed_module.ZoneInfo(seed_module.TIMEZONE)).date())[0]
    ledger = owner(database_url, "SELECT task_id FROM progress_reports WHERE unit_id = %s GROUP BY task_id "
                   "ORDER BY count(*) DESC, task_id LIMIT 1", (unit_id,))
    drafts = owner(database_url, "SELECT DISTINCT r.task_id FROM progress_reports r WHERE r.unit_id = %s AND NOT "
                   "EXISTS (SELECT 1 FROM progress_reports c WHERE c.task_id = r.task_id AND c.period = %s "
                   "AND c.state <> 'draft') ORDER BY r.task_id", (unit_id, current))
    queue = owner(database_url, "SELECT id, version FROM progress_reports WHERE tenant_id = %s AND state = "
                  "'submitted' ORDER BY id", (tenant_id,))
    per_unit = owner(database_url, "SELECT u.username, count(a.id) FROM memberships m JOIN users u ON u.id = "
                     "m.user_id JOIN task_assignments a ON a.unit_id = m.unit_id WHERE m.tenant_id = %s AND "
                     "u.username LIKE %s GROUP BY u.username ORDER BY count(a.id), u.username",
                     (tenant_id, f"{code}-u%-staff"))
    typical = per_unit[len(per_unit) // 2] if per_unit else (large["busiest_unit_staff"], 0)
    return Subjects(code, str(tenant_id), large["busiest_unit_staff"], f"{code}-supervisor", f"{code}-login",
                    str(unit_id), str(ledger[0][0]) if ledger else "", [str(t) for t, in drafts],
                    [(str(i), v) for i, v in queue], typical[0], typical[1])


# --- part 1: in-process, SQL statements per request --------------------------------------------------------------


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value


class Counter:
    """Every statement the app's engine sends, with its parameters (SQLAlchemy before_cursor_execute)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((statement, _plain(parameters)))

    def __enter__(self):
        from sqlalchemy import event

        from backend.db import get_engine

        event.listen(get_engine().sync_engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        from backend.db import get_engine

        event.remove(get_engine().sync_engine, "before_cursor_execute", self)


async def login(client, username: str) -> str:
    """Signs in through the form; returns the CSRF token for the client's new seed cookie."""
    page = await client.get("/login")
    token = CSRF_RE.search(page.text).group(1)
    response = await client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 303:
        raise SystemExit(f"sign-in of {username} failed: HTTP {response.status_code}")
    return CSRF_RE.search((await client.get("/")).text).group(1)  # signing in renews the CSRF seed


def photo_2mb() -> bytes:
    import random

    return seed_module.photo(random.Random(2), 2048)


async def in_process(subjects: Subjects, photo: bytes) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Statements per request, counted on the second of two identical requests (the first touches the session)."""
    import httpx

    from backend.db import dispose_engine
    from backend.web import create_app

    app = create_app()
    counts: dict[str, int] = {}
    texts: dict[str, list[str]] = {}
    try:
        async with app.router.lifespan_context(app):
            def client():
                return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")

            staff, supervisor, fresh = client(), client(), client()
            staff_csrf = await login(staff, subjects.staff)
            supervisor_csrf = await login(supervisor, subjects.supervisor)
            with Counter() as counter:
                async def count(name: str, call) -> None:
                    await call()
                    counter.seen.clear()
                    response = await call()
                    if response.status_code >= 400:
                        raise SystemExit(f"{name}: HTTP {response.status_code}")
                    counts[name] = len(counter.seen)
                    texts[name] = [" ".join(s.split())[:300] for s, _p in counter.seen]

                await count("my_tasks", lambda: staff.get("/tasks"))
                (RESULTS / "bare-sql.pickle").write_bytes(pickle.dumps(counter.seen))
                typical_staff = client()
                await login(typical_staff, subjects.typical_staff)
                await count("my_tasks_median", lambda: typical_staff.get("/tasks"))
                (RESULTS / "bare-sql-median.pickle").write_bytes(pickle.dumps(counter.seen))
                await count("board", lambda: supervisor.get("/tasks"))
                await count("ledger", lambda: supervisor.get(f"/tasks/{subjects.ledger_task}/reports"))
                await count("ledger_xlsx", lambda: supervisor.get(f"/tasks/{subjects.ledger_task}/ledger.xlsx"))
                await count("home", lambda: staff.get("/"))
                # Sign-in: a fresh client each time (signing in renews the CSRF seed); GET /login is not counted.
                staff_two = client()
                tokens = [CSRF_RE.search((await c.get("/login")).text).group(1) for c in (fresh, staff_two)]
                fresh_ones = iter(zip((fresh, staff_two), tokens, strict=True))

                def sign_in():
                    c, token = next(fresh_ones)
                    return c.post("/login", data={"username": subjects.staff, "password": PASSWORD,
                                                  "csrf_token": token})

                await count("login", sign_in)
                # A 2 MB photo on a draft report (two different photos, so the second is no duplicate).
                task = subjects.draft_tasks[-1]
                await staff.post(f"/tasks/{task}/report", data={"progress": "基准测试草稿", "percent": "50",
                                                                "version": "0", "csrf_token": staff_csrf})
                report_id = owner(os.environ["DATABASE_URL"], "SELECT id FROM progress_reports WHERE task_id = %s "
                                  "AND state = 'draft'", (task,))[0][0]
                tags = iter(range(2))
                await count("upload", lambda: staff.post(
                    f"/tasks/{task}/evidence", data={"report_id": str(report_id), "csrf_token": staff_csrf},
                    files={"camera": ("photo.jpg", unique_jpeg(photo, f"count-{next(tags)}"), "image/jpeg")}))
                reviews = iter(subjects.queue[-2:])
                subjects.queue = subjects.queue[:-2]

                def review():
                    report, version = next(reviews)
                    return supervisor.post(f"/reports/{report}/review", data={
                        "decision": "accept", "version": str(version), "csrf_token": supervisor_csrf})

                await count("review", review)
            for c in (staff, supervisor, fresh, staff_two):
                await c.aclose()
    finally:
        await dispose_engine()
    return counts, texts


async def timed_in_process(label: str, body) -> Row:
    """Runs `body()` once in this process, timing it and counting its statements."""
    from backend.db import dispose_engine

    row = Row(label, method="call", tool="in-process")
    try:
        with Counter() as counter:
            t0 = time.perf_counter()
            result = await body()
            row.seconds = round(time.perf_counter() - t0, 3)
            row.queries = len(counter.seen)
        row.p50 = row.p95 = row.p99 = round(row.seconds * 1000, 1)
        row.requests = 1
        row.extra = result if isinstance(result, dict) else {}
    finally:
        await dispose_engine()
    return row


class _RollBack(Exception):
    """Raised at the end of a measured unit of work so that what it wrote is not kept (the run can be repeated)."""


async def bulletin_and_assessment(subjects: Subjects) -> list[Row]:
    """Bulletin generation (last month's, for the large bureau) and assessment computation (this year's), timed
    in-process with their statements counted, each in a transaction that is rolled back. The services are being
    built alongside this benchmark: a missing module or a changed signature gives "not available" / "failed"."""
    import uuid

    from sqlmodel import select

    from backend.accounts.models import User
    from backend.db import dispose_engine, unit_of_work
    from backend.tenancy.acting import actor_for

    tenant_id = uuid.UUID(subjects.tenant_id)

    async def measured(session, label: str, work, prepare=None) -> Row:
        """Times `work(actor, prepared)` with its statements counted; the actor and `prepare(actor)` come first."""
        user = (await session.exec(select(User).where(User.username == subjects.supervisor))).one()
        actor = await actor_for(session, user, tenant_id)
        prepared = await prepare(actor) if prepare else None
        with Counter() as counter:
            t0 = time.perf_counter()
            note = await work(actor, prepared)
            ms = round((time.perf_counter() - t0) * 1000, 1)
        return Row(label, method="call", tool="in-process", requests=1, p50=ms, p95=ms, p99=ms, seconds=ms / 1000,
                   queries=len(counter.seen), note=note, extra={"sql": [" ".join(q.split())[:200]
                                                                        for q, _p in counter.seen]})

    rows = []
    for label, module_name in (("bulletin generation", "backend.bulletins.service"),
                               ("assessment computation", "backend.assessments.service")):
        try:
            service = importlib.import_module(module_name)
        except ImportError:
            rows.append(Row(label, method="call", tool="in-process", note="not available"))
            continue

        async def bulletin(actor, _prepared, service=service):
            year, month = service.previous_month(service.local_today(actor.timezone))
            made = await service.create_draft(session, actor, year=year, month=month)
            return f"{made.title}, {len(made.figures or {})} figure groups"

        async def open_year(actor, service=service):
            return await service.open_assessment(session, actor, year=datetime.now().year)

        async def assessment(actor, opened, service=service):
            await service.compute(session, actor, opened.id, version=opened.version)
            return f"{opened.year}, recomputed after opening"

        try:
            async with unit_of_work(tenant_id) as session:
                rows.append(await measured(session, label, bulletin) if "bulletin" in label else
                            await measured(session, label, assessment, open_year))
                raise _RollBack
        except _RollBack:
            pass
        except Exception as error:  # noqa: BLE001 — a service under construction: say why, measure the rest
            rows.append(Row(label, method="call", tool="in-process",
                            note=f"failed: {type(error).__name__}: {str(error)[:120]}"))
        finally:
            await dispose_engine()
    return rows


async def reminder_sweep(at: str) -> Row:
    from backend.reminders.jobs import sweep_all

    async def body():
        return await sweep_all(datetime.fromisoformat(at))

    row = await timed_in_process("reminder sweep (seeded bureaus)", body)
    tasks, = owner(os.environ["DATABASE_URL"], "SELECT count(*) FROM tasks WHERE state NOT IN ('done', 'cancelled')")[0]
    row.note = f"{tasks} open tasks, at {at}"
    row.extra = {"decisions": row.extra, "open_tasks": tasks}
    return row


def plan_parse() -> Row:
    from backend.plans.parser import parse_file
    from bench.plan_parse import _default_paths

    blobs = [(p.name, p.read_bytes()) for p in _default_paths()] or [("demo_plan.txt",
                                                                       (ROOT / "backend/demo_plan.txt").read_bytes())]
    for name, data in blobs:
        parse_file(data, name)
    times = []
    for name, data in blobs * 3:
        t0 = time.perf_counter()
        parse_file(data, name)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return Row("plan parse (per document)", method="call", tool="in-process", requests=len(times), queries=0,
               seconds=round(sum(times) / 1000, 2), rps=round(len(times) / (sum(times) / 1000), 1),
               p50=round(percentile(times, 50), 1), p95=round(percentile(times, 95), 1),
               p99=round(percentile(times, 99), 1), note=f"{len(blobs)} documents × 3")


# --- part 2: the servers under load ------------------------------------------------------------------------------


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,  # noqa: S603
                            start_new_session=True)


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def wait_ready(base: str, process: subprocess.Popen, name: str, within: float = 60) -> None:
    await board_wait_ready(base, process, within, log=f"bench/results/run-{name}.log")


class Watch:
    """Samples the RSS and CPU time of a server's process tree while a scenario runs."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.samples: list[float] = []
        self.cpu0 = self.cpu()
        self.task: asyncio.Task | None = None

    def processes(self):
        return [self.root, *self.root.children(recursive=True)]

    def rss_mib(self) -> float:
        return sum(p.memory_info().rss for p in self.processes()) / 2**20

    def cpu(self) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in self.processes())

    async def _loop(self) -> None:
        while True:
            self.samples.append(self.rss_mib())
            await asyncio.sleep(0.2)

    @staticmethod
    def database_cpu() -> dict[int, float]:
        """CPU seconds of each PostgreSQL backend connected to the benchmark's database (the servers' pools)."""
        import psutil

        out = {}
        for pid, in owner(os.environ["DATABASE_URL"], "SELECT pid FROM pg_stat_activity WHERE datname = "
                          "current_database() AND pid <> pg_backend_pid()"):
            with contextlib.suppress(psutil.Error):
                out[pid] = sum(psutil.Process(pid).cpu_times()[:2])
        return out

    def __enter__(self):
        self.cpu0, self.db0 = self.cpu(), self.database_cpu()
        self.samples = [self.rss_mib()]
        self.task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc):
        self.task.cancel()
        self.samples.append(self.rss_mib())
        self.cpu_used = self.cpu() - self.cpu0
        self.db_cpu_used = sum(v - self.db0.get(pid, 0.0) for pid, v in self.database_cpu().items())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(wrk_path: str, url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict:
    script = RESULTS / "run-report.lua"
    script.write_text(LUA)
    command = [wrk_path, f"-t{min(2, concurrency)}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=False)  # noqa: S603
    match = re.search(r"WRKJSON (\{.*\})", out.stdout)
    if not match:
        raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
    return json.loads(match.group(1))


async def wrk_scenario(args, wrk_path: str, name: str, base: str, path: str, headers: dict, pid: int,
                       queries: int | None, concurrency: int | None = None) -> Row:
    concurrency = concurrency or args.concurrency
    await asyncio.to_thread(wrk, wrk_path, base + path, headers, args.warmup, concurrency)
    with Watch(pid) as watch:
        cpu0 = children_cpu()
        result = await asyncio.to_thread(wrk, wrk_path, base + path, headers, args.duration, concurrency)
        client_cpu = children_cpu() - cpu0
    seconds = result["duration_us"] / 1e6
    errors = result["connect"] + result["read"] + result["write"] + result["status"] + result["timeout"]
    requests = result["requests"]
    row = Row(name, "GET", path, "wrk", requests, errors, round(seconds, 1), round(requests / seconds, 1),
               round(result["p50"] / 1000, 1), round(result["p95"] / 1000, 1), round(result["p99"] / 1000, 1),
               queries, round(watch.samples[0], 1), round(max(watch.samples), 1), round(watch.samples[-1], 1),
               round(watch.cpu_used * 1000 / max(requests, 1), 1), round(client_cpu * 1000 / max(requests, 1), 2),
               load_average=round(os.getloadavg()[0], 2), note=f"{concurrency} connections")
    row.postgres_cpu_ms = round(watch.db_cpu_used * 1000 / max(requests, 1), 1)
    return row


class Exhausted(Exception):
    """The scenario has used up its data (the review queue)."""


async def closed_loop(concurrency: int, seconds: float, call) -> tuple[list[float], int, int]:
    """`concurrency` workers each send their next request as soon as the last one is answered."""
    import httpx

    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    exhausted = False

    async def worker(i: int) -> None:
        nonlocal errors, exhausted
        while time.perf_counter() < stop_at and not exhausted:
            t0 = time.perf_counter()
            try:
                ok = await call(i)
            except Exhausted:
                exhausted = True
                return
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return sorted(latencies), errors, len(latencies) + errors


async def httpx_scenario(name: str, method: str, path: str, pid: int, concurrency: int, seconds: float, warmup: float,
                         call, queries: int | None, note: str = "") -> Row:
    if warmup:
        await closed_loop(concurrency, warmup, call)
    with Watch(pid) as watch:
        t0, cpu0 = time.perf_counter(), time.process_time()
        latencies, errors, total = await closed_loop(concurrency, seconds, call)
        elapsed, client_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    row = Row(name, method, path, f"httpx ×{concurrency}", total, errors, round(elapsed, 1),
               round(len(latencies) / elapsed, 1), round(percentile(latencies, 50), 1),
               round(percentile(latencies, 95), 1), round(percentile(latencies, 99), 1), queries,
               round(watch.samples[0], 1), round(max(watch.samples), 1), round(watch.samples[-1], 1),
               round(watch.cpu_used * 1000 / max(total, 1), 1), round(client_cpu * 1000 / max(total, 1), 2),
               load_average=round(os.getloadavg()[0], 2), note=note)
    row.postgres_cpu_ms = round(watch.db_cpu_used * 1000 / max(total, 1), 1)
    return row


def cookie_header(client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def under_load(args, subjects: Subjects, counts: dict[str, int], photo: bytes, wrk_path: str | None,
                     luoshi_pid: int, bare_pid: int, base: str, bare: str) -> list[Row]:
    import httpx

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    timeout = httpx.Timeout(60)
    rows: list[Row] = []
    staff = httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout)
    supervisor = httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout)
    staff_csrf = await login(staff, subjects.staff)
    supervisor_csrf = await login(supervisor, subjects.supervisor)

    async def get_scenario(name, client_base, path, headers, pid, queries, concurrency=None):
        concurrency = concurrency or args.concurrency
        if wrk_path:
            return await wrk_scenario(args, wrk_path, name, client_base, path, headers, pid, queries, concurrency)
        client = httpx.AsyncClient(base_url=client_base, headers=headers, limits=limits, timeout=timeout)

        async def call(_i):
            return (await client.get(path)).status_code == 200

        row = await httpx_scenario(name, "GET", path, pid, concurrency, args.duration, args.warmup, call, queries)
        await client.aclose()
        return row

    print("  under load:", flush=True)
    staff_cookie = {"Cookie": cookie_header(staff)}
    supervisor_cookie = {"Cookie": cookie_header(supervisor)}
    typical = httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout)
    await login(typical, subjects.typical_staff)
    typical_cookie = {"Cookie": cookie_header(typical)}
    await typical.aclose()
    for name, client_base, path, headers, pid, queries, *concurrency in (
        ("bare endpoint (same SQL as 我的任务)", bare, "/tasks", {}, bare_pid, counts.get("my_tasks")),
        ("我的任务", base, "/tasks", staff_cookie, luoshi_pid, counts.get("my_tasks")),
        ("我的任务, 1 client", base, "/tasks", staff_cookie, luoshi_pid, counts.get("my_tasks"), 1),
        (f"bare endpoint (same SQL as 我的任务 of the median unit, {subjects.typical_tasks} tasks)", bare,
         "/tasks/median", {}, bare_pid, counts.get("my_tasks_median")),
        (f"我的任务, median unit ({subjects.typical_tasks} tasks)", base, "/tasks", typical_cookie, luoshi_pid,
         counts.get("my_tasks_median")),
        ("supervisor's board", base, "/tasks", supervisor_cookie, luoshi_pid, counts.get("board")),
        ("task's 台账 (page)", base, f"/tasks/{subjects.ledger_task}/reports", supervisor_cookie, luoshi_pid,
         counts.get("ledger")),
        ("task's 台账 (.xlsx)", base, f"/tasks/{subjects.ledger_task}/ledger.xlsx", supervisor_cookie, luoshi_pid,
         counts.get("ledger_xlsx")),
    ):
        rows.append(await get_scenario(name, client_base, path, headers, pid, queries, *concurrency))
        print(f"    {rows[-1].name}: {rows[-1].rps} req/s, p95 {rows[-1].p95} ms", flush=True)

    # Sign-in at the production argon2id cost (seed.py's `<code>-login`): GET /login's token, then POST /login.
    # Every attempt presents the same CSRF seed cookie and token (signing in renews the seed in the jar).
    login_client = httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout)
    login_csrf = CSRF_RE.search((await login_client.get("/login")).text).group(1)
    seed_cookie = {"Cookie": f"luoshi_csrf={login_client.cookies['luoshi_csrf']}"}

    async def sign_in(_i):
        response = await login_client.post("/login", headers=seed_cookie, data={
            "username": subjects.login, "password": PASSWORD, "csrf_token": login_csrf})
        return response.status_code == 303

    rows.append(await httpx_scenario("sign-in (argon2id t=3, 64 MiB)", "POST", "/login", luoshi_pid,
                                     args.login_concurrency, args.duration, 2, sign_in, counts.get("login")))
    await login_client.aclose()
    print(f"    {rows[-1].name}: {rows[-1].rps} req/s, p95 {rows[-1].p95} ms", flush=True)

    # A 2 MB photo on a report: each client has its own task with a draft report of this month.
    drafts = subjects.draft_tasks[:args.concurrency]
    for task in drafts:
        await staff.post(f"/tasks/{task}/report", data={"progress": "基准测试草稿", "percent": "50", "version": "0",
                                                        "csrf_token": staff_csrf})
    report_of = dict(owner(os.environ["DATABASE_URL"], "SELECT task_id::text, id::text FROM progress_reports WHERE "
                           "task_id = ANY(%s::uuid[]) AND state = 'draft'", (drafts,)))
    sequence = iter(range(10**9))

    async def upload(i):
        task = drafts[i % len(drafts)]
        response = await staff.post(f"/tasks/{task}/evidence",
                                    data={"report_id": report_of[task], "csrf_token": staff_csrf},
                                    files={"camera": ("现场照片.jpg", unique_jpeg(photo, f"run-{next(sequence)}"),
                                                      "image/jpeg")})
        return response.status_code == 303

    for concurrency in (args.concurrency, 1):
        rows.append(await httpx_scenario(
            "report + 2 MB photo" + (", 1 client" if concurrency == 1 else ""), "POST", "/tasks/{id}/evidence",
            luoshi_pid, concurrency, args.duration, args.warmup, upload, counts.get("upload"),
            note=f"{len(photo) / 2**20:.2f} MiB JPEG, multipart"))
        print(f"    {rows[-1].name}: {rows[-1].rps} req/s, p95 {rows[-1].p95} ms", flush=True)

    # Reviews: the supervisor accepts the queue of this month's submitted reports, one report per request.
    queue = iter(subjects.queue)

    async def review(_i):
        report, version = next(queue, (None, None))
        if report is None:
            raise Exhausted
        response = await supervisor.post(f"/reports/{report}/review", data={
            "decision": "accept", "version": str(version), "csrf_token": supervisor_csrf})
        return response.status_code == 303

    rows.append(await httpx_scenario("review (accept)", "POST", "/reports/{id}/review", luoshi_pid, args.concurrency,
                                     args.duration, 0, review, counts.get("review"),
                                     note=f"queue of {len(subjects.queue)} submitted reports"))
    print(f"    {rows[-1].name}: {rows[-1].rps} req/s, p95 {rows[-1].p95} ms", flush=True)
    for client in (staff, supervisor):
        await client.aclose()
    return rows


# --- part 3: page weights -------------------------------------------------------------------------------------------


ASSET_RE = re.compile(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"')
CSS_URL_RE = re.compile(r'url\(["\']?(/static/[^"\')]+)')


async def page_weights(base: str, subjects: Subjects) -> dict:
    """Bytes on the wire for each main page (as the app sends it, asking for gzip and br), its size gzipped, and
    the first page load as deploy/nginx.conf serves it: HTML as is (gzip off for pages), static files gzip -5."""
    import httpx

    out: dict = {"pages": {}, "first_load": {}}
    accept = {"Accept-Encoding": "gzip, br"}
    async with httpx.AsyncClient(base_url=base) as anonymous, httpx.AsyncClient(base_url=base) as staff, \
            httpx.AsyncClient(base_url=base) as supervisor:
        await login(staff, subjects.staff)
        await login(supervisor, subjects.supervisor)
        pages = [("login", anonymous, "/login"), ("home", staff, "/"), ("我的任务", staff, "/tasks"),
                 ("board", supervisor, "/tasks"), ("台账", supervisor, f"/tasks/{subjects.ledger_task}/reports"),
                 ("task", supervisor, f"/tasks/{subjects.ledger_task}"),
                 ("report form", staff, f"/tasks/{subjects.draft_tasks[-1]}/report"),
                 ("reviews", supervisor, "/reviews")]
        html: dict[str, str] = {}
        for name, client, path in pages:
            async with client.stream("GET", path, headers=accept) as response:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
                headers_bytes = sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 17
            encoding = response.headers.get("content-encoding", "identity")
            text = (gzip.decompress(raw) if encoding == "gzip" else raw).decode("utf-8", "replace")
            html[name] = text
            out["pages"][name] = {"path": path, "status": response.status_code,
                                  "content_encoding": response.headers.get("content-encoding", "identity"),
                                  "wire_body": len(raw), "wire_headers": headers_bytes,
                                  "gzip5": len(gzip.compress(text.encode(), 5))}
        assets: dict[str, dict] = {}

        async def asset(path: str) -> dict:
            if path not in assets:
                response = await anonymous.get(path, headers=accept)
                data = response.content
                assets[path] = {"raw": len(data), "gzip5": len(gzip.compress(data, 5)) if not path.endswith(
                    (".woff", ".woff2", ".png", ".jpg")) else len(data), "status": response.status_code}
                if path.endswith(".css"):
                    for url in CSS_URL_RE.findall(response.text):
                        await asset(url.split("?")[0])
            return assets[path]

        for name in ("login", "我的任务"):
            refs = sorted(set(ASSET_RE.findall(html[name])))
            for ref in refs:
                await asset(ref.split("?")[0])
            closure = set(refs)
            for ref in refs:
                if ref.endswith(".css"):
                    closure |= {u.split("?")[0] for u in CSS_URL_RE.findall((await anonymous.get(ref)).text)}
            page = out["pages"][name]
            static = sum(assets[r.split("?")[0]]["gzip5"] for r in closure)
            out["first_load"][name] = {
                "html_wire": page["wire_body"], "assets": {r: assets[r.split("?")[0]] for r in sorted(closure)},
                "total_as_nginx_serves": page["wire_body"] + static,
                "total_if_html_gzipped": page["gzip5"] + static}
    return out


# --- report ---------------------------------------------------------------------------------------------------------


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_table(rows: list[Row]) -> None:
    header = ("path", "tool", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "SQL/req", "RSS peak MiB",
              "server CPU ms/req", "PostgreSQL CPU ms/req", "client CPU ms/req", "load")
    print("\n| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" for _ in header) + " |")
    for r in rows:
        note = f" ({r.note})" if r.note else ""
        print(f"| {r.name}{note} | {r.tool} | {fmt(r.rps)} | {fmt(r.p50)} | {fmt(r.p95)} | {fmt(r.p99)} | "
              f"{fmt(r.errors) if r.requests else '—'} | {fmt(r.queries)} | {fmt(r.rss_peak_mib)} | "
              f"{fmt(r.server_cpu_ms)} | {fmt(r.postgres_cpu_ms)} | {fmt(r.client_cpu_ms)} | "
              f"{fmt(r.load_average, 2)} |")


def verdicts(rows: list[Row], weights: dict, sweep_1m: dict | None) -> list[dict]:
    by = {r.name: r for r in rows}
    bare, mine = by.get("bare endpoint (same SQL as 我的任务)"), by.get("我的任务")
    upload, bulletin = by.get("report + 2 MB photo"), by.get("bulletin generation")
    out = []
    if bare and mine and bare.rps:
        ratio = mine.rps / bare.rps
        out.append({"target": "我的任务 ≥ 60 % of the bare endpoint (busiest unit, a full page)",
                    "value": f"{ratio:.0%}", "holds": ratio >= TARGETS["my_tasks_ratio"]})
        out.append({"target": "我的任务 p95 ≤ 50 ms at 16 clients (busiest unit)", "value": f"{mine.p95} ms",
                    "holds": mine.p95 <= TARGETS["my_tasks_p95_ms"]})
    median_bare = next((r for r in rows if r.name.startswith("bare endpoint (same SQL as 我的任务 of the median")),
                       None)
    median = next((r for r in rows if r.name.startswith("我的任务, median unit")), None)
    if median_bare and median and median_bare.rps:
        ratio = median.rps / median_bare.rps
        out.append({"target": "我的任务 ≥ 60 % of the bare endpoint (median unit)", "value": f"{ratio:.0%}",
                    "holds": ratio >= TARGETS["my_tasks_ratio"]})
        out.append({"target": "我的任务 p95 ≤ 50 ms at 16 clients (median unit)", "value": f"{median.p95} ms",
                    "holds": median.p95 <= TARGETS["my_tasks_p95_ms"]})
    if upload:
        growth = (upload.rss_end_mib or 0) - (upload.rss_start_mib or 0)
        out.append({"target": "2 MB photo p95 ≤ 250 ms, flat memory", "value":
                    f"p95 {upload.p95} ms; RSS {upload.rss_start_mib} → peak {upload.rss_peak_mib} → "
                    f"{upload.rss_end_mib} MiB", "holds": upload.p95 <= TARGETS["upload_p95_ms"] and growth < 50})
    if bulletin and bulletin.queries is not None:
        holds = bulletin.p50 <= TARGETS["bulletin_ms"] and bulletin.queries <= TARGETS["bulletin_queries"]
        out.append({"target": "bulletin ≤ 500 ms and ≤ 15 queries", "value":
                    f"{bulletin.p50} ms, {bulletin.queries} queries", "holds": holds})
    else:
        out.append({"target": "bulletin ≤ 500 ms and ≤ 15 queries", "value": "not available", "holds": None})
    out.append({"target": "reminder sweep over 1,000,000 open tasks ≤ 30 s", "value":
                f"{sweep_1m['seconds']} s" if sweep_1m else "not run (--reminders-1m)",
                "holds": (sweep_1m["seconds"] <= TARGETS["sweep_1m_s"]) if sweep_1m else None})
    first = weights["first_load"].get("我的任务", {}).get("total_as_nginx_serves")
    if first is not None:
        out.append({"target": "first page load ≤ 80 KB compressed", "value": f"{first / 1000:.1f} KB",
                    "holds": first <= TARGETS["first_load_kib"] * 1000})
    return out


def run_reminders_1m(args) -> dict | None:
    """The full-size sweep by bench/reminders.py (its own database, bulk-seeded once; about an hour the first time)."""
    command = [sys.executable, str(ROOT / "bench" / "reminders.py")]
    print("reminder sweep at 1,000 × 1,000: " + " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603
    path = RESULTS / "reminders.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return {"seconds": round(data["run1"]["seconds"], 1), "source": "bench/results/reminders.json"}


async def main_async(args, seeded: dict) -> int:
    wrk_path = None if args.no_wrk else ensure_wrk()
    subjects = find_subjects(args.database_url, seeded)
    photo = photo_2mb()
    print(f"subjects: {subjects.staff} (我的任务), {subjects.supervisor}, {subjects.login} (production argon2); "
          f"{len(subjects.queue)} reports awaiting review; {len(subjects.draft_tasks)} tasks for photo drafts",
          flush=True)
    counts, texts = await in_process(subjects, photo)
    print("  SQL statements per request: " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)

    luoshi_port, bare_port = free_port(), free_port()
    base, bare = f"http://127.0.0.1:{luoshi_port}", f"http://127.0.0.1:{bare_port}"
    from sqlalchemy.engine import make_url

    from backend.db import app_url

    env = {**os.environ, "LUOSHI_LOG_LEVEL": args.log_level}
    bare_env = {**env, "BENCH_BARE_SQL": str(RESULTS / "bare-sql.pickle"),
                "BENCH_BARE_SQL_MEDIAN": str(RESULTS / "bare-sql-median.pickle"),
                "BENCH_BARE_DATABASE_URL": make_url(app_url()).set(drivername="postgresql")
                .render_as_string(hide_password=False)}
    luoshi = bare_server = None
    rows: list[Row] = []
    try:
        luoshi = start([sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port",
                        str(luoshi_port), "--workers", str(args.workers)], env, RESULTS / "run-luoshi.log")
        bare_server = start([sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1", "--port",
                             str(bare_port), "--workers", str(args.workers), "--log-level", "warning",
                             "--no-access-log"], bare_env, RESULTS / "run-bare.log")
        await wait_ready(base, luoshi, "luoshi")
        await wait_ready(bare, bare_server, "bare")
        print(f"servers: luoshi serve --workers {args.workers} on :{luoshi_port}, bare app on :{bare_port}", flush=True)
        weights = await page_weights(base, subjects)
        rows += await under_load(args, subjects, counts, photo, wrk_path, luoshi.pid, bare_server.pid, base, bare)
    finally:
        stop(luoshi)
        stop(bare_server)

    print("  in-process: bulletin, assessment, reminder sweep, plan parse", flush=True)
    rows += await bulletin_and_assessment(subjects)
    rows.append(await reminder_sweep(args.sweep_at))
    rows.append(plan_parse())
    sweep_1m = run_reminders_1m(args) if args.reminders_1m else None

    print_table(rows)
    bare_row = next(r for r in rows if r.name.startswith("bare"))
    mine = next(r for r in rows if r.name == "我的任务")
    print(f"\n我的任务 / bare endpoint: {mine.rps} / {bare_row.rps} req/s = {mine.rps / bare_row.rps:.0%}")
    print("\npage weights (bytes): " + ", ".join(f"{k} {v['wire_body']:,} ({v['content_encoding']}; gzip -5 "
                                                 f"{v['gzip5']:,})" for k, v in weights["pages"].items()))
    for name, first in weights["first_load"].items():
        print(f"first load of {name}: {first['total_as_nginx_serves']:,} B as nginx serves it "
              f"({first['total_if_html_gzipped']:,} B with the HTML gzipped too)")
    results = verdicts(rows, weights, sweep_1m)
    print("\ntargets:")
    for v in results:
        mark = {True: "holds", False: "MISSED", None: "—"}[v["holds"]]
        print(f"  {mark:7s} {v['target']}: {v['value']}")
    out = {"when": datetime.now().astimezone().isoformat(timespec="seconds"), "machine": machine(),
           "redis": redis_version(args.redis_url), "parameters": {k: v for k, v in vars(args).items()
                                                                  if k not in ("database_url", "redis_url")},
           "seed": seeded, "subjects": {**asdict(subjects), "queue": len(subjects.queue),
                                        "draft_tasks": len(subjects.draft_tasks)},
           "rows": [asdict(r) for r in rows], "ratio_my_tasks_to_bare": round(mine.rps / bare_row.rps, 3),
           "page_weights": weights, "targets": results, "sql": texts, "load_average_end": os.getloadavg()}
    (RESULTS / "run.json").write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str) + "\n")
    print(f"\nwritten: {(RESULTS / 'run.json').relative_to(ROOT)}")
    return 0


def redis_version(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return client.info("server").get("redis_version", "")
    finally:
        client.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="Any other flag goes to bench/seed.py (e.g. --bureaus, --tasks, --months).")
    ap.add_argument("--duration", type=float, default=10, help="measured seconds per path")
    ap.add_argument("--warmup", type=float, default=3, help="warm-up seconds per path (discarded)")
    ap.add_argument("--concurrency", type=int, default=16, help="clients per path")
    ap.add_argument("--login-concurrency", type=int, default=4, help="clients signing in at once")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn workers (compose.yaml's default is 2)")
    ap.add_argument("--log-level", default="INFO", help="the server's log level (production logs INFO)")
    ap.add_argument("--reseed", action="store_true", help="rebuild the database even if it matches")
    ap.add_argument("--no-wrk", action="store_true", help="use the httpx load generator for GET paths too")
    ap.add_argument("--sweep-at", default="2026-12-22T08:00:00+08:00",
                    help="the moment the reminder sweep runs as of (a report-day T-3: every rule has work)")
    ap.add_argument("--reminders-1m", action="store_true",
                    help="also run bench/reminders.py: 1,000 bureaus × 1,000 open tasks (about an hour)")
    ap.add_argument("--database-url", default=os.environ.get("LUOSHI_BENCH_RUN_DATABASE_URL",
                                                             seed_module.DEFAULT_DATABASE_URL))
    ap.add_argument("--redis-url", default=os.environ.get("LUOSHI_BENCH_REDIS_URL", seed_module.DEFAULT_REDIS_URL))
    args, seed_argv = ap.parse_known_args()
    data_dir = seed_module.DEFAULT_DATA_DIR
    if "--data-dir" in seed_argv:
        data_dir = Path(seed_argv[seed_argv.index("--data-dir") + 1])
    seeded = seed_if_needed(args, seed_argv)
    _environment(args.database_url, args.redis_url)
    # A data set seeded by an older revision is brought to the current schema (a no-op when it is current).
    from backend.core.migrate import migrate

    migrate()
    os.environ["LUOSHI_DATA_DIR"] = str(data_dir)
    os.environ["LUOSHI_LOG_LEVEL"] = "WARNING"
    return asyncio.run(main_async(args, seeded))


if __name__ == "__main__":
    raise SystemExit(main())
