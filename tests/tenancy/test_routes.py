"""Who may call which tenancy, token and audit route, that other bureaus' objects stay out of reach, and bad input.

Pages are called by signed-in browsers (with the page's CSRF token); the API with bearer tokens made by
`create_api_token`. Every call that is refused must leave the bureau exactly as it was.
"""

import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from sqlmodel import col, select

from backend.accounts.models import ApiToken
from backend.accounts.service import create_api_token
from backend.config import get_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tenancy import service as tenancy
from backend.tenancy.models import Invitation, Tenant
from tests.support.fixtures import ROLES, Bureau, csrf_of, login, unique

ROLE_DENIED = "您的角色无权进行此操作。如需权限，请联系本局系统管理员。"
OPERATOR_ONLY = "只有平台运维人员可以管理教育局。"
CSRF_FAILED = "页面已过期或来源无法验证（CSRF 校验失败）。请刷新页面后重新提交，已保存的内容不会丢失。"
BAD_PATH = "找不到您要的内容，链接可能有误。"
BAD_INVITE = "邀请链接无效或已被使用。请向本局管理员索取新的邀请链接。"
TARGET_PASSWORD = "Target-Person-77!"

# --- helpers ---------------------------------------------------------------------------------------------


def quiet_client(app) -> httpx.AsyncClient:
    """Like the fixtures' client, but an unhandled error comes back as the 500 a browser would see."""
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", follow_redirects=False)


@dataclass
class Browser:
    client: httpx.AsyncClient
    csrf: str

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def post(self, path: str, data: dict | None = None) -> httpx.Response:
        return await self.client.post(path, data={**(data or {}), "csrf_token": self.csrf})


@pytest.fixture
async def browsers(app):
    """`await browsers(bureau, role)` gives a signed-in Browser; None as role gives an anonymous one."""
    opened: list[httpx.AsyncClient] = []

    async def make(bureau: Bureau | None, role: Role | None) -> Browser:
        client = quiet_client(app)
        opened.append(client)
        if role is None:
            return Browser(client, await csrf_of(client, "/login"))
        response = await login(client, bureau.username(role))
        assert response.status_code == 303, response.text
        return Browser(client, await csrf_of(client, "/"))

    yield make
    for client in opened:
        await client.aclose()


