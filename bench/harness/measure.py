"""What the scripts measure with: percentiles, the machine, SQL statements counted at the engine, a server's RSS
and CPU while a scenario runs, this process's CPU and peak RSS, PostgreSQL backends' CPU, a closed-loop load."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import resource
import time
from enum import Enum

from bench.harness.database import owner_query


def percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    index = min(len(sorted_ms) - 1, max(0, round(q / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[index]


def machine() -> dict:
    import psycopg

    info = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        pass
    return info


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value


class SqlCounter:
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
        for pid, in owner_query(os.environ["DATABASE_URL"], "SELECT pid FROM pg_stat_activity WHERE datname = "
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


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def backend_cpu_seconds(database_url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend the app role has open on the database (from /proc): on a
    shared machine the wall time depends on the neighbours, the CPU time much less."""
    pids = [row[0] for row in owner_query(database_url, "SELECT pid FROM pg_stat_activity WHERE datname = "
                                          "current_database() AND usename <> current_user")]
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return out


class Exhausted(Exception):
    """The scenario has used up its data (the review queue)."""


async def closed_loop(concurrency: int, seconds: float, call) -> tuple[list[float], int, int]:
    """`concurrency` workers each send their next request as soon as the last one is answered: `call(i)` returns
    whether worker i's request succeeded. Returns the sorted latencies in ms, the errors and the requests."""
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
