"""The sweep's judge catches what it is there to catch: a route that writes without a permission check, and a
unit role that changes another unit's rows."""

import uuid

from fastapi import Response

from backend.core.roles import Role
from backend.deps import CurrentActor, DbSession
from backend.tenancy.models import Unit
from tests.security.role_sweep.harness import Call, guarded_routes, judge, principal_for, sweep_role
from tests.support.routes import all_endpoints


async def test_judge_catches_a_route_that_writes_without_a_check(app, recorder, clients):
    """A throwaway route that renames a unit without asking `actor.require` is reported for every role but the
    one that may rename units; its careful twin is refused for those roles, changes nothing and is not reported."""

    @app.post("/sweep-selftest/units/{unit_id}/careless")
    async def careless(session: DbSession, actor: CurrentActor, unit_id: uuid.UUID):  # noqa: ARG001
        unit = await session.get(Unit, unit_id)
        unit.name += "（改）"
        await session.flush()
        return Response(status_code=204)

    @app.post("/sweep-selftest/units/{unit_id}/careful")
    async def careful(session: DbSession, actor: CurrentActor, unit_id: uuid.UUID):
        actor.require("units.manage")
        unit = await session.get(Unit, unit_id)
        unit.name += "（改）"
        await session.flush()
        return Response(status_code=204)

    endpoints = [e for e in all_endpoints(app) if e.path.startswith("/sweep-selftest/")]
    assert [e.path.rsplit("/", 1)[1] for e in endpoints] == ["careful", "careless"]
    calls = []
    for n, role in enumerate([Role.admin, Role.leader, Role.unit_staff]):
        principal = await principal_for(app, role, n)
        clients += [principal.browser, principal.script]
        calls += await sweep_role(app, principal, endpoints, recorder)
    guarded = guarded_routes(calls)
    assert guarded == {("POST", "/sweep-selftest/units/{unit_id}/careful")}
    by_key = {(c.role, c.template.rsplit("/", 1)[1], c.mode): c for c in calls}
    for role in (Role.admin, Role.leader, Role.unit_staff):
        # The browser's careless call renamed the office (the script's was sent to sign in: a page route).
        careless_call = by_key[role, "careless", "browser"]
        assert careless_call.status == 204 and "units" in careless_call.changed
        assert any("with no permission check" in p for p in judge(careless_call, guarded)), role
    # The careful twin: the admin may rename; the others are refused, change nothing and are not reported.
    assert by_key[Role.admin, "careful", "browser"].changed and judge(by_key[Role.admin, "careful", "browser"],
                                                                      guarded) == []
    for role in (Role.leader, Role.unit_staff):
        careful_call = by_key[role, "careful", "browser"]
        assert careful_call.status == 403 and careful_call.refusals and not careful_call.changed
        assert judge(careful_call, guarded) == []
    # A unit role whose check passed but who changed another unit's row (directly, or its report's evidence).
    staff = principal.bureau.actors[Role.unit_staff]
    office = str(principal.bureau.units["office"].id)
    known = {"progress_reports": {"r1": {"id": "r1", "unit_id": office}},
             "evidence": {"e1": {"id": "e1", "report_id": "r1", "supersedes_id": None}}}
    for changed in ({"assessment_scores": [{"id": "s1", "unit_id": office}]},
                    {"evidence": [{"id": "e2", "report_id": None, "supersedes_id": "e1"}]}):
        sneaky = Call(Role.unit_staff, staff, "browser", "POST", "/x/{thing_id}", "/x/1", 303, "",
                      [("assessments.self_score", True)], [], changed, rows_by_id=known)
        assert any("another unit's rows" in p for p in judge(sneaky, guarded)), changed
