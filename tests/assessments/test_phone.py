"""The rating sheet and the results page on a 390-px phone in Chromium: nothing scrolls sideways, the whole sheet
(every unit) is filled and saved with one tap, and each term of each unit is on screen."""

import os

import pytest
from playwright.async_api import expect

from backend.assessments import service as assessments
from backend.core.roles import Role
from tests.assessments.world import YEAR, World, call, local
from tests.browser.conftest import AXE_JS, axe_phone, browser, live_server, phone, phone_page, sign_in
from tests.browser.test_pages import AXE_TAGS, describe

pytestmark = pytest.mark.slow(16)  # seconds alone on a quiet machine: starts first (tests/conftest.py)

__all__ = ["axe_phone", "browser", "live_server", "phone", "phone_page"]
PHONE_WIDTH = 390
SHOTS = os.environ.get("LUOSHI_SCREENSHOTS")  # a folder: the pages are saved there to be looked at


async def _fits(page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


async def test_rating_every_unit_in_one_save_and_reading_the_results_on_a_phone(phone_page, live_server,
                                                                                 world: World, clock):
    page = phone_page
    await sign_in(page, world.bureau, Role.supervisor)
    await page.goto(f"/quarterly/{world.reviews[3]}")
    await _fits(page)
    t1, t4 = world.tasks["T1"].number, world.tasks["T4"].number
    rating = page.get_by_label(f"第二中学 {t4} 的评价")
    await expect(rating).to_have_value("100")
    await rating.fill("88")
    await page.get_by_label(f"第二中学 {t4} 的评语").fill("稳步推进")
    await page.get_by_label(f"办公室 {t1} 的评价").fill("91")
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/quarterly-phone.png", full_page=True)
    await expect(page.get_by_role("button", name="保存全部评价")).to_have_count(1)  # one save for the sheet
    await page.get_by_role("button", name="保存全部评价").click()
    await expect(page.locator(".alert.ok")).to_contain_text("本次改动 2 项评价")
    await expect(page.get_by_label(f"第二中学 {t4} 的评价")).to_have_value("88")
    await expect(page.get_by_label(f"办公室 {t1} 的评价")).to_have_value("91")

    clock(local(YEAR + 1, 1, 5))
    assessment = await call(world.tenant_id, assessments.open_assessment, world.actor(Role.supervisor), year=YEAR)
    await page.context.clear_cookies()  # a week on: the sign-in of 28 December has lapsed
    await sign_in(page, world.bureau, Role.supervisor)
    await page.goto(f"/assessments/{assessment.id}")
    await _fits(page)
    office = page.locator("table.results tbody tr", has_text="办公室")
    # 办公室: completion 20.00 (办结 1/2), timeliness 1.67 (按时 2/24), rating 26.25, total 47.92.
    for text in ("20.00", "办结 1/2", "1.67", "按时 2/24", "26.25", "47.92"):
        await expect(office.get_by_text(text, exact=False).first).to_be_visible()
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/assessment-phone.png", full_page=True)


async def test_axe_finds_no_serious_problems_on_these_pages(axe_phone, live_server, world: World, clock):
    clock(local(YEAR + 1, 1, 5))
    assessment = await call(world.tenant_id, assessments.open_assessment, world.actor(Role.supervisor), year=YEAR)
    pages = {Role.supervisor: ["/quarterly", f"/quarterly/{world.reviews[3]}", f"/quarterly/{world.reviews[1]}/summary",
                               "/assessments", f"/assessments/{assessment.id}"],
             Role.leader: [f"/quarterly/{world.reviews[3]}"], Role.admin: ["/admin/rubric"],
             Role.unit_head: [f"/quarterly/{world.reviews[1]}", f"/assessments/{assessment.id}"]}
    for role, paths in pages.items():
        await axe_phone.clear_cookies()
        page = await axe_phone.new_page()
        await sign_in(page, world.bureau, role)
        await page.wait_for_url(f"{live_server}/")
        for path in paths:
            response = await page.goto(path)
            assert response is not None and response.status == 200, (role, path)
            await page.add_script_tag(path=str(AXE_JS))
            result = await page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
                AXE_TAGS)
            serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
            assert not serious, f"axe-core on {path} as {role}:\n{describe(serious)}"
        await page.close()
