"""A three-level plan in the preview on a phone: its groups under their section, the items from a table or a
month calendar marked, and a level up then down again, one button each; nothing off screen, every button a
thumb's width, and axe-core finds nothing serious."""

from backend.core.roles import Role
from backend.plans import service as plans
from tests.browser.conftest import AXE_JS, screenshot, sign_in
from tests.browser.test_pages import AXE_TAGS, describe
from tests.plans.test_levels_edit import grouped_plan


async def _fits_a_phone(page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    for box in [await b.bounding_box() for b in await page.locator("main button:visible, main summary:visible").all()]:
        assert box is not None and box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 390, box


async def _no_serious_axe_findings(page) -> None:
    await page.add_script_tag(path=str(AXE_JS))
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, describe(serious)


async def test_groups_up_and_down_on_a_phone(axe_phone, live_server, bureau, monkeypatch):
    async def parsed(data, filename):
        return grouped_plan()

    monkeypatch.setattr(plans, "parse_bounded", parsed)  # what the parser gives a three-level plan with a table
    page = await axe_phone.new_page()
    await sign_in(page, bureau, Role.admin)
    await page.get_by_role("link", name="工作要点", exact=True).click()
    await page.locator("summary", has_text="导入工作要点").click()
    await page.get_by_label("或粘贴全文").fill("某区教育局2025年工作要点（三级）")
    await page.get_by_role("button", name="识别并预览").click()
    await page.wait_for_url("**/plans/imports/**")
    headings = page.locator("h3.group-heading")
    assert await headings.all_inner_texts() == ["（一）抓好政治建设", "（二）抓好基层组织建设"]
    assert await page.locator("article.item .badge.source").all_inner_texts() == ["来自表格", "来自表格", "来自月历"]
    await _fits_a_phone(page)
    await screenshot(page, "plan-levels-groups")
    await page.locator("section.plan-section h2").first.scroll_into_view_if_needed()
    await screenshot(page, "plan-levels-section", full_page=False)

    first = page.locator("section.plan-section").first
    await first.get_by_role("button", name="分组升为条目（2 组）").click()
    await page.wait_for_load_state()
    assert await headings.count() == 0
    titles = await page.locator("section.plan-section").first.locator("article.item h3").all_inner_texts()
    assert titles == ["1. 抓好政治建设", "2. 抓好基层组织建设 来自表格", "5. 做好信访工作"]  # its rows were a table's
    assert "措施 2 项" in await page.locator("article.item").first.inner_text()
    await _fits_a_phone(page)

    await page.locator("summary", has_text="调整层级（整份计划）").click()
    await page.locator("#levels").get_by_role("button", name="措施拆为条目（2 条）").click()
    await page.wait_for_load_state()
    assert await headings.all_inner_texts() == ["（一）抓好政治建设", "（二）抓好基层组织建设"]
    await screenshot(page, "plan-levels-back")
    await page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    await _fits_a_phone(page)
    await _no_serious_axe_findings(page)
