"""Who may write a report: the lead unit's people only; bureau roles and cooperating units are refused, units
not on the task and other bureaus find nothing."""

import uuid

import pytest

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import Forbidden, NotFound
from backend.reports import service as reports
from backend.tenancy import service as tenancy
from tests.reports.helpers import add_member, filed, make_loop, report_of, run, save

pytestmark = pytest.mark.usefixtures("november")


@pytest.mark.parametrize("who", ["supervisor", "admin", "leader"])
async def test_bureau_roles_do_not_write_reports(loop, who):
    with pytest.raises(Forbidden) as caught:
        await save(loop, getattr(loop, who))
    assert "经办人或单位负责人填报" in caught.value.message
    with pytest.raises(Forbidden):
        await run(loop, reports.no_change_this_month, getattr(loop, who), loop.task_id, reason="无")
    with pytest.raises(Forbidden):
        await run(loop, reports.request_completion, getattr(loop, who), loop.task_id, summary="完成", version=None)


@pytest.mark.parametrize("who", ["co_staff", "co_head"])
async def test_a_cooperating_unit_contributes_but_does_not_write_the_report(loop, who):
    with pytest.raises(Forbidden) as caught:
        await save(loop, getattr(loop, who))
    assert "配合单位" in caught.value.message
    draft = await save(loop)
    with pytest.raises(Forbidden):
        await run(loop, reports.submit_report, getattr(loop, who), draft.id, version=draft.version)
    with pytest.raises(Forbidden):
        await run(loop, reports.request_completion, getattr(loop, who), loop.task_id, summary="完成", version=None)


async def test_a_unit_head_of_the_lead_unit_writes_and_submits(loop):
    report = await filed(loop, loop.head)
    assert report.state == "submitted" and report.submitted_by == loop.head.user_id


async def test_a_unit_not_on_the_task_does_not_see_it(loop):
    async with unit_of_work(loop.tenant_id) as session:
        unit = await tenancy.create_unit(session, loop.admin, name="基础教育科")
        outsider = await add_member(session, loop.bureau, f"basic-{uuid.uuid4().hex[:8]}", "基教科经办人",
                                    Role.unit_staff, unit.id)
    draft = await save(loop)
    with pytest.raises(NotFound):
        await save(loop, outsider)
    with pytest.raises(NotFound):
        await run(loop, reports.submit_report, outsider, draft.id, version=draft.version)
    with pytest.raises(NotFound):
        await run(loop, reports.contribute, outsider, draft.id, text="我们也帮忙")
    with pytest.raises(NotFound):
        await run(loop, reports.reports_for_task, outsider, loop.task_id)


async def test_another_bureau_finds_nothing(loop, other_bureau):
    other = await make_loop(other_bureau)
    report = await filed(loop)
    calls = [
        (reports.save_report, other.staff, (loop.task_id,), {"progress": "x", "version": 0}),
        (reports.submit_report, other.staff, (report.id,), {"version": report.version}),
        (reports.no_change_this_month, other.staff, (loop.task_id,), {"reason": "x"}),
        (reports.contribute, other.co_staff, (report.id,), {"text": "x"}),
        (reports.unit_head_decide, other.head, (report.id,), {"approve": True, "version": report.version}),
        (reports.review, other.supervisor, (report.id,), {"accept": True, "version": report.version}),
        (reports.request_completion, other.staff, (loop.task_id,), {"summary": "x", "version": None}),
        (reports.decide_completion, other.supervisor, (report.id,), {"approve": True, "version": report.version}),
        (reports.reports_for_task, other.supervisor, (loop.task_id,), {}),
        (reports.get_report, other.supervisor, (report.id,), {}),
        (reports.report_form, other.staff, (loop.task_id,), {}),
    ]
    for fn, actor, args, kwargs in calls:
        with pytest.raises(NotFound):
            async with unit_of_work(other.tenant_id) as session:
                await fn(session, actor, *args, **kwargs)
    with pytest.raises(NotFound):
        async with unit_of_work(other.tenant_id) as session:
            await reports.accept_reports(session, other.supervisor, [(report.id, report.version)])
    async with unit_of_work(other.tenant_id) as session:
        assert await reports.review_queue(session, other.supervisor) == []
    after = await report_of(loop, report.id)
    assert (after.state, after.version) == ("submitted", report.version)
