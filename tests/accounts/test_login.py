"""Login, throttling, lockout, session rotation and expiry, forced password change, CSRF."""

from datetime import timedelta

from sqlmodel import select

from backend.accounts.models import User, WebSession
from backend.config import get_settings
from backend.core import clock
from backend.core.roles import Role
from backend.db import unit_of_work
from tests.support.fixtures import PASSWORD, create_bureau, csrf_of, login, make_client, post_form


async def test_login_lands_on_home_in_own_bureau(client, bureau):
    response = await login(client, bureau.username(Role.supervisor))
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = await client.get("/")
    assert home.status_code == 200
    assert bureau.tenant.name in home.text
    assert "督查督办人员" in home.text


async def test_wrong_password_keeps_login_name_and_says_what_to_do(client, bureau):
    response = await login(client, bureau.username(Role.leader), "Wrong-password-1")
    assert response.status_code == 401
    assert "登录名或密码不正确" in response.text
    assert f'value="{bureau.username(Role.leader)}"' in response.text
    assert "luoshi_session" not in response.headers.get("set-cookie", "")


async def test_empty_form_gets_a_message_not_an_error(client):
    token = await csrf_of(client)
    response = await client.post("/login", data={"csrf_token": token})
    assert response.status_code == 422
    assert "请填写登录名和密码" in response.text


async def test_lockout_after_repeated_failures(client, bureau):
    username = bureau.username(Role.unit_staff)
    for _ in range(get_settings().login_max_failures - 1):
        assert (await login(client, username, "Wrong-password-1")).status_code == 401
    locked = await login(client, username, "Wrong-password-1")
    assert locked.status_code == 429
    assert "已锁定" in locked.text
    # Even the right password is refused while locked, and the page says when to retry.
    again = await login(client, username, PASSWORD)
    assert again.status_code == 429 and "分钟后再试" in again.text
    async with unit_of_work() as session:
        user = (await session.exec(select(User).where(User.username == username))).one()
        assert user.locked_until is not None and user.locked_until > clock.now()


async def test_lockout_ends_and_failures_reset_on_success(client, bureau):
    username = bureau.username(Role.unit_head)
    await login(client, username, "Wrong-password-1")
    assert (await login(client, username)).status_code == 303
    async with unit_of_work() as session:
        user = (await session.exec(select(User).where(User.username == username))).one()
        assert user.failed_logins == 0


async def test_throttling_per_address(app, bureau, monkeypatch):
    monkeypatch.setattr(get_settings(), "login_ip_max_failures", 3)
    async with make_client(app) as client:
        for _ in range(3):
            await login(client, "nobody-" + bureau.tenant.code, "Wrong-password-1")
        refused = await login(client, bureau.username(Role.admin))
    assert refused.status_code == 429
    assert "此地址登录失败次数过多" in refused.text


async def test_session_rotates_at_login(client, bureau):
    await login(client, bureau.username(Role.admin))
    first = client.cookies.get("luoshi_session")
    await login(client, bureau.username(Role.admin))
    second = client.cookies.get("luoshi_session")
    assert first and second and first != second
    async with unit_of_work() as session:
        from backend.core.security import token_hash

        assert await session.get(WebSession, token_hash(first)) is None


async def _age_session(client, **delta) -> None:
    from backend.core.security import token_hash

    async with unit_of_work() as session:
        web_session = await session.get(WebSession, token_hash(client.cookies["luoshi_session"]))
        if "idle" in delta:
            web_session.last_seen_at = clock.now() - delta["idle"]
        if "age" in delta:
            web_session.created_at = clock.now() - delta["age"]
        session.add(web_session)


async def test_idle_timeout_sends_back_to_login_with_a_notice(client, bureau):
    await login(client, bureau.username(Role.admin))
    await _age_session(client, idle=timedelta(minutes=get_settings().session_idle_minutes + 1))
    response = await client.get("/admin/units")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?expired=1")
    page = await client.get(response.headers["location"])
    assert "登录已超时" in page.text


async def test_absolute_timeout_even_when_active(client, bureau):
    await login(client, bureau.username(Role.admin))
    await _age_session(client, age=timedelta(hours=get_settings().session_absolute_hours, minutes=1))
    assert (await client.get("/")).status_code == 303


async def test_logout_ends_the_session(client, bureau):
    await login(client, bureau.username(Role.admin))
    raw = client.cookies["luoshi_session"]
    response = await post_form(client, "/logout", {})
    assert response.status_code == 303
    client.cookies.set("luoshi_session", raw)
    assert (await client.get("/")).status_code == 303


async def test_post_without_csrf_token_is_refused_and_changes_nothing(client, bureau):
    await login(client, bureau.username(Role.admin))
    response = await client.post("/admin/units", data={"name": "无令牌单位"})
    assert response.status_code == 403
    assert "CSRF" in response.text and "刷新页面" in response.text
    units = await client.get("/admin/units")
    assert "无令牌单位" not in units.text


async def test_csrf_token_of_another_browser_is_refused(app, bureau):
    async with make_client(app) as attacker, make_client(app) as victim:
        stolen_token = await csrf_of(attacker)
        await login(victim, bureau.username(Role.admin))
        response = await victim.post("/admin/units", data={"name": "伪造单位", "csrf_token": stolen_token})
    assert response.status_code == 403


