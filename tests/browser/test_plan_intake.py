"""Plan intake in Chromium, as an administrator does it on a phone: upload → preview → edit → publish."""


from backend.core.roles import Role
from tests.browser.conftest import sign_in
from tests.support.samples import SAMPLES

SAMPLE = SAMPLES / "001_a731d4828302f3e6.txt"


async def test_upload_preview_edit_publish_on_a_phone(phone_page, live_server, bureau, tmp_path):
    page = phone_page
    await sign_in(page, bureau, Role.admin)
    await page.get_by_role("link", name="工作要点", exact=True).click()
    await page.locator("summary", has_text="导入工作要点").click()
    await page.get_by_label("选择文件").set_input_files(str(SAMPLE))
    await page.get_by_role("button", name="识别并预览").click()
    await page.wait_for_url("**/plans/imports/**")
    assert await page.locator("mark.m-deadline").count() > 0  # deadlines highlighted in the text
    assert await page.locator("p.flag").count() > 0  # doubts are marked
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390

    first_item = page.locator("article.item").first
    await first_item.locator("summary", has_text="修改本条").click()
    await first_item.get_by_label("标题").fill("手机上改过的标题")
    await first_item.get_by_role("button", name="改标题").click()
    await page.wait_for_load_state()
    assert await page.locator("article.item h3").first.inner_text() == "1. 手机上改过的标题"

    item = page.locator("article.item").first
    await item.locator("summary", has_text="修改本条").click()
    await item.get_by_label("时限").fill("2019-05-31")
    await item.get_by_role("button", name="改时限").click()
    await page.wait_for_load_state()
    assert "2019-05-31" in await page.locator("article.item").first.inner_text()

    # A 2019 plan published in a later year, with a past 时限 typed in: nothing is published until the dates are
    # confirmed, and the page says how many tasks would be born overdue.
    await page.get_by_role("button", name="发布").click()
    await page.wait_for_load_state()
    assert "这是 2019 年的工作要点" in await page.locator(".alert.error").inner_text()
    assert "一生成就已超过时限" in await page.locator(".alert.error").inner_text()
    await page.get_by_label("我已核对年份和时限，按此发布").check()
    await page.get_by_role("button", name="发布").click()
    await page.wait_for_url("**/plans/*?created=*")
    assert "已发布" in await page.locator(".alert.ok").inner_text()
    body = await page.locator("main").inner_text()
    assert "手机上改过的标题" in body and "督-2019-001" in body