@pytest.fixture
async def api(app):
    """`await api(method, path, raw_token, json=...)` calls the API with a bearer token."""
    async with quiet_client(app) as client:

        async def call(method: str, path: str, raw: str | None, json: dict | None = None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {raw}"} if raw else {}
            return await client.request(method, path, json=json, headers=headers)

        yield call


async def bearer(bureau: Bureau, role: Role, name: str = "矩阵测试") -> tuple[uuid.UUID, str]:
    async with unit_of_work(bureau.tenant.id) as session:
        token, raw = await create_api_token(session, bureau.actors[role], name=name)
    return token.id, raw


async def snapshot(bureau: Bureau) -> dict:
    """Everything a refused request must not have changed, read as the bureau's own admin."""
    admin = bureau.actors[Role.admin]
    async with unit_of_work(bureau.tenant.id) as session:
        units = sorted((str(n.unit.id), n.unit.name, n.unit.kind, str(n.unit.parent_id))
                       for n in await tenancy.list_units(session, admin))
        members = sorted(
            (str(r.membership.id), r.membership.role, str(r.membership.unit_id), r.membership.is_active,
             r.user.username, r.user.display_name, r.user.password_hash, r.user.must_change_password)
            for r in await tenancy.list_members(session, admin)
        )
        invitations = sorted((str(i.id), str(i.accepted_at)) for i in (await session.exec(select(Invitation))).all())
        tokens = sorted((str(t.id), t.name, str(t.revoked_at)) for t in (await session.exec(select(ApiToken))).all())
    return {"units": units, "members": members, "invitations": invitations, "tokens": tokens}


@dataclass
class Targets:
    """Fresh objects of one bureau that the routes under test act on."""

    unit_id: uuid.UUID
    unit_name: str
    member_id: uuid.UUID
    member_username: str
    member_name: str
    invitation_id: uuid.UUID
    tokens: dict[Role, uuid.UUID] = field(default_factory=dict)  # one per role, to revoke
    bearers: dict[Role, str] = field(default_factory=dict)  # one per role, to call the API with

    def path(self, template: str, role: Role) -> str:
        return template.format(unit=self.unit_id, member=self.member_id, invitation=self.invitation_id,
                               token=self.tokens[role])


async def make_targets(bureau: Bureau, *, member_active: bool = True) -> Targets:
    admin = bureau.actors[Role.admin]
    unit_name, member_name, username = unique("空单位"), unique("目标人员"), unique("target-")
    async with unit_of_work(bureau.tenant.id) as session:
        unit = await tenancy.create_unit(session, admin, name=unit_name)
        _invitation, raw = await tenancy.invite(session, admin, display_name=member_name, role=Role.leader,
                                                unit_id=None)
        pending = await tenancy.invite(session, admin, display_name=unique("待撤销"), role=Role.unit_staff,
                                       unit_id=bureau.units["school"].id)
    async with unit_of_work() as session:
        user = await tenancy.accept_invitation(session, raw, username=username, password=TARGET_PASSWORD,
                                               password_again=TARGET_PASSWORD)
    async with unit_of_work(bureau.tenant.id) as session:
        row = next(r for r in await tenancy.list_members(session, admin) if r.user.id == user.id)
        if not member_active:
            await tenancy.set_member_active(session, admin, row.membership.id, active=False)
    targets = Targets(unit.id, unit_name, row.membership.id, username, member_name, pending[0].id)
    for role in ROLES:
        targets.tokens[role], _raw = await bearer(bureau, role, name=unique("待吊销"))
        _id, targets.bearers[role] = await bearer(bureau, role)
    return targets


def assert_denied_page(response: httpx.Response, message: str = ROLE_DENIED, status: int = 403) -> None:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text


def assert_denied_json(response: httpx.Response, message: str = ROLE_DENIED, status: int = 403) -> None:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.json()["detail"] == message


# --- the permission matrix -------------------------------------------------------------------------------

ALL = frozenset(ROLES)
ADMIN = frozenset({Role.admin})
MEMBERS_READ = frozenset({Role.admin, Role.supervisor, Role.leader, Role.unit_head})
AUDIT_READ = frozenset({Role.admin, Role.supervisor, Role.leader})
NOBODY = frozenset()


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    allowed: frozenset
    ok: int
    body: dict | None = None
    member_active: bool = True
    denied_status: int = 403
    denied_message: str = ROLE_DENIED

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def body_for(case: Case, bureau: Bureau) -> dict | None:
    """Bodies are templates: {school}/{office} become the bureau's unit ids, {unique} a fresh name."""
    if case.body is None:
        return None
    values = {"school": str(bureau.units["school"].id), "office": str(bureau.units["office"].id)}
    return {k: (v.format(unique=unique("名"), **values) if isinstance(v, str) else v) for k, v in case.body.items()}


PAGE_CASES = [
    Case("GET", "/", ALL, 200),
    Case("GET", "/admin/units", ADMIN, 200),
    Case("POST", "/admin/units", ADMIN, 303, {"name": "{unique}", "kind": "school", "parent_id": "{office}"}),
    Case("GET", "/admin/units/{unit}", ADMIN, 200),
    Case("POST", "/admin/units/{unit}", ADMIN, 303, {"name": "{unique}", "kind": "office", "parent_id": "{school}"}),
    Case("POST", "/admin/units/{unit}/delete", ADMIN, 303, {}),
    Case("GET", "/admin/members", MEMBERS_READ, 200),
    Case("POST", "/admin/members/invite", ADMIN, 200, {"display_name": "{unique}", "role": "unit_staff",
                                                       "unit_id": "{school}"}),
    Case("POST", "/admin/invitations/{invitation}/revoke", ADMIN, 303, {}),
    Case("POST", "/admin/members/{member}/role", ADMIN, 303, {"role": "unit_head", "unit_id": "{school}"}),
    Case("POST", "/admin/members/{member}/deactivate", ADMIN, 303, {}),
    Case("POST", "/admin/members/{member}/activate", ADMIN, 303, {}, member_active=False),
    Case("POST", "/admin/members/{member}/reset-password", ADMIN, 200, {}),
    Case("GET", "/account/tokens", ALL, 200),
    Case("POST", "/account/tokens", ALL, 200, {"name": "{unique}"}),
    Case("POST", "/account/tokens/{token}/revoke", ALL, 303, {}),
    Case("GET", "/audit", AUDIT_READ, 200),
    Case("GET", "/operator/tenants", NOBODY, 200, denied_message=OPERATOR_ONLY),
    Case("POST", "/operator/tenants", NOBODY, 200, {"name": "{unique}", "code": "x", "admin_name": "x",
                                                    "admin_username": "{unique}"}, denied_message=OPERATOR_ONLY),
]

API_CASES = [
    Case("GET", "/api/v1/me", ALL, 200),
    Case("GET", "/api/v1/units", ALL, 200),
    Case("POST", "/api/v1/units", ADMIN, 201, {"name": "{unique}", "kind": "school", "parent_id": "{office}"}),
    Case("PUT", "/api/v1/units/{unit}", ADMIN, 200, {"name": "{unique}", "kind": "office", "parent_id": None}),
    Case("DELETE", "/api/v1/units/{unit}", ADMIN, 204),
    Case("GET", "/api/v1/members", MEMBERS_READ, 200),
    Case("PUT", "/api/v1/members/{member}", ADMIN, 200, {"role": "unit_staff", "unit_id": "{school}"}),
    Case("POST", "/api/v1/members/{member}/deactivate", ADMIN, 200),
    Case("POST", "/api/v1/invitations", ADMIN, 201, {"display_name": "{unique}", "role": "leader"}),
    Case("GET", "/api/v1/tokens", ALL, 200),
    Case("POST", "/api/v1/tokens", ALL, 201, {"name": "{unique}"}),
    Case("DELETE", "/api/v1/tokens/{token}", ALL, 204),
    Case("GET", "/api/v1/audit-events", AUDIT_READ, 200),
    # Operator routes read only the browser session: a bureau's bearer token does not sign anyone in there.
    Case("GET", "/api/v1/tenants", NOBODY, 200, denied_status=401, denied_message="请先登录。"),
    Case("POST", "/api/v1/tenants", NOBODY, 201, {"name": "{unique}", "code": "x", "admin_name": "x",
                                                  "admin_username": "{unique}"},
         denied_status=401, denied_message="请先登录。"),
]


def in_refusal_order(roles) -> list[Role]:
    """Refused roles first, so that an allowed change (made last) cannot hide a refused one."""
    return sorted(roles, key=lambda r: r == Role.admin)


@pytest.mark.parametrize("case", PAGE_CASES, ids=lambda c: c.id)
async def test_page_permissions(case: Case, bureau, browsers):
    targets = await make_targets(bureau, member_active=case.member_active)
    for role in in_refusal_order(ROLES):
        browser = await browsers(bureau, role)
        before = await snapshot(bureau)
        path = targets.path(case.path, role)
        if case.method == "GET":
            response = await browser.get(path)
        else:
            response = await browser.post(path, body_for(case, bureau))
        after = await snapshot(bureau)
        if role in case.allowed:
            assert response.status_code == case.ok, (role, response.status_code, response.text[:500])
            if case.method == "POST":
                assert after != before, (role, "an allowed change changed nothing")
        else:
            assert_denied_page(response, case.denied_message, case.denied_status)
            assert after == before, role


@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c.id)
async def test_api_permissions(case: Case, bureau, api):
    targets = await make_targets(bureau)
    for role in in_refusal_order(ROLES):
        before = await snapshot(bureau)
        response = await api(case.method, targets.path(case.path, role), targets.bearers[role],
                             body_for(case, bureau))
        after = await snapshot(bureau)
        if role in case.allowed:
            assert response.status_code == case.ok, (role, response.status_code, response.text[:500])
            if case.method != "GET":
                assert after != before, (role, "an allowed change changed nothing")
        else:
            assert_denied_json(response, case.denied_message, case.denied_status)
            assert after == before, role


