"""Submitting a report: what it moves (task, lead assignment, targets), when it is late, and that a double or
concurrent submit makes one submission."""

import asyncio
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from backend.db import unit_of_work
from backend.errors import InvalidInput
from backend.evidence.models import Evidence
from backend.files.models import StoredFile
from backend.reports import service as reports
from backend.tasks.models import TaskState, TaskTarget
from tests.reports.helpers import (
    EARLY_NOVEMBER,
    assignments_of,
    count_reports,
    events,
    filed,
    just_after,
    notifications,
    report_of,
    run,
    save,
    set_settings,
    set_task_state,
    task_of,
)

pytestmark = pytest.mark.usefixtures("november")


async def test_first_submission_moves_the_task_and_the_lead_assignment_to_in_progress(loop):
    before = await task_of(loop)
    report = await filed(loop, percent=35, target_actuals={str(loop.target_id): "4"})
    assert report.state == "submitted" and report.version == 2 and not report.late
    assert just_after(EARLY_NOVEMBER, report.submitted_at) and report.submitted_by == loop.staff.user_id
    task = await task_of(loop)
    assert task.state == "in_progress" and task.version == before.version + 1
    assert task.progress == 35 and just_after(EARLY_NOVEMBER, task.last_report_at)
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
