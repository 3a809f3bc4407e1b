"""Benchmark of 我的任务 and the supervisor's task board (GET /tasks and GET /api/v1/tasks).

    .venv/bin/python bench/seed_tasks.py        # once: builds luoshi_bench (see that file)
    .venv/bin/python bench/board.py [--duration 15] [--concurrency 16] [--warmup 3]

Two parts:

1. SQL statements per page, in-process. The app is built with backend.web.create_app in this process and
   driven through httpx.ASGITransport; every statement the engine sends (`before_cursor_execute`) during one
   request is counted. Pages of different lengths are compared: a unit's 我的任务 with about 10 tasks and
   the busiest unit's; the supervisor's board filtered to 10 tasks, unfiltered (capped at
   board.BOARD_LIMIT = 500 rows) and, with the cap lifted in this process only, all 1,000 tasks; the same
   for /api/v1/tasks. The counts must not depend on the number of rows.

2. Throughput and latency over HTTP. `luoshi serve` (uvicorn, 1 worker) is started in a subprocess against
   luoshi_bench; a unit_staff member of the unit with the most tasks and the large bureau's supervisor sign
   in through GET/POST /login (CSRF token from the form) and get an API token; then for each scenario
   --concurrency clients (one httpx.AsyncClient, that many connections, closed loop) request the page for
   --warmup seconds (discarded) and then --duration seconds (measured).

Prints a table (path, role, rows on the page, requests/s, p50 / p95 / p99 ms, errors, SQL statements per
request) and writes bench/results/board.json. The load generator runs on the same machine as the server
and PostgreSQL, so its own CPU use (reported) is taken from theirs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RESULTS, ROOT  # noqa: E402
from bench.harness.database import bench_environment  # noqa: E402
from bench.harness.measure import closed_loop, machine, percentile  # noqa: E402
from bench.harness.report import pad  # noqa: E402
from bench.harness.servers import free_port, start, stop, wait_ready  # noqa: E402
from bench.seed_tasks import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, PASSWORD  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
ROW_MARK = 'class="card task-card"'
TEN_TASKS = "督-2026-01"  # matches 督-2026-010 … 督-2026-019: a board of 10 rows


# --- who and what to measure -----------------------------------------------------------------------------


@dataclass
class Subjects:
    code: str
    supervisor: str
    busy_staff: str
    busy_unit: str
    busy_unit_id: str
    busy_tasks: int
    small_staff: str
    small_unit: str
    small_tasks: int
    bureau_tasks: int
    bureaus: int


def find_subjects(database_url: str, code: str) -> Subjects:
    """Read-only look-ups as the owner: the unit with the most tasks and one with about ten."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT id FROM tenants WHERE code = %s", (code,)).fetchone()
        if row is None:
            raise SystemExit(f"no bureau {code!r} in {database_url.rpartition('/')[2]}: run bench/seed_tasks.py first")
        tenant_id = row[0]
        per_unit = conn.execute(
            """SELECT u.id, u.name, count(a.id) AS n,
                      (SELECT us.username FROM memberships m JOIN users us ON us.id = m.user_id
                        WHERE m.unit_id = u.id AND m.role = 'unit_staff' AND m.is_active ORDER BY us.username LIMIT 1)
                 FROM units u JOIN task_assignments a ON a.unit_id = u.id
                WHERE u.tenant_id = %s GROUP BY u.id, u.name""", (tenant_id,)).fetchall()
        per_unit = [r for r in per_unit if r[3]]
        if not per_unit:
            raise SystemExit(f"bureau {code!r} has no unit with tasks and a unit_staff member")
        busy = max(per_unit, key=lambda r: (r[2], r[1]))
        small = min(per_unit, key=lambda r: (abs(r[2] - 10), r[1]))
        supervisor = conn.execute(
            """SELECT us.username FROM memberships m JOIN users us ON us.id = m.user_id
                WHERE m.tenant_id = %s AND m.role = 'supervisor' AND m.is_active ORDER BY us.username LIMIT 1""",
            (tenant_id,)).fetchone()
        if supervisor is None:
            raise SystemExit(f"bureau {code!r} has no supervisor")
        bureau_tasks = conn.execute("SELECT count(*) FROM tasks WHERE tenant_id = %s", (tenant_id,)).fetchone()[0]
        bureaus = conn.execute("SELECT count(*) FROM tenants").fetchone()[0]
    return Subjects(code, supervisor[0], busy[3], busy[1], str(busy[0]), busy[2], small[3], small[1], small[2],
                    bureau_tasks, bureaus)


