"""Personal API tokens: shown once, hashed at rest, revocable, scoped to their member's bureau and role."""

from sqlmodel import select

from backend.accounts.models import ApiToken
from backend.accounts.service import create_api_token
from backend.core.roles import Role
from backend.db import unit_of_work
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


# --- issue 14 finding 11: one token lifecycle (password change, must-change, expiry) ------------------------


async def _me(client, raw: str):
    return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})


async def test_token_stops_working_when_its_owner_changes_password(client, bureau):
    from backend.accounts.models import User
    from backend.accounts.service import change_password
    from tests.support.fixtures import PASSWORD

    raw = await _token(bureau, Role.leader)
    assert (await _me(client, raw)).status_code == 200
    async with unit_of_work() as session:
        user = await session.get(User, bureau.users[Role.leader].id)
        await change_password(session, user, current=PASSWORD, new="Brand-New-Pass-77", new_again="Brand-New-Pass-77")
    refused = await _me(client, raw)
    assert refused.status_code == 401 and "密码" in refused.json()["detail"]
    fresh = await _token(bureau, Role.leader)  # a token made after the change works
    assert (await _me(client, fresh)).status_code == 200


async def test_token_stops_working_after_an_admin_resets_the_password(client, bureau):
    from backend.tenancy import service as tenancy

    raw = await _token(bureau, Role.unit_head)
    assert (await _me(client, raw)).status_code == 200
    async with unit_of_work(bureau.tenant.id) as session:
        await tenancy.reset_password(session, bureau.actors[Role.admin], bureau.actors[Role.unit_head].membership_id)
    assert (await _me(client, raw)).status_code == 401


async def test_token_is_refused_while_the_password_must_be_changed(client, bureau):
    from backend.accounts.models import User

    raw = await _token(bureau, Role.supervisor)
    async with unit_of_work() as session:
        user = await session.get(User, bureau.users[Role.supervisor].id)
        user.must_change_password = True
        session.add(user)
    refused = await _me(client, raw)
    assert refused.status_code == 401 and "修改密码" in refused.json()["detail"]


async def test_token_expires_and_the_page_says_when(client, bureau):
    from datetime import timedelta

    from backend.config import get_settings
    from backend.core import clock

    async with unit_of_work(bureau.tenant.id) as session:
        token, raw = await create_api_token(session, bureau.actors[Role.unit_staff], name="到期脚本")
    days = get_settings().api_token_valid_days
    assert days > 0 and abs(token.expires_at - (token.created_at + timedelta(days=days))) < timedelta(minutes=1)
    await login(client, bureau.username(Role.unit_staff))
    page = await client.get("/account/tokens")
    assert "到期" in page.text and token.expires_at.astimezone().strftime("%Y") in page.text
    assert (await _me(client, raw)).status_code == 200
    async with unit_of_work(bureau.tenant.id) as session:
        stored = await session.get(ApiToken, token.id)
        stored.expires_at = clock.now() - timedelta(seconds=1)
        session.add(stored)
    refused = await _me(client, raw)
    assert refused.status_code == 401 and "过期" in refused.json()["detail"]
