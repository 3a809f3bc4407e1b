"""OIDC login end to end against a real provider (tests/support/oidc_provider.py) served over real HTTP.

Luoshi runs in-process behind httpx.ASGITransport; the provider runs in uvicorn on a free 127.0.0.1 port, so
Authlib fetches discovery, token and JWKS over the network as in production. The "browser" is two clients: the
Luoshi client (which keeps the luoshi_oidc state cookie and luoshi_session) and a plain HTTP client for the provider.
"""

import os
import socket
import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from backend.accounts import oidc as oidc_client
from backend.accounts.models import User
from backend.accounts.service import create_user
from backend.config import get_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tenancy import service as tenancy
from tests.support.fixtures import Bureau, make_client, unique
from tests.support.oidc_provider import OidcProvider, s256

BASE_URL = "http://testserver"
CALLBACK = BASE_URL + "/auth/oidc/callback"
OIDC_ENV = ("LUOSHI_OIDC_ISSUER", "LUOSHI_OIDC_CLIENT_ID", "LUOSHI_OIDC_CLIENT_SECRET", "LUOSHI_OIDC_DISPLAY_NAME")


def _apply_settings(env: dict[str, str | None]) -> None:
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()
    oidc_client.reset()


@pytest.fixture
def settings_env():
    """`settings_env(NAME=value or None, ...)` changes settings for one test; everything is put back afterwards."""
    names = (*OIDC_ENV, "LUOSHI_BASE_URL")
    saved = {name: os.environ.get(name) for name in names}

    def change(**env: str | None) -> None:
        _apply_settings(env)

    yield change
    _apply_settings(saved)


@pytest.fixture(scope="module")
def running_provider():
    with OidcProvider(redirect_uris=[CALLBACK]) as provider:
        yield provider


@pytest.fixture
def provider(running_provider: OidcProvider, settings_env) -> OidcProvider:
    """The provider with no user yet, and Luoshi configured to use it."""
    running_provider.reset()
    settings_env(
        LUOSHI_OIDC_ISSUER=running_provider.issuer, LUOSHI_OIDC_CLIENT_ID=running_provider.client_id,
        LUOSHI_OIDC_CLIENT_SECRET=running_provider.client_secret, LUOSHI_OIDC_DISPLAY_NAME=None,
        LUOSHI_BASE_URL=BASE_URL,
    )
    return running_provider


@pytest.fixture
async def browser():
    """The user agent's side towards the provider: real HTTP, redirects inspected by hand."""
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=10) as c:
        yield c


async def _provision(bureau: Bureau, *, email: str, role: Role = Role.unit_staff) -> User:
    """An account the bureau opened for someone who signs in through 统一身份认证 (no password)."""
    async with unit_of_work(bureau.tenant.id) as session:
        user = await create_user(session, username=unique("oidc-"), display_name=unique("统一认证"), email=email)
        await tenancy.add_member(
            session, bureau.actors[Role.admin], tenant_id=bureau.tenant.id, user=user, role=role,
            unit_id=bureau.units["school"].id if role.needs_unit else None,
        )
    return user


async def _reload(user_id) -> User:
    async with unit_of_work() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user


async def _start(luoshi: httpx.AsyncClient, provider: OidcProvider) -> str:
    """GET /auth/oidc/login; returns the provider's /authorize URL it redirects to."""
    start = await luoshi.get("/auth/oidc/login")
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(provider.url("/authorize?"))
    assert "luoshi_oidc=" in start.headers.get("set-cookie", "")
    query = parse_qs(urlsplit(authorize).query)
    assert query["client_id"] == [provider.client_id] and query["redirect_uri"] == [CALLBACK]
    assert query["code_challenge_method"] == ["S256"] and "openid" in query["scope"][0].split()
    assert query["state"][0] and query["nonce"][0]
    return authorize


async def _authorize(browser: httpx.AsyncClient, authorize_url: str) -> str:
    """The provider approves; returns the redirect back to Luoshi's callback."""
    approved = await browser.get(authorize_url)
    assert approved.status_code == 302, approved.text
    back = approved.headers["location"]
    assert back.startswith(CALLBACK + "?")
    return back


async def _oidc_login(luoshi: httpx.AsyncClient, browser: httpx.AsyncClient, provider: OidcProvider):
    back = await _authorize(browser, await _start(luoshi, provider))
    return await luoshi.get(back)


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _no_session(response: httpx.Response) -> bool:
    return "luoshi_session" not in response.headers.get("set-cookie", "")


# --- (a) linking by e-mail, then by subject ---------------------------------------------------------------


