"""The role sweep's harness: what the services checked during one request, the bureau's tables before and after,
requests aimed at the bureau's own objects and filled as its pages fill them, and the judge that holds each call
to the rules in this package's docstring."""

import io
import json
import re
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser

from PIL import Image
from sqlalchemy import text

import backend.deps
from backend.accounts.service import create_api_token
from backend.core.actor import PERMISSIONS, Actor
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.models import metadata, tenant_tables
from tests.support.fixtures import Bureau, create_bureau, unique
from tests.support.routes import PARAM_RE, UNSAFE, Endpoint, Foreign, Principal, fill_path, request_kwargs, sweep_client

# Columns that change on requests that change nothing a person did; the hash leaves them out.
NOISE_COLUMNS: dict[str, dict[str, str]] = {
    "api_tokens": {"last_used_at": "stamped when a script's token is used (at most every 5 minutes)"},
}

# Routes through which a unit changes rows of a task another unit leads: cooperating is their purpose.
COOPERATION: dict[tuple[str, str], str] = {
    ("POST", "/reports/{report_id}/contribution"): "a co-unit adds its part to the lead unit's report",
    ("POST", "/api/v1/reports/{report_id}/contribution"): "the same, by script",
}

UNIT_ROLES = frozenset(role for role in Role if role.needs_unit)
EVERYONE = frozenset(Role)
SAMPLE_DATE = "2027-06-30"
SHARED = {"tasks", "users", "tenants", "units", "stored_files"}  # rows no single unit owns
# Rows that follow a change to whoever it concerns, in any unit: the unit rule looks past them.
MESSAGES = {"notifications": "tell the people a change concerns, whatever their unit",
            "outbox": "the same messages on their way out", "audit_events": "the record of who did what"}
DEPS_FILE = backend.deps.__file__


# --- what the services checked during one request ----------------------------------------------------------


@dataclass
class Recorder:
    checks: list[tuple[str, bool]] = field(default_factory=list)  # (permission, granted), asked by Python code
    refusals: list[str] = field(default_factory=list)  # messages of every Forbidden raised by a service or route

    def reset(self) -> None:
        self.checks.clear()
        self.refusals.clear()


# --- the bureau's state --------------------------------------------------------------------------------------


def _row_expression(table: str) -> str:
    expression = "to_jsonb(t)"
    for column in NOISE_COLUMNS.get(table, {}):
        expression += f" - '{column}'"
    return expression


async def table_hashes(bureau: Bureau) -> dict[str, str]:
    """One md5 per tenant table of all its rows as the bureau sees them (RLS), in one round trip."""
    parts = [f"SELECT '{table}', md5(coalesce(string_agg(({_row_expression(table)})::text, ',' "
             f"ORDER BY ({_row_expression(table)})::text), '')) FROM {table} t" for table in tenant_tables()]
    async with unit_of_work(bureau.tenant.id) as session:
        return {name: digest for name, digest in (await session.exec(text(" UNION ALL ".join(parts)))).all()}


async def table_rows(bureau: Bureau, tables) -> dict[str, set[str]]:
    async with unit_of_work(bureau.tenant.id) as session:
        return {table: {row[0] for row in (await session.exec(
            text(f"SELECT ({_row_expression(table)})::text FROM {table} t"))).all()} for table in tables}


