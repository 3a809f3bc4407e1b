"""Benchmark of the 年考核's compute: a bureau with 300 units, 1,000 tasks, a year of reports and four published
quarterly reviews.

    .venv/bin/python bench/assessment.py              # seeds luoshi_bench_assessment (about 1 min), then measures
    .venv/bin/python bench/assessment.py --runs 15    # more runs for the median

What is timed is `backend.assessments.service.compute(session, supervisor, assessment, version=None)`, what the
「重新计算」 button runs: every unit's completion, timeliness (through `unit_report_counts`), rating and clamped
adjustment, totals and ranks, written with one INSERT … ON CONFLICT, and the compute's audit event with each
unit's basis. Each run is one committed transaction; the SQL statements are counted with a
`before_cursor_execute` event on the engine. Three runs before ANALYZE (fresh bulk rows, no planner statistics),
then ANALYZE (what autovacuum does long before the year's end), then the timed runs.

The data is bench/bulletin.py's (the same `seed`: units, tasks and assignments through the services, then a year's
reports and 办结 by a bulk path), in a database of its own. Added here by the same kind of bulk path, inside the
bureau's RLS-scoped transaction: the four quarterly reviews of 2026, published, with a rating (score 60–100) for
~90% of the lead / responsible assignments in each; and a bonus or penalty for every tenth unit. Results go to
bench/results/assessment.json.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bulletin import YEAR, fresh_database, seed  # noqa: E402
from bench.harness import RESULTS  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/luoshi_bench_assessment"

REVIEWS = [
    """INSERT INTO quarterly_reviews (id, tenant_id, year, quarter, scale, state, summary, published_at, published_by,
                                      version, created_at, updated_at)
       SELECT gen_random_uuid(), CAST(:tenant_id AS uuid), 2026, q, 'score', 'published', '', now(),
              CAST(:user_id AS uuid), 2, now(), now()
       FROM generate_series(1, 4) AS q""",
    """INSERT INTO quarterly_ratings (id, tenant_id, review_id, task_id, unit_id, grade, score, comment, rated_by,
                                      rated_at)
       SELECT gen_random_uuid(), a.tenant_id, q.id, a.task_id, a.unit_id, NULL,
              60 + abs(hashtext(a.id::text || q.quarter::text)) % 41, '', CAST(:user_id AS uuid), now()
       FROM task_assignments a CROSS JOIN quarterly_reviews q
       WHERE a.kind IN ('lead', 'responsible') AND abs(hashtext(a.id::text || q.quarter::text)) % 10 < 9""",
]


async def prepare(tenant_id) -> tuple:
    """The quarterly reviews, the assessment (opened through the service) and some adjustments."""
    from sqlalchemy import text
    from sqlmodel import col, select

    from backend.accounts.models import User
    from backend.assessments import service as assessments
    from backend.db import unit_of_work
    from backend.tenancy.acting import actor_for
    from backend.tenancy.models import Unit

    async with unit_of_work(tenant_id) as session:
        user = (await session.exec(select(User).where(User.username == "bulletin0-supervisor"))).one()
        supervisor = await actor_for(session, user, tenant_id)
        for statement in REVIEWS:
            await session.exec(text(statement), params={"tenant_id": str(tenant_id), "user_id": str(user.id)})
    async with unit_of_work(tenant_id) as session:
        assessment = await assessments.open_assessment(session, supervisor, year=YEAR)
        units = (await session.exec(select(Unit.id).order_by(col(Unit.name)))).all()
    for index, unit_id in enumerate(units[::10]):
        async with unit_of_work(tenant_id) as session:
            current = await assessments.get_assessment(session, supervisor, assessment.id)
            await assessments.adjust(session, supervisor, assessment.id, unit_id=unit_id,
                                     points="2" if index % 2 else "-1", reason="基准加减分",
                                     version=current.version)
    async with unit_of_work(tenant_id) as session:
        ratings = (await session.exec(text("SELECT count(*) FROM quarterly_ratings"))).one()[0]
    return supervisor, assessment.id, ratings, len(units[::10])


async def measure(supervisor, assessment_id, runs: int):
    from sqlalchemy import event, text

    from backend.assessments import service as assessments
    from backend.db import get_engine, unit_of_work

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = get_engine().sync_engine
    timings, per_run = [], []
    for _run in range(runs):
        async with unit_of_work(supervisor.tenant_id) as session:
            await session.connection()
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            started = time.perf_counter()
            await assessments.compute(session, supervisor, assessment_id, version=None)
            await session.flush()
            timings.append((time.perf_counter() - started) * 1000)
            event.remove(engine, "before_cursor_execute", count)
            per_run.append(len(statements))
    async with unit_of_work(supervisor.tenant_id) as session:
        top = (await session.exec(text(
            "SELECT u.name, s.total, s.rank FROM assessment_scores s JOIN units u ON u.id = s.unit_id "
            "WHERE s.assessment_id = :a ORDER BY s.rank, u.name LIMIT 3"), params={"a": str(assessment_id)})).all()
        scored = (await session.exec(text("SELECT count(*) FROM assessment_scores WHERE assessment_id = :a"),
                                     params={"a": str(assessment_id)})).one()[0]
    return timings, per_run, top, scored


def main() -> None:
    args = fresh_database(__doc__.splitlines()[0], DEFAULT_DATABASE_URL)

    async def run():
        import psycopg

        tenant_id, counts, services, bulk = await seed(args.units, args.tasks)
        supervisor, assessment_id, ratings, adjusted = await prepare(tenant_id)
        print(f"seeded {counts}, {ratings} quarterly ratings, {adjusted} adjustments — services {services:.1f} s, "
              f"bulk history {bulk:.1f} s", flush=True)
        fresh, _statements, _top, _scored = await measure(supervisor, assessment_id, 3)
        print(f"before ANALYZE (no planner statistics for the bulk rows): median {statistics.median(fresh):.0f} ms "
              f"over 3 runs", flush=True)
        # What autovacuum would have done long before the year's end.
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        return counts, ratings, fresh, await measure(supervisor, assessment_id, args.runs)

    counts, ratings, fresh, (timings, statements, top, scored) = asyncio.run(run())
    median = statistics.median(timings)
    print(f"compute {YEAR} over {scored} units: median {median:.0f} ms over {len(timings)} runs "
          f"(min {min(timings):.0f}, max {max(timings):.0f}); SQL statements per run: {sorted(set(statements))}")
    print("  top: " + "; ".join(f"{rank}. {name} {total:.2f}" for name, total, rank in top))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "assessment.json").write_text(json.dumps({
        "data": counts | {"quarterly_ratings": ratings, "units_scored": scored},
        "runs_ms": [round(t, 1) for t in timings], "median_ms": round(median, 1), "statements": statements,
        "before_analyze_ms": [round(t, 1) for t in fresh]},
        ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
