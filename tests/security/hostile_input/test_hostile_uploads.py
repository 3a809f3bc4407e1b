"""Hostile uploads (evidence and plan imports): dangerous, polyglot, oversized and badly named files are refused
with a message or kept safely, and only ever served as downloads."""


import pytest
from sqlmodel import select

from backend.config import get_settings
from backend.db import unit_of_work
from backend.evidence.models import Evidence
from backend.files.models import StoredFile
from backend.plans.models import PlanImport
from tests.evidence import samples
from tests.security.hostile_input.helpers import (
    assert_served_safely,
    draft_of,
    files_on_disk,
    load,
    new_task,
    one,
    pasted_plan,
    publish,
    refused,
    said,
    upload,
)
from tests.support import hostile
from tests.support.fixtures import unique


async def test_dangerous_evidence_files_are_refused_with_a_message_and_nothing_else_is_lost(world, people, tmp_path):
    p = people
    task_id = await new_task(world, p.supervisor, unique("佐证材料上传"))
    kept = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": "原有材料"},
                              files=upload("原有照片.jpg", samples.jpeg(), "image/jpeg"))
    assert kept.status_code == 303
    for case, (name, content, content_type) in hostile.REFUSED_EVIDENCE.items():
        response = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": case},
                                      files=upload(name, content, content_type))
        text = refused(response, 422)
        assert "<script>" not in text, case
    [only] = await load(world, Evidence, Evidence.task_id == task_id)
    assert only.filename == "原有照片.jpg" and only.description == "原有材料"
    assert (await p.staff.get(f"/evidence/{only.id}/download")).content == samples.jpeg()

    # Polyglots that are really images or PDFs may be kept, but are only ever served as downloads of their type.
    for name, content in (("动图.gif", hostile.GIF_POLYGLOT), ("纪要.pdf", hostile.PDF_POLYGLOT),
                          ("网页.html", hostile.GIF_POLYGLOT)):
        response = await p.staff.post(f"/tasks/{task_id}/evidence", {}, files=upload(name, content, "text/html"))
        assert response.status_code in (200, 303, 422), (name, response.status_code, said(response))
        if response.status_code == 422:
            refused(response, 422)
    for row in await load(world, Evidence, Evidence.task_id == task_id):
        assert not row.filename.lower().endswith((".html", ".htm", ".svg")), row.filename
        download = await p.staff.get(f"/evidence/{row.id}/download")
        assert_served_safely(download)
        assert row.filename.rsplit(".", 1)[-1] in download.headers["content-disposition"]


async def test_hostile_file_names_are_made_safe_and_never_leave_the_data_folder(world, people, tmp_path):
    p = people
    data = get_settings().data_dir.resolve()
    task_id = await new_task(world, p.supervisor, unique("文件名"))
    for number, (case, name) in enumerate(hostile.HOSTILE_FILENAMES.items()):
        image = samples.png(8 + number, 8)  # a different file each time, so none is a duplicate
        response = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": case},
                                      files=upload(name, image, "image/png"))
        assert response.status_code == 303, (case, response.status_code, said(response))
        row = await one(world, Evidence, Evidence.task_id == task_id, Evidence.description == case)
        for bad in ("/", "\\", "\x00", "\u202e", "..", "<", ">"):
            assert bad not in row.filename, (case, row.filename)
        assert 0 < len(row.filename) <= 255 and row.filename.endswith(".png"), (case, row.filename)
        download = await p.staff.get(f"/evidence/{row.id}/download")
        assert_served_safely(download)
        assert download.content == image
    # Plan imports keep a safe name too (a plan is a text file here).
    for case, name in hostile.HOSTILE_FILENAMES.items():
        text = pasted_plan(unique("文件名计划"), "加强党的建设", f"开展{case}专题学习")
        response = await p.admin.post("/plans/import", {}, files=upload(name.replace(".png", ".txt"),
                                                                        text.encode(), "text/plain"))
        assert response.status_code == 303, (case, response.status_code, said(response))
        draft = await draft_of(world, response)
        for bad in ("/", "\\", "\x00", "\u202e", "<", ">"):
            assert bad not in draft.filename, (case, draft.filename)
        assert 0 < len(draft.filename) <= 255, (case, draft.filename)
        preview = await p.admin.get(f"/plans/imports/{draft.id}")
        assert preview.status_code == 200 and "<img src=x" not in preview.text
    # Everything stored is under the data folder, by content hash; nothing was written where a name pointed.
    stored = files_on_disk(data)
    assert stored and all(path.resolve().is_relative_to(data) for path in stored)
    assert not any(path.name in ("passwd", "win.ini", "evil.png") for path in files_on_disk(tmp_path))
    async with unit_of_work(world.tenant_id) as session:
        hashes = (await session.exec(select(StoredFile.sha256))).all()
    assert all(len(h) == 64 and all(c in "0123456789abcdef" for c in h) for h in hashes)


