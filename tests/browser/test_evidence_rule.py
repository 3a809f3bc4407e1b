"""佐证要求 on a phone in Chromium: a supervisor requires evidence with a reason from the task page (targets of at
least 44 px, no sideways scroll, no serious axe problem), and the school's clerk reads the reason on the same page."""

from datetime import date

from playwright.async_api import expect

from backend.core.clock import local_today
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tasks import service as tasks
from tests.browser.conftest import AXE_JS, sign_in
from tests.browser.test_pages import AXE_TAGS, describe

TODAY = local_today()
REASON = "涉及专项资金拨付，需留存验收单"


async def test_a_supervisor_requires_evidence_and_the_school_reads_why(axe_phone, live_server, bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        [task] = await tasks.create_tasks(session, bureau.actors[Role.supervisor], TODAY.year + 1, [tasks.NewTask(
            title="校舍维修验收", description="", deadline=date(TODAY.year + 1, 12, 31),
            lead_unit_ids=[bureau.units["school"].id])])
    page = await axe_phone.new_page()
    await sign_in(page, bureau, Role.supervisor)
    await page.wait_for_url(f"{live_server}/")
    await page.goto(f"/tasks/{task.id}")
    await expect(page.locator("#evidence-rule")).to_contain_text("可选")
    await page.get_by_text("设定佐证材料要求").click()
    form = page.locator(f'form[action="/tasks/{task.id}/evidence-rule"]')
    for control in (form.locator("label.inline-label").first, form.get_by_label("要求佐证的原因", exact=False),
                    form.get_by_role("button", name="保存佐证要求")):
        box = await control.bounding_box()
        assert box is not None and box["height"] >= 44, box
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.add_script_tag(path=str(AXE_JS))
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, describe(serious)
    await form.get_by_text("必须：", exact=False).click()
    await form.get_by_role("button", name="保存佐证要求").click()  # no reason yet: refused beside the field
    await expect(page.locator("#e-evidence_reason")).to_contain_text("请写明原因")
    await page.get_by_label("要求佐证的原因", exact=False).fill(REASON)
    await page.get_by_role("button", name="保存佐证要求").click()
    await expect(page.locator(".alert.ok")).to_contain_text("已保存佐证材料要求：必须")
    await expect(page.locator("#evidence-rule")).to_contain_text(REASON)

    clerk = await axe_phone.new_page()
    await clerk.context.clear_cookies()
    await sign_in(clerk, bureau, Role.unit_staff)
    await clerk.goto(f"/tasks/{task.id}")
    await expect(clerk.locator("#evidence-rule")).to_contain_text(REASON)
    assert await clerk.get_by_text("设定佐证材料要求").count() == 0
