"""One stale-form rule, proved over the app's own route table: every route whose form (as its page shows it) or
API body carries a `version` refuses the request when the version is missing or malformed, with one message and
409, and refuses a version the row does not have as stale (409, the domain's own message, not that one).

The routes and their forms are found as the role sweep finds them (tests/security/test_role_sweep.py), so a route
added later with a version is swept without touching this file. Each route is judged as the first member of the
bureau (its roles and the office's clerk, who writes the office's reports) who is not refused and to whom the
answer is shown; UNJUDGED lists what the bureau's data cannot show. A route whose object is already settled (a
published bulletin or import: a second 发布 is a no-op) may answer as before, as long as nothing changed. A fresh
version is accepted: the rest of the suite posts every one of these forms with the version its page showed.
"""

import dataclasses
import re

import pytest
from sqlmodel import select

from backend.accounts.models import User
from backend.accounts.service import create_api_token
from backend.assessments import service as assessments
from backend.core.roles import Role
from backend.core.versions import missing_version_message
from backend.db import unit_of_work
from backend.plans import document as plan_document
from backend.plans import service as plans
from backend.reviews import service as reviews
from backend.tenancy.acting import actor_for
from backend.tenancy.models import Membership
from tests.security.role_sweep.harness import aim_at_office, aimed_request, harvest_forms, principal_for, table_hashes
from tests.support.routes import UNSAFE, Principal, all_endpoints, sweep_client

pytestmark = pytest.mark.slow(14)  # seconds alone on a quiet machine: starts first (tests/conftest.py)

CALLERS = (Role.supervisor, Role.admin, Role.unit_staff, Role.unit_head, Role.leader)
# What the whole-loop bureau cannot show: the office has no head, so no one may decide its report as one (the
# service refuses the role before it reads the version), and its bulletin is already published, so the edit page
# shows that instead of the form and its message (the stale version is judged).
UNJUDGED = {(f"POST {route}", check) for route in ("/reports/{report_id}/unit-head",
                                                   "/api/v1/reports/{report_id}/unit-head")
            for check in ("malformed", "stale")} | {("POST /bulletins/{bulletin_id}/edit", "malformed")}
MALFORMED = (("missing", None), ("empty", ""), ("garbled", "abc"), ("negative", -1))
LEVELS_PLAN = """2025年师资工作要点
一、加强队伍建设
1.开展教师培训。一是新教师培训不少于120学时；二是骨干教师研修。（牵头单位：办公室）
2.完善职称评审办法，9月底前印发。
"""


async def _member(app, bureau, role: Role, n: int, opened: list) -> Principal:
    member = Principal(role.value, bureau, role, sweep_client(app, 160 + n), sweep_client(app, 180 + n))
    async with unit_of_work(bureau.tenant.id) as session:
        _token, member.bearer = await create_api_token(session, bureau.actors[role], name="版本扫描")
    await member.sign_in()
    opened += [member.browser, member.script]
    return member


async def _members(app, bureau, opened: list) -> list[Principal]:
    """The bureau's roles, then the office's clerk (the office leads the whole-loop task and writes its report)."""
    members = [await _member(app, bureau, role, n, opened) for n, role in enumerate(CALLERS)]
    office = bureau.units["office"].id
    async with unit_of_work(bureau.tenant.id) as session:
        membership = (await session.exec(select(Membership).where(
            Membership.unit_id == office, Membership.role == Role.unit_staff))).first()
        user = await session.get(User, membership.user_id)
        clerk = await actor_for(session, user, bureau.tenant.id)
    as_clerk = dataclasses.replace(bureau, users={**bureau.users, Role.unit_staff: user},
                                   actors={**bureau.actors, Role.unit_staff: clerk})
    members.append(await _member(app, as_clerk, Role.unit_staff, len(CALLERS), opened))
    members[-1].name = "office clerk"
    return members


async def _call(member: Principal, method: str, path: str, kwargs: dict, version):
    """The request with its version replaced (None: left out)."""
    key = "json" if "json" in kwargs else "data"
    body = {k: v for k, v in kwargs[key].items() if k != "version"}
    if version is not None:
        body["version"] = version if key == "json" or version == "" else str(version)
    if path.startswith("/api/"):
        client, headers = member.script, {"Authorization": f"Bearer {member.bearer}"}
        client.cookies.clear()
    else:
        client, headers = member.browser, {"X-CSRF-Token": member.csrf}
        body["csrf_token"] = member.csrf
    return await client.request(method, path, headers=headers, **{**kwargs, key: body})


def _said(text: str) -> str:
    """The alert of a page (or the detail of an API answer), for the failure message."""
    found = re.search(r'role="alert"[^>]*>([^<]*)<', text)
    return found.group(1) if found else text[:200]


