"""Daily recomputation of every bureau's traffic lights, on each bureau's own date."""



from backend.core.clock import local_today
from backend.core.jobs import job
from backend.db import unit_of_work
from backend.holidays.jobs import refresh_calendar
from backend.reports.lights import refresh_lights
from backend.tenancy.fanout import active_bureaus


@job
async def refresh_all_lights(ctx: dict) -> int:
    """Idempotent: a second run on the same day finds nothing to change."""
    await refresh_calendar()
    changed = 0
    for tenant_id, timezone in await active_bureaus():
        async with unit_of_work(tenant_id) as session:
            today = local_today(timezone)
            changed += await refresh_lights(session, tenant_id, today=today, trigger="每日巡检")
    return changed
