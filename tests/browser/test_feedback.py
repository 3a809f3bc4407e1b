"""On phones (390×844 and 360×740), an action's message is on screen after the tap, beside the form used, said once,
and the page does not scroll sideways."""

from datetime import date, timedelta

from playwright.async_api import Page, expect
from sqlmodel import col, select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import Task
from tests.browser.conftest import PHONE, screenshot, sign_in
from tests.support.fixtures import Bureau

TITLE = "新改扩建中小学26所"


async def _school_task(bureau: Bureau) -> Task:
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(col(Task.title).contains(TITLE)))).one()
        task = await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                        lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[],
                                        deadline=date.today() + timedelta(days=30))
        await lifecycle.acknowledge(session, bureau.actors[Role.unit_staff], task.id, version=task.version)
        return task


async def _in_view(page: Page, selector: str) -> bool:
    return await page.evaluate(
        """(s) => { const r = document.querySelector(s).getBoundingClientRect();
                    return r.top >= 0 && r.bottom <= window.innerHeight; }""", selector)


async def test_extension_request_and_nudge_say_so_on_screen(phone, browser, live_server, bureau):
    task = await _school_task(bureau)
    staff = await phone.new_page()
    await sign_in(staff, bureau, Role.unit_staff)
    await staff.wait_for_url("**/")
    await staff.goto(f"/tasks/{task.id}")
    await staff.locator("summary", has_text="申请延期").click()
    past = (date.today() - timedelta(days=2)).isoformat()
    await staff.get_by_label("申请延至").fill(past)
    await staff.get_by_label("理由", exact=True).fill("场地审批未完成")
    await staff.get_by_role("button", name="提交延期申请").click()
    await expect(staff.get_by_text("申请的新时限应晚于现在的时限")).to_have_count(1)
    await expect(staff.get_by_label("理由", exact=True)).to_have_value("场地审批未完成")

    wanted = (task.deadline + timedelta(days=20)).isoformat()
    await staff.get_by_label("申请延至").fill(wanted)
    await staff.get_by_role("button", name="提交延期申请").click()
    await staff.wait_for_url("**#feedback")
    said = staff.locator("#feedback")
    await expect(said).to_have_count(1)
    await expect(said).to_contain_text(f"已提交延期申请（申请延至 {wanted}）")
    assert await _in_view(staff, "#feedback"), "the message is off screen after the tap"
    assert await staff.evaluate("document.documentElement.scrollWidth") <= 390
    # Sent: the refused attempt's text is not offered again (drafts.js keys a form by its action, not the page).
    await expect(staff.locator(".draft-notice")).to_have_count(0)
    await screenshot(staff, "typing-extension-requested", full_page=False)

    # The supervisor on the smallest phone the product supports.
    supervisor_context = await browser.new_context(base_url=live_server,
                                                   **{**PHONE, "viewport": {"width": 360, "height": 740}})
    try:
        supervisor = await supervisor_context.new_page()
        await sign_in(supervisor, bureau, Role.supervisor)
        await supervisor.wait_for_url("**/")
        await supervisor.goto(f"/tasks/{task.id}")
        await supervisor.get_by_role("button", name="催办", exact=True).click()
        await supervisor.wait_for_url("**#feedback")
        await expect(supervisor.locator("#feedback")).to_have_text(
            "已催办实验小学，对方会在通知中心和已开通的渠道收到提醒。")
        assert await _in_view(supervisor, "#feedback")
        assert await supervisor.evaluate("document.documentElement.scrollWidth") <= 360
        await screenshot(supervisor, "typing-nudged", full_page=False)
        await supervisor.get_by_role("button", name="批准", exact=True).click()
        await expect(supervisor.locator("#feedback")).to_contain_text(f"已批准延期，时限改为 {wanted}")
        await supervisor.reload()
        await expect(supervisor.locator("#feedback")).to_have_count(0)
    finally:
        await supervisor_context.close()
