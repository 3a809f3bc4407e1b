"""Enqueueing arq jobs with the request id, and the wrapper that restores it (and counts the job) in the worker."""

import asyncio
import dataclasses
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.typing import WorkerCoroutine
from arq.worker import Retry

from backend.config import get_settings
from backend.core.observability import JOBS, request_id_var

log = logging.getLogger("luoshi.jobs")
_pool: ArqRedis | None = None
# A request that queues a job after its commit waits at most this long for Redis before it answers anyway.
ENQUEUE_TIMEOUT_SECONDS = 2.0


def redis_settings() -> RedisSettings:
    url = get_settings().redis_url or "redis://127.0.0.1:6379/0"
    if url.startswith("unix://"):
        return RedisSettings(unix_socket_path=url.removeprefix("unix://"))
    return RedisSettings.from_dsn(url)


_after_commit: ContextVar[list[tuple[str, tuple[Any, ...]]] | None] = ContextVar("after_commit", default=None)


def job_name(function: str | Callable[..., Any]) -> str:
    """The name arq knows a job by: its function's (our code passes the function itself, so a rename cannot leave a
    caller queueing a job that no longer exists); a string is taken as is (tests, the shell)."""
    return function if isinstance(function, str) else function.__name__


def sends_after_commit() -> bool:
    """Whether this code runs inside a unit of work that sends jobs after its commit (a request does)."""
    return _after_commit.get() is not None


def enqueue_after_commit(function: str | Callable[..., Any], *args: Any) -> None:
    """Queues a job to be sent once the request's transaction has committed, and dropped if it rolls back."""
    pending = _after_commit.get()
    if pending is None:
        raise RuntimeError("enqueue_after_commit outside a request transaction")
    pending.append((job_name(function), args))


@asynccontextmanager
async def jobs_after_commit() -> AsyncIterator[None]:
    """Wraps a unit of work: what it queued is sent after it commits; Redis being down loses no data (jobs are
    idempotent and re-derivable), it is logged."""
    pending: list[tuple[str, tuple[Any, ...]]] = []
    token = _after_commit.set(pending)
    try:
        yield
    finally:
        _after_commit.reset(token)
    for name, args in pending:
        try:
            await enqueue(name, *args)
        except Exception:  # noqa: BLE001 — any failure to reach Redis
            log.warning("job not enqueued", exc_info=True, extra={"job": name})


async def enqueue(function: str | Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Call after the transaction commits (jobs take ids and read committed state). Fails within
    ENQUEUE_TIMEOUT_SECONDS when Redis is away, instead of waiting out arq's reconnection attempts (five, a second
    apart) or a Redis that does not answer: a request is not held up by a job."""
    global _pool
    async with asyncio.timeout(ENQUEUE_TIMEOUT_SECONDS):
        if _pool is None:
            _pool = await create_pool(dataclasses.replace(redis_settings(), conn_retries=0))
        await _pool.enqueue_job(job_name(function), *args, request_id=request_id_var.get(), **kwargs)


def job(function: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
    @functools.wraps(function)
    async def run(ctx: dict, *args: Any, request_id: str | None = None, **kwargs: Any) -> Any:
        token = request_id_var.set(request_id or f"job-{ctx.get('job_id', '')}")
        try:
            result = await function(ctx, *args, **kwargs)
        except Retry:
            JOBS.labels(function.__name__, "retry").inc()
            log.info("job retried later", extra={"job": function.__name__})
            raise
        except Exception:
            JOBS.labels(function.__name__, "error").inc()
            log.exception("job failed", extra={"job": function.__name__})
            raise
        else:
            JOBS.labels(function.__name__, "ok").inc()
            log.info("job done", extra={"job": function.__name__})
            return result
        finally:
            request_id_var.reset(token)

    return run
