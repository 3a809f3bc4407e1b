"""The operator's 节假日安排 on a phone (issue 13, point 11): warned while next year is missing, the year entered from
the notice, at 390 and 360 px wide with no sideways scroll, targets of at least 44×44 px and no axe problems."""


import pytest
from sqlmodel import delete

from backend.accounts.service import create_user
from backend.db import unit_of_work
from backend.holidays.jobs import refresh_calendar
from backend.holidays.models import HolidayYear
from tests.browser.conftest import AXE_JS, screenshot
from tests.browser.test_pages import describe, scroll_width
from tests.support.fixtures import PASSWORD, unique

TARGETS = "main :is(a, button, input, select, textarea, summary)"


@pytest.fixture
async def operator_name():
    username = unique("op-")
    async with unit_of_work() as session:
        await create_user(session, username=username, display_name="平台运维", password=PASSWORD, is_operator=True)
    yield username
    async with unit_of_work() as session:
        await session.exec(delete(HolidayYear).where(HolidayYear.year >= 2027))
    await refresh_calendar()


async def _small_targets(page) -> list[str]:
    """Visible interactive elements of the page's own content under 44×44 CSS px (the header, navigation and
    footer are the phone-navigation work of this issue)."""
    return await page.evaluate("""sel => [...document.querySelectorAll(sel)].filter(e => {
        const r = e.getBoundingClientRect(); if (!r.width || !r.height) return false;
        return r.width < 44 || r.height < 44;
    }).map(e => e.tagName + ' ' + (e.name || e.textContent.trim()).slice(0, 20))""", TARGETS)


@pytest.mark.parametrize("width, height", [(390, 844), (360, 740)])
async def test_operator_enters_next_year_on_a_phone(axe_phone, live_server, operator_name, width, height):
    page = await axe_phone.new_page()
    await page.set_viewport_size({"width": width, "height": height})
    await page.goto("/login")
    await page.get_by_label("登录名").fill(operator_name)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录", exact=True).click()
    await page.wait_for_url("**/operator/tenants")
    assert await _small_targets(page) == []  # the warning's 去录入 among them
    warning = page.get_by_role("alert").filter(has_text="2027年的法定节假日安排尚未录入")
    await warning.get_by_role("link", name="去录入").click()  # a button-sized link under the warning
    await page.wait_for_url("**/operator/calendar")
    await screenshot(page, f"wrongs-calendar-{width}-before")
    assert await scroll_width(page) <= width
    assert await _small_targets(page) == []
    await page.add_script_tag(path=str(AXE_JS))
    result = await page.evaluate("() => axe.run(document, {runOnly: {type: 'tag', values: "
                                 "['wcag2a', 'wcag2aa', 'wcag21aa']}, resultTypes: ['violations']})")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, describe(serious)
    await page.get_by_label("年份").fill("2027")
    await page.get_by_label("通知文号").fill("国办发明电〔2026〕7号")
    await page.get_by_label("放假日期").fill("2027-01-01~2027-01-03\n2027-02-06~2027-02-14")
    await page.get_by_label("调休上班日期").fill("2027-02-20")
    await page.get_by_role("button", name="保存").click()
    await page.get_by_text("已保存2027年的安排").wait_for()
    assert await page.get_by_role("alert").filter(has_text="2027年的法定节假日安排尚未录入").count() == 0
    await screenshot(page, f"wrongs-calendar-{width}-saved")
    assert await scroll_width(page) <= width
