"""The sender job: delivers every active bureau's due outbox messages. Idempotent (sent rows are never resent)."""

from sqlmodel import col, select

from backend.core.jobs import job
from backend.db import unit_of_work
from backend.delivery.service import deliver_due
from backend.reminders.jobs import moment
from backend.tenancy.models import Tenant

BATCH = 200
MAX_BATCHES_PER_RUN = 50


@job
async def deliver_outbox(ctx: dict, at: str | None = None) -> int:
    """`at` delivers as of another moment (quiet hours, backoff): see backend.reminders.jobs."""
    async with unit_of_work() as session:
        tenant_ids = list((await session.exec(select(Tenant.id).where(col(Tenant.is_active)))).all())
    sent = 0
    for tenant_id in tenant_ids:
        for _ in range(MAX_BATCHES_PER_RUN):
            # Each batch's claim runs on the clock (unless `at` asks for another moment): a lease counted from the
            # run's start would have run out already for the batches of a run that lasts longer than the lease.
            result = await deliver_due(tenant_id, BATCH, now=moment(at) if at else None)
            sent += result.sent
            if result.claimed < BATCH:
                break
    return sent
