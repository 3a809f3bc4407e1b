"""After the sign-in lapses (idle timeout, or signed out in another tab) a form post leads to the login page and,
once signed in, back to the form's page — only ever a page of this site; and a form older than the sign-in goes
back to its page with a message instead of an error page."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from backend.accounts.models import WebSession
from backend.core import clock
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.reports.models import ProgressReport
from backend.tasks import service as tasks
from backend.tasks.models import Task, TaskState
from tests.support.fixtures import PASSWORD, csrf_of, login

HOST = "http://testserver"


async def _school_task(bureau) -> Task:
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.state == TaskState.unassigned))).first()
        return await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                        lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[])


async def _expire_sessions(username: str) -> None:
    """The idle timeout passes for every session of this person."""
    async with unit_of_work() as session:
        from backend.accounts.models import User

        user = (await session.exec(select(User).where(User.username == username))).one()
        for row in (await session.exec(select(WebSession).where(WebSession.user_id == user.id))).all():
            row.last_seen_at = clock.now() - timedelta(hours=2)
            session.add(row)


def _next_of(location: str) -> str | None:
    values = parse_qs(urlsplit(location).query).get("next")
    return values[0] if values else None


async def _report_count(task: Task) -> int:
    async with unit_of_work(task.tenant_id) as session:
        return len((await session.exec(select(ProgressReport).where(ProgressReport.task_id == task.id))).all())


@pytest.mark.parametrize("lapse", ["idle timeout", "signed out in another tab"])
async def test_form_post_after_the_sign_in_lapsed_returns_to_the_form_after_login(client, bureau, lapse):
    task = await _school_task(bureau)
    username = bureau.username(Role.unit_staff)
    assert (await login(client, username)).status_code == 303
    form_page = f"/tasks/{task.id}/report?period=2026-11"
    token = await csrf_of(client, form_page)
    if lapse == "idle timeout":
        await _expire_sessions(username)
    else:
        assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303

    posted = await client.post(f"/tasks/{task.id}/report", headers={"Referer": HOST + form_page}, data={
        "csrf_token": token, "period": "2026-11", "version": "0", "progress": "已完成选址论证", "action": "submit"})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login?")
    assert _next_of(posted.headers["location"]) == form_page  # the form's page, not the post's address
    assert await _report_count(task) == 0  # nothing was saved under nobody's authority

    login_page = await client.get(posted.headers["location"])
    assert 'name="next" value="/tasks/' in login_page.text
    if lapse == "idle timeout":
        assert "登录已超时" in login_page.text and "登录后将回到您刚才所在的页面" in login_page.text
    token = await csrf_of(client)
    signed = await client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                               "next": form_page})
    assert signed.status_code == 303 and signed.headers["location"] == form_page
    token = await csrf_of(client, form_page)
    saved = await client.post(f"/tasks/{task.id}/report", data={
        "csrf_token": token, "period": "2026-11", "version": "0", "progress": "已完成选址论证", "action": "save"})
    assert saved.status_code == 303 and await _report_count(task) == 1  # now it is saved, by the person


async def test_a_plain_page_comes_back_with_its_query(client, bureau):
    task = await _school_task(bureau)
    response = await client.get(f"/tasks/{task.id}/report?period=2026-10")
    assert _next_of(response.headers["location"]) == f"/tasks/{task.id}/report?period=2026-10"


@pytest.mark.parametrize("referer", [
    "http://evil.example/tasks/1", "https://evil.example//testserver/", "not a url", "",
])
async def test_a_post_from_another_site_gets_no_return_page(client, bureau, referer):
    task = await _school_task(bureau)
    token = await csrf_of(client)
    response = await client.post(f"/tasks/{task.id}/nudge", data={"csrf_token": token},
                                 headers={"Referer": referer} if referer else {})
    assert response.status_code == 303 and response.headers["location"] == "/login"


HOSTILE = ["//evil.example/x", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
           "/\r\nSet-Cookie: luoshi_session=x", "javascript:alert(1)", "http:/evil.example", "evil.example/x",
           "/%0d%0a" + "\n"]


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_hostile_next_values_are_refused(client, bureau, hostile):
    page = await client.get("/login", params={"next": hostile})
    assert 'name="next" value=""' in page.text
    token = await csrf_of(client)
    signed = await client.post("/login", data={"username": bureau.username(Role.unit_staff), "password": PASSWORD,
                                               "csrf_token": token, "next": hostile})
    assert signed.status_code == 303 and signed.headers["location"] == "/"


async def test_a_form_older_than_the_sign_in_goes_back_to_its_page_with_a_message(client, bureau):
    """Signed out and in again in another tab: the CSRF token of the old tab is stale. Nothing is done, and the
    person is back on the page, told to submit again (drafts.js puts the text back), not on an error page."""
    task = await _school_task(bureau)
    username = bureau.username(Role.unit_staff)
    await login(client, username)
    form_page = f"/tasks/{task.id}/report"
    old_token = await csrf_of(client, form_page)
    await client.post("/logout", data={"csrf_token": old_token})
    await login(client, username)  # a new CSRF seed comes with the new sign-in

    stale = await client.post(form_page, headers={"Referer": HOST + form_page}, data={
        "csrf_token": old_token, "period": "2026-11", "version": "0", "progress": "已完成选址论证", "action": "save"})
    assert stale.status_code == 303 and stale.headers["location"] == form_page + "#feedback"
    assert await _report_count(task) == 0
    page = (await client.get(form_page)).text
    assert page.count("刚才的提交没有保存") == 1 and "再提交一次" in page
    # Without a page of ours to go back to (a forged post), it is still refused outright.
    forged = await client.post(form_page, data={"csrf_token": old_token, "progress": "x"})
    assert forged.status_code == 403 and "CSRF" in forged.text


async def test_a_page_polling_by_itself_does_not_carry_the_person_off_to_login(client, bureau):
    """The bell (and a thumbnail being made) polls in the background: after the sign-in lapsed, its answer changes
    nothing on the page, so a half-typed form stays where it is; a person's own htmx action still goes to login."""
    username = bureau.username(Role.unit_staff)
    assert (await login(client, username)).status_code == 303
    await _expire_sessions(username)
    polled = await client.get("/notifications/bell", headers={"HX-Request": "true", "X-Luoshi-Poll": "1"})
    assert polled.status_code == 204 and "hx-redirect" not in polled.headers
    acted = await client.get("/notifications/bell", headers={"HX-Request": "true"})
    assert acted.status_code == 204 and acted.headers["hx-redirect"].startswith("/login")
