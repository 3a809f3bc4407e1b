"""Benchmark of the 月通报's figures: a bureau with 300 units, 1,000 tasks and a year of reports.

    .venv/bin/python bench/bulletin.py              # seeds luoshi_bench_bulletin (about 1 min), then measures
    .venv/bin/python bench/bulletin.py --runs 15    # more runs for the median

What is timed is `backend.bulletins.figures.compute_figures(session, tenant, 2026, 10, today=2026-11-01)`, the
whole drafting computation of the job on the 1st: per unit reports due / filed / on time / late / missing, tasks
completed and reds; the bureau's completion rate and lights; the trend January–October; exemplary reports; overdue
tasks. Each run is one transaction; the statements are counted with a SQLAlchemy `before_cursor_execute` event
on the engine. Target: median ≤ 500 ms and ≤ 15 statements.

The data. The database (dropped and rebuilt by `luoshi migrate`; only a name starting with luoshi_bench is ever
dropped) gets one bureau built through the services, as the tests do: tenancy.create_tenant / create_unit (300
units: 25 科室 and 275 schools), tasks.create_tasks (1,000 monthly tasks of plan year 2026, each with a lead
unit, every third one a responsible unit and every fifth a cooperating one). The year's history is then written
by a BULK path (INSERT … SELECT / UPDATE over the seeded rows, inside the bureau's own RLS-scoped transaction),
because a year of reports through the services would mean ~13,000 form submissions with the clock moved for each:
- the assignments are backdated to 2026-01-01 (as if the plan had been assigned then);
- a progress report (kind periodic, state accepted, due_on = the 25th) for ~85% of the (assignment, month) slots of
  January–October (lead and responsible units), submitted on a day between the 15th and the 28th, `late` when
  that is after the 25th — the columns save_report / submit_report / review fill; every 40th is exemplary;
- every seventh task done on a day of 2026 (task and its assignments: state done, done_at), the lights spread
  over green / yellow / red, some deadlines before November (so there is overdue work).
Then ANALYZE (what autovacuum would have done long before the 1st), then the timed runs. Results go to
bench/results/bulletin.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RESULTS  # noqa: E402
from bench.harness.database import bench_environment, recreate_database  # noqa: E402
from bench.seed_tasks import DEFAULT_REDIS_URL, OFFICES, PASSWORD  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/luoshi_bench_bulletin"
YEAR, MONTH = 2026, 10

HISTORY = [
    # Backdate: the plan was assigned on New Year's day.
    "UPDATE task_assignments SET created_at = '2026-01-01T00:00:00+08:00'",
    # Some deadlines before November, so that the bulletin has overdue work.
    """UPDATE tasks SET deadline = make_date(2026, 3 + seq % 8, 28),
                        original_deadline = make_date(2026, 3 + seq % 8, 28) WHERE seq % 4 = 0""",
    "UPDATE task_assignments a SET deadline = t.deadline FROM tasks t WHERE t.id = a.task_id",
    # Every seventh task done on a day of the year; its assignments too.
    """UPDATE tasks SET state = 'done', progress = 100,
              done_at = make_timestamptz(2026, 1 + seq % 10, 1 + seq % 27, 2, 0, 0, 'UTC') WHERE seq % 7 = 0""",
    """UPDATE task_assignments a SET state = 'done', done_at = t.done_at FROM tasks t
       WHERE t.id = a.task_id AND t.state = 'done'""",
    "UPDATE tasks SET light = CASE WHEN seq % 5 = 1 THEN 'red' WHEN seq % 5 = 2 THEN 'yellow' ELSE 'green' END "
    "WHERE state <> 'done'",
    # ~85% of the year's report slots filed, on a day between the 15th and the 28th (late after the 25th).
    """INSERT INTO progress_reports (id, tenant_id, task_id, unit_id, period, kind, progress, problems, next_steps,
                                     support_needed, percent, no_change, no_change_reason, state, due_on, late,
                                     exemplary, submitted_at, version, created_at, updated_at)
       SELECT gen_random_uuid(), a.tenant_id, a.task_id, a.unit_id, to_char(make_date(2026, m, 1), 'YYYY-MM'),
              'periodic', '本月按计划推进，完成阶段性工作。', '', '', '', 10 * m, false, '', 'accepted',
              make_date(2026, m, 25), d > 25, (hashtext(a.id::text || m) % 40) = 0,
              make_timestamptz(2026, m, d, 2, 0, 0, 'UTC'), 2,
              make_timestamptz(2026, m, d, 1, 0, 0, 'UTC'), make_timestamptz(2026, m, d, 2, 0, 0, 'UTC')
       FROM task_assignments a JOIN tasks t ON t.id = a.task_id
       CROSS JOIN generate_series(1, 10) AS m
       CROSS JOIN LATERAL (SELECT 15 + abs(hashtext(a.id::text || m::text)) % 14 AS d) AS day
       WHERE a.kind IN ('lead', 'responsible')
         AND abs(hashtext(a.unit_id::text || m::text || t.seq::text)) % 100 < 85
         AND (a.done_at IS NULL OR a.done_at >= make_timestamptz(2026, m, 25, 0, 0, 0, 'UTC'))""",
]


async def seed(units: int, tasks: int):
    from sqlalchemy import text

    from backend.accounts.service import create_user
    from backend.core.roles import Role
    from backend.db import unit_of_work
    from backend.tasks import service as task_service
    from backend.tenancy import service as tenancy
    from backend.tenancy.acting import actor_for
    from backend.tenancy.models import UnitKind

    started = time.perf_counter()
    async with unit_of_work() as session:
        tenant = await tenancy.create_tenant(session, None, name="通报基准教育局", code="bulletin0")
        user = await create_user(session, username="bulletin0-admin", display_name="管理员", password=PASSWORD)
        await tenancy.add_member(session, None, tenant_id=tenant.id, user=user, role=Role.admin)
        admin = await actor_for(session, user, tenant.id)
        unit_ids = []
        for index in range(units):
            name = OFFICES[index] if index < len(OFFICES) else f"第{index - len(OFFICES) + 1}学校"
            kind = UnitKind.office if index < len(OFFICES) else UnitKind.school
            unit_ids.append((await tenancy.create_unit(session, admin, name=name, kind=kind)).id)
        user = await create_user(session, username="bulletin0-supervisor", display_name="督查员", password=PASSWORD)
        await tenancy.add_member(session, admin, tenant_id=tenant.id, user=user, role=Role.supervisor)
        supervisor = await actor_for(session, user, tenant.id)
    batch = 100
    for start in range(0, tasks, batch):
        specs = []
        for n in range(start, min(start + batch, tasks)):
            lead = [unit_ids[(n * 7) % len(unit_ids)]]
            if n % 3 == 0:
                lead.append(unit_ids[(n * 11 + 1) % len(unit_ids)])
            co = [unit_ids[(n * 13 + 2) % len(unit_ids)]] if n % 5 == 0 else []
            specs.append(task_service.NewTask(title=f"基准任务{n + 1}", description="", deadline=date(2026, 12, 31),
                                              lead_unit_ids=lead, co_unit_ids=[u for u in co if u not in lead]))
        async with unit_of_work(tenant.id) as session:
            await task_service.create_tasks(session, supervisor, YEAR, specs)
    services = time.perf_counter() - started
    started = time.perf_counter()
    async with unit_of_work(tenant.id) as session:
        for statement in HISTORY:
            await session.execute(text(statement))
    async with unit_of_work(tenant.id) as session:
        counts = {name: (await session.execute(text(f"SELECT count(*) FROM {name}"))).scalar_one()  # noqa: S608
                  for name in ("units", "tasks", "task_assignments", "progress_reports")}
    return tenant.id, counts, services, time.perf_counter() - started


async def measure(tenant_id, runs: int):
    from sqlalchemy import event

    from backend.bulletins.figures import compute_figures
    from backend.db import get_engine, unit_of_work

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = get_engine().sync_engine
    timings, per_run = [], []
    figures = {}
    for _run in range(runs):
        async with unit_of_work(tenant_id) as session:
            await session.connection()  # the transaction's own set-up is not the figures' cost
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            started = time.perf_counter()
            figures = await compute_figures(session, tenant_id, YEAR, MONTH, date(2026, 11, 1))
            timings.append((time.perf_counter() - started) * 1000)
            event.remove(engine, "before_cursor_execute", count)
            per_run.append(len(statements))
    return timings, per_run, figures


def fresh_database(description: str, database_url: str) -> argparse.Namespace:
    """The options of the cycle's benchmarks (this one and bench/assessment.py), and a newly migrated database."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url", default=database_url)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    bench_environment(args.database_url, args.redis_url)
    recreate_database(args.database_url)
    from backend.core.migrate import migrate

    migrate()
    return args


