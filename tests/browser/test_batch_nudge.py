"""催所有未报单位 on a phone in Chromium, as a supervisor does it from the task list: two taps, the page says what
was sent and skipped; nothing on it scrolls sideways, its controls are big enough to tap, and axe-core finds no
serious problem."""

import os
from datetime import date

from playwright.async_api import expect

from backend.core.clock import local_today
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tasks import service as tasks
from tests.browser.conftest import AXE_JS, sign_in
from tests.browser.test_pages import AXE_TAGS, describe

TODAY = local_today()
SHOTS = os.environ.get("LUOSHI_SCREENSHOTS")  # a folder: the pages are saved there to be looked at


async def test_nudging_every_unit_that_has_not_filed_from_the_task_list(axe_phone, live_server, bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        await tasks.create_tasks(session, bureau.actors[Role.supervisor], TODAY.year + 1, [tasks.NewTask(
            title="校园安全排查", description="", deadline=date(TODAY.year + 1, 12, 31),
            lead_unit_ids=[bureau.units["school"].id])])
    page = await axe_phone.new_page()
    await sign_in(page, bureau, Role.supervisor)
    await page.wait_for_url(f"{live_server}/")
    await page.goto("/tasks")
    await page.get_by_role("link", name="催所有未报单位").click()
    await page.wait_for_url("**/nudges/missing?next=/tasks")
    await expect(page.get_by_label("月份")).to_have_value(f"{TODAY.year}-{TODAY.month:02d}")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    for control in (page.get_by_label("月份"), page.get_by_role("button", name="催所有未报单位")):
        box = await control.bounding_box()
        assert box is not None and box["height"] >= 44, box
    await page.add_script_tag(path=str(AXE_JS))
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, describe(serious)
    await page.get_by_role("button", name="催所有未报单位").click()
    await expect(page.locator(".alert.ok")).to_contain_text("已向未报单位发出催报 1 条")
    await expect(page.locator(".alert.ok")).to_contain_text("单位还没有负责人或经办人账号")
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/batch-nudge-phone.png", full_page=True)
    await page.get_by_role("link", name="返回").click()
    await page.wait_for_url("**/tasks")
