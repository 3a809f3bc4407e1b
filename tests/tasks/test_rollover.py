"""年度结转: a hand-built 2026 with a done, a cancelled, a partly done and an open task, carried into 2027."""

import re
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from sqlmodel import col, func, select

from backend.audit.models import AuditEvent
from backend.core import clock
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.notifications.models import Notification
from backend.plans import rollover
from backend.plans.models import Plan, PlanItem, PlanSection
from backend.reports import service as reports
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import (
    AssignmentKind,
    Task,
    TaskAssignment,
    TaskChecklistItem,
    TaskOwner,
    TaskState,
    TaskTarget,
)
from backend.tenancy.models import Membership
from tests.reports.helpers import Loop, QueryCounter, make_loop, run
from tests.support.fixtures import post_form


@dataclass
class Year:
    loop: Loop
    done: Task
    cancelled: Task
    partly: Task
    open: Task


def _spec(title: str, lead: list[uuid.UUID], co: list[uuid.UUID], deadline: date = date(2026, 12, 31)):
    return tasks.NewTask(
        title=title, description=f"{title}的要求。", deadline=deadline, lead_unit_ids=lead, co_unit_ids=co,
        measures=[{"label": "一是", "text": "制定方案"}, {"label": "二是", "text": "组织实施"}],
        targets=[{"value": 12, "unit": "次", "comparator": "不少于", "text": "开展专题学习不少于12次"}])


async def build_year(bureau) -> Year:
    """2026: 办结 (done), 取消 (cancelled), one unit done and one not (partly), and an open task that has a report
    with an actual, a ticked measure, an owner and an extension into 2027."""
    loop = await make_loop(bureau)
    office, school = bureau.units["office"].id, bureau.units["school"].id
    made = await run(loop, tasks.create_tasks, loop.supervisor, 2026, [
        _spec("已办结的任务", [office], []), _spec("已取消的任务", [office], []),
        _spec("部分完成的任务", [office, school], []), _spec("推进中的任务", [office], [school])])
    done, cancelled, partly, open_ = (t.id for t in made)
    request = await run(loop, reports.request_completion, loop.staff, done, summary="全部完成。", version=None)
    await run(loop, reports.decide_completion, loop.supervisor, request.id, approve=True, version=request.version,
              override_reason="样例：目标未填报，经核对同意办结")
    await run(loop, lifecycle.cancel, loop.supervisor, cancelled, reason="不再需要", version=None)
    async with unit_of_work(loop.tenant_id) as session:
        # No service closes one unit's part alone yet (the 办结 closes the task); the roll-up already shows it, so
        # the test sets the office's part done the way a future per-unit 办结 would.
        part = (await session.exec(select(TaskAssignment).where(
            TaskAssignment.task_id == partly, TaskAssignment.unit_id == office))).one()
        part.state, part.done_at = TaskState.done, clock.now()
        session.add(part)
        target = (await session.exec(select(TaskTarget).where(TaskTarget.task_id == open_))).one()
        measure = (await session.exec(select(TaskChecklistItem).where(
            TaskChecklistItem.task_id == open_, TaskChecklistItem.position == 0))).one()
        clerk = (await session.exec(select(Membership).where(Membership.user_id == loop.staff.user_id))).one()
    report = await run(loop, reports.save_report, loop.staff, open_, progress="已开展5次。", percent=40,
                       target_actuals={str(target.id): "5"}, version=0)
    await run(loop, reports.submit_report, loop.staff, report.id, version=report.version)
    await run(loop, tasks.tick_measure, loop.staff, open_, measure.id, done=True)
    await run(loop, tasks.set_owners, loop.supervisor, open_, [clerk.id])
    extension = await run(loop, lifecycle.request_extension, loop.staff, open_, requested_deadline=date(2027, 3, 31),
                          reason="跨年实施")
    await run(loop, lifecycle.decide_extension, loop.supervisor, extension.id, approve=True)
    async with unit_of_work(loop.tenant_id) as session:
        found = {t.id: t for t in (await session.exec(select(Task).where(col(Task.id).in_(
            [done, cancelled, partly, open_])))).all()}
    return Year(loop, found[done], found[cancelled], found[partly], found[open_])


