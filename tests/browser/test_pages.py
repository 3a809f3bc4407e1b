"""The pages as people use them: on a phone, signing in by role, accessibility (axe-core), form errors beside
their fields, no third-party requests, and the keyboard."""

import json
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from backend.core.roles import Role
from tests.browser.conftest import AXE_JS, sign_in
from tests.support.fixtures import PASSWORD

PHONE_WIDTH = 390

# The navigation items that depend on the role (backend.core.actor.PERMISSIONS), and who sees them; every role
# also sees 首页 and 我的账号. Other items (e.g. 工作要点) are not role-dependent and are not pinned down here.
GATED = ["单位", "人员与角色", "操作日志"]
SEES = {
    Role.admin: {"单位", "人员与角色", "操作日志"},
    Role.supervisor: {"人员与角色", "操作日志"},
    Role.leader: {"人员与角色", "操作日志"},
    Role.unit_head: {"人员与角色"},
    Role.unit_staff: set(),
}


async def scroll_width(page: Page) -> int:
    return await page.evaluate("document.documentElement.scrollWidth")


# --- (a) every role signs in on a phone ------------------------------------------------------------------


@pytest.mark.parametrize("role", list(SEES), ids=[r.value for r in SEES])
async def test_each_role_signs_in_on_a_phone(phone_page, live_server, bureau, role):
    page = phone_page
    await page.goto("/")
    assert urlsplit(page.url).path == "/login", "a visitor who is not signed in is sent to the login page"
    assert await scroll_width(page) <= PHONE_WIDTH, "the login page scrolls sideways on a phone"

    await sign_in(page, bureau, role)
    await page.wait_for_url(f"{live_server}/")

    await expect(page.get_by_role("heading", level=1)).to_have_text(f"您好，{bureau.users[role].display_name}")
    await expect(page.get_by_role("banner")).to_contain_text(bureau.tenant.name)
    nav = page.get_by_role("navigation", name="主导航")
    await nav.get_by_text("更多", exact=True).click()  # a phone shows four entries; the rest are under 更多
    for item in ["首页", "我的账号"]:
        await expect(nav.get_by_role("link", name=item, exact=True)).to_be_visible()
    for item in GATED:
        link = nav.get_by_role("link", name=item, exact=True)
        if item in SEES[role]:
            await expect(link, f"{role.value} should see {item}").to_be_visible()
        else:
            await expect(link, f"{role.value} should not see {item}").to_have_count(0)
    width = await scroll_width(page)
    assert width <= PHONE_WIDTH, f"the home page of {role.value} is {width}px wide on a {PHONE_WIDTH}px phone"


# --- (b) axe-core on the phone -----------------------------------------------------------------------------

AXE_PAGES = ["/login", "/", "/admin/units", "/admin/members", "/audit", "/account/tokens", "/account/password",
             "/admin/reminders", "/admin/channels", "/admin/outbox/dead", "/account/notifications"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa"]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            lines.append(f"    {json.dumps(node['target'], ensure_ascii=False)}  {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


@pytest.mark.parametrize("path", AXE_PAGES)
async def test_axe_finds_no_serious_problems_on_a_phone(axe_phone, live_server, bureau, path):
    page = await axe_phone.new_page()
    if path != "/login":
        await sign_in(page, bureau, Role.admin)
        await page.wait_for_url(f"{live_server}/")
    response = await page.goto(path)
    assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
    assert urlsplit(page.url).path == path
    # Folded forms (新建单位, 邀请人员, 调整) are checked too.
    await page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    await page.add_script_tag(path=str(AXE_JS))
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS
    )
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, f"axe-core on {path} (phone, {', '.join(AXE_TAGS)}):\n{describe(serious)}"


# --- (c) wrong password ----------------------------------------------------------------------------------


async def test_wrong_password_message_beside_the_field_keeps_login_name(phone_page, bureau):
    page = phone_page
    username = bureau.username(Role.leader)
    await page.goto("/login")
    await page.get_by_label("登录名").fill(username)
    await page.get_by_label("密码").fill("Wrong-password-1")
    await page.get_by_role("button", name="登录", exact=True).click()
    await page.wait_for_load_state()

    assert urlsplit(page.url).path == "/login"
    password = page.get_by_label("密码")
    error = page.locator("#e-password")
    await expect(error).to_contain_text("登录名或密码不正确")
    await expect(error).to_be_visible()
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(password).to_have_attribute("aria-describedby", "e-password")
    await expect(page.get_by_label("登录名")).to_have_value(username)
    await expect(password).to_have_value("")
    # Beside the field: directly under the password box, not at the top of the page.
    box, message = await password.bounding_box(), await error.bounding_box()
    assert box and message
    assert 0 <= message["y"] - (box["y"] + box["height"]) < 40, (box, message)
    assert await scroll_width(page) <= PHONE_WIDTH


# --- (d) units: create, then the same name again ----------------------------------------------------------

UNIT = "基础教育科"


async def create_unit_by_form(page: Page, live_server: str, bureau) -> None:
    """As the admin on the phone: 单位 in the navigation, open 新建单位, fill in, submit, see it in the tree."""
    await sign_in(page, bureau, Role.admin)
    await page.wait_for_url(f"{live_server}/")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="单位", exact=True).click()
    await page.wait_for_url("**/admin/units")

    await page.locator("summary", has_text="新建单位").click()
    await page.get_by_label("单位名称").fill(UNIT)
    await page.get_by_label("类型").select_option("office")
    await page.get_by_label("上级单位").select_option(label="办公室")
    await page.get_by_role("button", name="新建", exact=True).click()
    await page.wait_for_url("**/admin/units#feedback")
    await expect(page.locator("#feedback")).to_have_text(f"已添加单位“{UNIT}”。")

    tree = page.get_by_role("list", name="单位树")
    row = tree.get_by_role("listitem").filter(has_text=UNIT)
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("科室")
    await expect(tree).to_contain_text("实验小学")
    assert await scroll_width(page) <= PHONE_WIDTH


