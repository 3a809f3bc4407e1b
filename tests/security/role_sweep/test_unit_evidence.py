"""Found by the role sweep: a unit's evidence is replaced only by its uploader, their unit's head or a supervisor."""

import pytest
from sqlmodel import select

from backend.accounts.models import User
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import Forbidden
from backend.evidence import service as evidence_service
from backend.evidence.models import Evidence
from backend.tenancy.acting import actor_for
from tests.security.role_sweep.harness import fresh_png
from tests.support.fixtures import create_bureau


async def test_another_unit_cannot_replace_a_units_evidence():
    """Found by the sweep: a co-unit's staff or head could upload a "new version" of the lead unit's evidence,
    which marks the lead unit's proof as replaced. Now only its uploader, the head of the uploader's unit or a
    supervisor can."""
    bureau = await create_bureau(whole_loop=True)
    async with unit_of_work(bureau.tenant.id) as session:
        [old] = (await session.exec(select(Evidence))).all()  # the office clerk's photo, on the office's report
        clerk = await session.get(User, old.uploaded_by)
        office_clerk = await actor_for(session, clerk, bureau.tenant.id)
    assert office_clerk.unit_id == bureau.units["office"].id
    for role in (Role.unit_staff, Role.unit_head):  # the school's: it cooperates on the task
        with pytest.raises(Forbidden):
            async with unit_of_work(bureau.tenant.id) as session:
                await evidence_service.supersede(session, bureau.actors[role], old.id, filename="替换.png",
                                                 chunks=_chunks(fresh_png()))
    async with unit_of_work(bureau.tenant.id) as session:
        new = await evidence_service.supersede(session, office_clerk, old.id, filename="替换.png",
                                               chunks=_chunks(fresh_png()))
        assert new.supersedes_id == old.id
    async with unit_of_work(bureau.tenant.id) as session:
        assert len((await session.exec(select(Evidence))).all()) == 2  # the old version and the clerk's


async def _chunks(data: bytes):
    yield data