async def test_htmx_header_carries_the_token(client, bureau):
    await login(client, bureau.username(Role.admin))
    token = await csrf_of(client, "/admin/units")
    response = await client.post("/admin/units", data={"name": "头部令牌单位"},
                                 headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/admin/units#feedback"
    assert "已添加单位“头部令牌单位”" in (await client.get("/admin/units")).text  # said on the page htmx goes to


async def test_initial_password_must_be_changed_first():
    bureau = await create_bureau()
    async with unit_of_work(bureau.tenant.id) as session:
        from backend.tenancy import service as tenancy

        temporary = await tenancy.reset_password(session, bureau.actors[Role.admin],
                                                 bureau.actors[Role.leader].membership_id)
    from backend.web import create_app

    async with make_client(create_app()) as client:
        response = await login(client, bureau.username(Role.leader), temporary)
        assert response.headers["location"] == "/account/password"
        assert (await client.get("/")).headers["location"] == "/account/password"
        weak = await post_form(client, "/account/password",
                               {"current": temporary, "new": "short", "new_again": "short"}, page="/account/password")
        assert weak.status_code == 422 and "至少需要" in weak.text
        classes = await post_form(client, "/account/password", {
            "current": temporary, "new": "onlylowercaseletters", "new_again": "onlylowercaseletters"},
            page="/account/password")
        assert "至少三类" in classes.text
        done = await post_form(client, "/account/password", {
            "current": temporary, "new": "New-Secret-2026", "new_again": "New-Secret-2026"}, page="/account/password")
        assert done.status_code == 303 and done.headers["location"] == "/"
        assert (await client.get("/")).status_code == 200


async def test_person_in_two_bureaus_chooses(client, bureau, other_bureau):
    async with unit_of_work(other_bureau.tenant.id) as session:
        from backend.tenancy import service as tenancy

        user = bureau.users[Role.leader]
        await tenancy.add_member(session, other_bureau.actors[Role.admin], tenant_id=other_bureau.tenant.id,
                                 user=user, role=Role.supervisor)
    response = await login(client, bureau.username(Role.leader))
    assert response.headers["location"] == "/choose-bureau"
    page = await client.get("/choose-bureau")
    assert bureau.tenant.name in page.text and other_bureau.tenant.name in page.text
    chosen = await post_form(client, "/choose-bureau", {"tenant_id": str(other_bureau.tenant.id)},
                             page="/choose-bureau")
    assert chosen.status_code == 303
    home = await client.get("/")
    assert other_bureau.tenant.name in home.text and "督查督办人员" in home.text


async def test_cannot_choose_a_bureau_one_does_not_belong_to(client, bureau, other_bureau):
    await login(client, bureau.username(Role.admin))
    response = await post_form(client, "/choose-bureau", {"tenant_id": str(other_bureau.tenant.id)})
    assert response.status_code == 404
    assert other_bureau.tenant.name not in response.text


async def test_htmx_sign_in_with_a_line_break_in_next_is_safe(client, bureau):
    """Issue 14 finding 14: `next` with CR/LF on an htmx sign-in goes to the home page, with no header injected."""
    token = await csrf_of(client)
    for next_url in ("/tasks\r\nSet-Cookie: evil=1", "/tasks\nX: y", "/%0d%0aSet-Cookie:%20evil=1", "\r\n/tasks"):
        response = await client.post("/login", data={"username": bureau.username(Role.admin), "password": PASSWORD,
                                                     "csrf_token": token, "next": next_url},
                                     headers={"HX-Request": "true"})
        assert response.status_code in (204, 303), (next_url, response.status_code)
        target = response.headers.get("HX-Redirect") or response.headers.get("location")
        assert target and "\r" not in target and "\n" not in target and "evil" not in response.headers.get(
            "set-cookie", ""), (next_url, target)
        assert "X" not in response.headers or next_url != "/tasks\nX: y"
        token = await csrf_of(client, "/")


async def test_a_bearer_header_does_not_switch_off_csrf_for_a_cookie_session(app, bureau):
    """Issue 14 finding 13: CSRF is skipped only for a request authenticated by a valid API token that carries no
    session cookie. `Authorization: Bearer junk` (or even a valid token) beside the session cookie changes nothing."""
    from backend.accounts.models import ApiToken
    from backend.accounts.service import create_api_token

    async with unit_of_work(bureau.tenant.id) as session:
        _token, valid = await create_api_token(session, bureau.actors[Role.admin], name="脚本")
    async with make_client(app) as browser:
        await login(browser, bureau.username(Role.admin))
        for bearer in ("junk", valid):
            page = await browser.post("/account/tokens", data={"name": "伪造令牌" + bearer[:4]},
                                      headers={"Authorization": f"Bearer {bearer}"})
            assert page.status_code == 403, (bearer, page.status_code)
            api = await browser.post("/api/v1/tokens", json={"name": "伪造令牌API" + bearer[:4]},
                                     headers={"Authorization": f"Bearer {bearer}"})
            assert api.status_code in (401, 403), (bearer, api.status_code)
    async with unit_of_work(bureau.tenant.id) as session:
        names = (await session.exec(select(ApiToken.name))).all()
    assert not [n for n in names if n.startswith("伪造令牌")]
    # A script with a valid token and no cookie needs no CSRF token.
    async with make_client(app) as script:
        made = await script.post("/api/v1/tokens", json={"name": "脚本二"},
                                 headers={"Authorization": f"Bearer {valid}"})
        assert made.status_code == 201
        junk = await script.post("/api/v1/tokens", json={"name": "脚本三"}, headers={"Authorization": "Bearer junk"})
        assert junk.status_code in (401, 403)
