"""Script, markup, javascript: URLs and template syntax in every free-text field people can save are shown as
text on every page and export where the value shows, and formulas stay text in the Excel exports."""

import uuid
from urllib.parse import quote

import pytest

from backend.plans.models import PlanImport
from backend.tasks.models import ExtensionRequest, Task
from tests.security.hostile_input.helpers import (
    People,
    assert_no_live_formula,
    draft_of,
    exports,
    new_task,
    one,
    paste_plan,
    pasted_plan,
    publish,
    refused,
    report_form,
    report_of_task,
    said,
    upload,
)
from tests.support import hostile
from tests.support.browser import Browser
from tests.support.fixtures import PNG


async def _admin_types_everything(world, p: People, payload, v) -> tuple[dict[str, str], str]:
    """The admin saves the value as a unit, an invitation, an API token, a group robot, a phone number, a pasted
    plan and its edits. Returns the pages those posts answered with, and the published plan's address."""
    shown: dict[str, str] = {}  # page → html
    assert (await p.admin.post("/admin/units", {"name": v("UNIT"), "kind": "school"})).status_code == 303
    invited = await p.admin.post("/admin/members/invite", {"display_name": v("INV"), "role": "unit_staff",
                                                           "unit_id": str(world.bureau.units["school"].id)})
    assert invited.status_code == 200, said(invited)
    shown["invite result"] = invited.text
    token = await p.admin.post("/account/tokens", {"name": v("TOKEN")})
    assert token.status_code == 200
    robot = await p.admin.post("/admin/channels", {"kind": "wecom", "url": "https://robot.example.cn/send?key="
                                                   + v("CHAN")})
    assert robot.status_code in (303, 422), said(robot)
    shown["channel form"] = robot.text
    phone = await p.admin.post("/account/notifications", {"phone": v("PHONE"), "sms": "1"})
    shown["phone form"] = refused(phone, 422)
    assert refused(await p.admin.post("/admin/channels", {"kind": "wecom", "url": payload.text}), 422)

    imported = await paste_plan(p.admin, pasted_plan(f"P{hostile.XSS.index(payload)}", v("PSEC"), v("PITEM")))
    assert imported.status_code == 303, said(imported)
    draft = await draft_of(world, imported)
    draft_id = draft.id
    item_key = draft.document["sections"][0]["items"][0]["key"]
    for edit in ({"operation": "meta", "title": v("PMETA"), "issuer": v("PISSUER"), "year": "2026"},
                 {"operation": "rename_item", "key": item_key, "title": v("PEDIT")}):
        version = (await one(world, PlanImport, PlanImport.id == draft_id)).version
        edited = await p.admin.post(f"/plans/imports/{draft_id}/edit", {**edit, "version": str(version)})
        assert edited.status_code == 303, said(edited)
    shown["plan preview"] = (await p.admin.get(f"/plans/imports/{draft_id}")).text
    published = await publish(world, p.admin, draft_id)
    assert published.status_code == 303, said(published)
    return shown, published.headers["location"].split("?")[0]


async def _round_the_loop(world, p: People, v) -> tuple[uuid.UUID, uuid.UUID]:
    """The supervisor hands out two tasks; the office reports, the school adds its part, and so on round the loop
    until the first task awaits completion and the second is cancelled. Returns both tasks."""
    task_id = await new_task(world, p.supervisor, v("TITLE"), v("DESC"))
    other_id = await new_task(world, p.supervisor, v("TWO"))
    saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(
        progress=v("PROG"), problems=v("PROB"), next_steps=v("NEXT"), support_needed=v("SUPP"), action="submit"))
    assert saved.status_code == 303, said(saved)
    report = await report_of_task(world, task_id)
    assert report.progress == v("PROG") and report.support_needed == v("SUPP")
    evidence = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": v("EVDESC")},
                                  files=upload(v("FILE") + ".png", PNG, "image/png"))
    assert evidence.status_code == 303, said(evidence)
    assert (await p.co.post(f"/reports/{report.id}/contribution", {"text": v("CONTRIB")})).status_code == 303
    report = await report_of_task(world, task_id)
    returned = await p.supervisor.post(f"/reports/{report.id}/review", {
        "decision": "return", "comment": v("REVIEW"), "version": str(report.version)})
    assert returned.status_code == 303, said(returned)
    asked = await p.staff.post(f"/tasks/{task_id}/extension", {"requested_deadline": "2027-01-31",
                                                                "reason": v("EXTR")})
    assert asked.status_code == 303, said(asked)
    extension = await one(world, ExtensionRequest, ExtensionRequest.task_id == task_id)
    decided = await p.supervisor.post(f"/tasks/{task_id}/extensions/{extension.id}",
                                      {"decision": "refuse", "comment": v("EXTC")})
    assert decided.status_code == 303, said(decided)
    assert (await p.supervisor.post(f"/tasks/{task_id}/nudge", {"message": v("NUDGE")})).status_code == 303
    task = await one(world, Task, Task.id == task_id)
    sent_back = await p.co.post(f"/tasks/{task_id}/send-back", {"reason": v("SENDB"), "version": str(task.version)})
    assert sent_back.status_code == 303, said(sent_back)
    task = await one(world, Task, Task.id == task_id)
    completion = await p.staff.post(f"/tasks/{task_id}/completion", {"summary": v("DONE"),
                                                                      "version": str(task.version)})
    assert completion.status_code == 303, said(completion)
    other = await one(world, Task, Task.id == other_id)
    cancelled = await p.supervisor.post(f"/tasks/{other_id}/cancel", {"reason": v("CANCEL"),
                                                                       "version": str(other.version)})
    assert cancelled.status_code == 303, said(cancelled)
    return task_id, other_id


