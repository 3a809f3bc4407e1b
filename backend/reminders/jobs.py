"""The reminder sweep over every active bureau, each on its own clock. `at` lets an operator (or a test) run the
rules as of another moment: `luoshi remind --at 2026-12-28T08:00+08:00`."""

from collections import Counter
from dataclasses import asdict
from datetime import datetime

from backend.core import clock
from backend.core.jobs import job
from backend.db import unit_of_work
from backend.holidays.jobs import refresh_calendar
from backend.reminders.sweep import sweep_bureau
from backend.tenancy.fanout import active_bureaus, fan_out


async def sweep_all(at: datetime, only: str | None = None) -> dict[str, int]:
    totals: Counter = Counter()
    await refresh_calendar()
    for tenant_id, timezone in await active_bureaus(only):
        async with unit_of_work(tenant_id) as session:
            totals.update(asdict(await sweep_bureau(session, tenant_id, timezone, at)))
    return dict(totals)


@job
async def sweep_reminders(ctx: dict, at: str | None = None, tenant_id: str | None = None) -> dict[str, int]:
    """Sweeps one bureau; the cron tick (no bureau) fans out one job per active bureau (`fan_out`).
    Idempotent: every decision has a dedupe key, so a repeated run (or a restarted worker) adds nothing."""
    if tenant_id:
        return await sweep_all(clock.parse_moment(at), tenant_id)
    return await fan_out(sweep_reminders, at, "sweep")
