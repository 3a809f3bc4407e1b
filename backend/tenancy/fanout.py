"""The per-bureau cron jobs' shared shape: the active bureaus and the fan-out of one job
per bureau. It lives in tenancy, the lowest domain that knows bureaus, so every domain's jobs can use it."""

import uuid
from collections.abc import Callable
from typing import Any

from sqlmodel import col, select

from backend.core import clock
from backend.core.jobs import enqueue
from backend.db import unit_of_work
from backend.tenancy.models import Tenant


async def active_bureaus(only: str | None = None) -> list[tuple[uuid.UUID, str]]:
    """Every active bureau as (id, time zone); or only the one whose id `only` gives (a test, an operator)."""
    query = select(Tenant.id, Tenant.timezone).where(col(Tenant.is_active))
    if only:
        query = query.where(Tenant.id == uuid.UUID(only))
    async with unit_of_work() as session:
        return [(tenant_id, timezone) for tenant_id, timezone in (await session.exec(query)).all()]


async def fan_out(job: Callable[..., Any], at: str | None, key: str) -> dict[str, int]:
    """The cron tick (no bureau named) of a per-bureau job: one job per active bureau, all as of the same moment, so
    each stays far inside arq's job timeout, runs alongside the others, and a failure costs that bureau only. The
    job id (`key:bureau:moment`) makes a second tick at the same moment queue nothing new."""
    tick = clock.parse_moment(at).isoformat()
    bureaus = await active_bureaus()
    for bureau_id, _timezone in bureaus:
        await enqueue(job, at=tick, tenant_id=str(bureau_id), _job_id=f"{key}:{bureau_id}:{tick}")
    return {"bureaus": len(bureaus)}