@pytest.mark.parametrize("path", ["/api/v1/tenants"])
async def test_operator_api_refuses_bureau_members_signed_in_by_browser(bureau, browsers, path):
    for role in ROLES:
        browser = await browsers(bureau, role)
        assert_denied_json(await browser.get(path), OPERATOR_ONLY)
        response = await browser.client.post(path, json={"name": unique("局"), "code": unique("c"),
                                                         "admin_name": "x", "admin_username": unique("u")},
                                             headers={"X-CSRF-Token": browser.csrf})
        assert_denied_json(response, OPERATOR_ONLY)


async def test_anonymous_is_sent_to_login_or_refused(bureau, browsers, api):
    targets = await make_targets(bureau)
    browser = await browsers(None, None)
    before = await snapshot(bureau)
    for case in PAGE_CASES:
        path = targets.path(case.path, Role.admin)
        response = await (browser.get(path) if case.method == "GET" else browser.post(path, body_for(case, bureau)))
        assert response.status_code == 303, (case.id, response.status_code)
        assert response.headers["location"].startswith("/login"), case.id
    for case in API_CASES:
        response = await api(case.method, targets.path(case.path, Role.admin), None, body_for(case, bureau))
        # Without a bearer token an unsafe call is a browser's, and the missing CSRF token is refused first.
        expected = {401} if case.method == "GET" else {401, 403}
        assert response.status_code in expected, (case.id, response.status_code)
        assert response.json()["detail"]
        bad = await api(case.method, targets.path(case.path, Role.admin), "lsk_not-a-token", body_for(case, bureau))
        # A token that is not one does not switch off the CSRF check (issue 14, finding 13): refused either way.
        assert bad.status_code in expected, (case.id, bad.status_code)
        assert bad.json()["detail"]
    assert await snapshot(bureau) == before


