"""A task extended into the next year counted as unfinished in this year's 年考核 (issue 13, point 9)."""

from datetime import date

import pytest

from backend.assessments import service as assessments
from backend.assessments.exports import basis_text
from backend.core.roles import Role
from backend.tasks import lifecycle
from tests.assessments.test_service import opened, scores
from tests.assessments.world import YEAR, World, call


async def test_a_task_extended_into_next_year_is_not_unfinished_in_this_one(world: World, clock):
    """T1 (lead 办公室, responsible 实验小学) is extended to 31 January of the next year and not done: measured
    against its deadline it is not owed this year. 办公室 keeps T2 (办结): 1 of 1 → 40, not 1 of 2 → 20."""
    request = await call(world.tenant_id, lifecycle.request_extension, world.staff["A"], world.tasks["T1"].id,
                         requested_deadline=date(YEAR + 1, 1, 31), reason="场地改造顺延")
    await call(world.tenant_id, lifecycle.decide_extension, world.actor(Role.supervisor), request.id, approve=True)
    assessment = await opened(world, clock)
    got = await scores(world, assessment.id)
    assert got["A"].completion == pytest.approx(40) and got["B"].completion == pytest.approx(40)
    view = await call(world.tenant_id, assessments.assessment_view, world.actor(Role.supervisor), assessment.id)
    office = next(line for line in view.lines if line.unit_name == "办公室")
    assert (office.basis.assigned, office.basis.done, office.basis.extended) == (1, 1, 1)
    assert basis_text(office)[0] == "办结 1/1（另 1 项经批准延期至下一年，不计入本年）"
    # The next year's assessment owes it (its deadline is there), once.
    nxt = await call(world.tenant_id, assessments.open_assessment, world.actor(Role.supervisor), year=YEAR + 1)
    following = await scores(world, nxt.id)
    assert following["A"].completion == pytest.approx(0)
    nxt_view = await call(world.tenant_id, assessments.assessment_view, world.actor(Role.supervisor), nxt.id)
    office_next = next(line for line in nxt_view.lines if line.unit_name == "办公室")
    assert (office_next.basis.assigned, office_next.basis.done) == (1, 0)
