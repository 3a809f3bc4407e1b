"""催所有未报单位 (issue 13): from the task list or the bulletin, one nudge per task and unit that has not filed the
period's report, under the same interval rule as a nudge by hand; the page says how many were sent and skipped."""

import asyncio
from datetime import date

import pytest
from sqlmodel import col, select

from backend.core.clock import local_today
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.notifications.models import Notification
from backend.reminders import service as reminders
from backend.reports import service as reports
from backend.tasks import service as tasks
from tests.support.fixtures import post_form

TODAY = local_today()
MONTH = f"{TODAY.year}-{TODAY.month:02d}"


async def _school_tasks(bureau, *titles: str):
    async with unit_of_work(bureau.tenant.id) as session:
        return await tasks.create_tasks(session, bureau.actors[Role.supervisor], TODAY.year + 1, [
            tasks.NewTask(title=title, description="", deadline=date(TODAY.year + 1, 12, 31),
                          lead_unit_ids=[bureau.units["school"].id]) for title in titles])


async def _nudged(bureau) -> list[str]:
    async with unit_of_work(bureau.tenant.id) as session:
        return sorted((await session.exec(select(Notification.title).where(
            col(Notification.dedupe_key).startswith("nudge:")))).all())


async def test_one_nudge_per_task_and_unit_that_has_not_filed(bureau):
    silent, filed = await _school_tasks(bureau, "校园安全排查", "课后服务")
    async with unit_of_work(bureau.tenant.id) as session:
        report = await reports.save_report(session, bureau.actors[Role.unit_staff], filed.id, progress="已开展。",
                                           percent=20, version=0)
        await reports.submit_report(session, bureau.actors[Role.unit_staff], report.id, version=report.version)
    supervisor = bureau.actors[Role.supervisor]
    async with unit_of_work(bureau.tenant.id) as session:
        first = await reminders.nudge_missing(session, supervisor, period=MONTH, message="月底前报送")
    # The school's silent task; the fixture plan's task led by the office, which has nobody to tell, is skipped.
    assert (first.sent, first.skipped_recent, first.skipped_unstaffed) == (1, 0, 1)
    assert await _nudged(bureau) == [f"【催报】{silent.number} 校园安全排查"] * 2  # the school's head and staff
    async with unit_of_work(bureau.tenant.id) as session:
        again = await reminders.nudge_missing(session, supervisor, period=MONTH)
    assert (again.sent, again.skipped_recent, again.skipped_unstaffed) == (0, 1, 1)  # within 24 hours: once
    with pytest.raises(Conflict):  # a nudge by hand on the same task keeps to the same rule
        async with unit_of_work(bureau.tenant.id) as session:
            await reminders.nudge(session, supervisor, silent.id, message="")
    assert len(await _nudged(bureau)) == 2


async def test_two_presses_together_nudge_once(bureau):
    """Two supervisors (or a double click) at about the same moment: one batch sends, the other finds it sent. (The
    service also takes an advisory lock per bureau, for presses that truly overlap.)"""
    await _school_tasks(bureau, "校园安全排查")

    async def press():
        async with unit_of_work(bureau.tenant.id) as session:
            return await reminders.nudge_missing(session, bureau.actors[Role.supervisor], period=MONTH)

    results = await asyncio.gather(press(), press())
    assert sorted(r.sent for r in results) == [0, 1]
    assert len(await _nudged(bureau)) == 2  # the school's head and staff, once each


@pytest.mark.parametrize("period", ["", "2026-13", f"{TODAY.year + 1}-01", "2019-01", "十一月"])
async def test_a_period_that_cannot_be_nudged_is_refused(bureau, period):
    with pytest.raises(InvalidInput):
        async with unit_of_work(bureau.tenant.id) as session:
            await reminders.nudge_missing(session, bureau.actors[Role.supervisor], period=period)


async def test_from_the_task_list_and_the_page_says_what_happened(signed_in, bureau):
    await _school_tasks(bureau, "校园安全排查")
    supervisor = await signed_in(bureau, Role.supervisor)
    board = await supervisor.get("/tasks")
    assert 'href="/nudges/missing?next=/tasks"' in board.text
    form = await supervisor.get("/nudges/missing?next=/tasks")
    assert form.status_code == 200 and f'value="{MONTH}"' in form.text and 'type="month"' in form.text
    bad = await post_form(supervisor, "/nudges/missing", {"period": "2019-01", "next": "/tasks"},
                          page="/nudges/missing")
    assert bad.status_code == 422 and "请选择要催报的月份" in bad.text
    done = await post_form(supervisor, "/nudges/missing", {"period": MONTH, "next": "/tasks"}, page="/nudges/missing")
    assert done.status_code == 303
    result = await supervisor.get(done.headers["location"])
    assert "已向未报单位发出催报 1 条" in result.text and "单位还没有负责人或经办人账号" in result.text
    assert 'href="/tasks"' in result.text
    staff = await signed_in(bureau, Role.unit_staff)
    refused = await post_form(staff, "/nudges/missing", {"period": MONTH}, page="/")
    assert refused.status_code == 403


async def test_units_cannot_nudge(bureau):
    with pytest.raises(Forbidden):
        async with unit_of_work(bureau.tenant.id) as session:
            await reminders.nudge_missing(session, bureau.actors[Role.unit_head], period=MONTH)


async def test_from_the_bulletin(signed_in, bureau):
    from backend.bulletins import service as bulletins

    await _school_tasks(bureau, "校园安全排查")
    async with unit_of_work(bureau.tenant.id) as session:
        bulletin, _new = await bulletins.draft_for_month(session, bureau.tenant.id, TODAY.year, TODAY.month,
                                                         today=TODAY, actor=bureau.actors[Role.supervisor])
    supervisor = await signed_in(bureau, Role.supervisor)
    page = await supervisor.get(f"/bulletins/{bulletin.id}")
    # Missing: the school's task and the fixture plan's task led by the office (which has nobody to tell).
    assert "本月未报 2 份" in page.text and f'name="period" value="{MONTH}"' in page.text
    done = await post_form(supervisor, "/nudges/missing", {"period": MONTH, "next": f"/bulletins/{bulletin.id}"},
                           page=f"/bulletins/{bulletin.id}")
    result = await supervisor.get(done.headers["location"])
    assert "已向未报单位发出催报 1 条" in result.text and f'href="/bulletins/{bulletin.id}"' in result.text
    leader = await signed_in(bureau, Role.leader)  # leaders may nudge too; unit people see no such button
    assert "催所有未报单位" in (await leader.get(f"/bulletins/{bulletin.id}")).text
