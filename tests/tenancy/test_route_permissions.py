"""Who may call which tenancy, token and audit route: the permission matrix for pages and API, anonymous
callers, and members shut out once deactivated or their bureau suspended."""

import pytest
from sqlmodel import col, select

from backend.accounts.models import ApiToken
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tenancy.models import Tenant
from tests.support.fixtures import ROLES, unique
from tests.tenancy.matrix import (
    API_CASES,
    OPERATOR_ONLY,
    PAGE_CASES,
    Case,
    assert_denied_json,
    assert_denied_page,
    bearer,
    body_for,
    in_refusal_order,
    make_targets,
    snapshot,
)


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
