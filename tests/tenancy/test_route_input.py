"""Bad input to the tenancy routes: forms re-rendered with what was typed and a message, missing CSRF tokens
and malformed ids refused, and refusals that say why."""

import pytest

from backend.core.roles import Role
from backend.db import unit_of_work
from tests.support.browser import quiet_client
from tests.support.fixtures import csrf_of, login, unique
from tests.tenancy.matrix import (
    BAD_PATH,
    CSRF_FAILED,
    TARGET_PASSWORD,
    assert_denied_json,
    assert_denied_page,
    bearer,
    make_targets,
    snapshot,
)


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
async def test_missing_or_wrong_csrf_token_is_refused(whole_bureau, browsers, method, path, data, token):
    targets = await make_targets(whole_bureau)
    browser = await browsers(whole_bureau, Role.admin)
    before = await snapshot(whole_bureau)
    if token == "missing":
        sent = dict(data)
    elif token == "wrong":
        sent = {**data, "csrf_token": "0" * 64}
    else:  # a genuine token, but of somebody else's browser
        sent = {**data, "csrf_token": (await browsers(None, None)).csrf}
    response = await browser.client.post(targets.path(path, Role.admin), data=sent)
    assert_denied_page(response, CSRF_FAILED)
    assert await snapshot(whole_bureau) == before


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
async def test_malformed_uuid_in_a_page_path_is_a_404_page(whole_bureau, browsers, method, path):
    browser = await browsers(whole_bureau, Role.admin)
    data = {"role": "leader", "name": "x"}
    response = await (browser.get(path) if method == "GET" else browser.post(path, data))
    assert_denied_page(response, BAD_PATH, 404)


@pytest.mark.parametrize("method, path", [
    ("PUT", "/api/v1/units/not-a-uuid"), ("DELETE", "/api/v1/units/1"), ("PUT", "/api/v1/members/x"),
    ("POST", "/api/v1/members/x/deactivate"), ("DELETE", "/api/v1/tokens/x"),
])
async def test_malformed_uuid_in_an_api_path_is_a_404(whole_bureau, api, method, path):
    _id, raw = await bearer(whole_bureau, Role.admin)
    response = await api(method, path, raw, {"name": "x", "role": "leader"})
    assert_denied_json(response, BAD_PATH, 404)


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
