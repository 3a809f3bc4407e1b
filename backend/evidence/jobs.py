"""arq jobs of the evidence domain. Arguments are ids; every job is idempotent."""

import uuid
from datetime import timedelta

from sqlmodel import col, select

from backend.core import clock
from backend.core.jobs import job
from backend.db import unit_of_work
from backend.evidence.models import Evidence
from backend.evidence.thumbnails import make_thumbnail
from backend.files.models import StoredFile
from backend.tenancy.models import Tenant

# The catch-up looks back this far (a long weekend's Redis outage), so that a picture that cannot be read is not
# tried again for ever; at most this many per bureau and run.
CATCH_UP_DAYS = 3
CATCH_UP_BATCH = 200


@job
async def make_evidence_thumbnail(ctx: dict, tenant_id: str, evidence_id: str) -> str:
    """A request queues this only once its upload has committed (core/jobs.jobs_after_commit), so evidence that is
    missing was deleted in the meantime: there is nothing to wait for."""
    async with unit_of_work(uuid.UUID(tenant_id)) as session:
        return await make_thumbnail(session, uuid.UUID(evidence_id))


@job
async def catch_up_thumbnails(ctx: dict) -> int:
    """Makes the thumbnails whose job never ran: an upload counts even when Redis is down and its job cannot be
    queued, and a Redis that comes back empty has lost what was queued. Recent images without a thumbnail (HEIC
    pictures get none); idempotent like the job itself. Returns how many were made."""
    since = clock.now() - timedelta(days=CATCH_UP_DAYS)
    async with unit_of_work() as session:
        tenants = list((await session.exec(select(Tenant.id).where(col(Tenant.is_active)))).all())
    made = 0
    for tenant_id in tenants:
        async with unit_of_work(tenant_id) as session:
            missing = (await session.exec(
                select(Evidence.id).join(StoredFile, col(StoredFile.id) == Evidence.file_id)
                .where(Evidence.kind == "image", col(Evidence.thumbnail_file_id).is_(None),
                       col(Evidence.uploaded_at) > since, StoredFile.content_type != "image/heic")
                .order_by(col(Evidence.uploaded_at)).limit(CATCH_UP_BATCH))).all()
        for evidence_id in missing:
            async with unit_of_work(tenant_id) as session:
                made += await make_thumbnail(session, evidence_id) == "made"
    return made
