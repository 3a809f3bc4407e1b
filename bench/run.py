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
import gzip
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed as seed_module  # noqa: E402
from bench.board import CSRF_RE  # noqa: E402
from bench.harness import RESULTS, ROOT  # noqa: E402
from bench.harness.database import (  # noqa: E402
    bench_environment,
    copy_database,
    database_exists,
    owner_query,
    redis_version,
)
from bench.harness.measure import Exhausted, Watch, children_cpu, closed_loop, machine, percentile  # noqa: E402
from bench.harness.photos import unique_jpeg  # noqa: E402
from bench.harness.report import fmt  # noqa: E402
from bench.harness.servers import free_port, start, stop, wait_ready  # noqa: E402
from bench.harness.wrk import ensure_wrk, wrk  # noqa: E402
from bench.run_inprocess import (  # noqa: E402
    Row,
    Subjects,
    bulletin_and_assessment,
    find_subjects,
    in_process,
    login,
    photo_2mb,
    plan_parse,
    reminder_sweep,
)
from bench.seed_tasks import PASSWORD  # noqa: E402

TARGETS = {"my_tasks_ratio": 0.60, "my_tasks_p95_ms": 50, "upload_p95_ms": 250, "bulletin_ms": 500,
           "bulletin_queries": 15, "sweep_1m_s": 30, "first_load_kib": 80}

# --- set-up ----------------------------------------------------------------------------------------------------


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


# --- part 2: the servers under load ------------------------------------------------------------------------------


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
    report_of = dict(owner_query(os.environ["DATABASE_URL"], "SELECT task_id::text, id::text FROM progress_reports "
                                 "WHERE task_id = ANY(%s::uuid[]) AND state = 'draft'", (drafts,)))
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
        await wait_ready(base, luoshi, 60, log="bench/results/run-luoshi.log")
        await wait_ready(bare, bare_server, 60, log="bench/results/run-bare.log")
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
    bench_environment(args.database_url, args.redis_url)
    # A data set seeded by an older revision is brought to the current schema (a no-op when it is current).
    from backend.core.migrate import migrate

    migrate()
    os.environ["LUOSHI_DATA_DIR"] = str(data_dir)
    os.environ["LUOSHI_LOG_LEVEL"] = "WARNING"
    return asyncio.run(main_async(args, seeded))


if __name__ == "__main__":
    raise SystemExit(main())
