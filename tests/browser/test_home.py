"""The to-do home and the phone layout in Chromium: each role's home at 390×844 lists what waits for it and each
entry opens the page where it is done; a sweep of every role's main pages at 360×740 finds no tap target under
44×44 CSS px and no sideways scroll; the home's first-load weight stays small.

Set-up through the services: a bureau taken once round the loop (a published 月通报, 季点评 and 年考核), unit
heads approving first, two tasks and the plan's 新改扩建中小学26所 handed to the school; the school's staff has sent
one report up to its head; the office (make_loop) has a report with 需协调事项 passed by its head, and a pending
延期申请; the lights are red where deadlines have passed."""

import io
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect
from sqlmodel import col, select

from backend.assessments.models import Assessment
from backend.bulletins.models import Bulletin
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.evidence import service as evidence
from backend.plans import service as plans
from backend.plans.models import Plan
from backend.reports import lights
from backend.reports import service as reports
from backend.reviews.models import QuarterlyReview
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import Task
from backend.tenancy.bureau_settings import update_bureau_settings
from tests.browser.conftest import AXE_JS, PHONE, sign_in
from tests.browser.test_pages import AXE_TAGS, describe
from tests.reports.helpers import make_loop
from tests.support.fixtures import SMALL_PLAN, Bureau, _one, create_bureau

SMALL_PHONE = {**PHONE, "viewport": {"width": 360, "height": 740}}
MIN_TARGET = 44


@dataclass
class World:
    bureau: Bureau
    due_task: uuid.UUID  # the school's, nothing filed yet
    awaiting_report: uuid.UUID  # the school staff's report waiting for the school head
    office_report: uuid.UUID  # the office's report waiting for the supervisor, with 需协调事项
    office_task: uuid.UUID  # with a pending extension request
    pages: dict[Role, list[str]]


async def _world() -> World:
    bureau = await create_bureau(whole_loop=True)
    loop = await make_loop(bureau)
    admin, supervisor = bureau.actors[Role.admin], bureau.actors[Role.supervisor]
    school = bureau.units["school"].id
    deadline = date.today() + timedelta(days=120)
    async with unit_of_work(bureau.tenant.id) as session:
        await update_bureau_settings(session, admin, report_day=25, unit_head_approval=True)
        made = await tasks.create_tasks(session, supervisor, date.today().year, [
            tasks.NewTask(title=title, description="", deadline=deadline, lead_unit_ids=[school], co_unit_ids=[])
            for title in ("校园安全隐患排查整治", "课后服务提质增效")])
        big = (await session.exec(select(Task).where(col(Task.title).contains("新改扩建")))).one()
        await tasks.assign_units(session, supervisor, big, lead_unit_ids=[school], co_unit_ids=[], deadline=deadline)
    staff = bureau.actors[Role.unit_staff]
    async with unit_of_work(bureau.tenant.id) as session:
        report = await reports.save_report(session, staff, made[0].id, progress="已完成全校排查。", percent=50,
                                           version=0)
        await reports.submit_report(session, staff, report.id, version=report.version)
    async with unit_of_work(bureau.tenant.id) as session:
        office = await reports.save_report(session, loop.staff, loop.task_id, progress="开展专题学习3次。",
                                           support_needed="需要协调报告厅。", percent=30, version=0)
        office = await reports.submit_report(session, loop.staff, office.id, version=office.version)
    async with unit_of_work(bureau.tenant.id) as session:
        await reports.unit_head_decide(session, loop.head, office.id, approve=True, version=office.version)
        await lifecycle.request_extension(session, loop.staff, loop.task_id, requested_deadline=deadline,
                                          reason="场地改造")
        await lights.refresh_lights(session, bureau.tenant.id, today=date.today(), trigger="测试")
    async with unit_of_work(bureau.tenant.id) as session:
        preview = await plans.start_import(session, admin, filename="", pasted=SMALL_PLAN.replace("2024", "2027"))
    async with unit_of_work(bureau.tenant.id) as session:
        bulletin = (await session.exec(select(Bulletin.id))).first()
        review = (await session.exec(select(QuarterlyReview.id))).first()
        assessment = (await session.exec(select(Assessment.id))).first()
        plan = (await session.exec(select(Plan.id))).first()
    common = ["/", "/tasks", f"/bulletins/{bulletin}", "/bulletins", "/quarterly", f"/quarterly/{review}",
              "/assessments", f"/assessments/{assessment}", "/account/tokens", "/plans", f"/plans/{plan}",
              "/notifications"]
    unit_pages = [f"/tasks/{made[1].id}", f"/tasks/{made[1].id}/report"]
    bureau_pages = [f"/tasks/{loop.task_id}", f"/tasks/{loop.task_id}/reports", "/reviews"]
    pages = {Role.unit_staff: common + unit_pages,
             Role.unit_head: common + unit_pages + ["/reviews"],
             Role.supervisor: common + bureau_pages,
             Role.leader: common + bureau_pages[:2],
             Role.admin: common + bureau_pages + ["/admin/members", "/admin/units", f"/plans/imports/{preview.id}",
                                                  "/admin/reminders", "/admin/channels", "/admin/report-settings",
                                                  "/admin/rubric", "/audit", "/account/password",
                                                  "/account/notifications", "/tasks/new"]}
    return World(bureau, made[1].id, report.id, office.id, loop.task_id, pages)