def _pages(p: People, v, task_id: uuid.UUID, other_id: uuid.UUID, plan_url: str) -> list[tuple[Browser, str]]:
    """Every page where the values show, with the person who sees it."""
    return [
        (p.admin, "/admin/units"), (p.admin, "/admin/members"), (p.admin, "/account/tokens"),
        (p.admin, "/admin/channels"), (p.admin, "/account/notifications"), (p.admin, "/audit"), (p.admin, "/plans"),
        (p.admin, plan_url), (p.admin, "/"), (p.admin, f"/tasks/{other_id}"),
        (p.supervisor, "/tasks"), (p.supervisor, f"/tasks?q={quote(v('TITLE')[:20])}"),
        (p.supervisor, f"/tasks/{task_id}"), (p.supervisor, f"/tasks/{task_id}/reports"),
        (p.supervisor, "/reviews"), (p.supervisor, "/notifications"), (p.supervisor, f"/tasks/{task_id}/evidence"),
        (p.leader, f"/tasks/{task_id}"), (p.leader, "/notifications"),
        (p.staff, "/tasks"), (p.staff, f"/tasks/{task_id}"), (p.staff, "/notifications"),
        (p.co, f"/tasks/{task_id}/report"), (p.co, "/notifications"), (p.co, f"/tasks/{task_id}"),
    ]


@pytest.mark.parametrize("payload", hostile.XSS, ids=lambda p: p.name)
async def test_script_and_markup_in_every_text_field_are_shown_as_text(world, people, payload):
    n = hostile.XSS.index(payload)
    v = lambda field: payload.value(f"{field}{n}-")  # noqa: E731 — the value saved in `field`
    p = people
    shown, plan_url = await _admin_types_everything(world, p, payload, v)
    task_id, other_id = await _round_the_loop(world, p, v)

    # Every page where those values show, as the people who see them.
    for who, path in _pages(p, v, task_id, other_id, plan_url):
        response = await who.get(path, headers={"accept": "text/html"})
        assert response.status_code in (200, 303), (path, response.status_code)
        shown[path] = response.text
    for page, html in shown.items():
        for tag in ("UNIT", "INV", "TOKEN", "CHAN", "PHONE", "PSEC", "PITEM", "PMETA", "PISSUER", "PEDIT", "TITLE",
                    "DESC", "TWO", "PROG", "PROB", "NEXT", "SUPP", "EVDESC", "FILE", "CONTRIB", "REVIEW", "EXTR",
                    "EXTC", "NUDGE", "SENDB", "DONE", "CANCEL"):
            assert not hostile.dangers(html, payload, f"{tag}{n}-"), (page, hostile.dangers(html, payload, tag))
    everything = "\n".join(shown.values())
    for tag in ("UNIT", "INV", "TOKEN", "PHONE", "PMETA", "PISSUER", "PEDIT", "TITLE", "DESC", "TWO", "PROG",
                "PROB", "NEXT", "SUPP", "EVDESC", "CONTRIB", "REVIEW", "EXTR", "EXTC", "NUDGE", "SENDB", "DONE"):
        assert payload.shown(f"{tag}{n}-") in everything, f"{tag}: the value is shown nowhere"

    # The exports carry the values as they were typed, as text.
    cells, names, index_cells = await exports(p.supervisor, task_id)
    assert_no_live_formula(cells)
    values = {c.value for c in cells if isinstance(c.value, str)}
    assert {v("TITLE"), v("DESC"), v("PROG"), v("PROB"), v("NEXT"), v("SUPP")} <= values
    assert all(".." not in name and not name.startswith("/") and "\\" not in name for name in names)
    assert_no_live_formula(index_cells)
    assert v("EVDESC") in {c.value for c in index_cells}


async def test_formulas_typed_into_reports_and_tasks_stay_text_in_the_excel_exports(world, people):
    p = people
    formulas = hostile.FORMULAS
    task_id = await new_task(world, p.supervisor, formulas[0], formulas[1])
    saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(
        progress=formulas[2], problems=formulas[3], next_steps=formulas[4], support_needed=formulas[5],
        action="submit"))
    assert saved.status_code == 303, said(saved)
    report = await report_of_task(world, task_id)
    assert (report.progress, report.support_needed) == (formulas[2], formulas[5])  # stored exactly as typed
    uploaded = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": formulas[0]},
                                  files=upload("=1+1.png", PNG, "image/png"))
    assert uploaded.status_code == 303
    returned = await p.supervisor.post(f"/reports/{report.id}/review", {
        "decision": "return", "comment": "=SUM(1,1)", "version": str(report.version)})
    assert returned.status_code == 303

    cells, _names, index_cells = await exports(p.supervisor, task_id)
    assert_no_live_formula(cells)
    values = {c.value for c in cells if isinstance(c.value, str)}
    assert set(formulas) <= values, set(formulas) - values  # nothing altered or lost on the way
    assert_no_live_formula(index_cells)
    assert formulas[0] in {c.value for c in index_cells}
