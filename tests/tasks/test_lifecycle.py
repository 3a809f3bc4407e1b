"""签收, 退回, 延期, 交办 (one and many), lights and working days, through services and pages."""

from datetime import date, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from backend.core.calendar import add_workdays, is_workday, workdays_between
from backend.core.roles import Role
from backend.db import get_engine, unit_of_work
from backend.notifications.models import Notification
from backend.plans import board as task_board
from backend.reports import lights
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.lights import LightInput, compute_light
from backend.tasks.models import ExtensionRequest, LightChange, Task, TaskAssignment, TaskState
from backend.todo import summary as home_summary
from tests.support.fixtures import post_form


async def _school_task(bureau) -> Task:
    """The bureau's unassigned task, handed to the school so that its head and staff act as the lead unit."""
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.state == TaskState.unassigned))).first()
        await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                 lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[bureau.units["office"].id])
        return task


def test_working_days_follow_the_official_calendar():
    assert is_workday(date(2025, 9, 28))  # a Sunday made a workday (调休) for the National Day holiday
    assert not is_workday(date(2025, 10, 1))  # National Day
    assert add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)  # the holiday runs to 8 October
    assert workdays_between(date(2025, 9, 26), date(2025, 9, 29)) == 2  # Sunday 28th and Monday 29th
    assert is_workday(date(2031, 3, 3)) and not is_workday(date(2031, 3, 2))  # unknown year: Monday to Friday


@pytest.mark.parametrize("facts, today, light", [
    (dict(state="in_progress", deadline=date(2026, 6, 30), progress=50, report_due=None, returned=False),
     date(2026, 3, 2), "green"),
    (dict(state="in_progress", deadline=date(2026, 6, 30), progress=0, report_due=None, returned=False),
     date(2026, 5, 15), "yellow"),  # 75% of the time gone, no progress
    (dict(state="in_progress", deadline=date(2026, 3, 4), progress=90, report_due=None, returned=False),
     date(2026, 3, 2), "yellow"),  # deadline within three working days
    (dict(state="in_progress", deadline=date(2026, 3, 31), progress=90, report_due=date(2026, 2, 25),
          returned=False), date(2026, 3, 2), "yellow"),  # this period's report is late
    (dict(state="in_progress", deadline=date(2026, 2, 27), progress=90, report_due=None, returned=False),
     date(2026, 3, 2), "red"),  # overdue
    (dict(state="done", deadline=date(2026, 2, 27), progress=100, report_due=None, returned=False),
     date(2026, 3, 2), "green"),
    (dict(state="unassigned", deadline=date(2024, 6, 30), progress=0, report_due=None, returned=False),
     date(2026, 3, 2), "green"),  # 待交办: no unit's clock runs, however old the deadline (was red from birth)
    (dict(state="sent_back", deadline=date(2026, 2, 27), progress=0, report_due=None, returned=False),
     date(2026, 3, 2), "yellow"),  # back with the supervisors, waiting to be handed out again
])
def test_light_rules(facts, today, light):
    computed, reason = compute_light(LightInput(start=date(2026, 1, 1), **facts), today)
    assert computed == light and reason


async def test_acknowledge_send_back_and_notifications(signed_in, bureau):
    task = await _school_task(bureau)
    async with unit_of_work(bureau.tenant.id) as session:
        notified = (await session.exec(select(Notification).where(Notification.kind == "task_assigned"))).all()
    assert len(notified) >= 2  # the school's head and staff were told
    staff = await signed_in(bureau, Role.unit_staff)
    page = await staff.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "签收" in page.text
    stale = await post_form(staff, f"/tasks/{task.id}/acknowledge", {"version": task.version - 1},
                            page=f"/tasks/{task.id}")
    assert stale.status_code == 409 and "刷新页面" in stale.text
    async with unit_of_work(bureau.tenant.id) as session:
        fresh = await session.get(Task, task.id)
    done = await post_form(staff, f"/tasks/{task.id}/acknowledge", {"version": fresh.version}, page=f"/tasks/{task.id}")
    assert done.status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        fresh = await session.get(Task, task.id)
    again = await post_form(staff, f"/tasks/{task.id}/acknowledge", {"version": fresh.version},
                            page=f"/tasks/{task.id}")
    assert again.status_code == 409 and "已经签收" in again.text
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await session.get(Task, task.id)).state == TaskState.acknowledged