@pytest.fixture
async def world() -> World:
    return await _world()


async def _phone(browser: Browser, live_server: str, options: dict, bureau: Bureau, role: Role) -> Page:
    context = await browser.new_context(base_url=live_server, **options)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await sign_in(page, bureau, role)
    await page.wait_for_url(f"{live_server}/")
    return page


def _png(n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40 * n, 120, 200)).save(out, "PNG")
    return out.getvalue()


def _entry(page: Page, key: str, text: str):
    return page.locator(f"#todo-{key} a.todo-entry", has_text=text)


# --- each role's home at 390×844 --------------------------------------------------------------------------


async def test_staff_home_leads_to_the_report_form_and_the_task_to_acknowledge(browser, live_server, world):
    page = await _phone(browser, live_server, PHONE, world.bureau, Role.unit_staff)
    try:
        due = _entry(page, "due", "课后服务提质增效")
        await expect(due).to_contain_text("还剩")
        await expect(page.locator("#todo-to_acknowledge")).to_contain_text("新改扩建中小学26所")
        await due.click()
        await page.wait_for_url(f"**/tasks/{world.due_task}/report?period=*")
        await expect(page.get_by_label("进展情况")).to_be_editable()

        await page.goto("/")
        await _entry(page, "to_acknowledge", "新改扩建中小学26所").click()
        await expect(page.get_by_role("button", name="签收", exact=True)).to_be_visible()
    finally:
        await page.context.close()


async def test_unit_head_home_leads_to_the_report_to_approve(browser, live_server, world):
    page = await _phone(browser, live_server, PHONE, world.bureau, Role.unit_head)
    try:
        await _entry(page, "awaiting_unit_head", "校园安全隐患排查整治").click()
        await page.wait_for_url(f"**/reviews#row-{world.awaiting_report}")
        row = page.locator(f"#row-{world.awaiting_report}")
        await expect(row.get_by_role("button", name="同意报送")).to_be_in_viewport()
    finally:
        await page.context.close()


async def test_supervisor_home_leads_to_the_review_and_the_extension(browser, live_server, world):
    page = await _phone(browser, live_server, PHONE, world.bureau, Role.supervisor)
    try:
        await expect(page.locator("#todo-overdue_reports, #todo-to_review").first).to_be_visible()
        await _entry(page, "to_review", "深化理论学习").click()
        await page.wait_for_url(f"**/reviews#row-{world.office_report}")
        await expect(page.locator(f"#row-{world.office_report}")).to_contain_text("开展专题学习3次。")

        await page.goto("/")
        await _entry(page, "extensions", "深化理论学习").click()
        await page.wait_for_url(f"**/tasks/{world.office_task}#ext-h")
        await expect(page.locator("#ext-h + ul").get_by_role("button", name="批准", exact=True)).to_be_in_viewport()
    finally:
        await page.context.close()


