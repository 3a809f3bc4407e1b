"""Bureau-by-bureau housekeeping run by the worker: the once-only keys of forms (backend.core.once). It reads the
bureaus, so it lives in tenancy, not in accounts below it."""

from sqlmodel import select

from backend.core import once
from backend.core.jobs import job
from backend.db import unit_of_work
from backend.tenancy.models import Tenant


@job
async def purge_form_keys(ctx: dict) -> int:
    """Each bureau's old form keys, in its own transaction (the table has row-level security). Returns how many."""
    async with unit_of_work() as session:
        tenants = list((await session.exec(select(Tenant.id))).all())
    purged = 0
    for tenant_id in tenants:
        async with unit_of_work(tenant_id) as session:
            purged += await once.purge_old(session)
    return purged
