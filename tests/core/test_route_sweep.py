"""Every route of the app, called by every member of one bureau with the ids of another bureau's objects.

The routes are read from the app itself, so a route added later is swept without touching this file. Each
route is called with each of its methods, by a signed-in browser (session cookie and CSRF token) and by a
script (bearer token), with path parameters and body fields that point at the other bureau. Nothing may answer
5xx, nothing may show the other bureau's names, and the other bureau must be exactly as it was afterwards.
"""

import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from backend.accounts.models import ApiToken
from backend.accounts.service import create_api_token
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.models import metadata, tenant_tables
from backend.tenancy import service as tenancy
from backend.tenancy.models import Invitation
from tests.support.fixtures import ROLES, Bureau, unique
from tests.support.routes import (
    INVALID_INVITE,
    UNSAFE,
    Endpoint,
    Foreign,
    Principal,
    all_endpoints,
    fill_path,
    request_kwargs,
    sweep_client,
)

pytestmark = pytest.mark.slow(33)  # seconds alone on a quiet machine: starts first (tests/conftest.py)


# --- the other bureau: the names that must never show, and its state ---------------------------------------


async def prepare_foreign(other: Bureau) -> Foreign:
    """Gives the other bureau names found nowhere else (both bureaus start with 办公室/实验小学/待邀请人)."""
    admin = other.actors[Role.admin]
    secrets = [other.tenant.name, *(u.username for u in other.users.values()),
               *(u.display_name for u in other.users.values())]
    async with unit_of_work(other.tenant.id) as session:
        for key, unit in other.units.items():
            name = unique(f"别局{key}")
            await tenancy.update_unit(session, admin, unit.id, name=name, kind=unit.kind, parent_id=unit.parent_id)
            secrets.append(name)
        extra = await tenancy.create_unit(session, admin, name=unique("别局空单位"))
        secrets.append(extra.name)
        invitee = unique("别局受邀人")
        invitation, _raw = await tenancy.invite(session, admin, display_name=invitee, role=Role.unit_head,
                                                unit_id=extra.id)
        secrets.append(invitee)
        token_name = unique("别局令牌")
        token, _raw = await create_api_token(session, other.actors[Role.leader], name=token_name)
        secrets.append(token_name)
    table_ids = {}
    async with unit_of_work(other.tenant.id) as session:
        for table in tenant_tables():
            if "id" in metadata.tables[table].c:
                row = (await session.exec(text(f"SELECT id FROM {table} LIMIT 1"))).first()
                if row is not None:
                    table_ids[table] = row[0]
    return Foreign(bureau=other, unit_id=extra.id, membership_id=other.actors[Role.leader].membership_id,
                   user_id=other.users[Role.leader].id, invitation_id=invitation.id, token_id=token.id,
                   secrets=secrets, table_ids=table_ids)


async def every_row(bureau: Bureau) -> dict[str, list[str]]:
    """Every row of every bureau table (tables added later included), as the bureau itself sees them."""
    async with unit_of_work(bureau.tenant.id) as session:
        return {table: sorted(repr(tuple(row)) for row in (await session.exec(text(f"SELECT * FROM {table}"))).all())
                for table in tenant_tables()}


async def snapshot(bureau: Bureau) -> dict:
    """The bureau's units, members, invitations and tokens, read through the services as its own admin."""
    admin = bureau.actors[Role.admin]
    async with unit_of_work(bureau.tenant.id) as session:
        units = sorted((str(n.unit.id), n.unit.name, n.unit.kind, str(n.unit.parent_id), n.member_count)
                       for n in await tenancy.list_units(session, admin))
        members = sorted(
            (str(r.membership.id), r.membership.role, str(r.membership.unit_id), r.membership.is_active,
             r.user.username, r.user.display_name, r.user.password_hash, r.user.must_change_password,
             r.user.is_active)
            for r in await tenancy.list_members(session, admin)
        )
        pending = sorted(str(i.id) for i in await tenancy.list_pending_invitations(session, admin))
        invitations = sorted((str(i.id), i.display_name, str(i.accepted_at))
                             for i in (await session.exec(select(Invitation))).all())
        tokens = sorted((str(t.id), t.name, str(t.membership_id), str(t.revoked_at))
                        for t in (await session.exec(select(ApiToken))).all())
    return {"units": units, "members": members, "pending": pending, "invitations": invitations, "tokens": tokens}



@dataclass
class Outcome:
    who: str
    mode: str
    method: str
    path: str
    status: int
    problem: str

    def __str__(self) -> str:
        return f"{self.who}/{self.mode} {self.method} {self.path} → {self.status}: {self.problem}"


async def call(principal: Principal, mode: str, endpoint: Endpoint, foreign: Foreign) -> tuple[int, str]:
    path = fill_path(endpoint.path, endpoint.route, foreign)
    kwargs = request_kwargs(endpoint, foreign)
    if mode == "browser":
        client = principal.browser
        headers = {"X-CSRF-Token": principal.csrf}
        if "data" in kwargs:
            kwargs["data"] = {**kwargs["data"], "csrf_token": principal.csrf}
    else:
        client = principal.script
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {principal.bearer}"} if principal.bearer else {}
    try:
        response = await client.request(endpoint.method, path, headers=headers, **kwargs)
    except Exception as exc:  # noqa: BLE001 — an app error that escaped every handler
        return 599, f"{type(exc).__name__}: {exc}"
    finally:
        if mode == "script":
            client.cookies.clear()
    if mode == "browser" and endpoint.method in UNSAFE and not await principal.still_signed_in():
        await principal.sign_in()  # /logout and the like end the session; the sweep goes on signed in
    return response.status_code, response.text