@pytest.fixture
async def year(bureau) -> Year:
    return await build_year(bureau)


async def copy_of(year: Year, task: Task) -> Task | None:
    async with unit_of_work(year.loop.tenant_id) as session:
        return (await session.exec(select(Task).where(Task.carried_from_id == task.id))).first()


async def test_preview_lists_the_unfinished_tasks_per_unit(year):
    preview = await run(year.loop, rollover.preview, year.loop.supervisor, 2026)
    assert [row.task.id for row in preview.rows] == [year.partly.id, year.open.id]
    # partly: only the school's part is open (1); open: the office leads (1), the school cooperates (1).
    assert preview.per_unit == [("实验小学", 2), ("办公室", 1)]
    assert preview.already == 0 and preview.plan is None and preview.to_year == 2027


async def test_the_unfinished_tasks_are_copied_with_their_checklist_targets_owners_and_open_units(year):
    loop = year.loop
    preview = await run(loop, rollover.preview, loop.supervisor, 2026)
    with pytest.raises(InvalidInput):  # the confirmation is asked for
        await run(loop, rollover.roll_over_year, loop.supervisor, 2026, fingerprint=preview.fingerprint,
                  confirmed=False)
    result = await run(loop, rollover.roll_over_year, loop.supervisor, 2026, fingerprint=preview.fingerprint,
                       confirmed=True, deadline=date(2027, 6, 30))
    assert result.created == 2
    assert await copy_of(year, year.done) is None and await copy_of(year, year.cancelled) is None
    partly, open_ = await copy_of(year, year.partly), await copy_of(year, year.open)
    assert (partly.number, open_.number) == ("督-2027-001", "督-2027-002")  # the first numbers of 2027
    assert partly.year == open_.year == 2027
    # The partly done task's deadline (2026-12-31) is not in 2027: it takes the chosen date. The open task was
    # extended to 2027-03-31, which is in 2027, so it keeps it.
    assert partly.deadline == partly.original_deadline == date(2027, 6, 30)
    assert open_.deadline == date(2027, 3, 31)
    assert (open_.title, open_.description, open_.priority, open_.report_frequency) == (
        year.open.title, year.open.description, year.open.priority, year.open.report_frequency)
    assert open_.state == TaskState.in_progress and open_.progress == 40
    async with unit_of_work(loop.tenant_id) as session:
        def units_of(task):
            return select(TaskAssignment.unit_id, TaskAssignment.kind, TaskAssignment.state,
                          TaskAssignment.deadline).where(TaskAssignment.task_id == task.id)

        office, school = loop.bureau.units["office"].id, loop.bureau.units["school"].id
        # The office finished its part of "partly": only the school goes on, and now leads what is left.
        assert (await session.exec(units_of(partly))).all() == [
            (school, AssignmentKind.lead, TaskState.assigned, date(2027, 6, 30))]
        assert sorted((await session.exec(units_of(open_))).all(), key=lambda r: r[1]) == [
            (school, AssignmentKind.cooperating, TaskState.assigned, date(2027, 3, 31)),
            (office, AssignmentKind.lead, TaskState.in_progress, date(2027, 3, 31))]
        # The approved extension moved both units' deadlines to 2027-03-31, in 2027: they keep it.
        checklist = (await session.exec(select(TaskChecklistItem.label, TaskChecklistItem.done).where(
            TaskChecklistItem.task_id == open_.id).order_by(col(TaskChecklistItem.position)))).all()
        assert checklist == [("一是", True), ("二是", False)]
        targets = (await session.exec(select(TaskTarget.text, TaskTarget.value, TaskTarget.actual).where(
            TaskTarget.task_id == open_.id))).all()
        assert targets == [("开展专题学习不少于12次", 12, 5)]
        owners = (await session.exec(select(TaskOwner.membership_id).where(TaskOwner.task_id == open_.id))).all()
        assert len(owners) == 1
        plan = (await session.exec(select(Plan).where(Plan.year == 2027))).one()
        section = (await session.exec(select(PlanSection).where(PlanSection.plan_id == plan.id))).one()
        assert section.title == "上年度结转事项"
        items = (await session.exec(select(PlanItem.id, PlanItem.number).where(
            PlanItem.section_id == section.id).order_by(col(PlanItem.position)))).all()
        assert [(i, n) for i, n in items] == [(partly.plan_item_id, 1), (open_.plan_item_id, 2)]
        # The originals stay as they were in 2026.
        for original in (year.partly, year.open):
            now = (await session.exec(select(Task).where(Task.id == original.id))).one()
            assert (now.state, now.version, now.year, now.number) == (
                original.state, original.version, 2026, original.number)
        history = (await session.exec(select(AuditEvent.summary).where(AuditEvent.object_id == str(open_.id)))).all()
        assert history == [f"由 2026 年结转 {year.open.number}"]
        logged = (await session.exec(select(AuditEvent).where(AuditEvent.action == "plans.roll_over"))).one()
        assert logged.details["count"] == 2
        notified = (await session.exec(select(Notification.title, Membership.unit_id).join(
            Membership, col(Membership.id) == Notification.membership_id).where(
            Notification.kind == "tasks_carried_over"))).all()
    # Each unit's head and staff are told once, with their unit's count: the school has 2, the office 1.
    assert sorted(notified, key=lambda r: r[0]) == sorted([
        ("本单位 2026 年未完成的 1 项任务已结转至 2027 年", office)] * 2 + [
        ("本单位 2026 年未完成的 2 项任务已结转至 2027 年", school)] * 2, key=lambda r: r[0])