async def test_send_back_needs_a_reason_and_tells_supervisors(signed_in, bureau):
    task = await _school_task(bureau)
    head = await signed_in(bureau, Role.unit_head)
    empty = await post_form(head, f"/tasks/{task.id}/send-back", {"reason": " ", "version": task.version},
                            page=f"/tasks/{task.id}")
    assert empty.status_code == 422 and "请说明退回的理由" in empty.text
    sent = await post_form(head, f"/tasks/{task.id}/send-back", {"reason": "应由办公室承办", "version": task.version},
                           page=f"/tasks/{task.id}")
    assert sent.status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await session.get(Task, task.id)).state == TaskState.sent_back
        told = (await session.exec(select(Notification).where(Notification.kind == "task_sent_back"))).all()
    assert told and "应由办公室承办" in told[0].body


async def test_extension_keeps_the_original_deadline(signed_in, bureau):
    task = await _school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    early = await post_form(staff, f"/tasks/{task.id}/extension",
                            {"requested_deadline": str(task.deadline - timedelta(days=1)), "reason": "x"},
                            page=f"/tasks/{task.id}")
    assert early.status_code == 422 and "应晚于" in early.text
    wanted = task.deadline + timedelta(days=30)
    asked = await post_form(staff, f"/tasks/{task.id}/extension",
                            {"requested_deadline": str(wanted), "reason": "资金未到位"}, page=f"/tasks/{task.id}")
    assert asked.status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        request = (await session.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id))).one()
    staff_decides = await post_form(staff, f"/tasks/{task.id}/extensions/{request.id}", {"decision": "approve"},
                                    page=f"/tasks/{task.id}")
    assert staff_decides.status_code == 403
    leader = await signed_in(bureau, Role.leader)
    approved = await post_form(leader, f"/tasks/{task.id}/extensions/{request.id}", {"decision": "approve"},
                               page=f"/tasks/{task.id}")
    assert approved.status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        extended = await session.get(Task, task.id)
    assert (extended.deadline, extended.original_deadline) == (wanted, task.original_deadline)
    page = await leader.get(f"/tasks/{task.id}")
    assert f"原时限 {task.original_deadline}" in page.text


async def test_bulk_assignment_is_all_or_nothing(signed_in, bureau, other_bureau):
    supervisor = await signed_in(bureau, Role.supervisor)
    async with unit_of_work(bureau.tenant.id) as session:
        mine = (await session.exec(select(Task))).all()
        plan_id = (await session.exec(select(col(Task.plan_item_id)))).first()
        from backend.plans.models import PlanItem

        plan_id = (await session.get(PlanItem, plan_id)).plan_id
    async with unit_of_work(other_bureau.tenant.id) as session:
        theirs = (await session.exec(select(Task))).first()
    refused = await post_form(supervisor, f"/plans/{plan_id}/assign", {
        "task_ids": [str(mine[0].id), str(theirs.id)], "lead_unit_id": str(bureau.units["school"].id)},
        page=f"/plans/{plan_id}")
    assert refused.status_code == 404
    done = await post_form(supervisor, f"/plans/{plan_id}/assign", {
        "task_ids": [str(t.id) for t in mine], "lead_unit_id": str(bureau.units["school"].id),
        "deadline": "2024-11-30"}, page=f"/plans/{plan_id}")
    assert done.status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        leads = (await session.exec(select(TaskAssignment).where(TaskAssignment.kind == "lead"))).all()
    assert {a.unit_id for a in leads} == {bureau.units["school"].id} and len(leads) == len(mine)
    staff = await signed_in(bureau, Role.unit_staff)
    assert (await post_form(staff, f"/plans/{plan_id}/assign", {"task_ids": [str(mine[0].id)]},
                            page="/tasks")).status_code == 403


