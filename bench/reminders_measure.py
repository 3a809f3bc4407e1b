"""What the reminder benchmark (bench/reminders.py) measures: the sweep timed with every statement attributed to
its bureau and rule, the CPU of this process and of PostgreSQL, the rows written; and the sweep fanned out as the
cron does, one arq job per bureau."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from contextlib import asynccontextmanager
from datetime import datetime

from bench.harness import ROOT
from bench.harness.database import owner_query
from bench.harness.measure import backend_cpu_seconds, own_cpu_seconds, peak_rss_mib

# --- measuring -------------------------------------------------------------------------------------------

PHASES = ("get_policy", "_deadline_reminders", "_report_day_reminders", "_escalate", "daily_digests",
          "weekly_overview")


class Instrument:
    """Times each bureau's transaction (sweep_all's unit_of_work), each rule of sweep_bureau, and each statement."""

    def __init__(self) -> None:
        self.bureau_seconds: dict[uuid.UUID, float] = {}
        self.phase_seconds: Counter = Counter()
        self.statement_seconds: dict[str, list[float]] = defaultdict(list)
        self.statement_by_bureau: dict[str, dict[uuid.UUID, float]] = defaultdict(dict)
        self.statement_text: dict[str, str] = {}
        self.statements_per_bureau: Counter = Counter()
        self.sql_by_phase: Counter = Counter()
        self.current: uuid.UUID | None = None
        self.phase = "sweep_all"
        self._undo: list = []

    def install(self) -> None:
        from sqlalchemy import event

        from backend.db import get_engine
        from backend.reminders import jobs, sweep

        real_uow = jobs.unit_of_work

        @asynccontextmanager
        async def timed_uow(tenant_id=None):
            if tenant_id is None:
                async with real_uow() as session:
                    yield session
                return
            self.current, started = tenant_id, time.perf_counter()
            async with real_uow(tenant_id) as session:
                yield session
            self.bureau_seconds[tenant_id] = time.perf_counter() - started
            self.current, self.phase = None, "sweep_all"

        jobs.unit_of_work = timed_uow
        self._undo.append(lambda: setattr(jobs, "unit_of_work", real_uow))
        for name in PHASES:
            real = getattr(sweep, name)
            setattr(sweep, name, self._timed_phase(name, real))
            self._undo.append(lambda name=name, real=real: setattr(sweep, name, real))

        engine = get_engine().sync_engine

        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("bench_started", []).append(time.perf_counter())

        def after(conn, cursor, statement, parameters, context, executemany):
            seconds = time.perf_counter() - conn.info["bench_started"].pop()
            label = f"{self.phase}: {describe(statement)}"
            self.sql_by_phase[self.phase] += seconds
            self.statement_seconds[label].append(seconds)
            self.statement_text[label] = statement
            if self.current is not None:
                by_bureau = self.statement_by_bureau[label]
                by_bureau[self.current] = by_bureau.get(self.current, 0.0) + seconds
                self.statements_per_bureau[self.current] += 1

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        self._undo.append(lambda: (event.remove(engine, "before_cursor_execute", before),
                                   event.remove(engine, "after_cursor_execute", after)))

    def _timed_phase(self, name: str, real):
        async def timed(*args, **kwargs):
            outer, self.phase, started = self.phase, name, time.perf_counter()
            try:
                return await real(*args, **kwargs)
            finally:
                self.phase_seconds[name] += time.perf_counter() - started
                self.phase = outer

        return timed

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()


def describe(statement: str) -> str:
    """A short name for a statement of the sweep."""
    flat = " ".join(statement.split())
    if "INSERT INTO notifications" in flat:
        return "notify_decided (notifications + e-mail/SMS outbox)"
    if "INSERT INTO outbox" in flat:
        return "queue_robot_messages (robot outbox)"
    if "INSERT INTO supervision_notices" in flat:
        return "issue 督办单 (INSERT supervision_notices)"
    if "pg_advisory_xact_lock" in flat:
        return "advisory lock"
    if "set_config" in flat:
        return "set_config(app.tenant_id)"
    match = re.search(r"\bFROM\s+(\w+)", flat)
    digest = hashlib.md5(flat.encode()).hexdigest()[:4]  # noqa: S324 — tells apart statements on the same table
    return f"{flat.split()[0].upper()} {match.group(1) if match else ''} #{digest}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, int(-(-p * len(ordered) // 1)) - 1))]


async def timed_sweep(at: datetime, *, label: str, instrument: Instrument | None = None) -> dict:
    """sweep_all(at) once, timed; the rows it wrote are counted afterwards as the owner."""
    from backend.db import dispose_engine, get_engine, unit_of_work
    from backend.reminders.jobs import sweep_all

    database_url = os.environ["DATABASE_URL"]
    try:
        get_engine()
        async with unit_of_work() as session:  # the pool is warm, as in a running worker
            from sqlalchemy import text

            await session.exec(text("SELECT 1"))
        if instrument:
            instrument.install()
        since = owner_query(database_url, "SELECT clock_timestamp()")[0][0]
        rss_before = peak_rss_mib()
        load_before = os.getloadavg()[0]
        db_before = backend_cpu_seconds(database_url)
        cpu_before = own_cpu_seconds()
        started = time.perf_counter()
        decisions = await sweep_all(at)
        seconds = time.perf_counter() - started
        cpu = own_cpu_seconds() - cpu_before
        db_after = backend_cpu_seconds(database_url)
        rss_after = peak_rss_mib()
        load_after = os.getloadavg()[0]
    finally:
        if instrument:
            instrument.uninstall()
        await dispose_engine()
    written = {
        "notifications": dict(owner_query(database_url, "SELECT kind, count(*) FROM notifications "
                                          "WHERE created_at >= %s GROUP BY kind ORDER BY kind", (since,))),
        "outbox": dict(owner_query(database_url, "SELECT channel, count(*) FROM outbox WHERE created_at >= %s "
                                   "GROUP BY channel ORDER BY channel", (since,))),
        "supervision_notices": dict(owner_query(database_url, "SELECT level, count(*) FROM supervision_notices "
                                                "WHERE issued_at >= %s GROUP BY level ORDER BY level", (since,))),
    }
    rows = sum(sum(v.values()) for v in written.values())
    return {"label": label, "at": at.isoformat(), "seconds": seconds, "decisions": decisions, "written": written,
            "rows_written": rows, "rows_per_second": rows / seconds if seconds else 0.0, "since": since.isoformat(),
            "client_cpu_seconds": cpu,
            "postgres_cpu_seconds": sum(v - db_before.get(pid, 0.0) for pid, v in db_after.items()),
            "load_average_1min_before_after": [round(load_before, 2), round(load_after, 2)],
            "peak_rss_mib_before": round(rss_before, 1), "peak_rss_mib_after": round(rss_after, 1)}


async def _forget_earlier_sweep_jobs() -> None:
    """The tick names each job `sweep:<bureau>:<tick>`, and arq refuses a job id it still holds (queued, running
    or a kept result): jobs of an earlier run at the same --at would silently not run. This benchmark's Redis
    database is its own, so they are deleted."""
    from redis.asyncio import Redis

    redis = Redis.from_url(os.environ["REDIS_URL"])
    try:
        stale = [key async for key in redis.scan_iter(match="arq:*sweep:*")]
        if stale:
            await redis.delete(*stale)
    finally:
        await redis.aclose()


async def fanned_out_sweep(at: datetime, jobs: int, processes: int) -> dict:
    """What production does: the cron tick enqueues one `sweep_reminders` job per bureau; `processes` arq workers
    (subprocesses of `luoshi worker`'s settings, burst mode) each run up to `jobs` of them at a time. Timed from
    the tick until the queue is empty."""
    from backend.db import dispose_engine
    from backend.reminders.jobs import sweep_reminders

    database_url = os.environ["DATABASE_URL"]
    await _forget_earlier_sweep_jobs()
    since = owner_query(database_url, "SELECT clock_timestamp()")[0][0]
    db_before = backend_cpu_seconds(database_url)
    started = time.perf_counter()
    ticked = await sweep_reminders({}, at=at.isoformat())
    await dispose_engine()
    # The Worker is built inside the running loop (arq binds it to the loop it is created in).
    worker = ("import asyncio; from arq import Worker; from workers.settings import WorkerSettings; "
              "from backend.core.jobs import redis_settings\n"
              "async def main():\n"
              "    await Worker(functions=WorkerSettings.functions, redis_settings=redis_settings(), burst=True, "
              f"handle_signals=False, poll_delay=0.05, max_jobs={jobs}).main()\n"
              "asyncio.run(main())")
    children = [await asyncio.create_subprocess_exec(sys.executable, "-c", worker, cwd=ROOT)
                for _ in range(processes)]
    for child in children:
        await child.wait()
    seconds = time.perf_counter() - started
    db_after = backend_cpu_seconds(database_url)
    rows = owner_query(database_url, "SELECT (SELECT count(*) FROM notifications WHERE created_at >= %s) + "
                       "(SELECT count(*) FROM outbox WHERE created_at >= %s) + "
                       "(SELECT count(*) FROM supervision_notices WHERE issued_at >= %s)", (since, since, since))[0][0]
    return {"label": f"fanned out: {processes} worker processes × {jobs} jobs", "seconds": seconds,
            "bureaus": ticked["bureaus"], "rows_written": rows,
            "rows_per_second": rows / seconds if seconds else 0.0,
            "postgres_cpu_seconds_sampled": sum(v - db_before.get(pid, 0.0) for pid, v in db_after.items()),
            "worker_exit_codes": [child.returncode for child in children]}


def summary_of(run: dict) -> dict:
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in run.items()}


def bureau_stats(instrument: Instrument) -> dict:
    ms = [s * 1000 for s in instrument.bureau_seconds.values()]
    per = list(instrument.statements_per_bureau.values())
    if not ms:
        return {}
    return {"bureaus": len(ms), "mean_ms": round(statistics.fmean(ms), 2), "p50_ms": round(percentile(ms, .5), 2),
            "p95_ms": round(percentile(ms, .95), 2), "max_ms": round(max(ms), 2),
            "statements_per_bureau": round(statistics.fmean(per), 1) if per else 0}


def statement_table(instrument: Instrument, top: int = 12) -> list[dict]:
    rows = [{"statement": label, "calls": len(times), "total_s": round(sum(times), 3),
             "mean_ms": round(1000 * sum(times) / len(times), 3), "max_ms": round(1000 * max(times), 2)}
            for label, times in instrument.statement_seconds.items()]
    return sorted(rows, key=lambda r: -r["total_s"])[:top]