@dataclass
class State:
    """The bureau's tables as last seen: hashes of all, rows of all (kept current for the changed ones)."""

    bureau: Bureau
    hashes: dict[str, str] = field(default_factory=dict)
    rows: dict[str, set[str]] = field(default_factory=dict)

    async def load(self) -> None:
        self.hashes = await table_hashes(self.bureau)
        self.rows = await table_rows(self.bureau, self.hashes)

    async def changes(self) -> dict[str, list[dict]]:
        """Rows that appeared, vanished or changed since last time (both versions of a changed row)."""
        hashes = await table_hashes(self.bureau)
        changed = [table for table, digest in hashes.items() if self.hashes.get(table) != digest]
        fresh = await table_rows(self.bureau, changed) if changed else {}
        diff = {table: [json.loads(row) for row in sorted(self.rows.get(table, set()) ^ fresh[table])]
                for table in changed}
        self.hashes, self.rows = hashes, {**self.rows, **fresh}
        return diff

    def rows_by_id(self) -> dict[str, dict[str, dict]]:
        return {table: {row["id"]: row for row in map(json.loads, rows) if "id" in row}
                for table, rows in self.rows.items()}


# --- aiming at the bureau's own objects --------------------------------------------------------------------


@dataclass
class Aim:
    """Ids to put in paths and bodies: the objects of the bureau's office (the unit the school's roles are not
    in), and which table each id is a row of."""

    foreign: Foreign
    tables_by_id: dict[str, str]
    public: set[str]  # unit names: every member of the bureau may see them, refused or not
    forms: dict[str, dict[str, str]] = field(default_factory=dict)  # page route → the fields of its form


async def aim_at_office(bureau: Bureau) -> Aim:
    office, school = bureau.units["office"].id, bureau.units["school"].id
    async with unit_of_work(bureau.tenant.id) as session:
        async def one(sql: str, **params):
            return (await session.exec(text(sql), params=params)).first()[0]

        task = await one("SELECT task_id FROM progress_reports WHERE unit_id = :u LIMIT 1", u=office)
        clerk = await one("SELECT id FROM memberships WHERE unit_id = :u LIMIT 1", u=office)
        clerk_user = await one("SELECT user_id FROM memberships WHERE id = :m", m=clerk)
        invitation = await one("SELECT id FROM invitations WHERE accepted_at IS NULL LIMIT 1")
        # The bureau's own first token (create_bureau's), never the one the sweep's script principal holds: a
        # supervisor revoking that one would sign the sweep's script out halfway.
        token = await one("SELECT id FROM api_tokens WHERE membership_id = :m ORDER BY created_at, id LIMIT 1",
                          m=bureau.actors[Role.supervisor].membership_id)
        table_ids: dict[str, uuid.UUID] = {}
        for table in tenant_tables():
            columns = metadata.tables[table].c
            if "id" not in columns:
                continue
            # The office's things first: its task's rows, its unit's rows, its clerk's rows.
            order = ["(id = :task) DESC" if table == "tasks" else "", "(id = :clerk) DESC" if table == "memberships"
                     else "", "(task_id = :task) DESC NULLS LAST" if "task_id" in columns else "",
                     "(unit_id = :office) DESC NULLS LAST" if "unit_id" in columns else "",
                     "(unit_id = :school) ASC NULLS LAST" if "unit_id" in columns else "",
                     "(membership_id = :clerk) DESC NULLS LAST" if "membership_id" in columns else "", "id"]
            row = (await session.exec(text(f"SELECT id FROM {table} ORDER BY {', '.join(o for o in order if o)} "
                                           "LIMIT 1"),
                                      params={"task": task, "clerk": clerk, "office": office, "school": school})
                   ).first()
            if row is not None:
                table_ids[table] = row[0]
        public = {row[0] for row in (await session.exec(text("SELECT name FROM units"))).all()}
    foreign = Foreign(bureau=bureau, unit_id=office, membership_id=clerk, user_id=clerk_user,
                      invitation_id=invitation, token_id=token, table_ids=table_ids)
    by_id = {str(v): k for k, v in table_ids.items()}
    return Aim(foreign, by_id, public)


def fresh_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), tuple(uuid.uuid4().bytes[:3])).save(out, "PNG")
    return out.getvalue()


