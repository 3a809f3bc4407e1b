"""A unit's staff member reads a published bulletin on a 390×844 phone in Chromium: the heading, the table and
the chart's table are visible, the charts are labelled images, and the page never scrolls sideways (only the
tables' own wrappers may)."""

from datetime import date

import pytest
import pytest_asyncio
from playwright.async_api import async_playwright, expect

from backend.bulletins import service as bulletins
from backend.core.roles import Role
from backend.db import unit_of_work
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM, PHONE, live_server, sign_in
from tests.bulletins.scenario import build

__all__ = ["live_server"]


@pytest_asyncio.fixture
async def phone_page(live_server):
    if not HAVE_CHROMIUM:
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = await chromium.new_context(base_url=live_server, **PHONE)
        context.set_default_timeout(10_000)
        yield await context.new_page()
        await context.close()
        await chromium.close()


async def test_a_unit_reads_the_bulletin_on_a_phone(phone_page, bureau, clock):
    s = await build(bureau, clock)
    supervisor = bureau.actors[Role.supervisor]
    async with unit_of_work(s.tenant_id) as session:
        bulletin, _new = await bulletins.draft_for_month(session, s.tenant_id, s.year, 3, today=date(s.year, 4, 1))
        await bulletins.publish(session, supervisor, bulletin.id, version=bulletin.version)
    page = phone_page
    await sign_in(page, bureau, Role.unit_staff)
    await page.wait_for_url("**/")
    await page.goto("/bulletins")
    await page.get_by_role("link", name=bulletin.title).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(bulletin.title)
    # The staff member's own unit (实验小学) first: T2 due and filed late on 03-30.
    await expect(page.get_by_role("region", name="本单位情况：实验小学")).to_contain_text(
        "本月应报 1 份，已报 1 份（按时 0 份，逾期 1 份），未报 0 份")
    units = page.get_by_role("table", name="表2 各单位进展报送与办理情况", exact=False)
    await expect(units).to_be_visible()
    # 第二中学's row: 1 due, 0 filed, 0 on time, 0 late, 1 missing.
    row = units.get_by_role("row", name="第二中学", exact=False)
    await expect(row).to_contain_text("第二中学")
    assert (await row.locator("td").all_inner_texts())[:5] == ["1", "0", "0", "0", "1"]
    # The lights' chart has its numbers beside it in a table, and is an image with a name.
    await expect(page.get_by_role("img", name="推进中任务红黄绿灯", exact=False)).to_be_visible()
    lights = page.get_by_role("table", name="表1 推进中任务", exact=False)
    await lights.scroll_into_view_if_needed()
    await expect(lights).to_be_visible()
    await expect(page.get_by_role("table", name="表3", exact=False)).to_be_attached()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the bulletin page is {width}px wide on a 390px phone"
    # Table 2 shows each unit as a card of labelled figures: nothing hides behind a sideways swipe.
    wrapper = await page.evaluate("""() => { const w = document.querySelector('#t-tbl-units').parentElement;
        return [w.clientWidth, w.scrollWidth]; }""")
    assert wrapper[1] <= wrapper[0] <= 390
