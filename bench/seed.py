"""Seeds `luoshi_bench_run`, the database bench/run.py measures: bureaus, units, people, tasks, months of reports
with their evidence. Reproducible (--seed) and parameterised.

    .venv/bin/python bench/seed.py                    # 3 bureaus × 50 units × 300 tasks, 6 months: ~4 minutes
    .venv/bin/python bench/seed.py --bureaus 10 --units 300 --tasks 1000 --months 11 --evidence 2 --evidence-kib 400
                                                      # the large set (hours; see docs/PERFORMANCE.md)

Everything is written through the services, never SQL:
- bureaus, units, people, tasks and lights: `bench.seed_tasks.seed_bureau` (tenancy.create_tenant / create_unit /
  add_member, accounts.create_user, tasks.create_tasks, lights.refresh_lights), with the unit tree and the
  tasks planned by `bench.seed_tasks.plan_units` / `plan_tasks` from the seed;
- reports: for every task, its lead unit's staff member files one report per month for the last --months months
  (reports.save_report → evidence.upload_evidence → reports.submit_report), and the bureau's supervisor accepts
  every month but the current one (reports.review). Of the current month's reports --submitted-share are
  submitted and wait in the review queue (bench/run.py reviews them); the rest are not written yet.
- evidence: --evidence photo-like JPEGs of about --evidence-kib KiB per report (unique bytes each, so none is a
  duplicate), stored under --data-dir as the app stores them.
- one more person per bureau, `<code>-login` (unit staff of the busiest unit), whose password is hashed at the
  production argon2id cost: bench/run.py measures signing in with it. Everyone else's hash is cheap (as in
  seed_tasks.py) so that seeding is quick.

The same parameters and seed give the same names, units, tasks, deadlines, assignments, reports and photos;
only ids and timestamps differ. Past months' reports are filed now, so they are all marked late (`late` is
decided by submitted_at against due_on): this data set measures speed, not the statistics of punctuality.

Larger than a few thousand tasks, use bench/reminders.py's bulk path for the reminder sweep (1,000 × 1,000; its
`--bureaus`/`--tasks-per-bureau`), which writes the rows these services write and checks that it does.
Writes bench/results/seed-run.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RESULTS  # noqa: E402
from bench.harness.database import bench_environment, recreate_database  # noqa: E402
from bench.harness.photos import photo, unique_jpeg  # noqa: E402
from bench.seed_tasks import (  # noqa: E402
    DEFAULT_REDIS_URL,
    PASSWORD,
    Timer,
    plan_bureaus,
    seed_bureau,
)
from bench.soak_seed import NEXT_STEPS, PROBLEMS, PROGRESS  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/luoshi_bench_run"
DEFAULT_DATA_DIR = RESULTS / "run-data"
TIMEZONE = "Asia/Shanghai"


def periods(months: int, today: date) -> list[str]:
    """The last `months` monthly periods, oldest first, ending with the current month."""
    out = []
    year, month = today.year, today.month
    for _ in range(months):
        out.append(f"{year}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


async def _chunks(data: bytes):
    yield data


async def login_user(code: str, busiest_unit: str) -> None:
    """`<code>-login`: a unit staff member with a password hashed at the production argon2id cost."""
    from sqlmodel import select

    from backend.accounts.models import User
    from backend.accounts.service import create_user
    from backend.config import get_settings
    from backend.core import security
    from backend.core.roles import Role
    from backend.db import unit_of_work
    from backend.tenancy import service as tenancy
    from backend.tenancy.acting import actor_for
    from backend.tenancy.models import Tenant, Unit

    saved = {k: os.environ.pop(k) for k in ("LUOSHI_ARGON2_TIME_COST", "LUOSHI_ARGON2_MEMORY_KIB") if k in os.environ}
    get_settings.cache_clear()
    security._hasher.cache_clear()
    try:
        async with unit_of_work() as session:
            tenant_id = (await session.exec(select(Tenant.id).where(Tenant.code == code))).one()
        async with unit_of_work(tenant_id) as session:
            admin = await actor_for(session, (await session.exec(
                select(User).where(User.username == f"{code}-admin"))).one(), tenant_id)
            unit = (await session.exec(select(Unit).where(Unit.tenant_id == tenant_id,
                                                          Unit.name == busiest_unit))).one()
            user = await create_user(session, username=f"{code}-login", display_name=f"{busiest_unit}登录测试",
                                     password=PASSWORD)
            await tenancy.add_member(session, admin, tenant_id=tenant_id, user=user, role=Role.unit_staff,
                                     unit_id=unit.id)
    finally:
        os.environ.update(saved)
        get_settings.cache_clear()
        security._hasher.cache_clear()


async def seed_reports(code: str, spec, args, timer: Timer, rng: random.Random, photos: list[bytes]) -> Counter:
    """Every task's lead unit files a report a month; the supervisor accepts all but the current month's."""
    from sqlmodel import col, select

    from backend.accounts.models import User
    from backend.db import unit_of_work
    from backend.reports import attaching
    from backend.reports import service as reports
    from backend.tasks.models import Task
    from backend.tenancy.acting import actor_for
    from backend.tenancy.models import Tenant

    counts: Counter = Counter()
    async with unit_of_work() as session:
        tenant_id = (await session.exec(select(Tenant.id).where(Tenant.code == code))).one()
    async with unit_of_work(tenant_id) as session:
        task_ids = list((await session.exec(
            select(Task.id).where(Task.tenant_id == tenant_id).order_by(col(Task.seq)))).all())
        users = {u.username: u for u in (await session.exec(
            select(User).where(col(User.username).startswith(f"{code}-")))).all()}
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    months = periods(args.months, today)
    current = months[-1]
    t0 = time.perf_counter()
    for start in range(0, len(task_ids), args.batch):
        async with unit_of_work(tenant_id) as session:
            supervisor = await actor_for(session, users[f"{code}-supervisor"], tenant_id)
            writers: dict[str, object] = {}
            for index in range(start, min(start + args.batch, len(task_ids))):
                task_id, plan = task_ids[index], spec.tasks[index]
                username = f"{code}-u{plan.lead[0]:03d}-staff"
                if username not in writers:
                    writers[username] = await actor_for(session, users[username], tenant_id)
                writer = writers[username]
                for period in months:
                    if period == current and rng.random() >= args.submitted_share:
                        continue
                    report = await reports.save_report(
                        session, writer, task_id, period=period, progress=rng.choice(PROGRESS),
                        problems=rng.choice(PROBLEMS), next_steps=rng.choice(NEXT_STEPS),
                        percent=min(100, 10 * (months.index(period) + 1) + rng.randint(0, 9)), version=0)
                    for k in range(args.evidence):
                        await attaching.upload(
                            session, writer, task_id, filename=f"现场照片{k + 1}.jpg",
                            chunks=_chunks(unique_jpeg(photos[k % len(photos)], f"{code}/{index}/{period}/{k}")),
                            description=f"{period}工作现场", report_id=report.id)
                        counts["evidence"] += 1
                    report = await reports.submit_report(session, writer, report.id, version=report.version)
                    counts["reports"] += 1
                    if period == current:
                        counts["awaiting_review"] += 1
                    else:
                        await reports.review(session, supervisor, report.id, accept=True, comment="",
                                             version=report.version)
                        counts["accepted"] += 1
    timer.add("reports", time.perf_counter() - t0)
    return counts


async def seed(args) -> dict:
    from backend.db import dispose_engine

    timer = Timer()
    plan_args = SimpleNamespace(bureaus=args.bureaus, units=args.large_units or args.units,
                                tasks=args.large_tasks or args.tasks, small_units=args.units,
                                small_tasks=args.tasks, seed=args.seed)
    specs = plan_bureaus(plan_args)
    rng = random.Random(args.seed + 1)
    photos = [photo(rng, args.evidence_kib) for _ in range(min(args.evidence, 3))] if args.evidence else []
    bureaus = []
    try:
        for spec in specs:
            t0 = time.perf_counter()
            summary = await seed_bureau(spec, 100, timer)
            t1 = time.perf_counter()
            summary["reports"] = dict(await seed_reports(spec.code, spec, args, timer, rng, photos))
            t2 = time.perf_counter()
            await login_user(spec.code, summary["busiest_unit"])
            timer.add("login_user", time.perf_counter() - t2)
            summary["seconds"] = round(time.perf_counter() - t0, 1)
            bureaus.append(summary)
            print(f"  {spec.code}: {summary['units']} units, {summary['tasks']} tasks in {t1 - t0:.1f} s; "
                  f"{summary['reports'].get('reports', 0)} reports, {summary['reports'].get('evidence', 0)} photos "
                  f"in {t2 - t1:.1f} s", flush=True)
    finally:
        await dispose_engine()
    return {"bureaus": bureaus, "seconds": {k: round(v, 1) for k, v in timer.phases.items()},
            "photo_bytes": [len(p) for p in photos]}


TABLES = ("tenants", "units", "users", "memberships", "tasks", "task_assignments", "progress_reports",
          "report_reviews", "evidence", "stored_files", "notifications", "audit_events")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bureaus", type=int, default=3, help="bureaus (the first, bench000, is the measured one)")
    ap.add_argument("--units", type=int, default=50, help="units per bureau (each has a head and a staff member)")
    ap.add_argument("--tasks", type=int, default=300, help="tasks per bureau")
    ap.add_argument("--large-units", type=int, default=0, help="units of bench000 if larger than the others")
    ap.add_argument("--large-tasks", type=int, default=0, help="tasks of bench000 if more than the others")
    ap.add_argument("--months", type=int, default=6, help="months of reports, ending with the current month")
    ap.add_argument("--submitted-share", type=float, default=0.5,
                    help="share of the current month's reports submitted (the review queue)")
    ap.add_argument("--evidence", type=int, default=1, help="photos per report")
    ap.add_argument("--evidence-kib", type=int, default=24, help="size of each photo, KiB")
    ap.add_argument("--batch", type=int, default=25, help="tasks per transaction while writing reports")
    ap.add_argument("--seed", type=int, default=20261123, help="random seed of the generated data")
    ap.add_argument("--database-url", default=os.environ.get("LUOSHI_BENCH_RUN_DATABASE_URL", DEFAULT_DATABASE_URL))
    ap.add_argument("--redis-url", default=os.environ.get("LUOSHI_BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="evidence files (wiped first)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.bureaus, args.units, args.tasks, args.months) < 1:
        raise SystemExit("--bureaus, --units, --tasks and --months must be at least 1")
    bench_environment(args.database_url, args.redis_url)
    os.environ["LUOSHI_DATA_DIR"] = str(args.data_dir)
    shutil.rmtree(args.data_dir, ignore_errors=True)
    args.data_dir.mkdir(parents=True)
    print(f"seeding {args.database_url.rpartition('/')[2]}: {args.bureaus} bureaus × {args.units} units × "
          f"{args.tasks} tasks × {args.months} months, {args.evidence} × {args.evidence_kib} KiB photos per report "
          f"(seed {args.seed})", flush=True)
    t0 = time.perf_counter()
    recreate_database(args.database_url)
    from backend.core.migrate import migrate

    migrate()
    migrated = time.perf_counter() - t0
    result = asyncio.run(seed(args))

    import psycopg

    with psycopg.connect(args.database_url, autocommit=True) as conn:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608
        conn.execute("VACUUM ANALYZE")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    total = time.perf_counter() - t0
    print(f"seeded in {total:.0f} s (migrate {migrated:.1f} s; " +
          ", ".join(f"{k} {v} s" for k, v in result["seconds"].items()) + f"); database {size}")
    print("  rows: " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    out = {"parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                          if k not in ("database_url", "redis_url")},
           "database": args.database_url.rpartition("/")[2], "database_size": size,
           "seconds_total": round(total, 1), "rows": rows, **result, "password": PASSWORD}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "seed-run.json").write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
