"""Personal API tokens: shown once, hashed at rest, revocable, scoped to their member's bureau and role."""

from sqlmodel import select

from backend.accounts.models import ApiToken
from backend.accounts.service import create_api_token
from backend.db import unit_of_work
from backend.tenancy.models import Role
from tests.support.fixtures import login, post_form


async def _token(bureau, role: Role) -> str:
    async with unit_of_work(bureau.tenant.id) as session:
        _token, raw = await create_api_token(session, bureau.actors[role], name="测试脚本")
    return raw


async def test_bearer_token_acts_as_its_member(client, bureau):
    raw = await _token(bureau, Role.supervisor)
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200
    assert me.json()["role"] == "supervisor" and me.json()["tenant_id"] == str(bureau.tenant.id)


async def test_token_is_stored_only_as_a_hash(bureau):
    raw = await _token(bureau, Role.admin)
    async with unit_of_work(bureau.tenant.id) as session:
        stored = (await session.exec(select(ApiToken.token_hash))).all()
    assert raw not in stored and all(len(h) == 64 for h in stored)


async def test_revoked_token_is_refused(client, bureau):
    raw = await _token(bureau, Role.admin)
    headers = {"Authorization": f"Bearer {raw}"}
    tokens = (await client.get("/api/v1/tokens", headers=headers)).json()
    mine = next(t for t in tokens if raw.startswith(t["prefix"]))
    assert (await client.delete(f"/api/v1/tokens/{mine['id']}", headers=headers)).status_code == 204
    refused = await client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401 and "吊销" in refused.json()["detail"]


async def test_unknown_token_and_no_token(client):
    assert (await client.get("/api/v1/me", headers={"Authorization": "Bearer lsk_nope"})).status_code == 401
    response = await client.get("/api/v1/me")
    assert response.status_code == 401 and "API 令牌" in response.json()["detail"]


async def test_token_cannot_touch_another_bureaus_token(client, bureau, other_bureau):
    mine = await _token(bureau, Role.admin)
    async with unit_of_work(other_bureau.tenant.id) as session:
        theirs, _raw = await create_api_token(session, other_bureau.actors[Role.admin], name="他局脚本")
    response = await client.delete(f"/api/v1/tokens/{theirs.id}", headers={"Authorization": f"Bearer {mine}"})
    assert response.status_code == 404
    async with unit_of_work(other_bureau.tenant.id) as session:
        assert (await session.get(ApiToken, theirs.id)).revoked_at is None


async def test_tokens_page_shows_a_new_token_once(client, bureau):
    await login(client, bureau.username(Role.unit_staff))
    empty_name = await post_form(client, "/account/tokens", {"name": " "}, page="/account/tokens")
    assert empty_name.status_code == 422 and "请为令牌起个名字" in empty_name.text
    created = await post_form(client, "/account/tokens", {"name": "我的脚本"}, page="/account/tokens")
    assert created.status_code == 200 and "只显示这一次" in created.text
    raw = created.text.split('<code class="secret">')[1].split("<")[0]
    assert raw.startswith("lsk_")
    again = await client.get("/account/tokens")
    assert raw not in again.text and "我的脚本" in again.text
