"""The concurrency sweep's harness: N identical requests at once over separate clients, and what counts as one winner.

Used by tests/security/test_concurrency_*.py. A case builds its objects through the services and returns a `Shot`;
`fire` sends it AT_ONCE times at once; `assert_one_winner` checks the answers and that nothing was made twice.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
from sqlmodel import func, select

from backend.accounts.service import create_api_token
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import Task
from tests.support.fixtures import PASSWORD, Bureau, csrf_of, make_client

AT_ONCE = 6


@dataclass
class Shot:
    """N identical requests and how to count what they made (`made()` must be 1 afterwards)."""

    method: str
    path: str
    kwargs: dict
    made: Callable[[], Awaitable[int]]
    keyed: bool = False  # answers repeat the first (form_key / Idempotency-Key) instead of 409
    same_object: bool = False  # one 201, the others 200 naming the same object (content-addressed evidence)
    csrf_page: str = ""  # a page form: each browser takes its CSRF token from this page (signed in as `role`)
    role: Role | None = None


async def api_headers(bureau: Bureau, role: Role) -> dict[str, str]:
    async with unit_of_work(bureau.tenant.id) as session:
        _token, raw = await create_api_token(session, bureau.actors[role], name="并发扫描")
    return {"Authorization": f"Bearer {raw}"}


async def count(bureau: Bureau, query) -> int:
    async with unit_of_work(bureau.tenant.id) as session:
        return (await session.exec(query)).one()


async def school_task(bureau: Bureau, title: str) -> Task:
    async with unit_of_work(bureau.tenant.id) as session:
        return await tasks.create_adhoc_task(
            session, bureau.actors[Role.supervisor], title=title, description="", deadline=date.today() + timedelta(60),
            lead_unit_id=bureau.units["school"].id, co_unit_ids=[])


async def acknowledged_task(bureau: Bureau, title: str) -> Task:
    """A school task its head has acknowledged: the school may now report on it."""
    task = await school_task(bureau, title)
    async with unit_of_work(bureau.tenant.id) as session:
        return await lifecycle.acknowledge(session, bureau.actors[Role.unit_head], task.id, version=task.version)


async def submitted_ready(bureau: Bureau, title: str, *, submit: bool):
    """A school task acknowledged by its head, with a saved report (submitted when `submit`)."""
    from backend.reports import service as reports

    task = await acknowledged_task(bureau, title)
    head = bureau.actors[Role.unit_head]
    async with unit_of_work(bureau.tenant.id) as session:
        report = await reports.save_report(session, head, task.id, progress="已开展。", percent=30, version=0)
        if submit:
            report = await reports.submit_report(session, head, report.id, version=report.version)
    return task, report


def audit_count(bureau: Bureau, object_id: uuid.UUID, action: str):
    from backend.audit.models import AuditEvent

    return lambda: count(bureau, select(func.count()).select_from(AuditEvent).where(
        AuditEvent.object_id == object_id, AuditEvent.action == action))


async def fire(app, bureau: Bureau, shot: Shot) -> list[httpx.Response]:
    clients = [make_client(app) for _ in range(AT_ONCE)]
    try:
        each = [shot.kwargs] * AT_ONCE
        if shot.csrf_page:
            each = []
            for c in clients:
                if shot.role is not None:
                    token = await csrf_of(c)
                    await c.post("/login", data={"username": bureau.username(shot.role), "password": PASSWORD,
                                                 "csrf_token": token})
                each.append({**shot.kwargs, "data": {**shot.kwargs["data"],
                                                      "csrf_token": await csrf_of(c, shot.csrf_page)}})
        return list(await asyncio.gather(*(c.request(shot.method, shot.path, **kw)
                                           for c, kw in zip(clients, each, strict=True))))
    finally:
        for c in clients:
            await c.aclose()


async def assert_one_winner(shot: Shot, answers: list[httpx.Response]) -> None:
    """Exactly one request won and the others were refused (409 / a page's 4xx) or repeat its answer."""
    statuses = [a.status_code for a in answers]
    won = [a for a in answers if 200 <= a.status_code < 400]
    if shot.same_object:
        assert sorted(statuses) == [200] * (AT_ONCE - 1) + [201], [(a.status_code, a.text[:200]) for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
    elif shot.keyed:
        assert len(won) == AT_ONCE, statuses
        assert all(a.json() == won[0].json() for a in won), "a repeated key is answered with the first answer"
    elif shot.csrf_page:  # a page: 303s to the one result; any other answer is the page with its message (4xx)
        assert won and all(a.status_code == 303 for a in won), [(a.status_code, a.text[:200]) for a in answers]
        # the same page (a repeat that changed nothing may say so in its query: 已保存 0 项)
        assert len({a.headers["location"].split("?")[0] for a in won}) == 1
        assert all(400 <= a.status_code < 500 for a in answers if a not in won), statuses
    else:
        assert len(won) == 1, [(a.status_code, a.text[:200]) for a in answers]
        assert sorted(statuses).count(409) == AT_ONCE - 1, [(a.status_code, a.text[:200]) for a in answers]
        assert all("detail" in a.json() for a in answers if a.status_code == 409)
    assert await shot.made() == 1


async def bulletin_shot(bureau: Bureau, action: str, month: int) -> Shot:
    """A draft bulletin of `month` and the supervisor's page button `action` (publish, regenerate) pressed with
    its version; made = that action's audit lines."""
    from backend.bulletins import service as bulletins

    async with unit_of_work(bureau.tenant.id) as session:
        bulletin = await bulletins.create_draft(session, bureau.actors[Role.supervisor], year=2026, month=month)
    return Shot("POST", f"/bulletins/{bulletin.id}/{action}", {"data": {"version": str(bulletin.version)}},
                audit_count(bureau, bulletin.id, f"bulletin.{action}"), csrf_page=f"/bulletins/{bulletin.id}",
                role=Role.supervisor)
