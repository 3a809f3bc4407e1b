"""The 1st-of-the-month drafting: each active bureau gets last month's draft on its own 1st, or on the first tick of
the month's first week when the worker was down on the 1st."""

from datetime import datetime

from backend.bulletins.service import draft_for_month, previous_month
from backend.core import clock
from backend.core.jobs import job
from backend.db import unit_of_work
from backend.tenancy.fanout import active_bureaus, fan_out

CATCH_UP_DAYS = 7


async def draft_due(at: datetime, only: str | None = None) -> int:
    """Drafts last month's bulletin for each bureau (or only the one named) whose local date at `at` is in the first
    week of a month and which has none for last month yet; how many were newly drafted."""
    drafted = 0
    for tenant_id, timezone in await active_bureaus(only):
        today = clock.local_now(timezone, at).date()
        if today.day > CATCH_UP_DAYS:
            continue
        year, month = previous_month(today)
        async with unit_of_work(tenant_id) as session:
            _bulletin, new = await draft_for_month(session, tenant_id, year, month, today=today)
        drafted += new
    return drafted


@job
async def draft_bulletins(ctx: dict, at: str | None = None, tenant_id: str | None = None) -> dict[str, int]:
    """The daily tick (no bureau) fans out one job per active bureau as of the same moment, like the reminder
    sweep; each drafts only in its bureau's first week of the month and only if the month has no bulletin yet, so a
    rerun, a second tick or a restarted worker drafts nothing twice. `at` (ISO) runs it as of another moment."""
    if tenant_id:
        return {"drafted": await draft_due(clock.parse_moment(at), tenant_id)}
    return await fan_out(draft_bulletins, at, "bulletin")
