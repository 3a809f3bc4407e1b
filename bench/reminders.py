"""Benchmark of the reminder sweep: 1,000 bureaus × 1,000 open tasks, the time to decide and enqueue a day's reminders.

    .venv/bin/python bench/reminders.py                                   # 1,000 × 1,000 (seeds once, ~10 min)
    .venv/bin/python bench/reminders.py --bureaus 20 --tasks-per-bureau 200   # a quick try (~1 min)

What is timed is `backend.reminders.jobs.sweep_all(at)`, the job's own body: for every active bureau one transaction
that runs `sweep_bureau` (deadline T-7/T-3/T-1 reminders, report-day reminders, overdue escalation with its 督办单,
the daily digests) and writes the notifications and outbox rows (e-mail, SMS, group robots) it decides. Then the
same sweep again, which must decide nothing (every decision has a dedupe key) — its time is the cost of a no-op tick.

The database (`luoshi_bench_reminders`, migrated by `luoshi migrate`) is built once and reused while the parameters
(--bureaus, --tasks-per-bureau, --units-per-bureau, --seed, --at) and the schema's revision stay the same; --reseed
rebuilds it. What a run writes is removed at the start of the next run (rows created after the seed's marker), so
every run measures the same day from the same state.

The data. Bureau 0 (`rem0000`) is built through the services, as the tests' fixtures do: tenancy.create_tenant /
create_unit / add_member, accounts.create_user, notifications.update_preferences, delivery.add_channel,
tasks.create_tasks and assign_units, lifecycle.acknowledge, reports.save_report / submit_report / review. The other
bureaus are written by a BULK path: INSERT … SELECT over generate_series, run as the owner, that writes the rows
those services write (every NOT NULL column filled as they fill it; ids are md5-derived, so the same seed gives
the same rows). Seeding 1,000,000 tasks through the services would take hours. Both paths take their plan from the
same SQL (task_plan below), so bureau 0 and the bulk bureaus have the same shape. Before measuring, the script
compares them: the seeded rows column by column, and what `sweep_bureau` decides for bureau 0 and for bureau 1 (in
transactions that are rolled back).

Left out of the bulk path because the sweep never reads them: audit_events, light_changes, task_checklist_items,
task_targets, and the notifications that report reviews send. Task lights are approximated (red when overdue,
yellow within 4 days, else green): only the Monday overview reads them.

History. After seeding, the sweep runs once for the working day before --at (timed and reported as the catch-up
sweep: the first sweep over a database that never had one, with every overdue assignment escalated at once). So at
--at the escalations already issued stay issued, and the sweep decides one day's work, as on any working day.

--at defaults to Tuesday 2026-12-22 08:00 Beijing time: after the 07:30 digest time, outside quiet hours, and the
day the report-day rule's T-3 fires for the 25th (the default report day), so every rule has work. On 2026-12-15 the
report-day rule would decide nothing.

Prints the totals, per-bureau mean / p50 / p95 / max, the decisions by rule (what sweep_all returns), the
notifications and outbox rows written by kind and channel, rows/s, the time per rule (in SQL statements and the
rest) and per statement, the peak RSS, the CPU seconds of this process and of its PostgreSQL backend (on a shared
machine these depend far less on the neighbours than the wall time), and the no-op second run. If the sweep takes
over 30 s (or with --explain) the heaviest statement is EXPLAINed (ANALYZE, BUFFERS, with track_io_timing on for
this database) for the median bureau: that bureau's rows of run 1 are deleted, its sweep runs in a transaction that
is rolled back with the statement EXPLAINed on the way, then runs again for real. Results go to
bench/results/reminders.json.
"""

# ruff: noqa: S608 — the SQL is composed from this file's constants and integers; every value is a bound parameter.
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RESULTS, ROOT  # noqa: E402
from bench.harness.database import bench_environment  # noqa: E402
from bench.harness.measure import machine  # noqa: E402
from bench.reminders_check import equivalence, explain  # noqa: E402
from bench.reminders_measure import (  # noqa: E402
    Instrument,
    bureau_stats,
    fanned_out_sweep,
    statement_table,
    summary_of,
    timed_sweep,
)
from bench.reminders_plan import (  # noqa: E402
    DEFAULT_AT,
    DEFAULT_DATABASE_URL,
    ROBOT_UNITS,
    SHARES,
    TARGET_SECONDS,
    Plan,
    local_at,
)
from bench.reminders_seed import head_revision, read_meta, reset, reuse_key, seed, write_setting  # noqa: E402
from bench.seed_tasks import DEFAULT_REDIS_URL  # noqa: E402

# --- the report --------------------------------------------------------------------------------------------


