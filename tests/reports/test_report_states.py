"""The report state machine, every state against every action, and tasks that take no reports."""

import pytest
from sqlmodel import select

from backend.db import unit_of_work
from backend.errors import Conflict
from backend.reports import service as reports
from backend.reports.models import ProgressReport
from backend.tasks.models import TaskAssignment, TaskState
from tests.reports.helpers import filed, report_of, run, save, set_settings, set_task_state

pytestmark = pytest.mark.usefixtures("november")


STATES = ["draft", "awaiting_unit_head", "submitted", "returned", "accepted"]
ACTIONS = ["save", "submit", "head_approve", "head_return", "accept", "return", "contribute"]
ALLOWED = {
    ("draft", "save"): "draft", ("draft", "submit"): "submitted", ("draft", "contribute"): "draft",
    ("returned", "save"): "returned", ("returned", "submit"): "submitted", ("returned", "contribute"): "returned",
    ("awaiting_unit_head", "head_approve"): "submitted", ("awaiting_unit_head", "head_return"): "returned",
    ("awaiting_unit_head", "contribute"): "awaiting_unit_head",
    ("submitted", "accept"): "accepted", ("submitted", "return"): "returned", ("submitted", "contribute"): "submitted",
}


async def _report_in(loop, state: str) -> ProgressReport:
    if state == "draft":
        return await save(loop)
    if state == "awaiting_unit_head":
        await set_settings(loop, unit_head_approval=True)
        report = await filed(loop)
        await set_settings(loop, unit_head_approval=False)
        return report
    report = await filed(loop)
    if state == "submitted":
        return report
    return await run(loop, reports.review, loop.supervisor, report.id, accept=state == "accepted", comment="退回",
                     version=report.version)


async def _act(loop, action: str, report: ProgressReport):
    v = report.version
    match action:
        case "save":
            return await save(loop, progress="修改", version=v)
        case "submit":
            return await run(loop, reports.submit_report, loop.staff, report.id, version=v)
        case "head_approve":
            return await run(loop, reports.unit_head_decide, loop.head, report.id, approve=True, version=v)
        case "head_return":
            return await run(loop, reports.unit_head_decide, loop.head, report.id, approve=False, comment="改",
                             version=v)
        case "accept":
            return await run(loop, reports.review, loop.supervisor, report.id, accept=True, version=v)
        case "return":
            return await run(loop, reports.review, loop.supervisor, report.id, accept=False, comment="改", version=v)
        case "contribute":
            return await run(loop, reports.contribute, loop.co_staff, report.id, text="配合开展学习")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
async def test_every_transition_of_a_report(loop, state, action):
    report = await _report_in(loop, state)
    assert report.state == state
    expected = ALLOWED.get((state, action))
    if expected is None:
        with pytest.raises(Conflict):
            await _act(loop, action, report)
        after = await report_of(loop, report.id)
        assert (after.state, after.version) == (state, report.version)
    else:
        await _act(loop, action, report)
        assert (await report_of(loop, report.id)).state == expected


@pytest.mark.parametrize("state", [TaskState.completion_requested, TaskState.done, TaskState.cancelled,
                                   TaskState.sent_back])
async def test_a_task_that_is_not_open_takes_no_reports(loop, state):
    draft = await save(loop)
    await set_task_state(loop, state)
    with pytest.raises(Conflict):
        await save(loop, version=draft.version)
    with pytest.raises(Conflict):
        await run(loop, reports.submit_report, loop.staff, draft.id, version=draft.version)
    with pytest.raises(Conflict):
        await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="无", version=draft.version)
    with pytest.raises(Conflict):
        await run(loop, reports.request_completion, loop.staff, loop.task_id, summary="完成", version=None)
    assert (await report_of(loop, draft.id)).state == "draft"


async def test_a_unit_that_sent_the_task_back_cannot_report(loop):
    async with unit_of_work(loop.tenant_id) as session:
        lead = (await session.exec(select(TaskAssignment).where(TaskAssignment.task_id == loop.task_id,
                                                                 TaskAssignment.kind == "lead"))).one()
        lead.state = TaskState.sent_back
        session.add(lead)
    with pytest.raises(Conflict) as caught:
        await save(loop)
    assert "已退回" in caught.value.message
    async with unit_of_work(loop.tenant_id) as session:
        form = await reports.report_form(session, loop.staff, loop.task_id)
    assert not form.editable and not form.can_request_completion