def plausible(name: str, value):
    """Field values the route sweep leaves vague, made plausible so that a request gets past input checks."""
    n = name.lower()
    if not isinstance(value, str):
        return value
    if n.endswith(("deadline", "_from", "_to", "date", "_on", "completion")):
        return SAMPLE_DATE
    if n in ("percent", "report_day", "points", "score"):
        return "20"
    if n == "phone":
        return "13800138000"
    return value


class FormReader(HTMLParser):
    """The post forms of a page: their action and a value for each field (a select's first real option, a
    textarea's text, the first of several submit buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._fields = {} if a.get("method", "").lower() == "post" else None
            if self._fields is not None:
                self.forms.append((a.get("action", "").split("?")[0], self._fields))
        elif self._fields is None or not a.get("name") and tag != "option":
            return
        elif tag in ("input", "button") and a["name"] != "csrf_token":
            self._fields.setdefault(a["name"], a.get("value") or ("on" if a.get("type") == "checkbox" else ""))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and a.get("value"):
            self._fields.setdefault(self._select, a["value"])
        elif tag == "textarea":
            self._textarea = a["name"]
            self._fields.setdefault(a["name"], "")

    def handle_endtag(self, tag) -> None:
        if tag == "form":
            self._fields = None
        elif tag in ("select", "textarea"):
            self._select = self._textarea = None

    def handle_data(self, data) -> None:
        if self._fields is not None and self._textarea and data.strip():
            self._fields[self._textarea] = data


async def harvest_forms(app, aim: Aim, endpoints: list[Endpoint]) -> dict[str, dict[str, str]]:
    """The forms the bureau's pages show its admin and supervisor, by the page route they post to: many pages
    read their form themselves, so the route declares no fields the sweep could fill."""
    posts = [(re.compile("^" + PARAM_RE.sub("[^/]+", e.path) + "$"), e.path) for e in endpoints
             if e.method == "POST" and not e.path.startswith("/api/")]
    pages = [e for e in endpoints if e.method == "GET" and not e.path.startswith(("/api/", "/static/"))
             and "." not in e.path.rsplit("/", 1)[-1]]
    forms: dict[str, dict[str, str]] = {}
    for n, role in enumerate((Role.supervisor, Role.admin)):
        reader_of = Principal("forms", aim.foreign.bureau, role, sweep_client(app, 240 + n), sweep_client(app, 250 + n))
        await reader_of.sign_in()
        for page in pages:
            response = await reader_of.browser.get(fill_path(page.path, page.route, aim.foreign))
            if response.status_code != 200 or "text/html" not in response.headers.get("content-type", ""):
                continue
            reader = FormReader()
            reader.feed(response.text)
            for action, fields in reader.forms:
                for pattern, template in posts:
                    if pattern.match(action):
                        forms.setdefault(template, fields)
        await reader_of.browser.aclose()
        await reader_of.script.aclose()
    return forms


async def aimed_request(endpoint: Endpoint, aim: Aim) -> tuple[str, dict, list[str]]:
    """Path, request arguments and the ids aimed at; a page's form is filled as the page shows it, and a body's
    `version` is the aimed object's current one."""
    path = fill_path(endpoint.path, endpoint.route, aim.foreign)
    kwargs = request_kwargs(endpoint, aim.foreign)
    shown = aim.forms.get(endpoint.path) if endpoint.method == "POST" else None
    if shown:
        sampled = kwargs.get("data", {})
        kwargs["data"] = {**sampled, **{k: v or sampled.get(k) or unique("扫描") for k, v in shown.items()}}
    aimed = [part for part in path.split("/") if part in aim.tables_by_id]
    version = None
    for row_id in reversed(aimed):
        table = aim.tables_by_id[row_id]
        if "version" in metadata.tables[table].c:
            async with unit_of_work(aim.foreign.bureau.tenant.id) as session:
                version = (await session.exec(text(f"SELECT version FROM {table} WHERE id = :id"),
                                              params={"id": row_id})).first()
            version = version[0] if version else None
            break
    if "files" in kwargs:  # a photo never uploaded before: every upload accepts it and none takes it for a repeat
        kwargs["files"] = {name: ("扫描.png", fresh_png(), "image/png") for name in kwargs["files"]}
    for key in ("data", "json"):
        if isinstance(kwargs.get(key), dict):
            body = {k: plausible(k, v) for k, v in kwargs[key].items()}
            if "version" in body and version is not None:
                body["version"] = version if key == "json" else str(version)
            kwargs[key] = body
    return path, kwargs, aimed