async def test_unit_head_sees_only_own_unit_members(bureau, browsers, api):
    browser = await browsers(bureau, Role.unit_head)
    page = await browser.get("/admin/members")
    assert page.status_code == 200
    assert bureau.username(Role.unit_staff) in page.text and bureau.username(Role.admin) not in page.text
    assert "/admin/members/invite" not in page.text
    _id, raw = await bearer(bureau, Role.unit_head)
    listed = (await api("GET", "/api/v1/members", raw)).json()
    assert {m["role"] for m in listed} == {"unit_head", "unit_staff"}


async def test_token_of_another_member_in_same_bureau(bureau, browsers, api):
    """A token is its owner's; only the bureau's admin may revoke someone else's."""
    targets = await make_targets(bureau)
    victim = targets.tokens[Role.supervisor]
    for role in (Role.leader, Role.unit_head, Role.unit_staff):
        browser = await browsers(bureau, role)
        response = await browser.post(f"/account/tokens/{victim}/revoke")
        assert response.status_code == 404 and "找不到该令牌" in response.text
        response = await api("DELETE", f"/api/v1/tokens/{victim}", targets.bearers[role])
        assert_denied_json(response, "找不到该令牌。", 404)
        listed = (await api("GET", "/api/v1/tokens", targets.bearers[role])).json()
        assert str(victim) not in {t["id"] for t in listed}
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await session.get(ApiToken, victim)).revoked_at is None
    response = await api("DELETE", f"/api/v1/tokens/{victim}", targets.bearers[Role.admin])
    assert response.status_code == 204
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await session.get(ApiToken, victim)).revoked_at is not None


# --- other bureaus' objects ------------------------------------------------------------------------------

OBJECT_PAGES = [c for c in PAGE_CASES if "{" in c.path]
OBJECT_API = [c for c in API_CASES if "{" in c.path]


def assert_reveals_nothing(response: httpx.Response, targets: Targets) -> None:
    for secret in (targets.unit_name, targets.member_name, targets.member_username):
        assert secret not in response.text


@pytest.mark.parametrize("case", OBJECT_PAGES, ids=lambda c: c.id)
async def test_page_objects_of_another_bureau_are_not_found(case: Case, bureau, other_bureau, browsers):
    targets = await make_targets(bureau, member_active=case.member_active)
    tokens_of_bureau = dict(targets.tokens)
    before = await snapshot(bureau)
    for role in ROLES:
        browser = await browsers(other_bureau, role)
        # The other bureau's member aims at this bureau's objects (its token ids included).
        path = case.path.format(unit=targets.unit_id, member=targets.member_id, invitation=targets.invitation_id,
                                token=tokens_of_bureau[Role.supervisor])
        random_path = case.path.format(unit=uuid.uuid4(), member=uuid.uuid4(), invitation=uuid.uuid4(),
                                       token=uuid.uuid4())
        data = body_for(case, other_bureau)
        response = await (browser.get(path) if case.method == "GET" else browser.post(path, data))
        unknown = await (browser.get(random_path) if case.method == "GET" else browser.post(random_path, data))
        # Indistinguishable from an id that exists nowhere; with the permission to act, that is a 404.
        assert response.status_code == unknown.status_code, (role, response.status_code, unknown.status_code)
        if role in case.allowed:
            assert response.status_code == 404, (role, response.status_code, response.text[:300])
            assert "找不到" in response.text
        else:
            assert response.status_code in (403, 404), (role, response.status_code)
        assert_reveals_nothing(response, targets)
    assert await snapshot(bureau) == before