async def test_lights_are_set_at_creation_and_logged_with_their_trigger(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        [task] = await tasks.create_tasks(session, bureau.actors[Role.supervisor], 2030, [tasks.NewTask(
            title="远期任务", description="", deadline=date(2030, 12, 31), lead_unit_ids=[bureau.units["school"].id])])
        assert task.light == "green"
        changed = await lights.refresh_lights(session, bureau.tenant.id, today=date(2031, 1, 6),
                                                 trigger="每日巡检", task_ids=[task.id])
        logged = (await session.exec(select(LightChange).where(LightChange.task_id == task.id))).all()
    assert changed == 1 and [(c.from_light, c.to_light) for c in logged] == [("green", "red")]
    assert logged[0].trigger.startswith("每日巡检：已超过时限")


async def test_board_is_a_fixed_number_of_queries(signed_in, bureau):
    """The board of 2 tasks and the board of 2 + 30 tasks take the same number of SQL statements."""
    supervisor = await signed_in(bureau, Role.supervisor)

    async def statements() -> int:
        seen = []
        engine = get_engine().sync_engine
        listener = lambda *args, **kwargs: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = await supervisor.get("/tasks")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(seen)

    small = await statements()
    async with unit_of_work(bureau.tenant.id) as session:
        await tasks.create_tasks(session, bureau.actors[Role.supervisor], 2024, [
            tasks.NewTask(title=f"临时交办事项{i}", description="", deadline=date(2024, 12, 31),
                          lead_unit_ids=[bureau.units["school"].id]) for i in range(30)])
    large = await statements()
    assert small == large


async def test_other_bureau_and_roles(signed_in, bureau, other_bureau):
    task = await _school_task(bureau)
    stranger = await signed_in(other_bureau, Role.supervisor)
    assert (await stranger.get(f"/tasks/{task.id}")).status_code == 404
    assert (await post_form(stranger, f"/tasks/{task.id}/cancel", {"reason": "x"}, page="/tasks")).status_code == 404
    board = await stranger.get("/tasks")
    assert task.number not in board.text or bureau.tenant.name not in board.text
    leader = await signed_in(bureau, Role.leader)
    assert (await post_form(leader, f"/tasks/{task.id}/acknowledge", {"version": task.version},
                            page="/tasks")).status_code == 403


async def test_owners_named_by_unit_head_within_their_unit(signed_in, bureau):
    task = await _school_task(bureau)
    head = await signed_in(bureau, Role.unit_head)
    staff_id = str(bureau.actors[Role.unit_staff].membership_id)
    page = await head.get(f"/tasks/{task.id}")
    assert "指定责任人" in page.text
    outsider = await post_form(head, f"/tasks/{task.id}/owners",
                               {"owner_ids": [str(bureau.actors[Role.supervisor].membership_id)]}, page="/tasks")
    assert outsider.status_code == 422 and "不属于本单位" in outsider.text
    named = await post_form(head, f"/tasks/{task.id}/owners", {"owner_ids": [staff_id]}, page="/tasks")
    assert named.status_code == 303
    assert bureau.users[Role.unit_staff].display_name in (await head.get(f"/tasks/{task.id}")).text
    staff = await signed_in(bureau, Role.unit_staff)
    assert (await post_form(staff, f"/tasks/{task.id}/owners", {"owner_ids": [staff_id]},
                            page="/tasks")).status_code == 403


async def test_adhoc_task_by_supervisor_only(signed_in, bureau, other_bureau):
    supervisor = await signed_in(bureau, Role.supervisor)
    form = {"title": "迎检材料准备", "description": "按省督导要求准备迎检材料。", "deadline": "2026-12-15",
            "lead_unit_id": str(bureau.units["school"].id), "priority": "high"}
    missing = await post_form(supervisor, "/tasks/new", {**form, "deadline": ""}, page="/tasks/new")
    assert missing.status_code == 422 and "请填写完成时限" in missing.text and "迎检材料准备" in missing.text
    created = await post_form(supervisor, "/tasks/new", form, page="/tasks/new")
    assert created.status_code == 303
    page = await supervisor.get(created.headers["location"])
    assert "迎检材料准备" in page.text and "督-2026-" in page.text
    foreign_unit = str(other_bureau.units["office"].id)
    stranger_unit = await post_form(supervisor, "/tasks/new", {**form, "lead_unit_id": foreign_unit}, page="/tasks/new")
    assert stranger_unit.status_code == 422 and "不存在" in stranger_unit.text
    staff = await signed_in(bureau, Role.unit_staff)
    assert (await staff.get("/tasks/new")).status_code == 403
    assert (await post_form(staff, "/tasks/new", form, page="/tasks")).status_code == 403
    assert "迎检材料准备" in (await staff.get("/tasks")).text  # the school leads it: it is on 我的任务


async def test_measures_ticked_off_by_the_lead_unit(signed_in, bureau):
    from backend.tasks.models import TaskChecklistItem

    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.title == "深化理论学习"))).one()
        measure = (await session.exec(select(TaskChecklistItem).where(TaskChecklistItem.task_id == task.id))).first()
    school_staff = await signed_in(bureau, Role.unit_staff)  # the school only co-operates on this task
    refused = await post_form(school_staff, f"/tasks/{task.id}/measures/{measure.id}", {"done": "1"},
                              page=f"/tasks/{task.id}")
    assert refused.status_code == 403
    supervisor = await signed_in(bureau, Role.supervisor)
    ticked = await post_form(supervisor, f"/tasks/{task.id}/measures/{measure.id}", {"done": "1"},
                             page=f"/tasks/{task.id}")
    assert ticked.status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await session.get(TaskChecklistItem, measure.id)).done
    assert "已完成" in (await supervisor.get(f"/tasks/{task.id}")).text