async def test_pre_provisioned_user_is_linked_by_email_then_found_by_subject(app, provider, browser, bureau):
    email = unique("zhang.wei.") + "@jyj.example.cn"
    user = await _provision(bureau, email=email)
    sub = unique("sub-")
    provider.login_as(sub, email.upper(), name="张伟")  # providers do not keep our capitalisation

    async with make_client(app) as luoshi:
        done = await _oidc_login(luoshi, browser, provider)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/"
        assert "luoshi_session=" in done.headers["set-cookie"]
        home = await luoshi.get("/")
        assert home.status_code == 200
        assert bureau.tenant.name in home.text and user.display_name in home.text
        assert "实验小学" in home.text  # a unit_staff home names the school

    linked = await _reload(user.id)
    assert linked.oidc_subject == f"{provider.issuer}|{sub}"
    assert linked.last_login_at is not None
    assert provider.token_requests[-1].ok and provider.token_requests[-1].used_pkce
    assert provider.token_requests[-1].auth_method == "client_secret_basic"

    # The e-mail changes at the provider — and someone else in the bureau now has that address.
    # The subject decides; the other account is neither used nor linked.
    new_email = unique("new.") + "@jyj.example.cn"
    decoy = await _provision(bureau, email=new_email, role=Role.leader)
    provider.login_as(sub, new_email, name="张伟")
    async with make_client(app) as luoshi:
        again = await _oidc_login(luoshi, browser, provider)
        assert again.status_code == 303, again.text
        home = await luoshi.get("/")
        assert home.status_code == 200 and user.display_name in home.text and decoy.display_name not in home.text
    assert (await _reload(decoy.id)).oidc_subject is None
    assert (await _reload(user.id)).oidc_subject == f"{provider.issuer}|{sub}"


async def test_linked_account_is_not_taken_over_by_another_subject_with_its_email(app, provider, browser, bureau):
    email = unique("li.na.") + "@jyj.example.cn"
    user = await _provision(bureau, email=email)
    provider.login_as(unique("sub-"), email)
    async with make_client(app) as luoshi:
        assert (await _oidc_login(luoshi, browser, provider)).status_code == 303
    linked_to = (await _reload(user.id)).oidc_subject

    provider.login_as(unique("other-sub-"), email)  # a second identity claiming the same address
    async with make_client(app) as luoshi:
        refused = await _oidc_login(luoshi, browser, provider)
        assert refused.status_code == 404 and _no_session(refused)
    assert (await _reload(user.id)).oidc_subject == linked_to


# --- (b) nobody to log in as ------------------------------------------------------------------------------


async def test_unknown_person_gets_a_clear_message_and_no_session(app, provider, browser, bureau):
    provider.login_as(unique("stranger-"), unique("stranger.") + "@example.cn")
    async with make_client(app) as luoshi:
        response = await _oidc_login(luoshi, browser, provider)
        assert response.status_code == 404
        assert "统一身份认证已通过，但本系统中没有与之对应的账号" in response.text
        assert "请联系本局管理员开通" in response.text
        assert _no_session(response)
        assert (await luoshi.get("/")).status_code == 303  # still signed out
    assert provider.token_requests[-1].ok  # the provider did its part; Luoshi said no


async def test_unverified_email_does_not_link_an_account(app, provider, browser, bureau):
    email = unique("wang.fang.") + "@jyj.example.cn"
    user = await _provision(bureau, email=email)
    provider.login_as(unique("sub-"), email, email_verified=False)
    async with make_client(app) as luoshi:
        response = await _oidc_login(luoshi, browser, provider)
        assert response.status_code == 404 and "没有与之对应的账号" in response.text
        assert _no_session(response)
    assert (await _reload(user.id)).oidc_subject is None


async def test_missing_email_verified_claim_does_not_make_an_outsider_the_admin(app, provider, browser, bureau):
    """Issue 14 finding 2: a provider that leaves `email_verified` out must not let anyone who claims the admin's
    address sign in as the admin. Only `email_verified: true` links by e-mail."""
    email = unique("admin.") + "@jyj.example.cn"
    admin = await _provision(bureau, email=email, role=Role.admin)
    provider.login_as(unique("outsider-"), email, email_verified=None)
    async with make_client(app) as luoshi:
        response = await _oidc_login(luoshi, browser, provider)
        assert response.status_code == 404 and "没有与之对应的账号" in response.text
        assert _no_session(response)
        assert (await luoshi.get("/")).status_code == 303  # still signed out
    assert (await _reload(admin.id)).oidc_subject is None
    assert provider.token_requests[-1].ok  # the provider did its part; Luoshi refused to link