async def protected_texts(aim: Aim, aimed: list[str]) -> list[str]:
    """The words of the objects a request aimed at, which a refused page must not show."""
    found = []
    async with unit_of_work(aim.foreign.bureau.tenant.id) as session:
        for row_id in aimed:
            table = aim.tables_by_id[row_id]
            row = (await session.exec(text(f"SELECT to_jsonb(t) FROM {table} t WHERE id = :id"),
                                      params={"id": row_id})).first()
            if row is not None:
                found += [v for v in _strings(row[0]) if len(v) >= 4 and v not in aim.public
                          and any("\u4e00" <= ch <= "\u9fff" for ch in v)]
    return found


def _strings(value) -> list[str]:
    """Every text inside a row, including those nested in its JSON columns (an import's parsed document)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [s for item in value for s in _strings(item)] if isinstance(value, list) else []


# --- one call, and the judge ---------------------------------------------------------------------------------


@dataclass
class Call:
    role: Role
    actor: Actor
    mode: str
    method: str
    template: str
    path: str
    status: int
    body: str
    checks: list[tuple[str, bool]]
    refusals: list[str]
    changed: dict[str, list[dict]]
    protected: list[str] = field(default_factory=list)
    rows_by_id: dict[str, dict[str, dict]] = field(default_factory=dict)  # the bureau's rows, for the unit rule

    def __str__(self) -> str:
        return f"{self.role.value}/{self.mode} {self.method} {self.path} → {self.status}"


def is_own(table: str, row: dict, actor: Actor) -> bool:
    """The member's own things: rows kept per membership (settings, tokens, notifications), their audit trail and
    the keys of the forms they sent."""
    if table == "audit_events":
        return row.get("actor_user_id") == str(actor.user_id)
    if table == "form_submissions":  # the key of a form the person sent (backend/core/once.py)
        return row.get("user_id") == str(actor.user_id)
    return row.get("membership_id") == str(actor.membership_id)


def unit_of(table: str, row: dict, rows_by_id: dict[str, dict[str, dict]], depth: int = 0) -> str | None:
    """The unit a row belongs to: its own `unit_id`, or the unit of a row it refers to (evidence → its report,
    a new version → the evidence it replaces, an owner → the member). Tasks, files and the units themselves are
    shared and lead nowhere."""
    if row.get("unit_id"):
        return row["unit_id"]
    for column in metadata.tables[table].c if depth < 3 else ():
        for key in column.foreign_keys:
            target = key.column.table.name
            referenced = rows_by_id.get(target, {}).get(row.get(column.name) or "")
            if target not in SHARED and referenced is not None:
                unit = unit_of(target, referenced, rows_by_id, depth + 1)
                if unit:
                    return unit
    return None


def guarded_routes(calls: list[Call]) -> set[tuple[str, str]]:
    """Routes that refused someone: their services check the role or the unit, whether through a permission
    or by themselves."""
    return {(c.method, c.template) for c in calls if c.refusals}


def judge(call: Call, guarded: set[tuple[str, str]]) -> list[str]:
    """What is wrong with one call, by the rules in the package's docstring."""
    problems = []
    if call.status >= 500:
        problems.append(f"answers {call.status}: {call.body[:200]}")
    others = {table: rows for table, rows in call.changed.items()
              if any(not is_own(table, row, call.actor) for row in rows)}
    if call.refusals:
        if call.status not in (403, 404):
            problems.append(f"refused ({call.refusals[0]}) but answers {call.status}")
        if call.changed:
            problems.append(f"refused but changed {sorted(call.changed)}")
        problems += [f"refused but shows “{t}”" for t in call.protected if t in call.body]
        return problems
    if not others:
        return problems
    if call.method not in UNSAFE:
        return [*problems, f"a {call.method} changed {sorted(others)}"]
    granted = sorted({p for p, ok in call.checks if ok and PERMISSIONS[p] != EVERYONE})
    if not granted and (call.method, call.template) not in guarded:
        problems.append(f"changed {sorted(others)} with no permission check, on a route that refuses no role "
                        f"(checked: {call.checks})")
    if call.role in UNIT_ROLES and (call.method, call.template) not in COOPERATION:
        foreign_units = sorted({f"{table} of unit {unit}" for table, rows in others.items() if table not in MESSAGES
                                for row in rows if (unit := unit_of(table, row, call.rows_by_id))
                                not in (None, str(call.actor.unit_id))})
        if foreign_units:
            problems.append(f"a unit role changed another unit's rows: {foreign_units}")
    return problems


