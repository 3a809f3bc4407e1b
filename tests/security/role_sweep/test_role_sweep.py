"""Every route of the app as every role of a bureau, on that bureau's own objects (the rules are in this
package's docstring)."""

import pytest

from backend.core.roles import Role
from tests.security.role_sweep.harness import guarded_routes, is_own, judge, principal_for, sweep_role
from tests.support.fixtures import ROLES
from tests.support.routes import PARAM_RE, UNSAFE, all_endpoints

pytestmark = pytest.mark.slow(64)  # seconds alone on a quiet machine: starts first (tests/conftest.py)


async def test_every_route_as_every_role_on_its_own_bureau(app, recorder, clients):
    endpoints = all_endpoints(app)
    calls = []
    for n, role in enumerate(ROLES):
        principal = await principal_for(app, role, n)
        clients += [principal.browser, principal.script]
        calls += await sweep_role(app, principal, endpoints, recorder)
    guarded = guarded_routes(calls)
    problems = [f"{call}: {p}" for call in calls for p in judge(call, guarded)]
    assert not problems, "\n".join(problems)
    by_key = {(c.role, c.mode, c.method, c.template): c for c in calls}
    # It really ran as each member, signed in, in both modes.
    for role in ROLES:
        assert by_key[role, "browser", "GET", "/account/tokens"].status == 200, role
        assert by_key[role, "script", "GET", "/api/v1/me"].status == 200, role
    # Permission checks were met and refused for real, and the roles with the right really changed things.
    refused = {(c.role, c.method, c.template) for c in calls if c.refusals and c.method in UNSAFE}
    assert (Role.unit_staff, "POST", "/admin/units") in refused
    assert (Role.leader, "POST", "/reports/{report_id}/review") in refused
    for role in (Role.leader, Role.unit_head, Role.unit_staff):
        assert len({key for key in refused if key[0] == role}) >= 30, role
    # The school's staff is refused the office's report, and a refused page is searched for the draft's words.
    assert (Role.unit_staff, "POST", "/tasks/{task_id}/report") in refused
    # A unit's people and the leaders are refused the evidence rule (减负: the supervisors set it), page and API.
    for role in (Role.leader, Role.unit_head, Role.unit_staff):
        for route in ("/tasks/{task_id}/evidence-rule", "/api/v1/tasks/{task_id}/evidence-rule"):
            assert (role, "POST", route) in refused, (role, route)
    draft = by_key[Role.unit_staff, "browser", "GET", "/plans/imports/{import_id}"]
    assert draft.status == 403 and draft.protected
    changed_by = {c.role for c in calls if c.method in UNSAFE and any(
        not is_own(t, row, c.actor) for t, rows in c.changed.items() for row in rows)}
    assert {Role.admin, Role.supervisor} <= changed_by
    for role in ROLES:
        templates = {PARAM_RE.sub("*", c.template) for c in calls if c.role == role}
        assert len(templates) >= 40, role
