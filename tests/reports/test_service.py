"""The report services: writing, submitting, the unit head's and the supervisor's decisions, 办结, and what each
leaves behind (task state, audit events, notifications, immutable evidence)."""

import asyncio
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from backend.accounts.service import create_user
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.evidence.models import Evidence
from backend.files.models import StoredFile
from backend.reports import service as reports
from backend.reports.models import ProgressReport, ReportContribution, ReportKind, TargetActual
from backend.tasks.models import Task, TaskAssignment, TaskState, TaskTarget
from backend.tenancy import service as tenancy
from backend.tenancy.acting import actor_for
from backend.tenancy.bureau_settings import get_bureau_settings, update_bureau_settings
from backend.tenancy.models import BureauSettings
from tests.reports.helpers import (
    EARLY_NOVEMBER,
    QueryCounter,
    assignments_of,
    count_reports,
    events,
    filed,
    make_loop,
    notifications,
    report_of,
    reviews_of,
    run,
    save,
    set_settings,
    set_task_state,
    task_of,
)
from tests.support.fixtures import PASSWORD

STALE = "已被修改，请刷新"


@pytest.fixture(autouse=True)
def _november(clock):
    clock(EARLY_NOVEMBER)


# --- writing a draft -------------------------------------------------------------------------------------


async def test_save_creates_a_draft_of_the_current_period(loop):
    report = await save(loop, problems="场地不足", next_steps="下月再学2次", support_needed="请协调报告厅",
                        percent="40", expected_completion="2026-12-20", target_actuals={str(loop.target_id): "3"})
    assert (report.state, report.period, report.kind, report.version) == ("draft", "2026-11", "periodic", 1)
    assert report.due_on == date(2026, 11, 25) and not report.late and report.submitted_at is None
    assert (report.progress, report.problems, report.next_steps, report.support_needed) == (
        "开展专题学习3次，覆盖全体党员。", "场地不足", "下月再学2次", "请协调报告厅")
    assert report.percent == 40 and report.expected_completion == date(2026, 12, 20)
    async with unit_of_work(loop.tenant_id) as session:
        actuals = (await session.exec(select(TargetActual).where(TargetActual.report_id == report.id))).all()
    assert [(a.target_id, a.actual) for a in actuals] == [(loop.target_id, 3.0)]
    task = await task_of(loop)
    assert task.state == "assigned" and task.progress == 0 and task.last_report_at is None  # a draft moves nothing
    created = await events(loop, "report.create", report.id)
    assert len(created) == 1 and created[0].details["before"] is None
    assert created[0].details["after"]["state"] == "draft"


async def test_saving_again_updates_the_draft_and_a_stale_form_is_refused(loop):
    first = await save(loop, version=0)
    second = await save(loop, progress="改写后的进展", version=1)
    assert second.id == first.id and second.version == 2 and second.progress == "改写后的进展"
    with pytest.raises(Conflict) as caught:  # the same form (version 1) posted again
        await save(loop, progress="旧表单的内容", version=1)
    assert STALE in caught.value.message
    with pytest.raises(Conflict):  # a second "new report" form for the same period
        await save(loop, progress="另一个新表单", version=0)
    kept = await report_of(loop, first.id)
    assert kept.progress == "改写后的进展" and kept.version == 2
    assert await count_reports(loop) == 1
    assert len(await events(loop, "report.update", first.id)) == 1


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"percent": "120"}, "percent", "0 到 100"),
    ({"percent": "-5"}, "percent", "0 到 100"),
    ({"percent": "六十"}, "percent", "0 到 100"),
    ({"percent": "60.5"}, "percent", "整数"),
    ({"expected_completion": "2026-13-45"}, "expected_completion", "预计完成时间"),
    ({"expected_completion": "下个月"}, "expected_completion", "2026-12-31"),
    ({"progress": "字" * 5001}, "progress", "进展情况不能超过 5000 字"),
    ({"problems": "字" * 5001}, "problems", "存在问题不能超过"),
])
async def test_bad_values_are_refused_with_the_field_and_nothing_saved_is_lost(loop, changes, field, words):
    saved = await save(loop, percent=30, target_actuals={str(loop.target_id): "3"})
    with pytest.raises(InvalidInput) as caught:
        await save(loop, **{"version": saved.version, **changes})
    assert caught.value.field == field and words in caught.value.message
    kept = await report_of(loop, saved.id)
    assert (kept.progress, kept.percent, kept.version) == (saved.progress, 30, saved.version)