async def sweep(principals: list[Principal], endpoints: list[Endpoint], foreign: Foreign,
                statuses: dict) -> list[Outcome]:
    problems: list[Outcome] = []
    for principal in principals:
        for endpoint in endpoints:
            for mode in ("browser", "script"):
                status, text = await call(principal, mode, endpoint, foreign)
                statuses[principal.name, mode, endpoint.method, endpoint.path] = status
                path = fill_path(endpoint.path, endpoint.route, foreign)
                if status >= 500:
                    problems.append(Outcome(principal.name, mode, endpoint.method, path, status, text[:300]))
                for secret in foreign.secrets:
                    if secret in text:
                        problems.append(Outcome(principal.name, mode, endpoint.method, path, status,
                                                f"shows the other bureau's “{secret}”"))
    return problems


@pytest.fixture
async def principals(app, whole_bureau):
    opened: list[httpx.AsyncClient] = []
    made: list[Principal] = []
    for n, role in enumerate([*ROLES, None], start=1):
        browser, script = sweep_client(app, n), sweep_client(app, 100 + n)
        opened += [browser, script]
        principal = Principal(role.value if role else "anonymous", whole_bureau, role, browser, script)
        if role is not None:
            async with unit_of_work(whole_bureau.tenant.id) as session:
                _token, principal.bearer = await create_api_token(session, whole_bureau.actors[role], name="扫描脚本")
        await principal.sign_in()
        made.append(principal)
    yield made
    for client in opened:
        await client.aclose()


# --- the tests -------------------------------------------------------------------------------------------


def test_route_discovery_finds_every_route(app):
    endpoints = all_endpoints(app)
    keys = {e.key for e in endpoints}
    # Everything the OpenAPI document lists is found (it omits only routes hidden from the schema).
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            assert (method.upper(), path) in keys, (method, path)
    # Routes from every kind of registration: included routers with and without a prefix, the app's own
    # routes, a plain Starlette route and a mount.
    for expected in [("GET", "/admin/units/{unit_id}"), ("POST", "/invite/{token}"), ("GET", "/audit"),
                     ("DELETE", "/api/v1/tokens/{token_id}"), ("PUT", "/api/v1/members/{membership_id}"),
                     ("GET", "/healthz"), ("GET", "/api/v1/openapi.json"), ("GET", "/static/{path:path}")]:
        assert expected in keys, expected
    assert len({e.path for e in endpoints}) >= 40


def test_route_discovery_follows_nested_routers():
    """A router included into a router included with a prefix: the sweep must see it with both prefixes."""
    from fastapi import APIRouter, FastAPI

    inner, outer, app = APIRouter(prefix="/inner"), APIRouter(), FastAPI()

    @inner.post("/things/{thing_id}")
    async def thing(thing_id: uuid.UUID):  # pragma: no cover - never called
        return {}

    outer.include_router(inner, prefix="/outer")
    app.include_router(outer, prefix="/api")
    assert ("POST", "/api/outer/inner/things/{thing_id}") in {e.key for e in all_endpoints(app)}


def test_requests_are_aimed_at_the_other_bureau(app):
    """Path ids, body ids and enum fields are filled so that a missing check would act on the other bureau."""
    other = Foreign(bureau=None, unit_id=uuid.uuid4(), membership_id=uuid.uuid4(), user_id=uuid.uuid4(),  # type: ignore[arg-type]
                    invitation_id=uuid.uuid4(), token_id=uuid.uuid4())
    by_key = {e.key: e for e in all_endpoints(app)}
    role = by_key[("POST", "/admin/members/{membership_id}/role")]
    assert fill_path(role.path, role.route, other) == f"/admin/members/{other.membership_id}/role"
    assert request_kwargs(role, other)["data"] == {"role": "admin", "unit_id": str(other.unit_id)}
    unit = by_key[("PUT", "/api/v1/units/{unit_id}")]
    assert fill_path(unit.path, unit.route, other) == f"/api/v1/units/{other.unit_id}"
    assert request_kwargs(unit, other)["json"]["parent_id"] == str(other.unit_id)
    token = by_key[("DELETE", "/api/v1/tokens/{token_id}")]
    assert fill_path(token.path, token.route, other) == f"/api/v1/tokens/{other.token_id}"
    invitation = by_key[("POST", "/admin/invitations/{invitation_id}/revoke")]
    assert fill_path(invitation.path, invitation.route, other) == f"/admin/invitations/{other.invitation_id}/revoke"
    invite = by_key[("GET", "/invite/{token}")]
    assert fill_path(invite.path, invite.route, other) == f"/invite/{INVALID_INVITE}"


async def test_sweep_every_route_as_every_role(app, whole_bureau, other_whole_bureau, principals):
    foreign = await prepare_foreign(other_whole_bureau)
    before, rows_before = await snapshot(other_whole_bureau), await every_row(other_whole_bureau)
    endpoints = all_endpoints(app)
    statuses: dict = {}
    problems = await sweep(principals, endpoints, foreign, statuses)
    assert not problems, "\n".join(str(p) for p in problems)
    # It really ran as each member, in both modes (not as an anonymous visitor sent to the login page).
    for role in ROLES:
        assert statuses[role.value, "browser", "GET", "/account/tokens"] == 200, role
        assert statuses[role.value, "script", "GET", "/api/v1/me"] == 200, role
    assert statuses["admin", "browser", "GET", "/admin/units"] == 200
    assert statuses["anonymous", "script", "GET", "/api/v1/me"] == 401
    after, rows_after = await snapshot(other_whole_bureau), await every_row(other_whole_bureau)
    for part in before:
        assert after[part] == before[part], part
    for table in rows_before:
        assert rows_after[table] == rows_before[table], table
    # The sweep really ran signed in: every member can still use the bureau afterwards.
    for principal in principals:
        assert await principal.still_signed_in(), principal.name

