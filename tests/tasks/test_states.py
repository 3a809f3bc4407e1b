"""The counted states (backend/tasks/states.py): 待交办 is never overdue nor red, and the home page, the weekly overview
and the 月通报 count the same tasks under the same names."""

from datetime import date

from sqlmodel import select

from backend.bulletins.figures import compute_figures
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.reports import lights
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import Light, Task, TaskState
from backend.tasks.states import count_states
from backend.todo import summary as home_summary

TODAY = date(2026, 12, 7)


async def test_an_unassigned_task_of_a_past_year_is_neither_overdue_nor_red(bureau):
    """The fixture's 2024 plan: item 1 handed to the office, item 2 to nobody; both deadlines long past."""
    async with unit_of_work(bureau.tenant.id) as session:
        await lights.refresh_lights(session, bureau.tenant.id, today=TODAY, trigger="测试")
        by_state = {t.state: t for t in (await session.exec(select(Task))).all()}
        summary = await home_summary.summary(session, bureau.actors[Role.supervisor], today=TODAY)
        figures = await compute_figures(session, bureau.tenant.id, 2024, 12, TODAY)
    assert by_state[TaskState.unassigned].light != Light.red  # was red from birth
    assert by_state[TaskState.assigned].light == Light.red
    assert (summary.unassigned, summary.in_progress, summary.overdue, summary.red) == (1, 1, 1, 1)
    assert summary.total == 2 and summary.completion_rate == 0
    assert figures["bureau"]["lights"] == {"green": 0, "yellow": 0, "red": 1}  # the unassigned one has no light
    assert (figures["bureau"]["unassigned"], figures["bureau"]["in_progress"]) == (1, 1)


async def test_a_task_sent_back_waits_to_be_handed_out_again(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.state == TaskState.unassigned))).one()
        await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                 lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[])
        await lifecycle.send_back(session, bureau.actors[Role.unit_staff], task.id, reason="应由办公室承办",
                                  version=None)
        await lights.refresh_lights(session, bureau.tenant.id, today=TODAY, trigger="测试")
        counts = await count_states(session, today=TODAY)
        school = await count_states(session, today=TODAY, unit_id=bureau.units["school"].id)
        await session.refresh(task)
    assert task.light == Light.yellow and "退回" in task.light_reason
    assert (counts.unassigned, counts.in_progress, counts.overdue) == (1, 1, 1)
    assert school.total == 1 and school.overdue == 0  # the school's sent-back task is no overdue work of its own


async def test_counts_of_one_year(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await count_states(session, today=TODAY, year=2024)).total == 2
        assert (await count_states(session, today=TODAY, year=2026)).total == 0


async def test_a_task_sent_back_by_its_lead_runs_no_clock_for_its_other_units(bureau):
    """The office leads, the school is responsible; the office sends it back: the school's daily digest no longer
    counts it as overdue (it did, while the task waited with the supervisors to be handed out again)."""
    from backend.accounts.service import create_user
    from backend.reminders.digests import _unit_counts
    from backend.tenancy import service as tenancy
    from backend.tenancy.acting import actor_for
    from tests.support.fixtures import PASSWORD, unique

    office, school = bureau.units["office"].id, bureau.units["school"].id
    async with unit_of_work(bureau.tenant.id) as session:
        user = await create_user(session, username=unique("office-"), display_name="办公室经办", password=PASSWORD)
        await tenancy.add_member(session, bureau.actors[Role.admin], tenant_id=bureau.tenant.id, user=user,
                                 role=Role.unit_staff, unit_id=office)
        clerk = await actor_for(session, user, bureau.tenant.id)
        [task] = await tasks.create_tasks(session, bureau.actors[Role.supervisor], 2026, [tasks.NewTask(
            title="过期的联合任务", description="", deadline=date(2026, 6, 30), lead_unit_ids=[office, school])])
        before = (await _unit_counts(session, TODAY))[school]["overdue"]
        await lifecycle.send_back(session, clerk, task.id, reason="应由实验小学牵头", version=None)
        after = (await _unit_counts(session, TODAY))[school]["overdue"]
    assert after == before - 1  # (the school also co-operates on the fixture plan's overdue 2024 task)