async def test_signed_in_person_binds_their_own_account_explicitly(app, provider, browser, bureau):
    """The other way to link (issue 14, finding 2): the signed-in person binds their own account (a POST with the
    CSRF token), stored as (issuer, subject); after that the identity signs in even though the provider asserts
    nothing about the e-mail. A binding cannot take an identity that is already someone else's."""
    from tests.support.fixtures import PASSWORD, login, post_form

    user = bureau.users[Role.unit_head]
    sub = unique("bind-sub-")
    provider.login_as(sub, unique("unverified.") + "@example.cn", email_verified=None)
    async with make_client(app) as luoshi:
        assert (await login(luoshi, bureau.username(Role.unit_head))).status_code == 303
        page = await luoshi.get("/account/tokens")
        assert 'action="/account/oidc/bind"' in page.text
        start = await post_form(luoshi, "/account/oidc/bind", {}, page="/account/tokens")
        assert start.status_code == 303 and start.headers["location"].startswith(provider.url("/authorize?"))
        done = await luoshi.get(await _authorize(browser, start.headers["location"]))
        assert done.status_code == 303 and done.headers["location"].startswith("/account/tokens"), done.text
    assert (await _reload(user.id)).oidc_subject == f"{provider.issuer}|{sub}"
    async with make_client(app) as fresh:
        signed = await _oidc_login(fresh, browser, provider)
        assert signed.status_code == 303 and "luoshi_session=" in signed.headers["set-cookie"]
        assert user.display_name in (await fresh.get("/")).text

    # Someone else signed in cannot bind the same identity to themselves.
    other = bureau.users[Role.leader]
    async with make_client(app) as luoshi:
        assert (await login(luoshi, bureau.username(Role.leader), PASSWORD)).status_code == 303
        start = await post_form(luoshi, "/account/oidc/bind", {}, page="/account/tokens")
        refused = await luoshi.get(await _authorize(browser, start.headers["location"]))
        assert refused.status_code == 409 and "已绑定本系统的另一个账号" in refused.text
    assert (await _reload(other.id)).oidc_subject is None
    assert (await _reload(user.id)).oidc_subject == f"{provider.issuer}|{sub}"


async def test_binding_cannot_be_started_by_another_site(app, provider, bureau):
    """Without the CSRF token (a cross-site form) no binding starts."""
    from tests.support.fixtures import login

    async with make_client(app) as luoshi:
        await login(luoshi, bureau.username(Role.unit_head))
        forged = await luoshi.post("/account/oidc/bind")
        assert forged.status_code == 403 and "provider" not in forged.headers.get("location", "")


# --- (c) refused callbacks --------------------------------------------------------------------------------


async def test_tampered_state_is_refused(app, provider, browser, bureau):
    email = unique("zhao.lei.") + "@jyj.example.cn"
    user = await _provision(bureau, email=email)
    provider.login_as(unique("sub-"), email)
    async with make_client(app) as luoshi:
        back = await _authorize(browser, await _start(luoshi, provider))
        response = await luoshi.get(_with_query(back, state="forged-" + unique("")))
        assert response.status_code == 422, response.text
        assert "统一身份认证未完成" in response.text and "请重新登录" in response.text
        assert _no_session(response)
        assert (await luoshi.get("/")).status_code == 303
    assert (await _reload(user.id)).oidc_subject is None
    assert not provider.token_requests  # refused before any code was redeemed


async def test_callback_without_the_state_cookie_is_refused(app, provider, browser, bureau):
    """A callback link opened in another browser (or forged for a victim) carries no luoshi_oidc cookie."""
    provider.login_as(unique("sub-"), unique("x.") + "@example.cn")
    async with make_client(app) as starter:
        back = await _authorize(browser, await _start(starter, provider))
    async with make_client(app) as victim:
        response = await victim.get(back)
        assert response.status_code == 422 and "统一身份认证未完成" in response.text
        assert _no_session(response)


async def test_replayed_callback_is_refused(app, provider, browser, bureau):
    email = unique("sun.li.") + "@jyj.example.cn"
    await _provision(bureau, email=email)
    provider.login_as(unique("sub-"), email)
    async with make_client(app) as luoshi:
        back = await _authorize(browser, await _start(luoshi, provider))
        assert (await luoshi.get(back)).status_code == 303
        replay = await luoshi.get(back)
        assert replay.status_code == 422 and "统一身份认证未完成" in replay.text