async def test_admin_creates_a_unit_on_a_phone(phone_page, live_server, bureau):
    await create_unit_by_form(phone_page, live_server, bureau)




async def test_duplicate_unit_name_is_refused_beside_the_field(phone_page, live_server, bureau):
    page = phone_page
    await create_unit_by_form(page, live_server, bureau)

    await page.locator("summary", has_text="新建单位").click()
    await page.get_by_label("单位名称").fill(UNIT)
    async with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/admin/units")) as sent:
        await page.get_by_role("button", name="新建", exact=True).click()
    response = await sent.value
    await page.wait_for_load_state()
    assert response.status == 409, (
        f"a duplicate unit name should be refused with 409 and the form again; got {response.status}: "
        + await page.locator("main").inner_text()
    )

    field = page.get_by_label("单位名称")
    error = page.locator("#e-name")
    await expect(error).to_have_text(f"本局已有名为“{UNIT}”的单位，请换一个名称。")
    await expect(error).to_be_visible()
    await expect(field).to_have_value(UNIT)
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(field).to_have_attribute("aria-describedby", "e-name")
    box, message = await field.bounding_box(), await error.bounding_box()
    assert box and message
    assert 0 <= message["y"] - (box["y"] + box["height"]) < 40, (box, message)
    tree = page.get_by_role("list", name="单位树")
    await expect(tree.get_by_role("listitem").filter(has_text=UNIT)).to_have_count(1)
    assert await scroll_width(page) <= PHONE_WIDTH


# --- (e) htmx from our own server; no other host ---------------------------------------------------------


async def test_htmx_is_served_locally_and_no_other_host_is_contacted(phone_page, live_server, bureau):
    page = phone_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await sign_in(page, bureau, Role.admin)
    await page.wait_for_url(f"{live_server}/")
    for path in ("/admin/units", "/admin/members", "/audit", "/account/tokens"):
        await page.goto(path)
    await page.wait_for_load_state("networkidle")

    assert await page.evaluate("typeof window.htmx") == "object"
    assert await page.evaluate("typeof window.htmx.process") == "function"
    htmx_src = await page.evaluate("document.querySelector('script[src*=\"htmx\"]').src")
    assert htmx_src == f"{live_server}/static/vendor/htmx.min.js"
    assert f"{live_server}/static/vendor/htmx.min.js" in requested

    own = urlsplit(live_server).netloc
    elsewhere = [url for url in requested
                 if urlsplit(url).scheme not in ("data", "blob", "about") and urlsplit(url).netloc != own]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


# --- (f) keyboard ----------------------------------------------------------------------------------------

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "body";
  return el.id ? "#" + el.id : el.tagName.toLowerCase() + ":" + el.textContent.trim();
}"""


async def test_login_by_keyboard_alone(desktop, live_server, bureau):
    page = await desktop.new_page()
    await page.goto("/login")
    order = []
    for _ in range(10):
        await page.keyboard.press("Tab")
        order.append(await page.evaluate(FOCUSED))
        if order[-1] == "#f-username":
            break
    assert order[0] == "a:跳到正文", f"the first Tab should reach the skip link; focus went {order}"
    assert order[-1] == "#f-username", f"Tab never reached the login name field; focus went {order}"
    await page.keyboard.type(bureau.username(Role.supervisor))
    await page.keyboard.press("Tab")
    assert await page.evaluate(FOCUSED) == "#f-password"
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Tab")
    assert await page.evaluate(FOCUSED) == "button:登录"
    await page.keyboard.press("Shift+Tab")
    assert await page.evaluate(FOCUSED) == "#f-password"

    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{live_server}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        f"您好，{bureau.users[Role.supervisor].display_name}")
