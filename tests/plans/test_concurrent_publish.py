"""Issue 14, finding 17: one plan import published at once by many requests makes one plan, its tasks once and
their notifications once; the other requests are told (409 on the API, back to the same result for a page)."""

import asyncio

from sqlmodel import col, func, select

from backend.accounts.service import create_api_token
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.notifications.models import Notification
from backend.plans.models import Plan, PlanItem
from backend.tasks.models import Task, TaskAssignment
from tests.support.fixtures import csrf_of, make_client

ATTEMPTS = 8
# Not the bureau's own plan (create_bureau publishes SMALL_PLAN): a new plan, not an update of that one.
NEW_PLAN = """2025年职业教育工作要点
一、加强专业建设
1.新增专业点8个，9月底前完成论证。（责任单位：办公室；配合单位：实验小学）
2.建设实训基地3个。（责任单位：实验小学）
"""


async def _token(bureau) -> dict[str, str]:
    async with unit_of_work(bureau.tenant.id) as session:
        _token, raw = await create_api_token(session, bureau.actors[Role.supervisor], name="并发发布")
    return {"Authorization": f"Bearer {raw}"}


async def _draft(client, headers) -> dict:
    created = await client.post("/api/v1/plan-imports", headers=headers,
                                files={"file": ("要点.txt", NEW_PLAN.encode())})
    assert created.status_code == 201, created.text
    return created.json()


async def _counts(bureau) -> tuple[int, int, int, int]:
    """Plans, tasks, notifications of new tasks, and the (task, unit) pairs that ought to have one each."""
    async with unit_of_work(bureau.tenant.id) as session:
        plans = (await session.exec(select(func.count()).select_from(Plan).where(Plan.year == 2025))).one()
        tasks = (await session.exec(select(func.count()).select_from(Task).where(col(Task.plan_item_id).in_(
            select(PlanItem.id).join(Plan, col(Plan.id) == PlanItem.plan_id).where(Plan.year == 2025))))).one()
        told = (await session.exec(select(func.count()).select_from(Notification)
                                   .where(Notification.kind == "task_assigned"))).one()
        told_once = (await session.exec(select(func.count(func.distinct(Notification.dedupe_key)))
                                        .where(Notification.kind == "task_assigned"))).one()
        pairs = (await session.exec(select(func.count()).select_from(TaskAssignment))).one()
    assert told == told_once
    return plans, tasks, told, pairs


async def test_eight_concurrent_api_publishes_make_one_plan(app, bureau):
    headers = await _token(bureau)
    clients = [make_client(app) for _ in range(ATTEMPTS)]
    try:
        draft = await _draft(clients[0], headers)
        body = {"version": draft["version"], "confirm_dates": True}
        responses = await asyncio.gather(*(
            c.post(f"/api/v1/plan-imports/{draft['id']}/publish", headers=headers, json=body) for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (ATTEMPTS - 1), [(r.status_code, r.text[:200]) for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        assert "已经发布" in refused.json()["detail"]
    plans, tasks, told, pairs = await _counts(bureau)
    assert plans == 1
    assert tasks == 2  # the two items of NEW_PLAN
    assert told > 0 and pairs == 2 + 3  # the fixture's plan: 2 assignments; NEW_PLAN: 3


async def test_publish_pressed_at_once_in_several_browsers_makes_one_plan_and_all_land_on_it(app, bureau):
    """A double click in one browser is already one-at-a-time (the sign-in session's row is locked per request), so
    the race is the same person (or two colleagues) pressing 发布 in different browsers at once."""
    headers = await _token(bureau)
    async with make_client(app) as script:  # a script: its token alone, no session cookie
        draft = await _draft(script, headers)
    browsers = [make_client(app) for _ in range(8)]
    try:
        forms = []
        for browser in browsers:
            token = await csrf_of(browser)
            signed = await browser.post("/login", data={"username": bureau.username(Role.supervisor),
                                                        "password": "Correct-Horse-42", "csrf_token": token})
            assert signed.status_code == 303
        for browser in browsers:
            token = await csrf_of(browser, f"/plans/imports/{draft['id']}")
            forms.append({"version": str(draft["version"]), "confirm_dates": "1", "csrf_token": token})
        responses = await asyncio.gather(*(
            b.post(f"/plans/imports/{draft['id']}/publish", data=f) for b, f in zip(browsers, forms, strict=True)))
    finally:
        for browser in browsers:
            await browser.aclose()
    assert [r.status_code for r in responses] == [303] * 8, [(r.status_code, r.text[:300]) for r in responses]
    plans, tasks, told, pairs = await _counts(bureau)
    assert plans == 1 and tasks == 2 and pairs == 2 + 3
    async with unit_of_work(bureau.tenant.id) as session:
        plan = (await session.exec(select(Plan).where(Plan.year == 2025))).one()
    assert {r.headers["location"].split("?")[0] for r in responses} == {f"/plans/{plan.id}"}


async def test_the_database_refuses_a_second_plan_from_one_import(app, bureau):
    """The constraint that holds even if a code path forgets the lock: plans.import_id is unique."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    headers = await _token(bureau)
    async with make_client(app) as client:
        draft = await _draft(client, headers)
        published = await client.post(f"/api/v1/plan-imports/{draft['id']}/publish", headers=headers,
                                      json={"version": draft["version"], "confirm_dates": True})
        assert published.status_code == 200
    actor = bureau.actors[Role.supervisor]
    with pytest.raises(IntegrityError):
        async with unit_of_work(bureau.tenant.id) as session:
            first = (await session.exec(select(Plan).where(Plan.year == 2025))).one()
            session.add(Plan(tenant_id=actor.tenant_id, title="重复", year=first.year, source_sha256="0" * 64,
                             published_by=actor.user_id, import_id=first.import_id))
            await session.flush()
