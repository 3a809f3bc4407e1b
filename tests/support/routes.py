"""Every route of the app and plausible requests to it, for the sweeps in tests/core and tests/security.

The routes are read from the app itself, so a route added later is swept without touching any test. Path
parameters and body fields are aimed at the objects of a chosen bureau (`Foreign`): another bureau for the
isolation sweep, the member's own bureau for the role sweep.
"""

import enum
import re
import types
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
from fastapi import UploadFile
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.routing import Mount, Route

from backend.core.roles import Role
from tests.support.fixtures import Bureau, csrf_of, login, unique

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
INVALID_INVITE = "not-a-valid-invite-token"
PARAM_RE = re.compile(r"{([^}:]+)(?::[^}]+)?}")

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


# --- the bureau whose objects the requests aim at ---------------------------------------------------------


@dataclass
class Foreign:
    """A bureau whose objects the requests aim at: ids of its rows, and for the isolation sweep its names,
    which must never show to another bureau."""

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
            matches = table in (base, base + "s", base + "es") or table.endswith(("_" + base + "s", "_" + base + "es"))
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
