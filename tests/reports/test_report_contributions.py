"""A cooperating unit's part of the lead unit's report."""

import pytest
from sqlmodel import select

from backend.db import unit_of_work
from backend.errors import Forbidden, InvalidInput
from backend.reports import service as reports
from backend.reports.models import ReportContribution
from tests.reports.helpers import events, report_of, run, save

pytestmark = pytest.mark.usefixtures("november")


async def test_a_cooperating_unit_adds_and_rewrites_its_part(loop):
    draft = await save(loop)
    await run(loop, reports.contribute, loop.co_staff, draft.id, text="学校组织教师参加2次")
    await run(loop, reports.contribute, loop.co_head, draft.id, text="学校组织教师参加3次")
    async with unit_of_work(loop.tenant_id) as session:
        rows = (await session.exec(select(ReportContribution).where(ReportContribution.report_id == draft.id))).all()
    assert [(r.text, r.unit_id, r.author_id) for r in rows] == [
        ("学校组织教师参加3次", loop.bureau.units["school"].id, loop.co_head.user_id)]
    contributed = await events(loop, "report.contribute", draft.id)
    assert [e.details["before"] for e in contributed] == [None, "学校组织教师参加2次"]
    assert (await report_of(loop, draft.id)).version == draft.version  # the lead's form does not go stale
    with pytest.raises(InvalidInput) as caught:
        await run(loop, reports.contribute, loop.co_staff, draft.id, text="  ")
    assert caught.value.field == "text"


@pytest.mark.parametrize("who", ["staff", "head", "supervisor", "leader", "admin"])
async def test_only_a_cooperating_unit_contributes(loop, who):
    draft = await save(loop)
    with pytest.raises(Forbidden):
        await run(loop, reports.contribute, getattr(loop, who), draft.id, text="我也写一段")