async def test_oversized_uploads_are_refused_before_they_are_read_with_a_message(world, people, monkeypatch):
    monkeypatch.setattr(get_settings(), "evidence_max_mb", 1)
    monkeypatch.setattr("backend.plans.service.MAX_PLAN_BYTES", 64 * 1024)
    p = people
    task_id = await new_task(world, p.supervisor, unique("大文件"))
    over_file_limit = samples.jpeg() + b"\x00" * (3 * 2**19)  # 1.5 MB: past the file limit, within the body limit
    message = refused(await p.staff.post(f"/tasks/{task_id}/evidence", {},
                                         files=upload("大照片.jpg", over_file_limit, "image/jpeg")), 422)
    assert "1 MB" in message
    past_body_limit = b"\xff\xd8\xff" + b"\x00" * (4 * 2**20)  # 4 MB: refused before the app reads it
    assert "1 MB" in refused(await p.staff.post(f"/tasks/{task_id}/evidence", {},
                                                files=upload("巨大.jpg", past_body_limit, "image/jpeg")), 413)
    assert not await load(world, Evidence, Evidence.task_id == task_id)
    big_plan = (pasted_plan("大计划", "加强党的建设", "开展专题学习") * 2000).encode()
    refused(await p.admin.post("/plans/import", {}, files=upload("工作要点.txt", big_plan, "text/plain")), 422)
    refused(await p.admin.post("/plans/import", {}, files=upload("工作要点.txt", past_body_limit, "text/plain")), 413)


@pytest.mark.parametrize("case", list(hostile.REFUSED_PLANS))
async def test_bad_plan_files_are_refused_with_a_message(world, people, case):
    name, content = hostile.REFUSED_PLANS[case]
    before = len(await load(world, PlanImport))
    text = refused(await people.admin.post("/plans/import", {}, files=upload(name, content)), 422)
    assert "<script>" not in text
    assert len(await load(world, PlanImport)) == before


async def test_a_published_plans_source_is_served_as_a_download(world, people):
    p = people
    html_plan = ("<html><body><script>alert(1)</script><p>2026年源文件工作要点</p><p>一、加强党的建设</p>"
                 "<p>1.开展专题学习。（责任单位：办公室）</p><p>二、推进教育现代化</p>"
                 "<p>2.新改扩建中小学26所，6月底前完成规划。</p></body></html>").encode()
    imported = await p.admin.post("/plans/import", {}, files=upload(unique("源文件") + ".html", html_plan, "text/html"))
    assert imported.status_code == 303, said(imported)
    draft = await draft_of(world, imported)
    preview = await p.admin.get(f"/plans/imports/{draft.id}")
    assert "<script>alert(1)</script>" not in preview.text
    published = await publish(world, p.admin, draft.id)
    assert published.status_code == 303, said(published)
    source = await p.admin.get(published.headers["location"].split("?")[0] + "/source")
    assert_served_safely(source)
    assert source.content == html_plan
