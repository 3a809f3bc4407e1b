"""Every route of the app, called by every member of one bureau with the ids of another bureau's objects.

The routes are read from the app itself, so a route added later is swept without touching this file. Each
route is called with each of its methods, by a signed-in browser (session cookie and CSRF token) and by a
script (bearer token), with path parameters and body fields that point at the other bureau. Nothing may answer
5xx, nothing may show the other bureau's names, and the other bureau must be exactly as it was afterwards.
"""

import enum
import re
import types
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import UploadFile
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import select
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.routing import Mount, Route

from backend.accounts.models import ApiToken
from backend.accounts.service import create_api_token
from backend.db import unit_of_work
from backend.models import metadata, tenant_tables
from backend.tenancy import service as tenancy
from backend.tenancy.models import Invitation, Role
from tests.support.fixtures import ROLES, Bureau, create_bureau, csrf_of, login, unique

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
INVALID_INVITE = "not-a-valid-invite-token"
PARAM_RE = re.compile(r"{([^}:]+)(?::[^}]+)?}")


@pytest.fixture
async def bureau():
    """Bureaus with rows in every tenant table, so that no table escapes the check."""
    return await create_bureau(whole_loop=True)


@pytest.fixture
async def other_bureau():
    return await create_bureau("另一个教育局", whole_loop=True)


# --- finding every route ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template, e.g. /api/v1/units/{unit_id}
    route: object  # the APIRoute / Route / Mount it came from

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def _context_prefix(context) -> str:
    return getattr(context, "prefix", "") if context is not None else ""


def walk_routes(routes, context=None) -> Iterator[tuple[str, object]]:
    """(full path template, route) for every route, through FastAPI's included-router wrappers at any depth.

    FastAPI of this version keeps `app.include_router(...)` as `_IncludedRouter(original_router, include_context)`
    whose context carries the prefix; older versions copied the routes into app.routes with the prefix applied.
    """
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:  # fastapi.routing._IncludedRouter
            child = route.include_context
            combined = context.combine(child) if context is not None and hasattr(context, "combine") else child
            yield from walk_routes([*original.routes, *getattr(original, "_low_priority_routes", [])], combined)
        elif isinstance(route, Mount):
            sub_routes = getattr(route, "routes", None) or []
            if sub_routes:
                inner = [(path, r) for path, r in walk_routes(sub_routes)]
                for path, r in inner:
                    yield _context_prefix(context) + route.path + path, r
            else:  # an ASGI app such as StaticFiles: anything below its path
                yield _context_prefix(context) + route.path + "/{path:path}", route
        elif isinstance(route, APIRoute | Route):
            if context is not None and hasattr(context, "path_for"):
                yield context.path_for(route), route
            else:
                yield _context_prefix(context) + route.path, route


def all_endpoints(app) -> list[Endpoint]:
    found: dict[tuple[str, str], Endpoint] = {}
    for path, route in walk_routes(app.routes):
        methods = getattr(route, "methods", None) or {"GET", "HEAD"}
        for method in sorted(methods):
            found.setdefault((method, path), Endpoint(method, path, route))
    return sorted(found.values(), key=lambda e: (e.path, e.method))


def _flat_dependants(dependant) -> Iterator:
    yield dependant
    for sub in dependant.dependencies:
        yield from _flat_dependants(sub)


def _params(route, kind: str) -> list:
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return []
    seen, fields = set(), []
    for d in _flat_dependants(dependant):
        for f in getattr(d, kind):
            if f.name not in seen:
                seen.add(f.name)
                fields.append(f)
    return fields


# --- the other bureau: its ids to aim at, the names that must never show, and its state ------------------


@dataclass
class Foreign:
    bureau: Bureau
    unit_id: uuid.UUID
    membership_id: uuid.UUID
    user_id: uuid.UUID
    invitation_id: uuid.UUID
    token_id: uuid.UUID
    secrets: list[str] = field(default_factory=list)
    table_ids: dict[str, uuid.UUID] = field(default_factory=dict)  # one row id of each of its tables

    def uuid_for(self, name: str) -> uuid.UUID:
        n = name.lower()
        base = n.removesuffix("_id")
        # Any other kind of object (plans, tasks, … added later): a row of the other bureau's matching table.
        explicit = ("unit", "parent", "member", "membership", "user", "invitation", "token", "tenant")
        for table, row_id in sorted(self.table_ids.items()):
            matches = table in (base + "s", base + "es") or table.endswith(("_" + base + "s", "_" + base + "es"))
            if matches and base not in explicit:
                return row_id
        if "invitation" in n or "invite" in n:
            return self.invitation_id
        if "token" in n:
            return self.token_id
        if "member" in n:
            return self.membership_id
        if "user" in n:
            return self.user_id
        if "unit" in n or "parent" in n:
            return self.unit_id
        if "tenant" in n or "bureau" in n:
            return self.bureau.tenant.id
        return uuid.uuid4()


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


# --- requests --------------------------------------------------------------------------------------------


