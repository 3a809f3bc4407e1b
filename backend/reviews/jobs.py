"""The daily tick that opens each bureau's 季点评 once its quarter has ended, on the bureau's own calendar."""

from backend.core import clock
from backend.core.jobs import job
from backend.db import unit_of_work
from backend.reviews.service import open_past_quarter
from backend.tenancy.fanout import active_bureaus, fan_out


@job
async def open_quarterly_reviews(ctx: dict, at: str | None = None, tenant_id: str | None = None) -> dict[str, int]:
    """With a bureau: opens its past quarter's review if today (there) is in a quarter's first days. The cron tick
    (no bureau) fans out one job per active bureau as of the same moment. Idempotent: a review is opened once."""
    if tenant_id:
        opened = 0
        for bureau_id, timezone in await active_bureaus(tenant_id):
            async with unit_of_work(bureau_id) as session:
                opened += await open_past_quarter(session, bureau_id, timezone, clock.parse_moment(at)) is not None
        return {"opened": opened}
    return await fan_out(open_quarterly_reviews, at, "quarterly")