async def test_leader_home_shows_what_needs_attention(browser, live_server, world):
    page = await _phone(browser, live_server, PHONE, world.bureau, Role.leader)
    try:
        await expect(page.get_by_role("heading", name="需关注")).to_be_visible()
        await expect(page.locator("#todo-reds a.todo-entry").first).to_be_visible()
        await expect(page.locator("#todo-units_behind")).to_contain_text("超期任务")
        await _entry(page, "support_needed", "需要协调报告厅").click()
        await page.wait_for_url(f"**/tasks/{world.office_task}/reports#report-{world.office_report}")
        await expect(page.locator(f"#report-{world.office_report}")).to_contain_text("需要协调报告厅。")
    finally:
        await page.context.close()


async def test_staff_task_page_folds_the_upload_form(browser, live_server, world):
    """The task page shows the evidence list; the upload form opens from 上传佐证材料 (6,768 px tall before)."""
    async with unit_of_work(world.bureau.tenant.id) as session:
        for n in range(3):
            await evidence.upload_evidence(session, world.bureau.actors[Role.unit_staff], world.due_task,
                                           filename=f"现场{n}.png", chunks=_one(_png(n)))
    page = await _phone(browser, live_server, PHONE, world.bureau, Role.unit_staff)
    try:
        await page.goto(f"/tasks/{world.due_task}")
        await expect(page.locator("#evidence-items")).to_contain_text("现场2.png")
        await expect(page.get_by_label("选择文件")).to_be_hidden()
        height = await page.evaluate("document.scrollingElement.scrollHeight")
        assert height <= 3 * 844, f"the staff task page is {height}px tall"
        await page.locator("summary", has_text="上传佐证材料").click()
        await expect(page.get_by_label("选择文件")).to_be_visible()
    finally:
        await page.context.close()


async def test_bulletin_table_2_shows_each_units_figures_without_a_swipe(browser, live_server, world):
    async with unit_of_work(world.bureau.tenant.id) as session:
        bulletin = (await session.exec(select(Bulletin.id))).first()
    page = await _phone(browser, live_server, PHONE, world.bureau, Role.unit_head)
    try:
        await page.goto(f"/bulletins/{bulletin}")
        table = page.locator("#t-tbl-units")
        rows = await table.locator("tbody tr").all()
        assert rows
        for row in rows:
            for column in (5, 6, 8):  # 未报, 按时报送率, 红灯
                cell = await row.locator(":scope > *").nth(column).bounding_box()
                assert cell and cell["x"] >= 0 and cell["x"] + cell["width"] <= 390, f"column {column} is off screen"
        wrap = page.locator(".bulletin-table", has=table)
        assert await wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), "table 2 still needs a sideways swipe"
        label = await table.locator("tbody tr").first.locator("td").nth(5).evaluate(
            "e => getComputedStyle(e, '::before').content")
        assert "按时报送率" in label  # each figure says what it is
    finally:
        await page.context.close()


@pytest.mark.parametrize("role", [Role.unit_staff, Role.unit_head, Role.supervisor, Role.leader, Role.admin],
                         ids=lambda r: r.value)
async def test_axe_finds_no_serious_problems_on_each_home(browser, live_server, world, role):
    """The to-do lists and the 更多 sheet, opened, on a phone (bypass_csp: axe runs as an inline script)."""
    page = await _phone(browser, live_server, {**PHONE, "bypass_csp": True}, world.bureau, role)
    try:
        await page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        await page.add_script_tag(path=str(AXE_JS))
        result = await page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            AXE_TAGS)
    finally:
        await page.context.close()
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, describe(serious)


# --- the sweep at 360×740 -----------------------------------------------------------------------------------