def _body(endpoint, kwargs: dict) -> dict | None:
    """The request's body if it carries a version; an API body keeps only its required fields and the version, so
    a sampled optional field (a period, a date) is not what refuses it."""
    body = kwargs.get("json") if "json" in kwargs else kwargs.get("data")
    if not isinstance(body, dict) or "version" not in body:
        return None
    if "json" in kwargs:
        model = endpoint.route.dependant.body_params[0].field_info.annotation
        kwargs["json"] = body = {k: v for k, v in body.items()
                                 if k == "version" or model.model_fields[k].is_required()}
    return body


async def _answers(member: Principal, bureau, endpoint, path: str, kwargs: dict, versions, missing: bool
                   ) -> list[str] | None:
    """What is wrong with the answers to `versions` (refused with the missing-version message when `missing`,
    else as stale with another); None when they are not this member's to judge: refused by role, or refused on
    a page that does not show it to them (a form only others see). An object already settled may answer as
    before (a second 发布 is a no-op) as long as nothing changed."""
    message, before = missing_version_message(), await table_hashes(bureau)
    answers = [(shown, await _call(member, endpoint.method, path, kwargs, version)) for shown, version in versions]
    if any(a.status_code in (403, 404) or (missing and a.status_code == 409 and message not in a.text)
           for _shown, a in answers):
        return None
    settled = await table_hashes(bureau) == before
    return [f"{endpoint.method} {endpoint.path} as {member.name}, version {shown}: {a.status_code} {_said(a.text)}"
            for shown, a in answers
            if not (a.status_code == 409 and (message in a.text) == missing) and not (a.status_code < 400 and settled)]


async def _malformed(member: Principal, bureau, endpoint, path: str, kwargs: dict, stale) -> list[str] | None:
    return await _answers(member, bureau, endpoint, path, kwargs, MALFORMED, missing=True)


async def _stale(member: Principal, bureau, endpoint, path: str, kwargs: dict, stale) -> list[str] | None:
    return await _answers(member, bureau, endpoint, path, kwargs, [("stale", stale)], missing=False)


async def _plan_draft_with_groups(session, supervisor):
    """An open plan import whose preview shows every kind of form: items, targets, groups and the level buttons."""
    draft = await plans.start_import(session, supervisor, filename="", pasted=LEVELS_PLAN)
    return await plans.edit_import(session, supervisor, draft.id, version=None, operation="measures_to_items")


async def test_every_route_with_a_version_refuses_a_missing_or_stale_one(app, clients):  # noqa: F811
    sweeper = await principal_for(app, Role.supervisor, 0)
    clients += [sweeper.browser, sweeper.script]
    bureau = sweeper.bureau
    members = await _members(app, bureau, clients)
    supervisor = bureau.actors[Role.supervisor]
    aim = await aim_at_office(bureau)
    async with unit_of_work(bureau.tenant.id) as session:  # the whole loop's cycle is settled: open drafts to aim at
        drafts = {"quarterly_reviews": await reviews.open_review(session, supervisor, year=2025, quarter=4),
                  "assessments": await assessments.open_assessment(session, supervisor, year=2025),
                  "plan_imports": await _plan_draft_with_groups(session, supervisor)}
    for table, row in drafts.items():
        aim.foreign.table_ids[table] = row.id
        aim.tables_by_id[str(row.id)] = table
    aim.forms = await harvest_forms(app, aim, all_endpoints(app))
    endpoints = [e for e in all_endpoints(app) if e.method in UNSAFE]
    judged, problems, unjudged = [], [], set()
    for endpoint in endpoints:
        path, kwargs, _aimed = await aimed_request(endpoint, aim)
        if (body := _body(endpoint, kwargs)) is None:
            continue
        route = f"{endpoint.method} {endpoint.path}"
        stale = int(body["version"]) + 1000
        for check in (_malformed, _stale):
            for member in members:
                if (found := await check(member, bureau, endpoint, path, kwargs, stale)) is not None:
                    problems += found
                    judged.append(route)
                    break
            else:
                unjudged.add((route, check.__name__.strip("_")))
    assert not problems, "\n".join(problems)
    assert unjudged == set(UNJUDGED), unjudged
    # The sweep really found the versioned forms and bodies of every domain that has them.
    for form in ("edit", "levels"):  # the open draft's preview: its edit forms and its level buttons
        assert f"POST /plans/imports/{{import_id}}/{form}" in judged, form
    assert aim.forms["/plans/imports/{import_id}/levels"]["operation"] in plan_document.LEVELS
    for prefix in ("/tasks/", "/reports/", "/bulletins/", "/quarterly/", "/assessments/", "/plans/imports/",
                   "/api/v1/tasks/", "/api/v1/reports/", "/api/v1/plan-imports/"):
        assert any(route.startswith(f"POST {prefix}") for route in judged), (prefix, judged)
    for route in ("/tasks/{task_id}/evidence-rule", "/api/v1/tasks/{task_id}/evidence-rule"):
        assert f"POST {route}" in judged, route