@pytest.mark.parametrize("case", OBJECT_API, ids=lambda c: c.id)
async def test_api_objects_of_another_bureau_are_not_found(case: Case, bureau, other_bureau, api):
    targets = await make_targets(bureau)
    before = await snapshot(bureau)
    for role in ROLES:
        _id, raw = await bearer(other_bureau, role)
        path = case.path.format(unit=targets.unit_id, member=targets.member_id, invitation=targets.invitation_id,
                                token=targets.tokens[Role.supervisor])
        random_path = case.path.format(unit=uuid.uuid4(), member=uuid.uuid4(), invitation=uuid.uuid4(),
                                       token=uuid.uuid4())
        response = await api(case.method, path, raw, body_for(case, other_bureau))
        unknown = await api(case.method, random_path, raw, body_for(case, other_bureau))
        assert response.status_code == unknown.status_code, (role, response.status_code, unknown.status_code)
        if role in case.allowed:
            assert response.status_code == 404, (role, response.status_code, response.text[:300])
        else:
            assert response.status_code in (403, 404), (role, response.status_code)
        assert response.json()["detail"]
        assert_reveals_nothing(response, targets)
    assert await snapshot(bureau) == before


async def test_references_to_another_bureaus_units_are_not_found(bureau, other_bureau, browsers, api):
    """Bodies that name another bureau's unit (as parent, as a member's unit) are refused as unknown."""
    foreign = str(other_bureau.units["school"].id)
    before, before_other = await snapshot(bureau), await snapshot(other_bureau)
    browser = await browsers(bureau, Role.admin)
    staff = bureau.actors[Role.unit_staff].membership_id
    for path, data in (
        ("/admin/units", {"name": unique("外挂"), "kind": "office", "parent_id": foreign}),
        (f"/admin/units/{bureau.units['school'].id}", {"name": "实验小学", "kind": "school", "parent_id": foreign}),
        ("/admin/members/invite", {"display_name": unique("外"), "role": "unit_staff", "unit_id": foreign}),
        (f"/admin/members/{staff}/role", {"role": "unit_staff", "unit_id": foreign}),
    ):
        response = await browser.post(path, data)
        assert response.status_code == 404, (path, response.status_code, response.text[:300])
        assert "找不到该单位" in response.text
    _id, raw = await bearer(bureau, Role.admin)
    for method, path, body in (
        ("POST", "/api/v1/units", {"name": unique("外挂"), "parent_id": foreign}),
        ("PUT", f"/api/v1/units/{bureau.units['school'].id}", {"name": "实验小学", "parent_id": foreign}),
        ("POST", "/api/v1/invitations", {"display_name": "外", "role": "unit_staff", "unit_id": foreign}),
        ("PUT", f"/api/v1/members/{staff}", {"role": "unit_staff", "unit_id": foreign}),
    ):
        response = await api(method, path, raw, body)
        assert_denied_json(response, "找不到该单位，它可能已被删除。", 404)
    after = await snapshot(bureau)
    assert after["units"] == before["units"] and after["members"] == before["members"]
    assert after["invitations"] == before["invitations"]
    assert await snapshot(other_bureau) == before_other


async def test_choose_bureau_of_which_one_is_not_a_member(bureau, other_bureau, browsers):
    browser = await browsers(bureau, Role.admin)
    response = await browser.post("/choose-bureau", {"tenant_id": str(other_bureau.tenant.id)})
    assert response.status_code == 404 and "您不是该教育局的成员" in response.text
    assert other_bureau.tenant.name not in response.text
    home = await browser.get("/")
    assert home.status_code == 200 and bureau.tenant.name in home.text and other_bureau.tenant.name not in home.text


# --- bad input -------------------------------------------------------------------------------------------



async def test_duplicate_unit_name_rerenders_the_form(bureau, browsers):
    browser = await browsers(bureau, Role.admin)
    before = await snapshot(bureau)
    response = await browser.post("/admin/units", {"name": "实验小学", "kind": "school", "parent_id": ""})
    assert response.status_code == 409, response.status_code
    assert 'id="e-name"' in response.text and "本局已有名为“实验小学”的单位" in response.text
    assert 'value="实验小学"' in response.text and 'aria-invalid="true"' in response.text
    assert await snapshot(bureau) == before


async def test_duplicate_unit_name_on_edit_rerenders_the_form(bureau, browsers):
    browser = await browsers(bureau, Role.admin)
    before = await snapshot(bureau)
    office = bureau.units["office"]
    response = await browser.post(f"/admin/units/{office.id}", {"name": "实验小学", "kind": "office", "parent_id": ""})
    assert response.status_code == 409, response.status_code
    assert "本局已有名为“实验小学”的单位" in response.text and 'value="实验小学"' in response.text
    assert await snapshot(bureau) == before


