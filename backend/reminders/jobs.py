"""The reminder sweep over every active bureau, each on its own clock. `at` lets an operator (or a test) run the
rules as of another moment: `luoshi remind --at 2026-12-28T08:00+08:00`."""

import uuid
from collections import Counter
from dataclasses import asdict
from datetime import datetime

from sqlmodel import col, select

from backend.core import clock
from backend.core.jobs import enqueue, job
from backend.db import unit_of_work
from backend.holidays.jobs import refresh_calendar
from backend.reminders.sweep import sweep_bureau
from backend.tenancy.models import Tenant


async def active_bureaus(only: str | None = None) -> list[tuple[uuid.UUID, str]]:
    """Every active bureau as (id, time zone); or only the one whose id `only` gives (a test, an operator)."""
    query = select(Tenant.id, Tenant.timezone).where(col(Tenant.is_active))
    if only:
        query = query.where(Tenant.id == uuid.UUID(only))
    async with unit_of_work() as session:
        return [(tenant_id, timezone) for tenant_id, timezone in (await session.exec(query)).all()]


async def sweep_all(at: datetime, only: str | None = None) -> dict[str, int]:
    totals: Counter = Counter()
    await refresh_calendar()
    for tenant_id, timezone in await active_bureaus(only):
        async with unit_of_work(tenant_id) as session:
            totals.update(asdict(await sweep_bureau(session, tenant_id, timezone, at)))
    return dict(totals)


@job
async def sweep_reminders(ctx: dict, at: str | None = None, tenant_id: str | None = None) -> dict[str, int]:
    """Sweeps one bureau. The cron tick (no bureau) fans out one job per active bureau as of the same moment: each
    stays far inside arq's job timeout, runs alongside the others, and a failure costs that bureau only.
    Idempotent: every decision has a dedupe key, so a repeated run (or a restarted worker) adds nothing."""
    if tenant_id:
        return await sweep_all(clock.parse_moment(at), tenant_id)
    tick = clock.parse_moment(at).isoformat()
    bureaus = await active_bureaus()
    for bureau_id, _timezone in bureaus:
        await enqueue("sweep_reminders", at=tick, tenant_id=str(bureau_id), _job_id=f"sweep:{bureau_id}:{tick}")
    return {"bureaus": len(bureaus)}