def rows_on(response) -> int:
    if response.headers.get("content-type", "").startswith("application/json"):
        return len(response.json())
    return response.text.count(ROW_MARK)


async def web_login(client, username: str) -> None:
    page = await client.get("/login")
    match = CSRF_RE.search(page.text)
    if not match:
        raise SystemExit("no CSRF token on /login")
    response = await client.post("/login", data={"username": username, "password": PASSWORD,
                                                 "csrf_token": match.group(1)})
    if response.status_code != 303 or "luoshi_session" not in client.cookies:
        raise SystemExit(f"login of {username} failed: HTTP {response.status_code}")


async def api_token(username: str, code: str) -> str:
    """A personal API token made through the service (as `luoshi token create` does)."""
    from sqlmodel import select

    from backend.accounts.service import create_api_token, get_user_by_username
    from backend.db import unit_of_work
    from backend.tenancy.acting import actor_for
    from backend.tenancy.models import Tenant

    async with unit_of_work() as session:
        tenant = (await session.exec(select(Tenant).where(Tenant.code == code))).one()
        user = await get_user_by_username(session, username)
        actor = await actor_for(session, user, tenant.id)
        _token, raw = await create_api_token(session, actor, name="bench/board.py")
    return raw


# --- part 1: SQL statements per page ------------------------------------------------------------------------


@dataclass
class PageCount:
    path: str
    role: str
    rows: int
    statements: int
    note: str = ""
    sql: list[str] = field(default_factory=list)


async def count_statements(subjects: Subjects, tokens: dict[str, str]) -> list[PageCount]:
    import httpx
    from sqlalchemy import event

    from backend.db import dispose_engine, get_engine
    from backend.plans import board
    from backend.web import create_app

    app = create_app()
    seen: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    engine = get_engine()
    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    results: list[PageCount] = []
    cap = board.BOARD_LIMIT
    try:
        clients = {}
        for role, username in (("unit_staff", subjects.busy_staff), ("unit_staff (small unit)", subjects.small_staff),
                               ("supervisor", subjects.supervisor)):
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
            await web_login(client, username)
            clients[role] = client
        api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")

        async def measure(role: str, path: str, *, note: str = "", token: str | None = None) -> None:
            client = api if token else clients[role]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            await client.get(path, headers=headers)  # once first: a session or token touched now is not counted
            seen.clear()
            response = await client.get(path, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"GET {path} as {role}: HTTP {response.status_code}")
            results.append(PageCount(path, role.split(" ")[0], rows_on(response), len(seen), note, list(seen)))

        small = f"我的任务, {subjects.small_unit}"
        busy = f"我的任务, {subjects.busy_unit}"
        await measure("unit_staff (small unit)", "/tasks", note=small)
        await measure("unit_staff", "/tasks", note=busy)
        await measure("supervisor", f"/tasks?q={TEN_TASKS}", note="board, filtered to 10")
        await measure("supervisor", "/tasks", note=f"board, capped at BOARD_LIMIT={cap}")
        board.BOARD_LIMIT = 100_000
        await measure("supervisor", "/tasks", note="board, cap lifted in-process")
        board.BOARD_LIMIT = cap
        await measure("unit_staff", f"/api/v1/tasks?q={TEN_TASKS}", token=tokens["unit_staff"], note="API")
        await measure("unit_staff", "/api/v1/tasks", token=tokens["unit_staff"], note="API")
        await measure("supervisor", f"/api/v1/tasks?q={TEN_TASKS}", token=tokens["supervisor"], note="API")
        await measure("supervisor", "/api/v1/tasks", token=tokens["supervisor"], note=f"API, capped at {cap}")
        board.BOARD_LIMIT = 100_000
        await measure("supervisor", "/api/v1/tasks", token=tokens["supervisor"], note="API, cap lifted in-process")
        for client in (*clients.values(), api):
            await client.aclose()
    finally:
        board.BOARD_LIMIT = cap
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)
        await dispose_engine()
    return results


# --- part 2: the server under load -----------------------------------------------------------------------