async def test_duplicate_unit_name_through_the_api_is_409(bureau, api):
    _id, raw = await bearer(bureau, Role.admin)
    before = await snapshot(bureau)
    response = await api("POST", "/api/v1/units", raw, {"name": " 实验小学 "})
    assert response.status_code == 409
    assert response.json() == {"detail": "本局已有名为“实验小学”的单位，请换一个名称。", "field": "name"}
    assert await snapshot(bureau) == before


async def test_form_errors_keep_what_was_typed(bureau, browsers):
    browser = await browsers(bureau, Role.admin)
    response = await browser.post("/admin/units", {"name": "   ", "kind": "school", "parent_id": ""})
    assert response.status_code == 422 and 'id="e-name"' in response.text and "请填写单位名称" in response.text
    response = await browser.post("/admin/members/invite", {"display_name": "何老师", "role": "unit_staff",
                                                            "unit_id": ""})
    assert response.status_code == 422 and 'id="e-unit_id"' in response.text and 'value="何老师"' in response.text
    office = bureau.units["office"]
    response = await browser.post(f"/admin/units/{office.id}",
                                  {"name": "办公室", "kind": "office", "parent_id": str(bureau.units["school"].id)})
    assert response.status_code == 422 and 'id="e-parent_id"' in response.text


async def test_unreadable_parent_unit_shows_its_message(bureau, browsers):
    browser = await browsers(bureau, Role.admin)
    response = await browser.post("/admin/units", {"name": "新科室", "kind": "office", "parent_id": "not-a-uuid"})
    assert response.status_code == 422 and 'value="新科室"' in response.text
    assert "所选单位无效" in response.text


@pytest.mark.parametrize("method, path, data", [
    ("POST", "/admin/units", {"name": "无令牌单位", "kind": "office", "parent_id": ""}),
    ("POST", "/admin/members/{member}/deactivate", {}),
    ("POST", "/admin/members/{member}/reset-password", {}),
    ("POST", "/admin/units/{unit}/delete", {}),
    ("POST", "/account/tokens", {"name": "无令牌"}),
])
@pytest.mark.parametrize("token", ["missing", "wrong", "other-browser"])
async def test_missing_or_wrong_csrf_token_is_refused(bureau, browsers, method, path, data, token):
    targets = await make_targets(bureau)
    browser = await browsers(bureau, Role.admin)
    before = await snapshot(bureau)
    if token == "missing":
        sent = dict(data)
    elif token == "wrong":
        sent = {**data, "csrf_token": "0" * 64}
    else:  # a genuine token, but of somebody else's browser
        sent = {**data, "csrf_token": (await browsers(None, None)).csrf}
    response = await browser.client.post(targets.path(path, Role.admin), data=sent)
    assert_denied_page(response, CSRF_FAILED)
    assert await snapshot(bureau) == before


async def test_api_with_browser_session_needs_the_csrf_header(bureau, browsers):
    browser = await browsers(bureau, Role.admin)
    before = await snapshot(bureau)
    response = await browser.client.post("/api/v1/units", json={"name": "无头单位"})
    assert_denied_json(response, CSRF_FAILED)
    assert await snapshot(bureau) == before
    response = await browser.client.post("/api/v1/units", json={"name": "有头单位"},
                                         headers={"X-CSRF-Token": browser.csrf})
    assert response.status_code == 201


@pytest.mark.parametrize("method, path", [
    ("GET", "/admin/units/not-a-uuid"),
    ("POST", "/admin/units/123"),
    ("POST", "/admin/units/zzz/delete"),
    ("POST", "/admin/members/%E4%B8%AD/role"),
    ("POST", "/admin/members/1-2-3/deactivate"),
    ("POST", "/admin/members/x/activate"),
    ("POST", "/admin/members/x/reset-password"),
    ("POST", "/admin/invitations/x/revoke"),
    ("POST", "/account/tokens/x/revoke"),
])
async def test_malformed_uuid_in_a_page_path_is_a_404_page(bureau, browsers, method, path):
    browser = await browsers(bureau, Role.admin)
    data = {"role": "leader", "name": "x"}
    response = await (browser.get(path) if method == "GET" else browser.post(path, data))
    assert_denied_page(response, BAD_PATH, 404)