def print_run(run: dict, stats: dict, instrument: Instrument) -> None:
    print(f"  total {run['seconds']:.2f} s for {stats.get('bureaus', 0)} bureaus; per bureau mean "
          f"{stats.get('mean_ms', 0):.1f} ms, p50 {stats.get('p50_ms', 0):.1f}, p95 {stats.get('p95_ms', 0):.1f}, "
          f"max {stats.get('max_ms', 0):.1f}; {stats.get('statements_per_bureau', 0)} SQL statements per bureau")
    print(f"  decisions (sweep_all's totals): {run['decisions']}")
    print(f"  written: notifications {run['written']['notifications'] or 0}; outbox {run['written']['outbox'] or 0}; "
          f"督办单 {run['written']['supervision_notices'] or 0}")
    print(f"  {run['rows_written']:,} rows in {run['seconds']:.2f} s = {run['rows_per_second']:,.0f} rows/s; peak RSS "
          f"{run['peak_rss_mib_after']:.0f} MiB (before the sweep {run['peak_rss_mib_before']:.0f} MiB)")
    print(f"  CPU: this process {run['client_cpu_seconds']:.1f} s, its PostgreSQL backend(s) "
          f"{run['postgres_cpu_seconds']:.1f} s, of {run['seconds']:.1f} s wall; load average (1 min) "
          f"{run['load_average_1min_before_after'][0]} → {run['load_average_1min_before_after'][1]} on "
          f"{os.cpu_count()} CPUs")
    print("  seconds by rule (wall / in SQL statements / the rest: Python, driver, waits):")
    for name, wall in instrument.phase_seconds.most_common():
        sql = instrument.sql_by_phase[name]
        print(f"    {name:<22}{wall:9.2f}{sql:9.2f}{wall - sql:9.2f}")
    outside = sum(instrument.bureau_seconds.values()) - sum(instrument.sql_by_phase.values())
    print(f"    {'all bureaus':<22}{sum(instrument.bureau_seconds.values()):9.2f}"
          f"{sum(instrument.sql_by_phase.values()):9.2f}{outside:9.2f}")


