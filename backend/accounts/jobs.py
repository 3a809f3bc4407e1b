"""Account housekeeping run by the worker: expired sessions (the forms' keys are tenancy/jobs.py's)."""

from backend.accounts import service as accounts
from backend.core.jobs import job
from backend.db import unit_of_work


@job
async def purge_expired_sessions(ctx: dict) -> int:
    async with unit_of_work() as session:
        return await accounts.purge_expired_sessions(session)
