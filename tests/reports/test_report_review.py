"""The supervisor's review: accepting, returning with a comment, one decision when two are made at once, stale
forms, and accepting many reports at once."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.reports import service as reports
from tests.reports.helpers import STALE, add_member, events, filed, notifications, report_of, reviews_of, run, save

pytestmark = pytest.mark.usefixtures("november")


@pytest.mark.parametrize("who", ["supervisor", "admin"])
async def test_accepting_a_report(loop, who):
    report = await filed(loop)
    accepted = await run(loop, reports.review, getattr(loop, who), report.id, accept=True, comment="",
                         version=report.version)
    assert accepted.state == "accepted" and accepted.version == report.version + 1
    assert len(await notifications(loop, "report_accepted", loop.staff.membership_id)) == 1
    event = (await events(loop, "report.accept", report.id))[0]
    assert event.details["before"] == {"report": "submitted"} and event.details["after"] == {"report": "accepted"}
    assert event.actor_user_id == getattr(loop, who).user_id
    with pytest.raises(reports.AlreadySubmitted) as caught:  # an accepted report is final
        await save(loop, version=accepted.version)
    assert "已通过审核" in caught.value.message
    with pytest.raises(reports.AlreadySubmitted):
        await run(loop, reports.submit_report, loop.staff, report.id, version=accepted.version)
    with pytest.raises(Conflict):
        await run(loop, reports.review, loop.supervisor, report.id, accept=False, comment="再看看",
                  version=accepted.version)


async def test_return_requires_a_comment(loop):
    report = await filed(loop)
    with pytest.raises(InvalidInput) as caught:
        await run(loop, reports.review, loop.supervisor, report.id, accept=False, comment="", version=report.version)
    assert caught.value.field == "comment" and "退回时必须填写意见" in caught.value.message
    assert (await report_of(loop, report.id)).state == "submitted"
    assert await reviews_of(loop, report.id) == []


async def test_a_returned_report_is_fixed_resubmitted_and_accepted(loop, clock):
    report = await filed(loop)
    returned = await run(loop, reports.review, loop.supervisor, report.id, accept=False, comment="请补充学习记录",
                         version=report.version)
    assert returned.state == "returned"
    note = await notifications(loop, "report_returned", loop.staff.membership_id)
    assert len(note) == 1 and note[0].body == "请补充学习记录"
    assert (await events(loop, "report.return", report.id))[0].details["comment"] == "请补充学习记录"
    async with unit_of_work(loop.tenant_id) as session:
        form = await reports.report_form(session, loop.staff, loop.task_id)
    assert form.editable and form.own.last_return.review.comment == "请补充学习记录"
    clock(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))  # fixed after the report day: still not late
    fixed = await save(loop, progress="补充了学习记录", version=returned.version)
    again = await run(loop, reports.submit_report, loop.staff, fixed.id, version=fixed.version)
    assert again.state == "submitted" and not again.late and again.submitted_at == report.submitted_at
    accepted = await run(loop, reports.review, loop.supervisor, report.id, accept=True, version=again.version)
    assert accepted.state == "accepted"
    assert [r.decision for r in await reviews_of(loop, report.id)] == ["return", "accept"]


@pytest.mark.parametrize("who", ["leader", "staff", "head", "co_staff", "co_head"])
async def test_only_supervisors_and_admins_review(loop, who):
    report = await filed(loop)
    with pytest.raises(Forbidden) as caught:
        await run(loop, reports.review, getattr(loop, who), report.id, accept=True, version=report.version)
    assert "督查督办人员" in caught.value.message
    with pytest.raises(Forbidden):
        await run(loop, reports.accept_reports, getattr(loop, who), [(report.id, report.version)])
    assert (await report_of(loop, report.id)).state == "submitted"


@pytest.mark.parametrize("who", ["leader", "staff", "co_staff"])
async def test_the_review_queue_is_not_for_everyone(loop, who):
    with pytest.raises(Forbidden):
        await run(loop, reports.review_queue, getattr(loop, who))


async def _second_supervisor(loop):
    async with unit_of_work(loop.tenant_id) as session:
        return await add_member(session, loop.bureau, f"sup2-{uuid.uuid4().hex[:8]}", "第二位督查员", Role.supervisor)


async def test_two_supervisors_deciding_at_once_one_wins_the_other_is_told(loop):
    report = await filed(loop)
    other = await _second_supervisor(loop)
    async with unit_of_work(loop.tenant_id) as first:
        await reports.review(first, loop.supervisor, report.id, accept=True, version=report.version)
        # The second decision waits for the first one's lock, then finds the report changed.
        second = asyncio.create_task(run(loop, reports.review, other, report.id, accept=False, comment="退回",
                                         version=report.version))
        await asyncio.sleep(0.3)
        assert not second.done()
    with pytest.raises(Conflict) as caught:
        await second
    message = caught.value.message
    assert STALE in message and loop.supervisor.display_name in message and "审核通过" in message
    assert "没有保存" in message
    assert [r.decision for r in await reviews_of(loop, report.id)] == ["accept"]
    assert (await report_of(loop, report.id)).state == "accepted"


async def test_two_decisions_at_once_make_one_review(loop):
    report = await filed(loop)
    other = await _second_supervisor(loop)
    results = await asyncio.gather(
        run(loop, reports.review, loop.supervisor, report.id, accept=True, version=report.version),
        run(loop, reports.review, other, report.id, accept=False, comment="再补充", version=report.version),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "ProgressReport"]
    assert len(await reviews_of(loop, report.id)) == 1


async def test_a_stale_review_form_is_refused(loop):
    report = await filed(loop)
    with pytest.raises(Conflict) as caught:
        await run(loop, reports.review, loop.supervisor, report.id, accept=True, version=report.version - 1)
    assert STALE in caught.value.message
    assert (await report_of(loop, report.id)).state == "submitted"


async def test_batch_accept_is_all_or_nothing(loop):
    october = await filed(loop, period="2026-10")
    november = await filed(loop)
    with pytest.raises(Conflict) as caught:
        await run(loop, reports.accept_reports, loop.supervisor,
                  [(october.id, october.version), (november.id, november.version - 1)])
    assert "一份也没有通过" in caught.value.message and "2026年11月" in caught.value.message
    assert {(await report_of(loop, r.id)).state for r in (october, november)} == {"submitted"}
    accepted = await run(loop, reports.accept_reports, loop.supervisor,
                         [(october.id, october.version), (november.id, november.version)], comment="好")
    assert {r.state for r in accepted} == {"accepted"}
    assert len(await events(loop, "report.accept")) == 2
    with pytest.raises(InvalidInput):
        await run(loop, reports.accept_reports, loop.supervisor, [])


async def test_batch_accept_refuses_what_is_not_a_submitted_progress_report(loop):
    draft = await save(loop, period="2026-10")
    november = await filed(loop)
    with pytest.raises(Conflict):
        await run(loop, reports.accept_reports, loop.supervisor,
                  [(draft.id, draft.version), (november.id, november.version)])
    assert (await report_of(loop, november.id)).state == "submitted"