def _unwrap(annotation):
    """Optional[X] / X | None → X (the first non-None member of a union)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return members[0] if members else str
    return annotation


def sample(name: str, annotation, foreign: Foreign):
    """A plausible value for a field, aimed at the other bureau wherever it names an object."""
    annotation = _unwrap(annotation)
    n = name.lower()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {f: sample(f, info.annotation, foreign) for f, info in annotation.model_fields.items()}
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is list:
        return [sample(name, (typing.get_args(annotation) or (str,))[0], foreign)]
    if annotation is dict or typing.get_origin(annotation) is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation)).value  # for Role that is admin: the most a request could ask for
    if annotation is uuid.UUID:
        return str(foreign.uuid_for(n))
    if annotation is bool:
        return True
    if annotation is int:
        return 1
    if annotation is str or annotation is typing.Any:
        if n.endswith("_id") or n in ("unit", "parent"):
            return str(foreign.uuid_for(n))
        if "password" in n or n in ("current", "new", "new_again"):
            return "Sweep-Pass-2024!"  # never anyone's real password
        if n in ("next", "url", "redirect"):
            return "/"
        if "username" in n or n in ("code", "lang"):
            return unique("sweep")
        return unique("扫描")
    return unique("sweep")


def fill_path(template: str, route, foreign: Foreign) -> str:
    types_by_name = {f.name: _unwrap(f.field_info.annotation) for f in _params(route, "path_params")}

    def value(match: re.Match) -> str:
        name = match.group(1)
        kind = types_by_name.get(name)
        if kind is uuid.UUID:
            return str(foreign.uuid_for(name))
        if name == "token":
            return INVALID_INVITE
        if name == "path":
            return "sweep-does-not-exist.css"
        if kind is None and ("_id" in name or name == "id"):
            return str(uuid.uuid4())
        return "sweep"

    return PARAM_RE.sub(value, template)


def request_kwargs(endpoint: Endpoint, foreign: Foreign) -> dict:
    route = endpoint.route
    kwargs: dict = {}
    query = {f.name: sample(f.name, f.field_info.annotation, foreign)
             for f in _params(route, "query_params") if f.field_info.is_required()}
    if query:
        kwargs["params"] = query
    body = _params(route, "body_params")
    if not body or endpoint.method in ("GET", "HEAD"):
        return kwargs
    files = [f for f in body if type(f.field_info).__name__ == "File"
             or _unwrap(f.field_info.annotation) in (UploadFile, StarletteUploadFile, bytes)]
    forms = [f for f in body if type(f.field_info).__name__ == "Form" and f not in files]
    if files:
        kwargs["files"] = {f.name: ("扫描.txt", "扫描 sweep\n".encode(), "text/plain") for f in files}
    if forms or files:
        kwargs["data"] = {f.name: sample(f.name, f.field_info.annotation, foreign) for f in forms}
    elif len(body) == 1 and not getattr(body[0].field_info, "embed", False):
        kwargs["json"] = sample(body[0].name, body[0].field_info.annotation, foreign)
    else:
        kwargs["json"] = {f.name: sample(f.name, f.field_info.annotation, foreign) for f in body}
    return kwargs


def sweep_client(app, n: int) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(f"10.77.0.{n}", 4000 + n), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", follow_redirects=False)


@dataclass
class Principal:
    """One member of the sweeping bureau (or nobody), as a browser and as a script."""

    name: str
    bureau: Bureau
    role: Role | None
    browser: httpx.AsyncClient
    script: httpx.AsyncClient
    bearer: str | None = None
    csrf: str = ""

    async def sign_in(self) -> None:
        self.browser.cookies.clear()
        if self.role is not None:
            response = await login(self.browser, self.bureau.username(self.role))
            assert response.status_code == 303, (self.name, response.status_code, response.text[:300])
            self.csrf = await csrf_of(self.browser, "/")
        else:
            self.csrf = await csrf_of(self.browser, "/login")

    async def still_signed_in(self) -> bool:
        if self.role is None:
            return True
        return (await self.browser.get("/api/v1/me", headers={"accept": "application/json"})).status_code == 200


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
async def principals(app, bureau):
    opened: list[httpx.AsyncClient] = []
    made: list[Principal] = []
    for n, role in enumerate([*ROLES, None], start=1):
        browser, script = sweep_client(app, n), sweep_client(app, 100 + n)
        opened += [browser, script]
        principal = Principal(role.value if role else "anonymous", bureau, role, browser, script)
        if role is not None:
            async with unit_of_work(bureau.tenant.id) as session:
                _token, principal.bearer = await create_api_token(session, bureau.actors[role], name="扫描脚本")
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


async def test_sweep_every_route_as_every_role(app, bureau, other_bureau, principals):
    foreign = await prepare_foreign(other_bureau)
    before, rows_before = await snapshot(other_bureau), await every_row(other_bureau)
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
    after, rows_after = await snapshot(other_bureau), await every_row(other_bureau)
    for part in before:
        assert after[part] == before[part], part
    for table in rows_before:
        assert rows_after[table] == rows_before[table], table
    # The sweep really ran signed in: every member can still use the bureau afterwards.
    for principal in principals:
        assert await principal.still_signed_in(), principal.name