async def call_as(principal: Principal, mode: str, endpoint: Endpoint, aim: Aim, state: State,
                  recorder: Recorder) -> Call:
    path, kwargs, aimed = await aimed_request(endpoint, aim)
    if mode == "browser":
        client, headers = principal.browser, {"X-CSRF-Token": principal.csrf}
        if "data" in kwargs:
            kwargs["data"] = {**kwargs["data"], "csrf_token": principal.csrf}
    else:
        client, headers = principal.script, {"Authorization": f"Bearer {principal.bearer}"}
        client.cookies.clear()
    recorder.reset()
    try:
        response = await client.request(endpoint.method, path, headers=headers, **kwargs)
        status, body = response.status_code, response.text
    except Exception as exc:  # noqa: BLE001 — an app error that escaped every handler
        status, body = 599, f"{type(exc).__name__}: {exc}"
    checks, refusals = list(recorder.checks), list(recorder.refusals)
    changed = await state.changes()
    assert principal.role is not None
    result = Call(principal.role, principal.bureau.actors[principal.role], mode, endpoint.method, endpoint.path,
                  path, status, body, checks, refusals, changed)
    if refusals and endpoint.method not in UNSAFE:
        result.protected = await protected_texts(aim, aimed)
    if changed and principal.role in UNIT_ROLES:
        result.rows_by_id = state.rows_by_id()
    if mode == "browser" and endpoint.method in UNSAFE and not await principal.still_signed_in():
        await principal.sign_in()  # /logout and the like end the session; the sweep goes on signed in
        await state.changes()  # signing in again is not the call's doing
    return result


async def sweep_role(app, principal: Principal, endpoints: list[Endpoint], recorder: Recorder) -> list[Call]:
    aim = await aim_at_office(principal.bureau)
    aim.forms = await harvest_forms(app, aim, endpoints)
    state = State(principal.bureau)
    await state.load()
    calls = []
    for endpoint in endpoints:
        if endpoint.method == "HEAD":
            continue
        # Pages take no bearer token (a script is sent to sign in): scripts only call the API.
        for mode in ("browser", "script") if endpoint.path.startswith("/api/") else ("browser",):
            calls.append(await call_as(principal, mode, endpoint, aim, state, recorder))
    return calls


async def principal_for(app, role: Role, n: int) -> Principal:
    """A member of a fresh whole-loop bureau, signed in as a browser and holding a script token."""
    bureau = await create_bureau(whole_loop=True)
    principal = Principal(role.value, bureau, role, sweep_client(app, 200 + n), sweep_client(app, 220 + n))
    async with unit_of_work(bureau.tenant.id) as session:
        _token, principal.bearer = await create_api_token(session, bureau.actors[role], name="角色扫描")
    await principal.sign_in()
    return principal

