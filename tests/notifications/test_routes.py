"""The notification centre: an assignment reaches the unit's people, the bell counts it, reading clears it."""

import re

from sqlmodel import select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.notifications.models import Notification
from backend.tasks import service as tasks
from backend.tasks.models import Task, TaskState
from tests.support.fixtures import post_form


async def _assign_to_school(bureau) -> Task:
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.state == TaskState.unassigned))).first()
        await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                 lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[])
        # Assigning again is the same decision: nobody is told twice.
        await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                 lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[])
        return task


async def test_assignment_reaches_the_bell_once_and_reading_clears_it(signed_in, bureau, other_bureau):
    task = await _assign_to_school(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    bell = await staff.get("/notifications/bell")
    assert re.search(r'class="bell-count">(\d+)<', bell.text)
    page = await staff.get("/notifications")
    assert page.text.count(task.number) == 1
    async with unit_of_work(bureau.tenant.id) as session:
        mine = (await session.exec(select(Notification).where(
            Notification.membership_id == bureau.actors[Role.unit_staff].membership_id,
            Notification.kind == "task_assigned", Notification.link == f"/tasks/{task.id}"))).one()
    opened = await post_form(staff, f"/notifications/{mine.id}/read", {}, page="/notifications")
    assert opened.status_code == 303 and opened.headers["location"] == f"/tasks/{task.id}"
    await post_form(staff, "/notifications/read-all", {}, page="/notifications")
    assert "bell-count" not in (await staff.get("/notifications/bell")).text
    stranger = await signed_in(other_bureau, Role.unit_staff)
    assert task.number not in (await stranger.get("/notifications")).text
    refused = await post_form(stranger, f"/notifications/{mine.id}/read", {}, page="/notifications")
    assert refused.status_code == 303  # nothing of theirs to mark; the other bureau's row is untouched
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await session.get(Notification, mine.id)).read_at is not None
    supervisor = await signed_in(bureau, Role.supervisor)
    assert task.number not in (await supervisor.get("/notifications")).text  # told only the unit