async def test_a_target_actual_must_be_a_number_of_this_task(loop):
    saved = await save(loop, target_actuals={str(loop.target_id): "3"})
    with pytest.raises(InvalidInput) as caught:
        await save(loop, version=saved.version, target_actuals={str(loop.target_id): "十二"})
    assert caught.value.field == f"actual-{loop.target_id}" and "开展专题学习" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        await save(loop, version=saved.version, target_actuals={str(uuid.uuid4()): "1"})
    assert caught.value.field == "actuals" and "不属于该任务" in caught.value.message
    async with unit_of_work(loop.tenant_id) as session:
        actual = (await session.exec(select(TargetActual).where(TargetActual.report_id == saved.id))).one()
    assert actual.actual == 3.0


async def test_full_width_digits_units_and_chinese_dates_are_understood(loop):
    report = await save(loop, percent="６０%", expected_completion="2026年12月31日",
                        target_actuals={str(loop.target_id): "1,2次"})
    assert report.percent == 60 and report.expected_completion == date(2026, 12, 31)
    again = await save(loop, version=report.version, target_actuals={str(loop.target_id): ""})  # empty clears it
    async with unit_of_work(loop.tenant_id) as session:
        assert (await session.exec(select(TargetActual).where(TargetActual.report_id == again.id))).all() == []


@pytest.mark.parametrize(("period", "field", "words"), [
    ("2026-Q4", "period", "报送频次不符"),
    ("2026-12", "period", "不能提前填报"),
    ("1999-01", "period", "不能提前填报"),
    ("garbage", "period", "报送频次不符"),
])
async def test_the_period_must_fit_the_task(loop, period, field, words):
    with pytest.raises(InvalidInput) as caught:
        await save(loop, period=period)
    assert caught.value.field == field and words in caught.value.message
    assert await count_reports(loop) == 0


async def test_an_earlier_period_can_be_filed_and_is_late(loop):
    report = await filed(loop, period="2026-10")
    assert report.period == "2026-10" and report.due_on == date(2026, 10, 25) and report.late


# --- submitting ------------------------------------------------------------------------------------------


async def test_first_submission_moves_the_task_and_the_lead_assignment_to_in_progress(loop):
    before = await task_of(loop)
    report = await filed(loop, percent=35, target_actuals={str(loop.target_id): "4"})
    assert report.state == "submitted" and report.version == 2 and not report.late
    assert report.submitted_at == EARLY_NOVEMBER and report.submitted_by == loop.staff.user_id
    task = await task_of(loop)
    assert task.state == "in_progress" and task.version == before.version + 1
    assert task.progress == 35 and task.last_report_at == EARLY_NOVEMBER
    assignments = await assignments_of(loop)
    assert assignments["lead"].state == "in_progress" and assignments["cooperating"].state == "assigned"
    async with unit_of_work(loop.tenant_id) as session:
        target = (await session.exec(select(TaskTarget).where(TaskTarget.id == loop.target_id))).one()
    assert target.actual == 4.0
    submitted = await events(loop, "report.submit", report.id)
    assert len(submitted) == 1
    assert submitted[0].details["before"] == {"report": "draft", "task": "assigned", "assignment": "assigned"}
    assert submitted[0].details["after"] == {"report": "submitted", "task": "in_progress", "assignment": "in_progress"}
    to_supervisor = await notifications(loop, "report_submitted", loop.supervisor.membership_id)
    assert len(to_supervisor) == 1 and loop.task_number in to_supervisor[0].title
    assert await notifications(loop, "report_submitted", loop.leader.membership_id) == []


async def test_an_acknowledged_task_moves_to_in_progress_too(loop):
    await set_task_state(loop, TaskState.acknowledged)
    await filed(loop)
    assert (await task_of(loop)).state == "in_progress"


async def test_a_task_in_progress_stays_and_keeps_its_version(loop):
    await filed(loop, period="2026-10")
    version = (await task_of(loop)).version
    await filed(loop, percent=50)
    task = await task_of(loop)
    assert task.state == "in_progress" and task.version == version and task.progress == 50