# Every visible tap target: links, buttons, form controls and <summary>; a checkbox or radio counts with its
# label (tapping the label ticks it). Inside closed <details> nothing is visible; a second pass opens them all.
SMALL_TARGETS_JS = """
(min) => {
  const found = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= 0 || r.bottom + window.scrollY <= 0) continue;
    let w = r.width, h = r.height;
    if ((el.type === 'checkbox' || el.type === 'radio') && el.labels && el.labels.length) {
      const l = el.labels[0].getBoundingClientRect();
      w = Math.max(w, l.width); h = Math.max(h, l.height);
    }
    if (w < min - 0.5 || h < min - 0.5) {
      const name = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim().slice(0, 30);
      const kind = el.tagName.toLowerCase() + (el.type ? '[' + el.type + ']' : '');
      found.push(`${kind} "${name}" ${Math.round(w)}×${Math.round(h)}`);
    }
  }
  return found;
}
"""


async def _problems(page: Page, where: str) -> list[str]:
    problems = [f"{where}: {target}" for target in await page.evaluate(SMALL_TARGETS_JS, MIN_TARGET)]
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    if width > await page.evaluate("window.innerWidth"):
        problems.append(f"{where}: the page scrolls sideways ({width}px wide)")
    return problems


@pytest.mark.parametrize("role", [Role.unit_staff, Role.unit_head, Role.supervisor, Role.leader, Role.admin],
                         ids=lambda r: r.value)
async def test_no_small_tap_target_and_no_sideways_scroll_at_360(browser, live_server, world, role):
    page = await _phone(browser, live_server, SMALL_PHONE, world.bureau, role)
    problems: list[str] = []
    try:
        for path in world.pages[role]:
            response = await page.goto(path)
            assert response.status == 200, f"{path} answered {response.status}"
            problems += await _problems(page, path)
            await page.evaluate("document.querySelectorAll('main details').forEach(d => d.open = true)")
            problems += await _problems(page, f"{path} (details open)")
        await page.goto("/")
        await page.get_by_role("navigation", name="主导航").get_by_text("更多", exact=True).click()
        problems += await _problems(page, "更多")
    finally:
        await page.context.close()
    assert not problems, "\n".join(problems)


async def test_the_header_and_tab_bar_fit_on_one_line_at_360(browser, live_server, world):
    page = await _phone(browser, live_server, SMALL_PHONE, world.bureau, Role.supervisor)
    try:
        header = await page.locator("header.topbar").bounding_box()
        assert header["height"] <= 56, f"the header wraps: {header['height']}px tall"
        nav = page.get_by_role("navigation", name="主导航")
        tabs = [tab for tab in await nav.locator(":scope > ul > li").all() if await tab.is_visible()]
        assert len(tabs) <= 6
        tops = {round((await tab.bounding_box())["y"]) for tab in tabs}
        assert len(tops) == 1, "the tab bar wraps"
        await nav.get_by_text("更多", exact=True).click()
        for name in ("季度点评", "年度考核", "我的账号"):
            await expect(nav.get_by_role("link", name=name, exact=True)).to_be_in_viewport()
        await expect(nav.get_by_role("button", name="退出")).to_be_in_viewport()
        await page.locator("main h1").click()  # a tap elsewhere closes the sheet
        await expect(nav.get_by_role("link", name="我的账号", exact=True)).to_be_hidden()
    finally:
        await page.context.close()


# --- page weight ---------------------------------------------------------------------------------------------

HOME_BUDGET = 160_000  # bytes: HTML, CSS, scripts and the bell fragment of a first visit


@pytest.mark.parametrize("role", [Role.unit_staff, Role.unit_head, Role.supervisor, Role.leader, Role.admin],
                         ids=lambda r: r.value)
async def test_home_first_load_is_light(browser, live_server, world, role):
    page = await _phone(browser, live_server, PHONE, world.bureau, role)
    try:
        await page.goto("/")
        await page.wait_for_load_state("networkidle")
        # What a first visit downloads (bodies as served), cached or not this time.
        sizes = await page.evaluate("""() => performance.getEntries()
            .filter(e => e.entryType === 'navigation' || e.entryType === 'resource')
            .map(e => [e.name, e.decodedBodySize])""")
    finally:
        await page.context.close()
    total = sum(size for _url, size in sizes)
    print(f"home weight {role.value}: {total} bytes in {len(sizes)} requests: "
          + ", ".join(f"{url.removeprefix(live_server)}={size}" for url, size in sizes))
    assert total <= HOME_BUDGET