async def test_provider_refusal_is_shown_not_crashed(app, provider, browser):
    provider.user = None  # the person cancels at the provider
    async with make_client(app) as luoshi:
        response = await _oidc_login(luoshi, browser, provider)
        assert response.status_code == 422
        assert "统一身份认证未完成（access_denied）" in response.text
        assert _no_session(response)


ID_TOKEN_FAULTS = {
    "signed with a key the provider never published": lambda p: setattr(p, "sign_with", RSAKey.generate_key(2048)),
    "nonce of another login": lambda p: p.id_token_overrides.update(nonce="replayed-nonce"),
    "issued for another client": lambda p: p.id_token_overrides.update(aud="another-client"),
    "issued by another issuer": lambda p: p.id_token_overrides.update(iss="http://127.0.0.1:9/evil"),
    "expired": lambda p: p.id_token_overrides.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
}


@pytest.mark.parametrize("fault", list(ID_TOKEN_FAULTS))
async def test_id_token_that_fails_verification_is_refused(app, provider, browser, bureau, fault):
    email = unique("zhou.min.") + "@jyj.example.cn"
    user = await _provision(bureau, email=email)
    provider.login_as(unique("sub-"), email)
    ID_TOKEN_FAULTS[fault](provider)
    async with make_client(app) as luoshi:
        response = await _oidc_login(luoshi, browser, provider)
        assert response.status_code == 422, response.text
        assert "统一身份认证未完成" in response.text and _no_session(response)
    assert provider.token_requests[-1].ok  # the token was issued; Luoshi refused the id_token in it
    assert (await _reload(user.id)).oidc_subject is None


async def test_wrong_client_secret_in_luoshi_is_refused(app, provider, browser, settings_env):
    settings_env(LUOSHI_OIDC_CLIENT_SECRET="not-the-secret")
    provider.login_as(unique("sub-"), unique("x.") + "@example.cn")
    async with make_client(app) as luoshi:
        response = await _oidc_login(luoshi, browser, provider)
        assert response.status_code == 422 and "统一身份认证未完成（invalid_client）" in response.text
    assert provider.token_requests[-1].error == "invalid_client"


async def test_provider_unreachable_says_so(app, provider, browser, settings_env, bureau):
    # Down before the login starts: discovery fails.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_issuer = f"http://127.0.0.1:{closed.getsockname()[1]}"
    settings_env(LUOSHI_OIDC_ISSUER=dead_issuer)
    async with make_client(app) as luoshi:
        response = await luoshi.get("/auth/oidc/login")
        assert response.status_code == 503 and "统一身份认证服务暂时无法访问" in response.text

    # Down between the approval and the callback: the token cannot be fetched.
    async with make_client(app) as luoshi:
        with OidcProvider(redirect_uris=[CALLBACK]) as short_lived:
            settings_env(LUOSHI_OIDC_ISSUER=short_lived.issuer, LUOSHI_OIDC_CLIENT_ID=short_lived.client_id,
                         LUOSHI_OIDC_CLIENT_SECRET=short_lived.client_secret)
            short_lived.login_as(unique("sub-"), unique("x.") + "@example.cn")
            back = await _authorize(browser, await _start(luoshi, short_lived))
        response = await luoshi.get(back)
        assert response.status_code == 503 and "统一身份认证服务暂时无法访问" in response.text
        assert _no_session(response)


# --- (d) the login page -----------------------------------------------------------------------------------


async def test_login_page_shows_oidc_button_only_when_configured(app, settings_env, running_provider):
    settings_env(LUOSHI_OIDC_ISSUER=None, LUOSHI_OIDC_CLIENT_ID=None, LUOSHI_OIDC_CLIENT_SECRET=None,
                 LUOSHI_OIDC_DISPLAY_NAME=None)
    async with make_client(app) as luoshi:
        page = await luoshi.get("/login")
        assert page.status_code == 200
        assert "/auth/oidc/login" not in page.text and "统一身份认证" not in page.text
        refused = await luoshi.get("/auth/oidc/login")
        assert refused.status_code == 422 and "未启用统一身份认证登录" in refused.text

    settings_env(LUOSHI_OIDC_ISSUER=running_provider.issuer, LUOSHI_OIDC_CLIENT_ID=running_provider.client_id,
                 LUOSHI_OIDC_CLIENT_SECRET=running_provider.client_secret,
                 LUOSHI_OIDC_DISPLAY_NAME="浙江省教育统一身份认证")
    async with make_client(app) as luoshi:
        page = await luoshi.get("/login")
        assert 'href="/auth/oidc/login"' in page.text
        assert "使用浙江省教育统一身份认证登录" in page.text