async def test_submit_needs_the_progress_text(loop):
    draft = await save(loop, progress="  ")
    with pytest.raises(InvalidInput) as caught:
        await run(loop, reports.submit_report, loop.staff, draft.id, version=draft.version)
    assert caught.value.field == "progress" and "请填写进展情况" in caught.value.message
    assert (await report_of(loop, draft.id)).state == "draft"
    assert (await task_of(loop)).state == "assigned"


@pytest.mark.parametrize(("moment", "late"), [
    (datetime(2026, 11, 25, 15, 30, tzinfo=UTC), False),  # 23:30 on the 25th in Shanghai: on time
    (datetime(2026, 11, 25, 16, 30, tzinfo=UTC), True),  # 00:30 on the 26th in Shanghai: late
])
async def test_late_is_measured_in_the_bureau_time_zone(loop, clock, moment, late):
    clock(moment)
    report = await filed(loop)
    assert report.late is late
    assert (await events(loop, "report.submit", report.id))[0].details["late"] is late


async def test_the_bureau_report_day_sets_the_due_date(loop, clock):
    await set_settings(loop, report_day=31)
    clock(datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    report = await filed(loop)
    assert report.due_on == date(2026, 11, 30) and not report.late


async def test_double_submit_makes_one_report(loop):
    draft = await save(loop)
    first = await run(loop, reports.submit_report, loop.staff, draft.id, version=draft.version)
    with pytest.raises(reports.AlreadySubmitted) as caught:
        await run(loop, reports.submit_report, loop.staff, draft.id, version=draft.version)
    assert "无需重复提交" in caught.value.message
    assert (await report_of(loop, draft.id)).version == first.version
    assert await count_reports(loop) == 1
    assert len(await events(loop, "report.submit")) == 1
    assert len(await notifications(loop, "report_submitted", loop.supervisor.membership_id)) == 1


async def test_two_submits_at_once_make_one_submission(loop):
    draft = await save(loop)
    results = await asyncio.gather(
        run(loop, reports.submit_report, loop.staff, draft.id, version=draft.version),
        run(loop, reports.submit_report, loop.staff, draft.id, version=draft.version),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["AlreadySubmitted", "ProgressReport"]
    assert len(await events(loop, "report.submit")) == 1


async def test_two_new_report_forms_saved_at_once_make_one_report(loop):
    results = await asyncio.gather(save(loop, progress="甲"), save(loop, progress="乙"), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "ProgressReport"]
    assert await count_reports(loop) == 1


async def test_submitted_evidence_becomes_immutable(loop):
    draft = await save(loop)
    async with unit_of_work(loop.tenant_id) as session:
        stored = StoredFile(tenant_id=loop.tenant_id, sha256=uuid.uuid4().hex * 2, size=3, content_type="image/png",
                            filename="a.png")
        session.add(stored)
        await session.flush()
        attached = Evidence(tenant_id=loop.tenant_id, task_id=loop.task_id, report_id=draft.id, file_id=stored.id,
                            filename="a.png", kind="image", uploaded_by=loop.staff.user_id)
        loose = Evidence(tenant_id=loop.tenant_id, task_id=loop.task_id, file_id=stored.id, filename="b.png",
                         kind="image", uploaded_by=loop.staff.user_id)
        session.add_all([attached, loose])
    await run(loop, reports.submit_report, loop.staff, draft.id, version=draft.version)
    async with unit_of_work(loop.tenant_id) as session:
        rows = {e.filename: e.submitted for e in (await session.exec(select(Evidence))).all()}
    assert rows == {"a.png": True, "b.png": False}


# --- who may write ---------------------------------------------------------------------------------------


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
        user = await create_user(session, username=f"basic-{uuid.uuid4().hex[:8]}", display_name="基教科经办人",
                                 password=PASSWORD)
        await tenancy.add_member(session, loop.admin, tenant_id=loop.tenant_id, user=user, role=Role.unit_staff,
                                 unit_id=unit.id)
        outsider = await actor_for(session, user, loop.tenant_id)
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


# --- the unit head's approval ----------------------------------------------------------------------------


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


# --- the supervisor's review -----------------------------------------------------------------------------


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
        user = await create_user(session, username=f"sup2-{uuid.uuid4().hex[:8]}", display_name="第二位督查员",
                                 password=PASSWORD)
        await tenancy.add_member(session, loop.admin, tenant_id=loop.tenant_id, user=user, role=Role.supervisor)
        return await actor_for(session, user, loop.tenant_id)


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


# --- the state machine, exhaustively ---------------------------------------------------------------------

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


# --- contributions ---------------------------------------------------------------------------------------


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


# --- no change this month --------------------------------------------------------------------------------


async def test_no_change_is_one_tap_with_a_reason_and_the_last_percent(loop):
    october = await filed(loop, period="2026-10", percent=45, expected_completion="2026-12-31")
    with pytest.raises(InvalidInput) as caught:
        await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="  ")
    assert caught.value.field == "reason" and "原因" in caught.value.message
    report = await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="等待上级批复")
    assert (report.state, report.period, report.no_change, report.no_change_reason) == (
        "submitted", "2026-11", True, "等待上级批复")
    assert report.percent == 45 and report.expected_completion == october.expected_completion
    assert (await task_of(loop)).progress == 45
    assert len(await events(loop, "report.no_change", report.id)) == 1
    with pytest.raises(reports.AlreadySubmitted):
        await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="再点一次")


