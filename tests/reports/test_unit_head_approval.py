"""The unit head's approval (a bureau setting): a report waits for its own unit's head, who passes it on or
returns it."""

import pytest

from backend.db import unit_of_work
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.reports import service as reports
from tests.reports.helpers import events, filed, notifications, report_of, reviews_of, run, save, set_settings, task_of

pytestmark = pytest.mark.usefixtures("november")


async def test_with_unit_head_approval_the_report_waits_for_the_head(loop):
    await set_settings(loop, unit_head_approval=True)
    report = await filed(loop)
    assert report.state == "awaiting_unit_head"
    assert (await task_of(loop)).state == "in_progress"  # the unit has reported
    assert await notifications(loop, "report_submitted") == []
    assert len(await notifications(loop, "report_awaiting_unit_head", loop.head.membership_id)) == 1
    assert await notifications(loop, "report_awaiting_unit_head", loop.staff.membership_id) == []
    async with unit_of_work(loop.tenant_id) as session:
        assert await reports.review_queue(session, loop.supervisor) == []
        assert [v.report.id for v in await reports.review_queue(session, loop.head)] == [report.id]
        assert await reports.review_queue(session, loop.co_head) == []  # another unit's head
    with pytest.raises(Conflict) as caught:  # not yet the supervisor's turn
        await run(loop, reports.review, loop.supervisor, report.id, accept=True, version=report.version)
    assert "不是待审核" in caught.value.message
    approved = await run(loop, reports.unit_head_decide, loop.head, report.id, approve=True, version=report.version)
    assert approved.state == "submitted"
    assert len(await notifications(loop, "report_submitted", loop.supervisor.membership_id)) == 1
    decided = await events(loop, "report.unit_head_approve", report.id)
    assert decided[0].details["before"]["report"] == "awaiting_unit_head"
    assert decided[0].details["after"]["report"] == "submitted"


async def test_the_unit_head_returns_with_a_comment_and_staff_resubmit(loop):
    await set_settings(loop, unit_head_approval=True)
    report = await filed(loop)
    with pytest.raises(InvalidInput) as caught:
        await run(loop, reports.unit_head_decide, loop.head, report.id, approve=False, comment=" ",
                  version=report.version)
    assert caught.value.field == "comment"
    returned = await run(loop, reports.unit_head_decide, loop.head, report.id, approve=False, comment="数据再核实",
                         version=report.version)
    assert returned.state == "returned"
    assert len(await notifications(loop, "report_returned", loop.staff.membership_id)) == 1
    fixed = await save(loop, progress="核实后的进展", version=returned.version)
    assert fixed.state == "returned"  # still to be submitted again
    again = await run(loop, reports.submit_report, loop.staff, fixed.id, version=fixed.version)
    assert again.state == "awaiting_unit_head" and again.submitted_at == report.submitted_at
    assert [r.decision for r in await reviews_of(loop, report.id)] == ["unit_head_return"]


async def test_a_unit_head_submitting_their_own_report_needs_no_second_approval(loop):
    await set_settings(loop, unit_head_approval=True)
    report = await filed(loop, loop.head)
    assert report.state == "submitted"


@pytest.mark.parametrize("who", ["staff", "co_head", "supervisor", "admin", "leader"])
async def test_only_the_units_own_head_approves(loop, who):
    await set_settings(loop, unit_head_approval=True)
    report = await filed(loop)
    with pytest.raises(Forbidden) as caught:
        await run(loop, reports.unit_head_decide, getattr(loop, who), report.id, approve=True, version=report.version)
    assert "单位负责人" in caught.value.message
    assert (await report_of(loop, report.id)).state == "awaiting_unit_head"


async def test_without_the_setting_there_is_nothing_for_the_head(loop):
    report = await filed(loop)
    assert report.state == "submitted"
    with pytest.raises(Conflict):
        await run(loop, reports.unit_head_decide, loop.head, report.id, approve=True, version=report.version)