@pytest.mark.parametrize("method, path", [
    ("PUT", "/api/v1/units/not-a-uuid"), ("DELETE", "/api/v1/units/1"), ("PUT", "/api/v1/members/x"),
    ("POST", "/api/v1/members/x/deactivate"), ("DELETE", "/api/v1/tokens/x"),
])
async def test_malformed_uuid_in_an_api_path_is_a_404(bureau, api, method, path):
    _id, raw = await bearer(bureau, Role.admin)
    response = await api(method, path, raw, {"name": "x", "role": "leader"})
    assert_denied_json(response, BAD_PATH, 404)


@pytest.mark.parametrize("token", ["bogus", "x" * 150, "%E9%82%80%E8%AF%B7", "lsk_" + "A" * 43])
async def test_invalid_invite_link_says_so(browsers, token):
    browser = await browsers(None, None)
    assert_denied_page(await browser.get(f"/invite/{token}"), BAD_INVITE, 404)
    response = await browser.post(f"/invite/{token}", {"username": unique("u"), "password": "Some-Pass-123",
                                                       "password_again": "Some-Pass-123"})
    assert_denied_page(response, BAD_INVITE, 404)


async def test_invitation_through_the_pages(bureau, browsers, app):
    admin = await browsers(bureau, Role.admin)
    name = unique("新人")
    response = await admin.post("/admin/members/invite", {"display_name": name, "role": "unit_staff",
                                                          "unit_id": str(bureau.units["school"].id)})
    assert response.status_code == 200
    link = response.text.split('<code class="secret">')[1].split("</code>")[0]
    assert link.startswith(get_settings().base_url)
    path = link.removeprefix(get_settings().base_url.rstrip("/"))
    invitee = await browsers(None, None)
    page = await invitee.get(path)
    assert page.status_code == 200 and bureau.tenant.name in page.text and name in page.text
    response = await invitee.post(path, {"username": unique("xr-"), "password": "Short", "password_again": "Short"})
    assert response.status_code == 422 and "密码至少需要" in response.text
    username = unique("xr-")
    response = await invitee.post(path, {"username": username, "password": "Joined-Today-9!",
                                         "password_again": "Joined-Today-9!"})
    assert response.status_code == 303 and response.headers["location"] == "/login?joined=1"
    again = await invitee.get(path)
    assert_denied_page(again, BAD_INVITE, 404)
    async with quiet_client(app) as fresh:
        assert (await login(fresh, username, "Joined-Today-9!")).status_code == 303
        assert name in (await fresh.get("/")).text


async def test_expired_invite_link_says_so(bureau, browsers, monkeypatch):
    monkeypatch.setattr(get_settings(), "invite_valid_days", -1)
    async with unit_of_work(bureau.tenant.id) as session:
        _invitation, raw = await tenancy.invite(session, bureau.actors[Role.admin], display_name="过期",
                                                role=Role.leader, unit_id=None)
    browser = await browsers(None, None)
    assert_denied_page(await browser.get(f"/invite/{raw}"), "邀请链接已过期", 422)
    response = await browser.post(f"/invite/{raw}", {"username": unique("u"), "password": "Some-Pass-123!",
                                                     "password_again": "Some-Pass-123!"})
    assert_denied_page(response, "邀请链接已过期", 422)


async def test_invite_with_a_taken_username_rerenders_the_form(bureau, browsers):
    async with unit_of_work(bureau.tenant.id) as session:
        _invitation, raw = await tenancy.invite(session, bureau.actors[Role.admin], display_name="重名",
                                                role=Role.leader, unit_id=None)
    browser = await browsers(None, None)
    taken = bureau.username(Role.leader)
    response = await browser.post(f"/invite/{raw}", {"username": taken, "password": "Some-Pass-123!",
                                                     "password_again": "Some-Pass-123!"})
    assert response.status_code == 409, response.status_code
    assert "该登录名不可用" in response.text and f'value="{taken}"' in response.text


