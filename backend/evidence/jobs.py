"""arq jobs of the evidence domain. Arguments are ids; every job is idempotent."""

import uuid

from arq import Retry

from backend.core.jobs import job
from backend.db import unit_of_work
from backend.evidence.thumbnails import make_thumbnail

# A job enqueued by a request may start before that request's transaction has committed: look again a little later.
MISSING_RETRIES = 3
RETRY_DEFER_SECONDS = 2


@job
async def make_evidence_thumbnail(ctx: dict, tenant_id: str, evidence_id: str) -> str:
    async with unit_of_work(uuid.UUID(tenant_id)) as session:
        outcome = await make_thumbnail(session, uuid.UUID(evidence_id))
    tries = int(ctx.get("job_try") or 1)
    if outcome == "missing" and tries < MISSING_RETRIES:
        raise Retry(defer=RETRY_DEFER_SECONDS * tries)
    return outcome