async def test_running_twice_never_copies_twice_and_a_stale_list_is_refused(year):
    loop = year.loop
    preview = await run(loop, rollover.preview, loop.supervisor, 2026)
    await run(loop, tasks.tick_measure, loop.supervisor, year.open.id,
              (await _first_measure(loop, year.open.id)), done=False)
    async with unit_of_work(loop.tenant_id) as session:  # a change to a listed task since the list was shown
        task = (await session.exec(select(Task).where(Task.id == year.partly.id))).one()
        await lifecycle.cancel(session, loop.supervisor, task.id, reason="改由他处办理", version=None)
    with pytest.raises(Conflict):
        await run(loop, rollover.roll_over_year, loop.supervisor, 2026, fingerprint=preview.fingerprint,
                  confirmed=True)
    fresh = await run(loop, rollover.preview, loop.supervisor, 2026)
    first = await run(loop, rollover.roll_over_year, loop.admin, 2026, fingerprint=fresh.fingerprint, confirmed=True)
    again = await run(loop, rollover.roll_over_year, loop.admin, 2026, fingerprint=fresh.fingerprint, confirmed=True)
    assert (first.created, again.created, again.already) == (1, 0, 1)
    async with unit_of_work(loop.tenant_id) as session:
        carried = (await session.exec(select(func.count()).select_from(Task).where(
            col(Task.carried_from_id).is_not(None)))).one()
        sections = (await session.exec(select(func.count()).select_from(PlanSection).where(
            PlanSection.label == rollover.SECTION_LABEL))).one()
    assert (carried, sections) == (1, 1)
    assert (await run(loop, rollover.preview, loop.supervisor, 2026)).rows == []


async def _first_measure(loop: Loop, task_id: uuid.UUID) -> uuid.UUID:
    async with unit_of_work(loop.tenant_id) as session:
        return (await session.exec(select(TaskChecklistItem.id).where(
            TaskChecklistItem.task_id == task_id, TaskChecklistItem.position == 0))).one()


