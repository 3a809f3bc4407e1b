"""Issue 14, finding 18: a creating form sent several times at once (or again) makes one object. The form's hidden
`form_key` is claimed once (backend/core/once.py); the other submissions land on what the first made."""

import asyncio
import re
from datetime import date, timedelta

from sqlmodel import func, select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.notifications.models import Notification
from backend.tasks.models import Task
from tests.support.fixtures import PASSWORD, csrf_of, make_client


def today() -> date:
    return date.today()


FORM_KEY_RE = re.compile(r'name="form_key" value="([0-9a-f-]+)"')


async def _signed_in(app, bureau, role=Role.supervisor):
    client = make_client(app)
    token = await csrf_of(client)
    response = await client.post("/login", data={"username": bureau.username(role), "password": PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 303
    return client


async def _counts(bureau, title):
    async with unit_of_work(bureau.tenant.id) as session:
        made = (await session.exec(select(func.count()).select_from(Task).where(Task.title == title))).one()
        told = (await session.exec(select(Notification.membership_id)
                                   .where(Notification.kind == "task_assigned", Notification.body == title))).all()
    # each member of the unit is told once: as many notifications as people told
    return made, len(told) == len(set(told)) > 0


async def test_five_identical_task_forms_at_once_make_one_task_and_one_notification(app, bureau):
    browsers = [await _signed_in(app, bureau) for _ in range(5)]
    try:
        page = await browsers[0].get("/tasks/new")
        form_key = FORM_KEY_RE.search(page.text).group(1)
        title = "并发交办的同一件事"
        forms = []
        for browser in browsers:
            forms.append({"csrf_token": await csrf_of(browser, "/tasks/new"), "form_key": form_key, "title": title,
                          "description": "", "deadline": str(today() + timedelta(days=30)),
                          "lead_unit_id": str(bureau.units["school"].id), "priority": "normal"})
        responses = await asyncio.gather(*(b.post("/tasks/new", data=f) for b, f in zip(browsers, forms, strict=True)))
        again = await browsers[0].post("/tasks/new", data=forms[0])  # the back button and 交办 once more
    finally:
        for browser in browsers:
            await browser.aclose()
    assert [r.status_code for r in [*responses, again]] == [303] * 6, [r.text[:300] for r in responses]
    locations = {r.headers["location"].split("#")[0] for r in [*responses, again]}
    assert len(locations) == 1 and next(iter(locations)).startswith("/tasks/")
    assert await _counts(bureau, title) == (1, True)


async def test_a_new_form_makes_a_new_task_and_a_refused_form_can_be_sent_again(app, bureau):
    """The key guards one form, not one title: a fresh form makes another task; a form refused with a message
    (nothing made) can be corrected and sent with the same key."""
    browser = await _signed_in(app, bureau)
    try:
        title = "同名的另一件事"
        base = {"title": title, "description": "", "deadline": str(today() + timedelta(days=30)),
                "lead_unit_id": str(bureau.units["school"].id), "priority": "normal"}
        for _ in range(2):
            page = await browser.get("/tasks/new")
            form_key = FORM_KEY_RE.search(page.text).group(1)
            sent = await browser.post("/tasks/new", data={**base, "form_key": form_key,
                                                          "csrf_token": await csrf_of(browser, "/tasks/new")})
            assert sent.status_code == 303
        page = await browser.get("/tasks/new")
        form_key = FORM_KEY_RE.search(page.text).group(1)
        token = await csrf_of(browser, "/tasks/new")
        refused = await browser.post("/tasks/new", data={**base, "deadline": "", "form_key": form_key,
                                                         "csrf_token": token})
        assert refused.status_code in (200, 422) and "完成时限" in refused.text
        corrected = await browser.post("/tasks/new", data={**base, "form_key": form_key, "csrf_token": token})
        assert corrected.status_code == 303
    finally:
        await browser.aclose()
    assert (await _counts(bureau, title))[0] == 3


async def test_another_person_cannot_use_someone_elses_key_to_find_their_task(app, bureau):
    """Keys are per person: the same key from someone else is theirs alone (it makes their own task)."""
    first, second = await _signed_in(app, bureau), await _signed_in(app, bureau, Role.admin)
    try:
        page = await first.get("/tasks/new")
        form_key = FORM_KEY_RE.search(page.text).group(1)
        base = {"title": "两人同钥", "description": "", "deadline": str(today() + timedelta(days=30)),
                "lead_unit_id": str(bureau.units["school"].id), "priority": "normal", "form_key": form_key}
        a = await first.post("/tasks/new", data={**base, "csrf_token": await csrf_of(first, "/tasks/new")})
        b = await second.post("/tasks/new", data={**base, "csrf_token": await csrf_of(second, "/tasks/new")})
    finally:
        await first.aclose()
        await second.aclose()
    assert a.status_code == b.status_code == 303 and a.headers["location"] != b.headers["location"]


async def test_the_api_answers_a_repeated_idempotency_key_with_the_first_answer(app, bureau):
    from backend.accounts.service import create_api_token
    from backend.tenancy.models import Unit

    async with unit_of_work(bureau.tenant.id) as session:
        _token, raw = await create_api_token(session, bureau.actors[Role.admin], name="幂等")
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": "6f1c1f8e-0c1e-4f7a-9a55-2d2f3c4b5a69"}
    clients = [make_client(app) for _ in range(5)]
    try:
        answers = await asyncio.gather(*(c.post("/api/v1/units", headers=headers,
                                                json={"name": "并发新单位", "kind": "school"}) for c in clients))
        other_route = await clients[0].post("/api/v1/invitations", headers=headers,
                                            json={"display_name": "某人", "role": "unit_staff",
                                                  "unit_id": str(bureau.units["school"].id)})
        bad = await clients[0].post("/api/v1/units", headers={**headers, "Idempotency-Key": "not-a-uuid"},
                                    json={"name": "另一个", "kind": "school"})
    finally:
        for c in clients:
            await c.aclose()
    assert [a.status_code for a in answers] == [201] * 5, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    async with unit_of_work(bureau.tenant.id) as session:
        made = (await session.exec(select(func.count()).select_from(Unit).where(Unit.name == "并发新单位"))).one()
    assert made == 1
    assert other_route.status_code == 409 and "另一项操作" in other_route.json()["detail"]
    assert bad.status_code == 422
