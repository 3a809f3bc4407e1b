"""Other bureaus' objects stay out of reach through every tenancy route: not found, indistinguishable from an
id that exists nowhere, and nothing revealed or changed."""

import uuid

import httpx
import pytest

from backend.core.roles import Role
from tests.support.fixtures import ROLES, unique
from tests.tenancy.matrix import (
    API_CASES,
    PAGE_CASES,
    Case,
    Targets,
    assert_denied_json,
    bearer,
    body_for,
    make_targets,
    snapshot,
)

# --- other bureaus' objects ------------------------------------------------------------------------------

OBJECT_PAGES = [c for c in PAGE_CASES if "{" in c.path]
OBJECT_API = [c for c in API_CASES if "{" in c.path]


def assert_reveals_nothing(response: httpx.Response, targets: Targets) -> None:
    for secret in (targets.unit_name, targets.member_name, targets.member_username):
        assert secret not in response.text


@pytest.mark.parametrize("case", OBJECT_PAGES, ids=lambda c: c.id)
async def test_page_objects_of_another_bureau_are_not_found(case: Case, whole_bureau, other_whole_bureau, browsers):
    targets = await make_targets(whole_bureau, member_active=case.member_active)
    tokens_of_bureau = dict(targets.tokens)
    before = await snapshot(whole_bureau)
    for role in ROLES:
        browser = await browsers(other_whole_bureau, role)
        # The other bureau's member aims at this bureau's objects (its token ids included).
        path = case.path.format(unit=targets.unit_id, member=targets.member_id, invitation=targets.invitation_id,
                                token=tokens_of_bureau[Role.supervisor])
        random_path = case.path.format(unit=uuid.uuid4(), member=uuid.uuid4(), invitation=uuid.uuid4(),
                                       token=uuid.uuid4())
        data = body_for(case, other_whole_bureau)
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
    assert await snapshot(whole_bureau) == before


@pytest.mark.parametrize("case", OBJECT_API, ids=lambda c: c.id)
async def test_api_objects_of_another_bureau_are_not_found(case: Case, whole_bureau, other_whole_bureau, api):
    targets = await make_targets(whole_bureau)
    before = await snapshot(whole_bureau)
    for role in ROLES:
        _id, raw = await bearer(other_whole_bureau, role)
        path = case.path.format(unit=targets.unit_id, member=targets.member_id, invitation=targets.invitation_id,
                                token=targets.tokens[Role.supervisor])
        random_path = case.path.format(unit=uuid.uuid4(), member=uuid.uuid4(), invitation=uuid.uuid4(),
                                       token=uuid.uuid4())
        response = await api(case.method, path, raw, body_for(case, other_whole_bureau))
        unknown = await api(case.method, random_path, raw, body_for(case, other_whole_bureau))
        assert response.status_code == unknown.status_code, (role, response.status_code, unknown.status_code)
        if role in case.allowed:
            assert response.status_code == 404, (role, response.status_code, response.text[:300])
        else:
            assert response.status_code in (403, 404), (role, response.status_code)
        assert response.json()["detail"]
        assert_reveals_nothing(response, targets)
    assert await snapshot(whole_bureau) == before


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