@dataclass
class LoadResult:
    path: str
    role: str
    rows: int
    kib: float
    requests: int
    errors: int
    seconds: float
    rps: float
    p50: float
    p95: float
    p99: float
    mean: float
    server_cpu_ms_per_request: float | None
    client_cpu_ms_per_request: float
    machine_busy_pct: float
    load_average: float
    statements: int | None = None


async def hammer(client, path: str, headers: dict, concurrency: int, seconds: float) -> tuple[list[float], int, int]:
    """Closed loop: `concurrency` workers, each sending its next request when the last one has been read."""

    async def call(_i: int) -> bool:
        return (await client.get(path, headers=headers)).status_code == 200

    return await closed_loop(concurrency, seconds, call)


async def run_load(
    base_url: str, server_pid: int, subjects: Subjects, tokens: dict[str, str], args
) -> list[LoadResult]:
    import httpx
    import psutil

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    timeout = httpx.Timeout(60.0)
    cookies = {}
    for role, username in (("unit_staff", subjects.busy_staff), ("supervisor", subjects.supervisor)):
        async with httpx.AsyncClient(base_url=base_url) as login_client:
            await web_login(login_client, username)
            cookies[role] = dict(login_client.cookies)
    scenarios = [
        ("/tasks", "unit_staff", {}),
        ("/tasks", "supervisor", {}),
        (f"/tasks?unit={subjects.busy_unit_id}", "supervisor", {}),
        ("/api/v1/tasks", "unit_staff", {"Authorization": f"Bearer {tokens['unit_staff']}"}),
        ("/api/v1/tasks", "supervisor", {"Authorization": f"Bearer {tokens['supervisor']}"}),
    ]
    server = psutil.Process(server_pid)
    results = []
    for path, role, headers in scenarios:
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout,
                                     cookies={} if headers else cookies[role]) as client:
            sample = await client.get(path, headers=headers)
            if sample.status_code != 200:
                raise SystemExit(f"GET {path} as {role}: HTTP {sample.status_code}")
            await hammer(client, path, headers, args.concurrency, args.warmup)
            cpu0 = server.cpu_times()
            psutil.cpu_percent()  # starts the machine-wide measurement
            client0 = time.process_time()
            t0 = time.perf_counter()
            latencies, errors, _total = await hammer(client, path, headers, args.concurrency, args.duration)
            elapsed = time.perf_counter() - t0
            cpu1 = server.cpu_times()
            busy = psutil.cpu_percent()
            client_cpu = time.process_time() - client0
        latencies.sort()
        n = len(latencies)
        server_cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        result = LoadResult(
            path=path if "unit=" not in path else "/tasks?unit=<busiest unit>", role=role, rows=rows_on(sample),
            kib=round(len(sample.content) / 1024, 1), requests=n, errors=errors, seconds=round(elapsed, 1),
            rps=round(n / elapsed, 1), p50=round(percentile(latencies, 50), 1), p95=round(percentile(latencies, 95), 1),
            p99=round(percentile(latencies, 99), 1), mean=round(sum(latencies) / n, 1) if n else float("nan"),
            server_cpu_ms_per_request=round(server_cpu / n * 1000, 2) if n else None,
            client_cpu_ms_per_request=round(client_cpu / max(n, 1) * 1000, 2),
            machine_busy_pct=busy, load_average=round(os.getloadavg()[0], 2),
        )
        results.append(result)
        print(f"  {pad(result.path, 28)} {role:<11} {result.rows:5d} rows  {result.rps:7.1f} req/s  "
              f"p50 {result.p50:7.1f}  p95 {result.p95:7.1f}  p99 {result.p99:7.1f} ms  errors {errors}  "
              f"(CPUs {busy:.0f}% busy)", flush=True)
    return results


# --- the report --------------------------------------------------------------------------------------------


def statements_for(counts: list[PageCount], path: str, role: str) -> int | None:
    base = path.split("?")[0]
    for c in counts:
        if c.path == base and c.role == role:
            return c.statements
    return None


