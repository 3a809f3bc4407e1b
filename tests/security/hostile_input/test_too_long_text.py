"""Text too long for where it goes: every free-text field and every plan-draft edit refuses it with a message and
changes nothing."""

import uuid

import httpx
import pytest

from backend.evidence.models import Evidence
from backend.plans.models import PlanImport
from backend.reports.models import ProgressReport, ReportContribution
from backend.tasks.models import ExtensionRequest, Task, TaskAssignment
from backend.tenancy.models import BureauSettings, Invitation, Unit
from tests.reports.helpers import Loop
from tests.security.hostile_input.helpers import (
    DEADLINE,
    draft_of,
    load,
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
from tests.support.fixtures import PNG, csrf_of, unique


def huge_fields(big: str, world: Loop, task, draft_report, report, extension_id, draft, item_key,
                unit_id) -> list:
    """(who, path, form, field) for every free-text field, with `big` in `field`: `task` has a draft report,
    `report` is submitted (for the co-unit's part and the review), `extension_id` is (task, pending request)."""
    task_id, task_version = task.id, str(task.version)
    report_id, version = report.id, str(report.version)
    at = str(draft_report.version)
    office, school = str(world.bureau.units["office"].id), str(world.bureau.units["school"].id)
    edit = f"/plans/imports/{draft.id}/edit"
    meta = {"version": str(draft.version), "operation": "meta", "title": "标题", "issuer": "", "year": "2026"}
    target = {"version": str(draft.version), "operation": "target", "key": item_key, "index": "0", "value": "12",
              "unit": "次", "comparator": ""}
    return [
        ("admin", "/admin/units", {"name": big, "kind": "office"}, "name"),
        ("admin", f"/admin/units/{unit_id}", {"name": big, "kind": "office"}, "name"),
        ("admin", "/admin/members/invite", {"display_name": big, "role": "unit_staff", "unit_id": school},
         "display_name"),
        ("admin", "/account/tokens", {"name": big}, "name"),
        ("admin", "/admin/channels", {"kind": "wecom", "url": "https://robot.example.cn/" + big}, "url"),
        ("admin", "/admin/channels", {"kind": "wecom", "url": "https://robot.example.cn/s", "secret": big}, "secret"),
        ("admin", "/account/notifications", {"phone": big, "sms": "1"}, "phone"),
        ("admin", "/admin/report-settings", {"report_day": big}, "report_day"),
        ("admin", edit, {**meta, "title": big}, "title"),
        ("admin", edit, {**meta, "issuer": big}, "issuer"),
        ("admin", edit, {**meta, "operation": "rename_item", "key": item_key, "title": big}, "title"),
        ("admin", edit, {**target, "value": big}, "value"),
        ("admin", edit, {**target, "unit": big}, "unit"),
        ("admin", edit, {**target, "comparator": big}, "comparator"),
        ("supervisor", "/tasks/new", {"title": big, "description": "", "deadline": DEADLINE, "lead_unit_id": office},
         "title"),
        ("supervisor", "/tasks/new", {"title": "标题", "description": big, "deadline": DEADLINE,
                                      "lead_unit_id": office}, "description"),
        ("staff", f"/tasks/{task_id}/report", report_form(progress=big, version=at), "progress"),
        ("staff", f"/tasks/{task_id}/report", report_form(problems=big, version=at), "problems"),
        ("staff", f"/tasks/{task_id}/report", report_form(next_steps=big, version=at), "next_steps"),
        ("staff", f"/tasks/{task_id}/report", report_form(support_needed=big, version=at), "support_needed"),
        ("staff", f"/tasks/{task_id}/report", report_form(percent=big, version=at), "percent"),
        ("staff", f"/tasks/{task_id}/report", report_form(expected_completion=big, version=at), "expected_completion"),
        ("staff", f"/tasks/{task_id}/report/no-change", {"reason": big, "version": at}, "reason"),
        ("staff", f"/tasks/{task_id}/completion", {"summary": big, "version": task_version}, "summary"),
        ("staff", f"/tasks/{task_id}/extension", {"requested_deadline": "2027-01-31", "reason": big}, "reason"),
        ("staff", f"/tasks/{task_id}/extension", {"requested_deadline": big, "reason": "理由"}, "requested_deadline"),
        ("co", f"/reports/{report_id}/contribution", {"text": big}, "text"),
        ("co", f"/tasks/{task_id}/send-back", {"reason": big, "version": task_version}, "reason"),
        ("supervisor", f"/reports/{report_id}/review", {"decision": "return", "comment": big, "version": version},
         "comment"),
        ("supervisor", "/reviews/batch", {"report": f"{report_id}:{version}", "comment": big}, "comment"),
        ("supervisor", f"/tasks/{extension_id[0]}/extensions/{extension_id[1]}", {"decision": "refuse",
                                                                                  "comment": big}, "comment"),
        ("supervisor", f"/tasks/{task_id}/nudge", {"message": big}, "message"),
        ("supervisor", f"/tasks/{task_id}/cancel", {"reason": big, "version": task_version}, "reason"),
    ]


async def test_plan_draft_edits_refuse_what_publishing_could_not_store(world, people):
    """The draft is JSON and takes anything; the plan's columns do not. Each edit is refused when it would not fit
    (or is no number), with a message, and the draft stays as it was; the draft still publishes afterwards."""
    p = people
    imported = await paste_plan(p.admin, pasted_plan(unique("草稿"), "加强党的建设", "开展专题学习不少于12次"))
    assert imported.status_code == 303
    draft = await draft_of(world, imported)
    draft_id = draft.id
    key = draft.document["sections"][0]["items"][0]["key"]
    target = {"operation": "target", "key": key, "index": "0", "value": "12", "unit": "次", "comparator": "不少于"}
    for form in (
        {"operation": "meta", "title": "标" * 301, "issuer": "", "year": "2026"},
        {"operation": "meta", "title": "标题", "issuer": "局" * 201, "year": "2026"},
        {"operation": "meta", "title": "标题", "issuer": "", "year": "２０２６年"},
        *({**target, "value": value} for value in ("inf", "nan", "1e400", "-1e13", "十二")),
        {**target, "unit": "次" * 21}, {**target, "comparator": "不少于" * 4},
        {"operation": "deadline", "key": key, "deadline": "2026-02-30"},
        {"operation": "deadline", "key": key, "deadline": "二〇二六年六月三十日"},
    ):
        response = await p.admin.post(f"/plans/imports/{draft_id}/edit", {**form, "version": str(draft.version)})
        refused(response, 422)
    assert (await one(world, PlanImport, PlanImport.id == draft_id)).document == draft.document
    full_width = await p.admin.post(f"/plans/imports/{draft_id}/edit", {**target, "value": "１２",
                                                                         "version": str(draft.version)})
    assert full_width.status_code == 303, said(full_width)
    draft = await one(world, PlanImport, PlanImport.id == draft_id)
    assert draft.document["sections"][0]["items"][0]["targets"][0]["value"] == 12
    published = await publish(world, p.admin, draft_id)
    assert published.status_code == 303, said(published)


async def _saved_state(world: Loop) -> tuple:
    """What a refused post must leave as it was: every row a free-text field could have changed."""
    return (
        [(u.id, u.name) for u in await load(world, Unit)],
        [(i.id, i.display_name) for i in await load(world, Invitation)],
        [(t.id, t.title, t.description, t.state, t.version) for t in await load(world, Task)],
        [(r.id, r.progress, r.problems, r.state, r.version, r.percent) for r in await load(world, ProgressReport)],
        [(c.id, c.text) for c in await load(world, ReportContribution)],
        [(e.id, e.reason, e.state, e.decision_comment) for e in await load(world, ExtensionRequest)],
        [(a.id, a.state, a.sent_back_reason) for a in await load(world, TaskAssignment)],
        [(d.id, d.version, d.document) for d in await load(world, PlanImport)],
        [(s.report_day,) for s in await load(world, BureauSettings)],
    )


@pytest.mark.parametrize("big", [hostile.LONG, hostile.MEGABYTE], ids=["long", "megabyte"])
async def test_too_long_text_in_any_field_is_refused_with_a_message_and_nothing_changes(world, people, big):
    p = people
    by_role = {"admin": p.admin, "supervisor": p.supervisor, "staff": p.staff, "co": p.co}
    unit_name = unique("原名单位")
    assert (await p.admin.post("/admin/units", {"name": unit_name, "kind": "office"})).status_code == 303
    [unit] = await load(world, Unit, Unit.name == unit_name)
    task_id = await new_task(world, p.supervisor, unique("超长输入"))
    extension_task = await new_task(world, p.supervisor, unique("超长延期"))
    assert (await p.staff.post(f"/tasks/{extension_task}/extension", {"requested_deadline": "2027-01-31",
                                                                       "reason": "原因"})).status_code == 303
    extension = await one(world, ExtensionRequest, ExtensionRequest.task_id == extension_task)
    saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(progress="原来的进展"))
    assert saved.status_code == 303
    filed = await p.staff.post(f"/tasks/{extension_task}/report", report_form(progress="已报送", action="submit"))
    assert filed.status_code == 303
    report = await report_of_task(world, extension_task)
    task = await one(world, Task, Task.id == task_id)
    imported = await paste_plan(p.admin, pasted_plan(unique("超长"), "加强党的建设", "开展专题学习不少于12次"))
    draft = await draft_of(world, imported)
    item_key = draft.document["sections"][0]["items"][0]["key"]

    before = await _saved_state(world)
    draft_report = await report_of_task(world, task_id)
    fields = huge_fields(big, world, task, draft_report, report, (extension_task, extension.id), draft, item_key,
                         unit.id)
    for role, path, form, field in fields:
        response = await by_role[role].post(path, form)
        # A megabyte is refused before it is read (the body limit, 413), a long paste by the field's own limit.
        expected = 422 if big == hostile.LONG else 413
        assert response.status_code == expected, (path, field, response.status_code, said(response))
        assert hostile.has_chinese(said(response)), (path, field, said(response))
    assert await _saved_state(world) == before
    # The tokens, channels and preferences were not made either.
    tokens = await p.admin.get("/account/tokens")
    assert big[:300] not in tokens.text and big[:300] not in (await p.admin.get("/admin/channels")).text
    # Multipart forms: the evidence's description and a pasted plan.
    big_description = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": big},
                                         files=upload("照片.png", PNG, "image/png"))
    refused(big_description, 400, 422)
    assert not await load(world, Evidence, Evidence.task_id == task_id)
    pasted = await paste_plan(p.admin, big)
    refused(pasted, 400, 422)
    # Sign-in and searches with a megabyte are answered, not crashed.
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=p.admin.client._transport.app),  # type: ignore[attr-defined]
                                  base_url="http://testserver")
    async with anonymous:
        token = await csrf_of(anonymous)
        response = await anonymous.post("/login", data={"username": hostile.MEGABYTE, "password": hostile.MEGABYTE,
                                                        "csrf_token": token})
        assert response.status_code < 500 and hostile.has_chinese(response.text)
    for path in (f"/tasks?q={'长' * 5000}", f"/audit?who={'长' * 5000}", f"/plans/{uuid.uuid4()}?q={'长' * 5000}"):
        assert (await p.admin.get(path)).status_code < 500