def by_rule(instrument: Instrument) -> dict:
    return {name: {"wall_s": round(wall, 3), "sql_s": round(instrument.sql_by_phase[name], 3),
                   "other_s": round(wall - instrument.sql_by_phase[name], 3)}
            for name, wall in instrument.phase_seconds.most_common()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bureaus", type=int, default=1000, help="bureaus; bureau 0 is built through the services")
    ap.add_argument("--tasks-per-bureau", type=int, default=1000, help="open tasks per bureau")
    ap.add_argument("--units-per-bureau", type=int, default=20, help="units per bureau (each a head and a staff)")
    ap.add_argument("--seed", type=int, default=20261222, help="seed of the generated data")
    ap.add_argument("--at", default=DEFAULT_AT, help="the moment the sweep runs as of (ISO, with offset)")
    ap.add_argument("--reseed", action="store_true", help="rebuild the database even if it matches")
    ap.add_argument("--explain", action="store_true", help="EXPLAIN the heaviest statement even under 30 s")
    ap.add_argument("--fan-out", type=int, default=0, metavar="JOBS",
                    help="also run the sweep as the cron does: one arq job per bureau, JOBS at a time per worker")
    ap.add_argument("--fan-out-processes", type=int, default=2, help="worker processes for --fan-out")
    ap.add_argument("--chunk", type=int, default=50, help="bulk bureaus per transaction while seeding")
    ap.add_argument("--database-url", default=os.environ.get("LUOSHI_BENCH_REMINDERS_DATABASE_URL",
                                                             DEFAULT_DATABASE_URL))
    ap.add_argument("--redis-url", default=os.environ.get("LUOSHI_BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = ap.parse_args()
    if args.bureaus < 1 or args.tasks_per_bureau < 1 or args.units_per_bureau < 1 or args.bureaus > 9999:
        ap.error("--bureaus (1–9999), --tasks-per-bureau and --units-per-bureau must be at least 1")
    if not args.database_url.rpartition("/")[2].startswith("luoshi_bench"):
        ap.error("the database's name must start with luoshi_bench")
    bench_environment(args.database_url, args.redis_url)
    plan = Plan(args)
    at = local_at(args)
    from backend.core.calendar import is_workday

    if not is_workday(at.date()):
        print(f"note: {at.date()} is not a working day; the deadline and report-day rules fire on working days only")

    total_tasks = args.bureaus * args.tasks_per_bureau
    print(f"reminder sweep benchmark: {args.bureaus} bureaus × {args.tasks_per_bureau} tasks = {total_tasks:,} open "
          f"tasks, {args.units_per_bureau} units per bureau; at {at.isoformat()} "
          f"({args.database_url.rpartition('/')[2]})", flush=True)
    meta = None if args.reseed else read_meta(args.database_url)
    why = "--reseed" if args.reseed else "no seeded database"
    if meta is not None:
        if meta.get("key") != reuse_key(args):
            why, meta = f"it was seeded with {meta.get('key')}", None
        elif meta.get("revision") != head_revision() or meta.get("revision_now") != head_revision():
            why, meta = f"its schema is at {meta.get('revision_now')}, the code at {head_revision()}", None
    seeded_now = meta is None
    if meta is None:
        print(f"seeding ({why}) …", flush=True)
        started = time.perf_counter()
        meta = seed(args, plan)
        print(f"seeded in {time.perf_counter() - started:.1f} s: " + ", ".join(
            f"{k} {v} s" for k, v in meta["seconds"].items()), flush=True)
    else:
        print(f"reusing the database seeded at {meta['seeded_at']} (in {sum(meta['seconds'].values()):.0f} s)")
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in meta["rows"].items()) + f"; size {meta['size']}")

    write_setting(args.database_url, "track_io_timing", "on")  # I/O times in EXPLAIN (BUFFERS); this database only
    t0 = time.perf_counter()
    deleted = reset(args.database_url, meta["marker"])
    if any(deleted.values()):
        print(f"reset: removed what the last run wrote ({deleted}) in {time.perf_counter() - t0:.1f} s")

    check = asyncio.run(equivalence(meta, args))

    print(f"\nRun 1: sweep_all({at.isoformat()}) — decide and enqueue the day's reminders", flush=True)
    first = Instrument()
    run1 = asyncio.run(timed_sweep(at, label="first", instrument=first))
    stats1 = bureau_stats(first)
    print_run(run1, stats1, first)
    statements = statement_table(first)
    print("  heaviest statements (all bureaus):")
    for row in statements[:8]:
        print(f"    {row['total_s']:8.2f} s {row['calls']:6d} calls {row['mean_ms']:8.2f} ms mean  {row['statement']}")

    print("\nRun 2: the same sweep again (must decide nothing new)", flush=True)
    second = Instrument()
    run2 = asyncio.run(timed_sweep(at, label="second (no-op)", instrument=second))
    stats2 = bureau_stats(second)
    print_run(run2, stats2, second)
    idempotent = run2["rows_written"] == 0 and not any(run2["decisions"].values())
    print(f"  {'idempotent: nothing new decided' if idempotent else 'NOT IDEMPOTENT: the second run wrote rows'}")

    run3 = None
    if args.fan_out:
        print(f"\nRun 3: as the cron does — one job per bureau, {args.fan_out_processes} worker processes × "
              f"{args.fan_out} jobs each (what run 1 wrote is removed first)", flush=True)
        reset(args.database_url, meta["marker"])
        run3 = asyncio.run(fanned_out_sweep(at, args.fan_out, args.fan_out_processes))
        print(f"  total {run3['seconds']:.2f} s for {run3['bureaus']} bureaus; {run3['rows_written']:,} rows "
              f"({run3['rows_per_second']:,.0f} rows/s); worker exit codes {run3['worker_exit_codes']}")

    plan_out = None
    if run1["seconds"] > TARGET_SECONDS or args.explain:
        print("\nEXPLAIN (ANALYZE, BUFFERS) of the heaviest statement, for one bureau (rolled back):", flush=True)
        plan_out = asyncio.run(explain(first, args.database_url, at, run1["since"]))
        print(f"  {plan_out['statement']} — bureau {plan_out['bureau']} (median bureau for this statement; "
              f"{plan_out['measured_ms_in_run']} ms in run 1)")
        for line in plan_out["plan"]:
            print("  | " + line)

    verdict = "within" if run1["seconds"] <= TARGET_SECONDS else "OVER"
    print(f"\n{total_tasks:,} open tasks: decided and enqueued in {run1['seconds']:.1f} s ({verdict} the "
          f"{TARGET_SECONDS:.0f} s target); no-op sweep {run2['seconds']:.1f} s")

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "machine": machine(), "parameters": reuse_key(args) | {"chunk": args.chunk, "shares": SHARES,
                                                                "robot_units": ROBOT_UNITS},
        "database": args.database_url.rpartition("/")[2], "seeded_in_this_run": seeded_now,
        "seed": {k: meta.get(k) for k in ("seeded_at", "seconds", "rows", "size", "catch_up")},
        "reset": deleted, "equivalence": check,
        "run1": summary_of(run1) | {"per_bureau": stats1, "seconds_by_rule": by_rule(first),
                                    "statements": statements},
        "run2": summary_of(run2) | {"per_bureau": stats2, "seconds_by_rule": by_rule(second),
                                    "idempotent": idempotent},
        "run3_fanned_out": summary_of(run3) if run3 else None,
        "target_seconds": TARGET_SECONDS, "explain": plan_out,
    }
    (RESULTS / "reminders.json").write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str) + "\n")
    print(f"written: {(RESULTS / 'reminders.json').relative_to(ROOT)}")
    return 0 if idempotent and check.get("equivalent", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
