"""The sender job: delivers every active bureau's due outbox messages. Idempotent (sent rows are never resent)."""

from backend.core import clock
from backend.core.jobs import job
from backend.delivery.service import deliver_due
from backend.tenancy.fanout import active_bureaus

BATCH = 200
MAX_BATCHES_PER_RUN = 50


@job
async def deliver_outbox(ctx: dict, at: str | None = None, tenant_id: str | None = None) -> int:
    """`at` delivers as of another moment (quiet hours, backoff), `tenant_id` one bureau only: see
    backend.reminders.jobs."""
    sent = 0
    for bureau_id, _timezone in await active_bureaus(tenant_id):
        for _ in range(MAX_BATCHES_PER_RUN):
            # Each batch's claim runs on the clock (unless `at` asks for another moment): a lease counted from the
            # run's start would have run out already for the batches of a run that lasts longer than the lease.
            result = await deliver_due(bureau_id, BATCH, now=clock.parse_moment(at) if at else None)
            sent += result.sent
            if result.claimed < BATCH:
                break
    return sent