# --- the test provider itself is strict, so the tests above mean something --------------------------------


async def test_provider_checks_client_redirect_uri_and_pkce(provider, browser):
    verifier = "v" * 50
    params = {"response_type": "code", "client_id": provider.client_id, "redirect_uri": CALLBACK,
              "scope": "openid email", "state": "s1", "nonce": "n1", "code_challenge": s256(verifier),
              "code_challenge_method": "S256"}
    provider.login_as("sub-direct", "direct@example.cn")

    assert (await browser.get(provider.url("/authorize"), params={**params, "client_id": "evil"})).status_code == 400
    wrong_uri = await browser.get(provider.url("/authorize"), params={**params, "redirect_uri": "http://evil/cb"})
    assert wrong_uri.status_code == 400 and "location" not in wrong_uri.headers
    no_pkce = {k: v for k, v in params.items() if not k.startswith("code_challenge")}
    refused = await browser.get(provider.url("/authorize"), params=no_pkce)
    assert parse_qs(urlsplit(refused.headers["location"]).query)["error"] == ["invalid_request"]

    async def code() -> str:
        approved = await browser.get(provider.url("/authorize"), params=params)
        query = parse_qs(urlsplit(approved.headers["location"]).query)
        assert query["state"] == ["s1"]
        return query["code"][0]

    token_form = {"grant_type": "authorization_code", "redirect_uri": CALLBACK, "code_verifier": verifier}
    post_auth = {"client_id": provider.client_id, "client_secret": provider.client_secret}
    # Wrong verifier, wrong secret: refused (and the code is burnt).
    bad = await browser.post(provider.url("/token"),
                             data={**token_form, **post_auth, "code": await code(), "code_verifier": "x" * 50})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    bad = await browser.post(provider.url("/token"),
                             data={**token_form, "code": await code(), "client_id": provider.client_id,
                                   "client_secret": "wrong"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"

    # client_secret_post works, the id_token verifies against /jwks, and the code cannot be used twice.
    the_code = await code()
    ok = await browser.post(provider.url("/token"), data={**token_form, **post_auth, "code": the_code})
    assert ok.status_code == 200, ok.text
    assert provider.token_requests[-1].auth_method == "client_secret_post"
    from joserfc import jwt
    from joserfc.jwk import KeySet

    keys = KeySet.import_key_set((await browser.get(provider.url("/jwks"))).json())
    claims = jwt.decode(ok.json()["id_token"], keys, algorithms=["RS256"]).claims
    assert claims["iss"] == provider.issuer and claims["aud"] == provider.client_id
    assert claims["sub"] == "sub-direct" and claims["nonce"] == "n1" and claims["email_verified"] is True
    userinfo = await browser.get(provider.url("/userinfo"),
                                 headers={"Authorization": "Bearer " + ok.json()["access_token"]})
    assert userinfo.json()["email"] == "direct@example.cn"
    again = await browser.post(provider.url("/token"), data={**token_form, **post_auth, "code": the_code})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


# --- (f) back to the page the sign-in lapsed on --------------------------------------------------------------


@pytest.mark.parametrize("next_page, lands_on", [
    ("/tasks/00000000-0000-0000-0000-000000000001/report?period=2026-11",
     "/tasks/00000000-0000-0000-0000-000000000001/report?period=2026-11"),
    ("//evil.example/x", "/"), ("https://evil.example/", "/"), ("/\t/evil.example", "/"),
])
async def test_oidc_login_returns_to_the_page_it_started_from(app, provider, browser, bureau, next_page, lands_on):
    """The login page's 统一身份认证 link carries `next`; Luoshi keeps it in its signed OIDC cookie across the
    provider's round trip (never in the provider's URL) and goes there after, if it is a page of this site."""
    email = unique("next.") + "@jyj.example.cn"
    await _provision(bureau, email=email)
    provider.login_as(unique("sub-"), email)
    async with make_client(app) as luoshi:
        login_page = await luoshi.get("/login", params={"next": next_page})
        if lands_on != "/":
            assert "/auth/oidc/login?next=/tasks/" in login_page.text and "%3Fperiod%3D2026-11" in login_page.text
        start = await luoshi.get("/auth/oidc/login", params={"next": next_page})
        assert "evil" not in start.headers["location"] and "tasks" not in start.headers["location"]
        back = await _authorize(browser, start.headers["location"])
        done = await luoshi.get(back)
        assert done.status_code == 303 and done.headers["location"] == lands_on
