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
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RESULTS  # noqa: E402
from bench.harness.database import flush_redis, recreate_database  # noqa: E402
from bench.harness.measure import machine, percentile  # noqa: E402
from bench.harness.photos import make_jpeg  # noqa: E402
from bench.harness.report import log_summary, mean, pad, slope  # noqa: E402
from bench.harness.servers import free_port, luoshi_command, start, stop, wait_ready  # noqa: E402
from bench.soak_seed import MAIL_DOMAIN, Persona, personas_from_database, seed  # noqa: E402
from bench.soak_users import SimulatedUser, Stats  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/luoshi_soak"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def environment(args, data_dir: Path, smtp_port: int) -> None:
    """Settings come from the environment: set before anything imports backend.config."""
    os.environ.update({
        "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "LUOSHI_DATA_DIR": str(data_dir),
        "LUOSHI_SMTP_HOST": "127.0.0.1", "LUOSHI_SMTP_PORT": str(smtp_port), "LUOSHI_SMTP_FROM": f"duban@{MAIL_DOMAIN}",
        "LUOSHI_ENVIRONMENT": "test", "LUOSHI_SECRET_KEY": "soak-secret-not-for-production",
        "LUOSHI_LOG_LEVEL": "WARNING",  # this process's own logging (seeding); the servers get --log-level
    })
    if args.cheap_argon2:
        os.environ.update({"LUOSHI_ARGON2_TIME_COST": "1", "LUOSHI_ARGON2_MEMORY_KIB": "8192"})
    else:  # the production cost, whatever the calling shell says
        os.environ.pop("LUOSHI_ARGON2_TIME_COST", None)
        os.environ.pop("LUOSHI_ARGON2_MEMORY_KIB", None)


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
            "web_rss_mb": mean([s.web_workers_rss_mb for s in in_minute]),
            "arq_rss_mb": mean([s.arq_worker_rss_mb for s in in_minute]),
            "web_cpu_pct": mean([s.web_cpu_pct for s in in_minute]),
            "machine_cpu_pct": mean([s.machine_cpu_pct for s in in_minute]),
            "load_1m": mean([s.load_1m for s in in_minute]),
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


def memory_verdict(samples: list[Sample], last_minute: int) -> dict:
    verdict = {}
    for key in ("web_workers_rss_mb", "arq_worker_rss_mb", "web_supervisor_rss_mb"):
        first = mean([getattr(s, key) for s in samples if minute_of(s.t, last_minute) == 1])
        last = mean([getattr(s, key) for s in samples if minute_of(s.t, last_minute) == last_minute])
        second = mean([getattr(s, key) for s in samples if minute_of(s.t, last_minute) == 2])
        slope_2 = slope([(s.t, getattr(s, key)) for s in samples if s.t > 60])
        slope_3 = slope([(s.t, getattr(s, key)) for s in samples if s.t > 120])
        growth = round(100 * (last - first) / first, 1) if first and last is not None else None
        # Minute 1 holds the ramp and every sign-in (argon2 buffers of 64 MiB in flight): minute 2 is the
        # first steady one.
        growth_2 = round(100 * (last - second) / second, 1) if second and last is not None and last_minute > 2 \
            else None
        verdict[key] = {"minute_1_mb": first, "minute_2_mb": second, "last_minute": last_minute,
                        "last_minute_mb": last, "growth_pct": growth, "growth_from_minute_2_pct": growth_2,
                        "slope_mb_per_min_after_minute_1": slope_2, "slope_mb_per_min_after_minute_2": slope_3,
                        "peak_mb": max((getattr(s, key) for s in samples), default=None),
                        "flag_growth_over_10pct": bool((growth is not None and growth > 10)
                                                       or (growth_2 is not None and growth_2 > 10))}
    return verdict


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
        recreate_database(args.database_url, prefix="luoshi_soak")
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
        env = {**os.environ, "LUOSHI_LOG_LEVEL": args.log_level}
        web = start([*luoshi_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                     str(args.web_workers)], env, web_log)
        worker = start([*luoshi_command(), "worker"], env, worker_log)
        asyncio.run(wait_ready(base_url, web, 60.0, log="its log (soak-web.log beside --out)"))
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
                    "load_1m_during": {"min": min(loads, default=None), "mean": mean(loads),
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