async def test_invitation_page_does_not_reveal_login_names_of_other_bureaus(bureau, other_bureau, browsers):
    """Issue 14 finding 12: the invitation form is not an oracle for other bureaus' login names. A name in use
    is refused without being confirmed as an account, and one link answers about a handful of names at most."""
    async with unit_of_work(bureau.tenant.id) as session:
        _invitation, raw = await tenancy.invite(session, bureau.actors[Role.admin], display_name="探测",
                                                role=Role.leader, unit_id=None)
    browser = await browsers(None, None)
    theirs = [other_bureau.username(role) for role in Role]
    answers = []
    for name in theirs:
        answers.append(await browser.post(f"/invite/{raw}", {"username": name, "password": "Some-Pass-123!",
                                                            "password_again": "Some-Pass-123!"}))
    for name, answer in zip(theirs, answers, strict=True):
        assert f"“{name}”" not in answer.text and "已被使用" not in answer.text
    assert [a.status_code for a in answers][:3] == [409, 409, 409]
    assert answers[-1].status_code == 429 and "请联系本局管理员" in answers[-1].text
    # Past the limit, even a free name is not answered about through this link.
    free = await browser.post(f"/invite/{raw}", {"username": unique("free-"), "password": "Some-Pass-123!",
                                                "password_again": "Some-Pass-123!"})
    assert free.status_code == 429


async def test_self_deactivation_through_the_pages(bureau, browsers):
    browser = await browsers(bureau, Role.admin)
    me = bureau.actors[Role.admin].membership_id
    before = await snapshot(bureau)
    response = await browser.post(f"/admin/members/{me}/deactivate")
    assert response.status_code == 422 and "不能停用自己的账号" in response.text
    response = await browser.post(f"/admin/members/{me}/role", {"role": "leader", "unit_id": ""})
    assert response.status_code == 422
    assert await snapshot(bureau) == before


async def test_self_demotion_through_the_pages_says_why(bureau, browsers):
    browser = await browsers(bureau, Role.admin)
    me = bureau.actors[Role.admin].membership_id
    response = await browser.post(f"/admin/members/{me}/role", {"role": "leader", "unit_id": ""})
    assert response.status_code == 422 and "不能取消自己的管理员角色" in response.text


async def test_deleting_a_unit_with_people_says_why(bureau, browsers):
    browser = await browsers(bureau, Role.admin)
    before = await snapshot(bureau)
    response = await browser.post(f"/admin/units/{bureau.units['school'].id}/delete")
    assert response.status_code == 409 and "“实验小学”还有 2 名人员" in response.text
    response = await browser.post(f"/admin/units/{bureau.units['office'].id}/delete")
    assert response.status_code == 409 and "下还有下级单位" in response.text
    assert await snapshot(bureau) == before


async def test_deactivated_member_is_shut_out_of_pages_and_api(bureau, browsers, api):
    staff_browser = await browsers(bureau, Role.unit_staff)
    _id, raw = await bearer(bureau, Role.unit_staff)
    assert (await api("GET", "/api/v1/me", raw)).status_code == 200
    admin = await browsers(bureau, Role.admin)
    staff = bureau.actors[Role.unit_staff].membership_id
    assert (await admin.post(f"/admin/members/{staff}/deactivate")).status_code == 303
    assert (await api("GET", "/api/v1/me", raw)).status_code == 401
    response = await staff_browser.get("/")
    assert response.status_code == 404 and "您不是该教育局的成员，或账号已被停用" in response.text
    async with unit_of_work(bureau.tenant.id) as session:
        tokens = (await session.exec(select(ApiToken).where(col(ApiToken.membership_id) == staff))).all()
    assert tokens and all(t.revoked_at is not None for t in tokens)


async def test_suspended_bureau_is_shut_out_of_the_api(bureau, api):
    _id, raw = await bearer(bureau, Role.admin)
    async with unit_of_work() as session:
        tenant = await session.get(Tenant, bureau.tenant.id)
        tenant.is_active = False
        session.add(tenant)
    response = await api("GET", "/api/v1/units", raw)
    assert response.status_code == 401, response.status_code


async def test_operator_opening_a_bureau_with_a_taken_admin_login_name_rerenders_the_form(bureau, app):
    from backend.accounts.service import create_user

    username = unique("op-")
    async with unit_of_work() as session:
        await create_user(session, username=username, display_name="平台运维", password=TARGET_PASSWORD,
                          is_operator=True)
    async with quiet_client(app) as client:
        assert (await login(client, username, TARGET_PASSWORD)).status_code == 303
        token = await csrf_of(client, "/operator/tenants")
        taken = bureau.username(Role.leader)
        response = await client.post("/operator/tenants", data={
            "name": unique("新开局"), "code": unique("new"), "admin_name": "管理员", "admin_username": taken,
            "csrf_token": token})
    assert response.status_code == 409, response.status_code
    assert f'value="{taken}"' in response.text
    assert f"登录名“{taken}”已被使用" in response.text