def main() -> None:
    args = fresh_database(__doc__.splitlines()[0], DEFAULT_DATABASE_URL)

    async def run():
        import psycopg

        tenant_id, counts, services, bulk = await seed(args.units, args.tasks)
        print(f"seeded {counts} — services {services:.1f} s, bulk history {bulk:.1f} s", flush=True)
        # What autovacuum would have done by the 1st of the month: the planner's statistics of the bulk rows.
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        return counts, await measure(tenant_id, args.runs)

    counts, (timings, statements, figures) = asyncio.run(run())
    median = statistics.median(timings)
    totals = figures["totals"]
    print(f"compute_figures {YEAR}-{MONTH:02d}: median {median:.0f} ms over {len(timings)} runs "
          f"(min {min(timings):.0f}, max {max(timings):.0f}); SQL statements per run: {sorted(set(statements))}")
    print(f"  the month: {len(figures['units'])} units, due {totals['due']}, filed {totals['filed']}, "
          f"on time {totals['on_time']}, late {totals['late']}, missing {totals['missing']}, "
          f"completed {totals['completed']}, reds {totals['reds']}; overdue {figures['overdue_total']}, "
          f"exemplary {len(figures['exemplary'])}; completion rate {figures['bureau']['completion_rate']}%")
    print(f"  target ≤ 500 ms and ≤ 15 statements: {'met' if median <= 500 and max(statements) <= 15 else 'MISSED'}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bulletin.json").write_text(json.dumps({
        "data": counts, "runs_ms": [round(t, 1) for t in timings], "median_ms": round(median, 1),
        "statements": statements}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