async def test_a_published_plan_of_the_new_year_gets_the_section(bureau):
    loop = await make_loop(bureau)
    office = bureau.units["office"].id
    # The bureau's plan is of 2024 (tests' SMALL_PLAN): its two tasks are open, so carrying 2023 into 2024 puts a
    # 2023 task under that plan, after its own items.
    [old] = await run(loop, tasks.create_tasks, loop.supervisor, 2023, [_spec("2023年的任务", [office], [])])
    preview = await run(loop, rollover.preview, loop.admin, 2023)
    assert preview.plan is not None and preview.plan.year == 2024
    await run(loop, rollover.roll_over_year, loop.admin, 2023, fingerprint=preview.fingerprint, confirmed=True)
    async with unit_of_work(loop.tenant_id) as session:
        copy = (await session.exec(select(Task).where(Task.carried_from_id == old.id))).one()
        item = (await session.exec(select(PlanItem).where(PlanItem.id == copy.plan_item_id))).one()
        sections = (await session.exec(select(PlanSection.label).where(PlanSection.plan_id == preview.plan.id)
                                       .order_by(col(PlanSection.position)))).all()
    # The 2024 plan had 一 and 二 and two tasks numbered 督-2024-001/002: the copy is the third.
    assert item.plan_id == preview.plan.id and sections == ["一", "二", "结转"]
    assert copy.number == "督-2024-003"


async def test_the_copy_is_a_fixed_number_of_statements_whatever_the_number_of_tasks(bureau):
    loop = await make_loop(bureau)
    office, school = bureau.units["office"].id, bureau.units["school"].id
    counts = []
    for from_year, n in ((2030, 2), (2032, 40)):
        await run(loop, tasks.create_tasks, loop.supervisor, from_year,
                  [_spec(f"任务{i}", [office], [school]) for i in range(n)])
        preview = await run(loop, rollover.preview, loop.supervisor, from_year)
        async with unit_of_work(loop.tenant_id) as session:
            with QueryCounter() as counter:
                result = await rollover.roll_over_year(session, loop.supervisor, from_year,
                                                       fingerprint=preview.fingerprint, confirmed=True)
        assert result.created == n
        counts.append(counter.count)
    assert counts[0] == counts[1]


async def test_unit_roles_and_the_leader_are_refused(year):
    for actor in (year.loop.staff, year.loop.head, year.loop.leader):
        with pytest.raises(Forbidden):
            await run(year.loop, rollover.preview, actor, 2026)
        with pytest.raises(Forbidden):
            await run(year.loop, rollover.roll_over_year, actor, 2026, fingerprint="", confirmed=True)


FINGERPRINT = re.compile(r'name="fingerprint" value="([0-9a-f]+)"')


async def test_the_page_previews_confirms_and_links_both_ways(year, signed_in, other_bureau):
    supervisor = await signed_in(year.loop.bureau, Role.supervisor)
    page = await supervisor.get("/tasks/rollover?year=2026")
    assert page.status_code == 200
    assert year.open.number in page.text and year.partly.number in page.text and year.done.number not in page.text
    fingerprint = FINGERPRINT.search(page.text).group(1)
    board = await supervisor.get("/tasks")
    assert 'href="/tasks/rollover"' in board.text
    unconfirmed = await post_form(supervisor, "/tasks/rollover", {"year": "2026", "fingerprint": fingerprint})
    assert unconfirmed.status_code == 422 and "我已核对" in unconfirmed.text
    form = {"year": "2026", "fingerprint": fingerprint, "confirmed": "1", "deadline": "2027-12-31"}
    done = await post_form(supervisor, "/tasks/rollover", form)
    twice = await post_form(supervisor, "/tasks/rollover", form)  # a double click
    assert done.headers["location"] == "/tasks/rollover?year=2026&done=2"
    assert twice.headers["location"] == "/tasks/rollover?year=2026&done=0"
    copy = await copy_of(year, year.open)
    copy_page = await supervisor.get(f"/tasks/{copy.id}")
    assert f"由 {year.open.number} 结转" in copy_page.text
    assert f'href="/tasks/{year.open.id}#ledger-h"' in copy_page.text
    original_page = await supervisor.get(f"/tasks/{year.open.id}")
    assert f"已结转至 {copy.number}" in original_page.text and f'href="/tasks/{copy.id}"' in original_page.text
    # The unit's staff sees the link too, on the copy its unit works on.
    staff = await signed_in(year.loop.bureau, Role.unit_staff)
    assert f"由 {year.open.number} 结转" in (await staff.get(f"/tasks/{copy.id}")).text
    # Another bureau's supervisor neither sees the copy nor carries anything of this bureau.
    stranger = await signed_in(other_bureau, Role.supervisor)
    assert (await stranger.get(f"/tasks/{copy.id}")).status_code == 404
    theirs = await stranger.get("/tasks/rollover?year=2026")
    assert theirs.status_code == 200 and year.open.number not in theirs.text and year.open.title not in theirs.text


