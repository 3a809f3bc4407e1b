"""Completion (办结): the lead unit asks, the supervisor approves or refuses, and what each leaves behind."""

import pytest
from sqlmodel import select

from backend.db import unit_of_work
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.reports import service as reports
from backend.reports.models import ProgressReport, ReportKind
from tests.reports.helpers import (
    EARLY_NOVEMBER,
    assignments_of,
    events,
    filed,
    just_after,
    notifications,
    run,
    save,
    set_settings,
    task_of,
)

pytestmark = pytest.mark.usefixtures("november")


async def _request(loop, summary="全年开展专题学习12次，目标完成。"):
    task = await task_of(loop)
    return await run(loop, reports.request_completion, loop.staff, loop.task_id, summary=summary,
                     version=task.version)


async def test_completion_is_requested_and_approved(loop):
    await filed(loop)
    report = await _request(loop)
    assert (report.kind, report.state, report.period, report.percent) == ("completion", "submitted", "2026-11-10", 100)
    task = await task_of(loop)
    assert task.state == "completion_requested"
    assert len(await notifications(loop, "completion_requested", loop.supervisor.membership_id)) == 1
    async with unit_of_work(loop.tenant_id) as session:
        queue = await reports.review_queue(session, loop.supervisor)
    assert [v.report.kind for v in queue] == ["periodic", "completion"]  # oldest first
    with pytest.raises(Conflict):  # no further periodic reports while the request waits
        await save(loop, period="2026-10")
    with pytest.raises(reports.AlreadySubmitted):
        await _request(loop)
    with pytest.raises(InvalidInput):
        await run(loop, reports.review, loop.supervisor, report.id, accept=True, version=report.version)
    approved = await run(loop, reports.decide_completion, loop.supervisor, report.id, approve=True,
                         version=report.version, override_reason="年度任务已由牵头单位完成")  # the target is unmet
    assert approved.state == "accepted"
    task = await task_of(loop)
    assert task.state == "done" and just_after(EARLY_NOVEMBER, task.done_at) and task.progress == 30  # as last reported
    assignments = await assignments_of(loop)
    assert assignments["lead"].state == "done" and just_after(EARLY_NOVEMBER, assignments["lead"].done_at)
    assert assignments["cooperating"].state == "assigned"
    requested = await events(loop, "task.completion_request", report.id)
    assert requested[0].details["after"]["task"] == "completion_requested"
    done = await events(loop, "task.completion_approve", loop.task_id)
    assert done[0].details["before"]["task"] == "completion_requested" and done[0].details["after"]["task"] == "done"
    assert len(await notifications(loop, "completion_approved", loop.staff.membership_id)) == 1
    with pytest.raises(Conflict):
        await save(loop, period="2026-10")


async def test_completion_refused_needs_a_comment_and_reopens_the_task(loop):
    report = await _request(loop)
    with pytest.raises(InvalidInput) as caught:
        await run(loop, reports.decide_completion, loop.supervisor, report.id, approve=False, version=report.version)
    assert caught.value.field == "comment"
    refused = await run(loop, reports.decide_completion, loop.supervisor, report.id, approve=False,
                        comment="佐证材料不全", version=report.version)
    assert refused.state == "returned"
    assert (await task_of(loop)).state == "in_progress"
    assert (await events(loop, "task.completion_refuse", loop.task_id))[0].details["after"]["task"] == "in_progress"
    assert len(await notifications(loop, "completion_refused", loop.staff.membership_id)) == 1
    await filed(loop)  # reports go on
    again = await _request(loop, "补齐了佐证材料")
    assert again.id == report.id and again.state == "submitted" and again.progress == "补齐了佐证材料"
    assert (await task_of(loop)).state == "completion_requested"


async def test_a_stale_completion_form_is_refused(loop):
    task = await task_of(loop)
    await filed(loop)  # moves the task to in progress: its version changes
    with pytest.raises(Conflict) as caught:
        await run(loop, reports.request_completion, loop.staff, loop.task_id, summary="完成", version=task.version)
    assert "请刷新页面" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        await run(loop, reports.request_completion, loop.staff, loop.task_id, summary="",
                  version=(await task_of(loop)).version)
    assert caught.value.field == "summary"
    assert (await task_of(loop)).state == "in_progress"


async def test_the_unit_head_can_send_a_completion_request_back(loop):
    await set_settings(loop, unit_head_approval=True)
    report = await _request(loop)
    assert report.state == "awaiting_unit_head" and (await task_of(loop)).state == "completion_requested"
    await run(loop, reports.unit_head_decide, loop.head, report.id, approve=False, comment="先补材料",
              version=report.version)
    assert (await task_of(loop)).state == "in_progress"


@pytest.mark.parametrize("who", ["leader", "staff", "head", "co_head"])
async def test_only_supervisors_and_admins_decide_completion(loop, who):
    report = await _request(loop)
    with pytest.raises(Forbidden):
        await run(loop, reports.decide_completion, getattr(loop, who), report.id, approve=True, version=report.version)
    assert (await task_of(loop)).state == "completion_requested"


async def test_completion_decision_is_only_for_completion_requests(loop):
    report = await filed(loop)
    with pytest.raises(InvalidInput):
        await run(loop, reports.decide_completion, loop.supervisor, report.id, approve=True, version=report.version)


async def test_a_responsible_unit_reports_but_only_the_lead_asks_for_completion(loop):
    from backend.tasks.service import assign_units, get_task

    async with unit_of_work(loop.tenant_id) as session:
        task = await get_task(session, loop.supervisor, loop.task_id)
        await assign_units(session, loop.supervisor, task, lead_unit_ids=[loop.bureau.units["office"].id,
                                                                          loop.bureau.units["school"].id],
                           co_unit_ids=[])
    report = await filed(loop, loop.co_staff, percent=70)
    assert report.unit_id == loop.bureau.units["school"].id and report.state == "submitted"
    assert (await task_of(loop)).progress == 0  # the lead unit's report sets the task's progress
    with pytest.raises(Forbidden) as caught:
        await run(loop, reports.request_completion, loop.co_staff, loop.task_id, summary="完成",
                  version=(await task_of(loop)).version)
    assert "牵头单位" in caught.value.message


async def test_only_periodic_kinds_in_the_form(loop):
    await _request(loop)
    async with unit_of_work(loop.tenant_id) as session:
        form = await reports.report_form(session, loop.staff, loop.task_id)
        rows = (await session.exec(select(ProgressReport))).all()
    assert form.own is None and form.completion is not None and form.completion.report.kind == ReportKind.completion
    assert len(rows) == 1