async def test_board_filters_by_plan_section_and_light(signed_in, bureau):
    from backend.plans.models import PlanItem, PlanSection

    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.title == "深化理论学习"))).one()
        item = await session.get(PlanItem, task.plan_item_id)
        other = (await session.exec(select(PlanSection).where(PlanSection.plan_id == item.plan_id,
                                                               PlanSection.id != item.section_id))).first()
    supervisor = await signed_in(bureau, Role.supervisor)
    mine = await supervisor.get("/tasks", params={"plan": str(item.plan_id), "section": str(item.section_id)})
    assert "深化理论学习" in mine.text and "新改扩建" not in mine.text
    theirs = await supervisor.get("/tasks", params={"plan": str(item.plan_id), "section": str(other.id)})
    assert "深化理论学习" not in theirs.text
    htmx = {"HX-Request": "true", "HX-Target": "results"}
    red = await supervisor.get("/tasks", params={"light": "red"}, headers=htmx)
    assert "<html" not in red.text and "共" in red.text  # htmx gets the results block only
    bad = await supervisor.get("/tasks", params={"unit": "not-a-uuid"})
    assert bad.status_code == 422 and "无效" in bad.text


async def test_statistics_count_against_both_deadlines(bureau):
    task = await _school_task(bureau)  # due in 2024: overdue today by either deadline
    today = date(2026, 11, 23)
    async with unit_of_work(bureau.tenant.id) as session:
        before = await home_summary.summary(session, bureau.actors[Role.supervisor], today=today)
        request = await lifecycle.request_extension(session, bureau.actors[Role.unit_staff], task.id,
                                                    requested_deadline=date(2027, 6, 30), reason="资金调整")
        await lifecycle.decide_extension(session, bureau.actors[Role.leader], request.id, approve=True)
        after = await home_summary.summary(session, bureau.actors[Role.supervisor], today=today)
    assert after.overdue == before.overdue - 1
    assert after.overdue_original == before.overdue_original


async def test_cooperating_does_not_count_in_a_units_rate(bureau):
    today = date(2026, 11, 23)
    async with unit_of_work(bureau.tenant.id) as session:
        before = await home_summary.summary(session, bureau.actors[Role.unit_staff], today=today)
        task = (await session.exec(select(Task).where(Task.state == TaskState.unassigned))).first()
        await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                 lead_unit_ids=[bureau.units["office"].id], co_unit_ids=[bureau.units["school"].id])
        co_only = await home_summary.summary(session, bureau.actors[Role.unit_staff], today=today)
        await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                 lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[])
        led = await home_summary.summary(session, bureau.actors[Role.unit_staff], today=today)
    assert co_only.total == before.total  # the school only co-operates: not its own task
    assert led.total == before.total + 1


async def test_board_pages_through_long_lists(signed_in, bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        await tasks.create_tasks(session, bureau.actors[Role.supervisor], 2027, [
            tasks.NewTask(title=f"批量事项{i:03d}", description="", deadline=date(2027, 6, 30),
                          lead_unit_ids=[bureau.units["school"].id]) for i in range(task_board.BOARD_LIMIT + 5)])
    supervisor = await signed_in(bureau, Role.supervisor)
    first = await supervisor.get("/tasks", params={"q": "批量事项"})
    assert first.text.count('class="card task-card"') == task_board.BOARD_LIMIT and "下一页" in first.text
    second = await supervisor.get("/tasks", params={"q": "批量事项", "page": "2"})
    assert second.text.count('class="card task-card"') == 5 and "上一页" in second.text and "下一页" not in second.text
    api = await supervisor.get("/api/v1/tasks", params={"q": "批量事项", "page": 2})
    assert len(api.json()) == 5