async def test_unit_staff_is_refused_the_page_and_the_link(year, signed_in):
    staff = await signed_in(year.loop.bureau, Role.unit_staff)
    assert (await staff.get("/tasks/rollover")).status_code == 403
    refused = await post_form(staff, "/tasks/rollover", {"year": "2026", "fingerprint": "x", "confirmed": "1"})
    assert refused.status_code == 403
    assert 'href="/tasks/rollover"' not in (await staff.get("/tasks")).text
    assert await copy_of(year, year.open) is None


async def test_odd_numbers_in_the_query_or_form_are_not_a_500(year, signed_in):
    """"²" passes str.isdigit() but not int(); 5,000 digits pass neither int()'s limit: both are no year at all."""
    supervisor = await signed_in(year.loop.bureau, Role.supervisor)
    for query in ("year=²", "done=²", "year=" + "1" * 5000, "year=abc"):
        page = await supervisor.get(f"/tasks/rollover?{query}")
        assert page.status_code == 200, query  # the default year's preview
    refused = await post_form(supervisor, "/tasks/rollover", {"year": "²", "fingerprint": "x", "confirmed": "1"})
    assert refused.status_code == 422 and "年份应在 2000 到 2099 之间" in refused.text
    assert (await supervisor.get("/tasks?page=²")).status_code == 200


async def test_a_carried_task_owes_nothing_more_and_hears_no_reminders_its_copy_does(year):
    """After the roll-over the original keeps its year's history, but the reports, the reminders and the bulletin's
    open work move to the copy: nothing is owed twice."""
    from sqlalchemy import text

    from backend.bulletins.figures import unit_report_counts
    from backend.reminders.sql import OPEN_ASSIGNMENT, OPEN_TASK

    loop = year.loop
    office, school = loop.bureau.units["office"].id, loop.bureau.units["school"].id
    originals = [year.partly.id, year.open.id]

    async def january_and_open() -> tuple[dict, int]:
        async with unit_of_work(loop.tenant_id) as session:
            counts = await unit_report_counts(session, loop.tenant_id, date(2027, 1, 1), date(2027, 1, 31))
            still_open = (await session.exec(text(
                f"SELECT count(*) FROM task_assignments a JOIN tasks t ON t.id = a.task_id "  # noqa: S608
                f"WHERE {OPEN_ASSIGNMENT} AND {OPEN_TASK} AND t.id = ANY(:ids)"), params={"ids": originals})).one()[0]
        return {unit: c.due for unit, c in counts.items()}, still_open

    # Before: January 2027's reports are owed by the bureau's other tasks and by the originals' open writing units
    # (partly: the school, the office finished its part; open: the office leads, the school only cooperates); the
    # reminders see three open assignments of the originals (partly: school; open: office and the school).
    before, still_open = await january_and_open()
    assert still_open == 3 and before[office] >= 1 and before[school] >= 1
    preview = await run(loop, rollover.preview, loop.supervisor, 2026)
    await run(loop, rollover.roll_over_year, loop.supervisor, 2026, fingerprint=preview.fingerprint, confirmed=True)
    # After: the copies owe the same January reports once (partly's copy: the school leads; open's copy: the office
    # leads), so each unit owes what it owed before — not one more each — and the originals are nobody's open work.
    assert await january_and_open() == (before, 0)