async def test_a_returned_no_change_report_becomes_an_ordinary_one_when_progress_is_written(loop):
    report = await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="等待批复")
    returned = await run(loop, reports.review, loop.supervisor, report.id, accept=False,
                         comment="本月召开了专题会，请如实填写", version=report.version)
    fixed = await save(loop, progress="召开专题会1次", version=returned.version)
    assert (fixed.no_change, fixed.no_change_reason, fixed.state) == (False, "", "returned")


async def test_no_change_completes_a_draft_of_the_period(loop):
    draft = await save(loop, progress="", percent=0)
    with pytest.raises(Conflict):  # the draft changed since the form was shown
        await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="无", version=0)
    report = await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="无",
                       version=draft.version)
    assert report.id == draft.id and report.state == "submitted" and report.no_change


# --- completion (办结) -------------------------------------------------------------------------------------


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
    assert task.state == "done" and task.done_at == EARLY_NOVEMBER and task.progress == 30  # as last reported
    assignments = await assignments_of(loop)
    assert assignments["lead"].state == "done" and assignments["lead"].done_at == EARLY_NOVEMBER
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


# --- batch accept ----------------------------------------------------------------------------------------


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


# --- reading back ----------------------------------------------------------------------------------------


async def test_reports_for_task_has_everything_and_hides_drafts_from_the_bureau(loop):
    october = await filed(loop, period="2026-10", target_actuals={str(loop.target_id): "5"})
    await run(loop, reports.contribute, loop.co_staff, october.id, text="学校配合")
    await run(loop, reports.review, loop.supervisor, october.id, accept=False, comment="补充", version=october.version)
    await save(loop)  # November's draft
    async with unit_of_work(loop.tenant_id) as session:
        seen_by_bureau = await reports.reports_for_task(session, loop.leader, loop.task_id)
        seen_by_unit = await reports.reports_for_task(session, loop.staff, loop.task_id)
    assert [v.report.period for v in seen_by_bureau.reports] == ["2026-10"]
    assert [v.report.period for v in seen_by_unit.reports] == ["2026-11", "2026-10"]
    view = seen_by_bureau.reports[0]
    assert [(c.contribution.text, c.unit) for c in view.contributions] == [("学校配合", "实验小学")]
    assert [(a.target.id, a.actual) for a in view.actuals] == [(loop.target_id, 5.0)]
    assert [(r.review.decision, r.review.comment, r.reviewer) for r in view.reviews] == [
        ("return", "补充", loop.supervisor.display_name)]
    assert view.state_text == "已退回" and view.period_text == "2026年10月"


async def _more_tasks(loop, n: int) -> list[uuid.UUID]:
    from backend.tasks.service import NewTask, create_tasks

    async with unit_of_work(loop.tenant_id) as session:
        tasks = await create_tasks(session, loop.supervisor, 2026, [
            NewTask(title=f"附加任务{i}", description="", deadline=date(2026, 12, 31),
                    lead_unit_ids=[loop.bureau.units["office"].id], co_unit_ids=[loop.bureau.units["school"].id])
            for i in range(n)])
        return [t.id for t in tasks]


