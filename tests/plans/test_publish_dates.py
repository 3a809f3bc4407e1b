"""Sane dates at publish (issue 13): a plan of an earlier year, or a past 时限 typed in the preview, gave tasks red
from birth — unassigned ones too — that fed the leader's counts and the weekly overview at once. Now such a publish
needs an explicit confirmation that says how many tasks would be born overdue, and 待交办 tasks stay out of it."""

from datetime import date

import pytest
from sqlmodel import select

from backend.core.clock import local_today
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import InvalidInput
from backend.plans import service as plans
from backend.tasks.models import Light, Task, TaskState
from backend.todo import summary as home_summary
from tests.support.fixtures import SMALL_PLAN, post_form

THIS_YEAR = local_today().year
# Item 1 names its lead unit (handed out at publish), item 2 names none (待交办); both due by the end of the year.
CURRENT_PLAN = SMALL_PLAN.replace("2024", str(THIS_YEAR)).replace("6月底前完成规划", "年底前完成规划")


async def _draft(bureau, text: str):
    async with unit_of_work(bureau.tenant.id) as session:
        return await plans.start_import(session, bureau.actors[Role.admin], filename="", pasted=text + "\n")


async def test_a_plan_of_an_earlier_year_needs_confirming_and_its_unassigned_task_is_not_red(bureau):
    draft = await _draft(bureau, SMALL_PLAN.replace("2024年", "2023年"))
    admin = bureau.actors[Role.admin]
    with pytest.raises(InvalidInput) as refused:
        async with unit_of_work(bureau.tenant.id) as session:
            await plans.publish(session, admin, draft.id, version=draft.version)
    message = refused.value.message
    assert refused.value.field == "confirm_dates"
    assert f"这是 2023 年的工作要点，今年是 {THIS_YEAR} 年" in message
    assert "将有 2 项任务一生成就已超过时限：其中 1 项写明了牵头单位" in message and "1 项待交办" in message
    async with unit_of_work(bureau.tenant.id) as session:
        result = await plans.publish(session, admin, draft.id, version=draft.version, confirm_dates=True)
        made = (await session.exec(select(Task).where(Task.year == 2023))).all()
        counts = await home_summary.summary(session, admin, today=date.today(), year=2023)
    assert result.created == 2
    unassigned = [t for t in made if t.state == TaskState.unassigned]
    assert len(unassigned) == 1 and unassigned[0].light != Light.red
    assert (counts.unassigned, counts.in_progress, counts.overdue) == (1, 1, 1)


async def test_a_current_plan_with_future_deadlines_publishes_at_once(bureau):
    draft = await _draft(bureau, CURRENT_PLAN)
    async with unit_of_work(bureau.tenant.id) as session:
        assert plans.dates_of(draft, bureau.actors[Role.admin]).needs_confirmation is False
        result = await plans.publish(session, bureau.actors[Role.admin], draft.id, version=draft.version)
    assert result.created == 2


async def test_a_past_deadline_typed_in_the_preview_asks_before_publishing(signed_in, bureau):
    draft = await _draft(bureau, CURRENT_PLAN)
    client = await signed_in(bureau, Role.admin)
    page = f"/plans/imports/{draft.id}"
    item = draft.document["sections"][0]["items"][0]
    await post_form(client, f"{page}/edit", {"operation": "deadline", "key": item["key"],
                                               "deadline": f"{THIS_YEAR}-01-31", "version": draft.version}, page=page)
    preview = await client.get(page)
    assert "将有 1 项任务一生成就已超过时限；它们写明了牵头单位，发布即交办" in preview.text
    assert 'name="confirm_dates"' in preview.text and "年的工作要点，今年是" not in preview.text
    assert preview.text.count("时限已过") == 1  # the item typed into the past is marked where it is
    refused = await post_form(client, f"{page}/publish", {"version": draft.version + 1}, page=page)
    assert refused.status_code == 422 and "请核对年份和时限" in refused.text
    assert refused.text.count("一生成就已超过时限") == 1  # said once, at the top; the button's side says what to do
    published = await post_form(client, f"{page}/publish", {"version": draft.version + 1, "confirm_dates": "1"},
                                page=page)
    assert published.status_code == 303
