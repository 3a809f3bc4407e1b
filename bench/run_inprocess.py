"""The in-process half of `make bench` (bench/run.py): the rows of its table, the subjects it measures, the SQL
statements each measured request sends (counted on the app built in this process), and bulletin generation,
assessment computation, the reminder sweep and the plan parser timed in-process."""

from __future__ import annotations

import importlib
import os
import pickle
import time
from dataclasses import dataclass, field
from datetime import datetime

from bench import seed as seed_module
from bench.board import CSRF_RE
from bench.harness import RESULTS, ROOT
from bench.harness.database import owner_query
from bench.harness.measure import SqlCounter, percentile
from bench.harness.photos import photo, unique_jpeg
from bench.seed_tasks import PASSWORD


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
    tenant_id, = owner_query(database_url, "SELECT id FROM tenants WHERE code = %s", (code,))[0]
    unit_id, = owner_query(database_url, "SELECT m.unit_id FROM memberships m JOIN users u ON u.id = m.user_id "
                           "WHERE u.username = %s", (large["busiest_unit_staff"],))[0]
    current = seed_module.periods(1, datetime.now(seed_module.ZoneInfo(seed_module.TIMEZONE)).date())[0]
    ledger = owner_query(database_url, "SELECT task_id FROM progress_reports WHERE unit_id = %s GROUP BY task_id "
                         "ORDER BY count(*) DESC, task_id LIMIT 1", (unit_id,))
    drafts = owner_query(database_url, "SELECT DISTINCT r.task_id FROM progress_reports r WHERE r.unit_id = %s AND NOT "
                         "EXISTS (SELECT 1 FROM progress_reports c WHERE c.task_id = r.task_id AND c.period = %s "
                         "AND c.state <> 'draft') ORDER BY r.task_id", (unit_id, current))
    queue = owner_query(database_url, "SELECT id, version FROM progress_reports WHERE tenant_id = %s AND state = "
                        "'submitted' ORDER BY id", (tenant_id,))
    per_unit = owner_query(database_url, "SELECT u.username, count(a.id) FROM memberships m JOIN users u ON u.id = "
                           "m.user_id JOIN task_assignments a ON a.unit_id = m.unit_id WHERE m.tenant_id = %s AND "
                           "u.username LIKE %s GROUP BY u.username ORDER BY count(a.id), u.username",
                           (tenant_id, f"{code}-u%-staff"))
    typical = per_unit[len(per_unit) // 2] if per_unit else (large["busiest_unit_staff"], 0)
    return Subjects(code, str(tenant_id), large["busiest_unit_staff"], f"{code}-supervisor", f"{code}-login",
                    str(unit_id), str(ledger[0][0]) if ledger else "", [str(t) for t, in drafts],
                    [(str(i), v) for i, v in queue], typical[0], typical[1])


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

    return photo(random.Random(2), 2048)


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
            with SqlCounter() as counter:
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
                report_id = owner_query(os.environ["DATABASE_URL"], "SELECT id FROM progress_reports WHERE "
                                        "task_id = %s AND state = 'draft'", (task,))[0][0]
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
        with SqlCounter() as counter:
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
        with SqlCounter() as counter:
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
    tasks, = owner_query(os.environ["DATABASE_URL"],
                         "SELECT count(*) FROM tasks WHERE state NOT IN ('done', 'cancelled')")[0]
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
