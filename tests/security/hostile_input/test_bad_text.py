"""Text that is not what it claims: bytes that are not UTF-8, other encodings, control characters, emoji and mixed
scripts, and lone surrogates or NUL in JSON."""

from urllib.parse import quote

import pytest
from sqlmodel import col

from backend.db import unit_of_work
from backend.evidence.models import Evidence
from backend.tasks.models import Task
from backend.tenancy.models import Unit
from tests.security.hostile_input.helpers import (
    load,
    new_task,
    one,
    paste_plan,
    pasted_plan,
    refused,
    report_form,
    report_of_task,
    said,
    upload,
    xlsx_cells,
)
from tests.support import hostile
from tests.support.fixtures import PNG, unique


@pytest.mark.parametrize("raw", hostile.INVALID_UTF8, ids=lambda b: b.hex())
async def test_form_bytes_that_are_not_utf8_are_refused_with_a_message(world, people, raw):
    name = unique("编码").encode()
    for body in (b"name=" + quote(name + raw).encode() + b"&kind=office",  # percent-encoded
                 b"name=" + name + raw + b"&kind=office"):  # sent as they are
        for content_type in ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"):
            response = await people.admin.post_raw("/admin/units", body, content_type)
            assert "UTF-8" in refused(response, 400)
    assert not await load(world, Unit, col(Unit.name).startswith(name.decode()))


async def test_form_text_in_other_encodings_arrives_intact(world, people):
    for encoding in ("utf-8", "gb18030", "big5"):
        name = unique("繁體學校" if encoding == "big5" else "编码学校")
        for body in (b"kind=school&name=" + quote(name.encode(encoding)).encode(),
                     b"kind=school&name=" + name.encode(encoding)):
            await people.admin.post_raw("/admin/units", body,
                                        f"application/x-www-form-urlencoded; charset={encoding}")
            [unit] = await load(world, Unit, Unit.name == name)
            async with unit_of_work(world.tenant_id) as session:
                await session.delete(await session.get(Unit, unit.id))
    response = await people.admin.post_raw("/admin/units", b"name=x", "application/x-www-form-urlencoded; charset=no")
    refused(response, 400)


async def test_control_characters_are_taken_out_and_the_rest_is_kept(world, people):
    p = people
    for case, (typed, kept) in hostile.CONTROLS.items():
        name = unique(case)
        assert (await p.admin.post("/admin/units", {"name": name + typed, "kind": "office"})).status_code == 303
        [unit] = await load(world, Unit, Unit.name == name + kept)
        task_id = await new_task(world, p.supervisor, typed + name, "说明" + typed)
        task = await one(world, Task, Task.id == task_id)
        assert (task.title, task.description) == (kept + name, "说明" + kept)
        saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(progress=typed, problems=typed))
        assert saved.status_code == 303, said(saved)
        report = await report_of_task(world, task_id)
        assert (report.progress, report.problems) == (kept, kept)
        assert (await p.supervisor.post(f"/tasks/{task_id}/nudge", {"message": typed})).status_code == 303
        uploaded = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": typed},
                                      files=upload(f"照片{typed}.png", PNG, "image/png"))
        assert uploaded.status_code == 303, said(uploaded)
        [evidence] = await load(world, Evidence, Evidence.task_id == task_id)
        assert evidence.description == kept and "\x00" not in evidence.filename and "\u202e" not in evidence.filename
        imported = await paste_plan(p.admin, pasted_plan(unique("控制"), "加强" + typed, "开展学习" + typed))
        assert imported.status_code == 303, said(imported)
        for path in (f"/tasks/{task_id}", f"/tasks/{task_id}/reports", imported.headers["location"]):
            assert (await p.supervisor.get(path)).status_code == 200
        ledger = await p.supervisor.get(f"/tasks/{task_id}/ledger.xlsx")
        assert ledger.status_code == 200
        assert {kept + name, "说明" + kept} <= {c.value for c in xlsx_cells(ledger.content)}


async def test_emoji_and_mixed_scripts_are_stored_and_shown_back_unchanged(world, people):
    p = people
    for case, text in hostile.UNICODE.items():
        assert (await p.admin.post("/admin/units", {"name": text + case, "kind": "office"})).status_code == 303
        assert await load(world, Unit, Unit.name == text + case)
        task_id = await new_task(world, p.supervisor, text, text)
        saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(progress=text, next_steps=text))
        assert saved.status_code == 303
        assert (await report_of_task(world, task_id)).progress == text
        assert (await p.supervisor.post(f"/tasks/{task_id}/nudge", {"message": text})).status_code == 303
        name = text.replace("/", "、") + ".png"  # (a "/" in a file name is a folder: taken out)
        uploaded = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": text},
                                      files=upload(name, PNG, "image/png"))
        assert uploaded.status_code == 303
        [evidence] = await load(world, Evidence, Evidence.task_id == task_id)
        assert evidence.description == text and evidence.filename == name
        page = (await p.supervisor.get(f"/tasks/{task_id}")).text
        assert page.count(text) >= 3, case  # title, description, report, nudge, evidence
        assert text + case in (await p.admin.get("/admin/units")).text
        ledger = await p.supervisor.get(f"/tasks/{task_id}/ledger.xlsx")
        assert text in {c.value for c in xlsx_cells(ledger.content)}
        download = await p.staff.get(f"/evidence/{evidence.id}/download")
        assert quote(name, safe="") in download.headers["content-disposition"]


async def test_lone_surrogates_and_nul_in_json_are_refused_not_crashed(world, people):
    p = people
    for name in ("\\ud800坏字", "空\\u0000字", "\\udfff"):  # JSON escapes: no client would encode them as text
        body = ('{"kind": "office", "name": "' + name + '"}').encode()
        response = await p.admin.client.post("/api/v1/units", content=body, headers={
            "x-csrf-token": p.admin.csrf, "accept": "application/json", "content-type": "application/json"})
        assert response.status_code in (201, 422), (response.status_code, said(response))
        if response.status_code == 422:
            assert hostile.has_chinese(response.json()["detail"])
        else:
            assert "\x00" not in response.json()["name"] and "\ud800" not in response.json()["name"]