def print_tables(subjects: Subjects, counts: list[PageCount], load: list[LoadResult], args) -> None:
    print(f"\nSQL statements per request (in-process, {subjects.code}: {subjects.bureau_tasks} tasks "
          f"among {subjects.bureaus} bureaus)")
    print(f"  {'path':<28} {'role':<11} {'rows':>5} {'SQL':>4}  page")
    for c in counts:
        print(f"  {pad(c.path, 28)} {c.role:<11} {c.rows:5d} {c.statements:4d}  {c.note}")
    if not load:
        return
    print(f"\nUnder load: {args.concurrency} concurrent clients, {args.duration:g} s each after {args.warmup:g} s "
          f"warm-up; luoshi serve, 1 worker; {os.cpu_count()} CPUs shared by server, PostgreSQL and client")
    header = (f"  {'path':<28} {'role':<11} {'rows':>5} {'KiB':>6} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} "
              f"{'errors':>6} {'SQL':>4} {'srv CPU ms/req':>14} {'CPUs busy':>9}")
    print(header)
    for r in load:
        sql = "" if r.statements is None else r.statements
        srv = "" if r.server_cpu_ms_per_request is None else f"{r.server_cpu_ms_per_request:.1f}"
        print(f"  {pad(r.path, 28)} {r.role:<11} {r.rows:5d} {r.kib:6.1f} {r.rps:7.1f} {r.p50:7.1f} {r.p95:7.1f} "
              f"{r.p99:7.1f} {r.errors:6d} {sql!s:>4} {srv:>14} {r.machine_busy_pct:8.0f}%")
    print("  (latencies in ms, measured by the client; SQL: statements per request, from the in-process count;\n"
          "   srv CPU: the server process's CPU time per request; CPUs busy: the whole machine, others included)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=15.0, help="measured seconds per scenario")
    ap.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds per scenario before it")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--bureau", default="bench000", help="code of the large bureau")
    ap.add_argument("--port", type=int, default=0, help="port for luoshi serve (default: a free one)")
    ap.add_argument("--log-level", default="INFO", help="the server's LUOSHI_LOG_LEVEL (access log to server.log)")
    ap.add_argument("--counts-only", action="store_true", help="only count SQL statements per page")
    ap.add_argument("--database-url", default=os.environ.get("LUOSHI_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    ap.add_argument("--redis-url", default=os.environ.get("LUOSHI_BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = ap.parse_args()
    bench_environment(args.database_url, args.redis_url)
    RESULTS.mkdir(parents=True, exist_ok=True)

    subjects = find_subjects(args.database_url, args.bureau)
    print(f"bureau {subjects.code}: {subjects.bureau_tasks} tasks, {subjects.bureaus} bureaus in the database; "
          f"unit_staff {subjects.busy_staff} ({subjects.busy_unit}, {subjects.busy_tasks} tasks), "
          f"supervisor {subjects.supervisor}", flush=True)

    async def prepare():
        from backend.db import dispose_engine

        try:
            return {"unit_staff": await api_token(subjects.busy_staff, subjects.code),
                    "supervisor": await api_token(subjects.supervisor, subjects.code)}
        finally:
            await dispose_engine()

    tokens = asyncio.run(prepare())
    counts = asyncio.run(count_statements(subjects, tokens))
    load: list[LoadResult] = []
    if not args.counts_only:
        port = args.port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start([sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                        "--workers", "1"], {**os.environ, "LUOSHI_LOG_LEVEL": args.log_level}, RESULTS / "server.log")
        print(f"luoshi serve on {base_url} (pid {server.pid}); {args.concurrency} clients, "
              f"{args.warmup:g} s warm-up + {args.duration:g} s per scenario", flush=True)
        try:
            asyncio.run(wait_ready(base_url, server))
            load = asyncio.run(run_load(base_url, server.pid, subjects, tokens, args))
        finally:
            stop(server, grace=15)
        for r in load:
            r.statements = statements_for(counts, r.path, r.role)

    print_tables(subjects, counts, load, args)
    out = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "parameters": {"duration_s": args.duration, "warmup_s": args.warmup, "concurrency": args.concurrency,
                       "server": "luoshi serve, uvicorn, 1 worker", "log_level": args.log_level},
        "subjects": asdict(subjects),
        "sql_per_page": [asdict(c) for c in counts],
        "load": [asdict(r) for r in load],
    }
    seed = RESULTS / "seed.json"
    if seed.exists():
        out["seed"] = json.loads(seed.read_text())
    (RESULTS / "board.json").write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten: {(RESULTS / 'board.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