async def test_queue_and_ledger_take_a_fixed_number_of_queries(loop):
    async def measure(task_id):
        async with unit_of_work(loop.tenant_id) as session:
            with QueryCounter() as queue:
                await reports.review_queue(session, loop.supervisor)
            with QueryCounter() as ledger:
                await reports.reports_for_task(session, loop.supervisor, task_id)
            with QueryCounter() as form:
                await reports.report_form(session, loop.staff, task_id)
        return queue.count, ledger.count, form.count

    report = await filed(loop)
    await run(loop, reports.contribute, loop.co_staff, report.id, text="配合")
    small = await measure(loop.task_id)
    for task_id in await _more_tasks(loop, 4):
        await run(loop, reports.submit_report, loop.staff,
                  (await run(loop, reports.save_report, loop.staff, task_id, progress="进展")).id, version=1)
    for period in ("2026-09", "2026-10"):
        r = await filed(loop, period=period, target_actuals={str(loop.target_id): "2"})
        await run(loop, reports.contribute, loop.co_staff, r.id, text="配合")
    async with unit_of_work(loop.tenant_id) as session:
        assert len(await reports.review_queue(session, loop.supervisor)) == 7
    assert await measure(loop.task_id) == small


async def test_review_queue_is_oldest_first_with_task_and_unit(loop, clock):
    clock(datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
    older = await filed(loop, period="2026-10")
    clock(datetime(2026, 11, 5, 2, 0, tzinfo=UTC))
    newer = await filed(loop)
    async with unit_of_work(loop.tenant_id) as session:
        queue = await reports.review_queue(session, loop.supervisor)
    assert [v.report.id for v in queue] == [older.id, newer.id]
    assert (queue[0].task.number, queue[0].task.title, queue[0].unit) == (loop.task_number, "深化理论学习", "办公室")
    # A page shows the oldest few and says how many wait in all.
    async with unit_of_work(loop.tenant_id) as session:
        first = await reports.review_queue(session, loop.supervisor, limit=1)
    assert [v.report.id for v in first] == [older.id] and first.total == 2


# --- the bureau's rules ----------------------------------------------------------------------------------


async def test_bureau_settings_default_and_update(loop):
    async with unit_of_work(loop.tenant_id) as session:
        defaults = await get_bureau_settings(session, loop.tenant_id)
        assert (defaults.report_day, defaults.unit_head_approval) == (25, False)
        assert await session.get(BureauSettings, loop.tenant_id) is None  # defaults are not written
    for who in ("supervisor", "leader", "head"):
        with pytest.raises(Forbidden):
            await run(loop, update_bureau_settings, getattr(loop, who), report_day=20, unit_head_approval=True)
    for bad in (0, 32, "abc", ""):
        with pytest.raises(InvalidInput) as caught:
            await run(loop, update_bureau_settings, loop.admin, report_day=bad, unit_head_approval=False)
        assert caught.value.field == "report_day"
    await set_settings(loop, report_day=20, unit_head_approval=True)
    await set_settings(loop, report_day=15, unit_head_approval=False)
    async with unit_of_work(loop.tenant_id) as session:
        stored = await get_bureau_settings(session, loop.tenant_id)
    assert (stored.report_day, stored.unit_head_approval) == (15, False)
    changes = await events(loop, "bureau_settings.update")
    assert changes[0].details["before"] is None
    assert changes[1].details["before"] == {"report_day": 20, "unit_head_approval": True}
    assert changes[1].details["after"] == {"report_day": 15, "unit_head_approval": False}
    report = await save(loop)
    assert report.due_on == date(2026, 11, 15)


async def test_quarterly_and_one_off_tasks(loop):
    async with unit_of_work(loop.tenant_id) as session:
        task = (await session.exec(select(Task).where(Task.id == loop.task_id))).one()
        task.report_frequency = "quarterly"
        session.add(task)
    quarterly = await save(loop)
    assert quarterly.period == "2026-Q4" and quarterly.due_on == date(2026, 12, 25)
    async with unit_of_work(loop.tenant_id) as session:
        task = (await session.exec(select(Task).where(Task.id == loop.task_id))).one()
        task.report_frequency = "once"
        session.add(task)
    once = await filed(loop)
    assert once.period == "once" and once.due_on == date(2024, 12, 31) and once.late


async def test_only_periodic_kinds_in_the_form(loop):
    await _request(loop)
    async with unit_of_work(loop.tenant_id) as session:
        form = await reports.report_form(session, loop.staff, loop.task_id)
        rows = (await session.exec(select(ProgressReport))).all()
    assert form.own is None and form.completion is not None and form.completion.report.kind == ReportKind.completion
    assert len(rows) == 1
