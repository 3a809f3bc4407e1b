"""Every action on a task's page says what it did, once, beside the form the person used — and a refusal is said
once too (the past-date 延期 error was shown at the top of the page and again beside the date)."""

import re
from datetime import date, timedelta

from sqlmodel import select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tasks import service as tasks
from backend.tasks.models import Task, TaskState
from tests.support.fixtures import post_form


async def _school_task(bureau) -> Task:
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.state == TaskState.unassigned))).first()
        return await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                        lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[],
                                        deadline=date.today() + timedelta(days=60))


def main(response) -> str:
    text = response.text
    return text[text.index("<main"):text.index("</main>")]


def _card_of(page: str, message: str) -> str:
    """The card (or section) the message sits in: where the person acted."""
    at = page.index(message)
    start = max(page.rfind('<div class="card', 0, at), page.rfind('<section class="card', 0, at))
    return page[start:page.index("</form>", at)]


async def _act(client, path: str, data: dict, task: Task):
    return await post_form(client, path, data, page=f"/tasks/{task.id}")


async def _after(client, task: Task, response) -> str:
    """The page the browser goes to after the post; then the reload, which must not say it again."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/tasks/{task.id}#feedback"
    page = main(await client.get(f"/tasks/{task.id}"))
    return page


async def test_extension_request_and_decision_say_what_happened_once(signed_in, bureau):
    task = await _school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    wanted = task.deadline + timedelta(days=30)
    asked = await _after(staff, task, await _act(staff, f"/tasks/{task.id}/extension",
                                                 {"requested_deadline": wanted.isoformat(), "reason": "场地未落实"},
                                                 task))
    said = f"已提交延期申请（申请延至 {wanted}），等待督查督办人员或局领导审批"
    assert asked.count(said) == 1
    assert "提交延期申请" in _card_of(asked, said)  # beside the 申请延期 form, not elsewhere
    assert said not in main(await staff.get(f"/tasks/{task.id}"))  # a reload does not repeat it

    supervisor = await signed_in(bureau, Role.supervisor)
    page = main(await supervisor.get(f"/tasks/{task.id}"))
    decide = re.search(r'action="(/tasks/[^"]+/extensions/[^"]+)"', page).group(1)
    unexplained = await _act(supervisor, decide, {"decision": "refuse", "comment": ""}, task)
    assert unexplained.status_code == 422 and main(unexplained).count("不批准时请写明理由") == 1
    too_long = await _act(supervisor, decide, {"decision": "approve", "comment": "同意" * 600}, task)
    assert too_long.status_code == 422 and 'value="' + "同意" * 600 + '"' in main(too_long)  # what was typed stays
    approved = await _after(supervisor, task, await _act(supervisor, decide, {"decision": "approve"}, task))
    assert approved.count(f"已批准延期，时限改为 {wanted}") == 1  # the decided request has left the list: at the top


async def test_past_date_extension_error_is_shown_once_beside_the_date(signed_in, bureau):
    task = await _school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    past = date.today() - timedelta(days=3)
    refused = await _act(staff, f"/tasks/{task.id}/extension", {"requested_deadline": past.isoformat(),
                                                                "reason": "场地未落实"}, task)
    assert refused.status_code == 422
    page = main(refused)
    assert page.count("申请的新时限应晚于现在的时限") == 1
    assert 'id="e-requested_deadline"' in page and "场地未落实" in page  # beside the date, the reason kept
    no_reason = await _act(staff, f"/tasks/{task.id}/extension",
                           {"requested_deadline": (task.deadline + timedelta(days=9)).isoformat(), "reason": ""}, task)
    page = main(no_reason)
    assert page.count("请说明延期的理由") == 1 and 'id="e-extension_reason"' in page
    assert 'id="e-reason"' not in page  # not beside the 退回 form's reason


async def test_nudge_names_the_units_it_reached(signed_in, bureau):
    task = await _school_task(bureau)
    supervisor = await signed_in(bureau, Role.supervisor)
    page = await _after(supervisor, task, await _act(supervisor, f"/tasks/{task.id}/nudge", {"message": ""}, task))
    assert page.count("已催办实验小学") == 1
    assert "督办记录" in _card_of(page, "已催办实验小学")
    again = await _act(supervisor, f"/tasks/{task.id}/nudge", {"message": "请尽快"}, task)
    assert again.status_code == 409 and main(again).count("该任务刚催办过") == 1


async def test_acknowledge_send_back_and_assign_say_what_happened(signed_in, bureau):
    task = await _school_task(bureau)
    head = await signed_in(bureau, Role.unit_head)
    empty = await _act(head, f"/tasks/{task.id}/send-back", {"reason": "", "version": str(task.version)}, task)
    assert empty.status_code == 422 and main(empty).count("请说明退回的理由") == 1
    page = await _after(head, task, await _act(head, f"/tasks/{task.id}/acknowledge",
                                               {"version": str(task.version)}, task))
    assert page.count("已签收。请按时限办理") == 1

    supervisor = await signed_in(bureau, Role.supervisor)
    async with unit_of_work(bureau.tenant.id) as session:
        fresh = await session.get(Task, task.id)
    page = await _after(supervisor, task, await _act(supervisor, f"/tasks/{task.id}/assign", {
        "lead_unit_id": str(bureau.units["office"].id), "deadline": "", "version": str(fresh.version)}, task))
    assert page.count("已交办给办公室") == 1


async def test_an_action_taken_from_another_page_says_so_there(signed_in, bureau):
    """The home page's to-do list can take an action (签收) and send `next` to stay where the person is."""
    task = await _school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    taken = await _act(staff, f"/tasks/{task.id}/acknowledge", {"version": str(task.version), "next": "/"}, task)
    assert taken.status_code == 303 and taken.headers["location"] == "/#feedback"
    assert main(await staff.get("/")).count("已签收。请按时限办理") == 1
    supervisor = await signed_in(bureau, Role.supervisor)
    hostile = await _act(supervisor, f"/tasks/{task.id}/nudge", {"next": "//evil.example/"}, task)
    assert hostile.status_code == 303 and hostile.headers["location"] == f"/tasks/{task.id}#feedback"
