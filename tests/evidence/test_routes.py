"""Evidence pages and API through HTTP: upload forms (plain and htmx), refusals shown beside the form, safe
downloads, and nothing of another bureau within reach."""

import hashlib
import re
import tracemalloc
import uuid
from urllib.parse import quote

from sqlmodel import select

from backend.accounts.service import create_api_token
from backend.config import get_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.evidence.models import Evidence
from backend.files.models import StoredFile
from tests.evidence import samples
from tests.evidence.conftest import school_task
from tests.support.fixtures import csrf_of

HTMX = {"HX-Request": "true"}


async def post_upload(client, task_id, files: dict, data: dict | None = None, headers: dict | None = None):
    token = await csrf_of(client, "/")
    return await client.post(f"/tasks/{task_id}/evidence", data={**(data or {}), "csrf_token": token},
                              files=files, headers=headers or {})


async def bearer(bureau, role) -> dict:
    async with unit_of_work(bureau.tenant.id) as session:
        _token, raw = await create_api_token(session, bureau.actors[role], name="证据脚本")
    return {"Authorization": f"Bearer {raw}"}


async def evidence_of(bureau, task_id) -> list[Evidence]:
    async with unit_of_work(bureau.tenant.id) as session:
        return list((await session.exec(select(Evidence).where(Evidence.task_id == task_id))).all())


async def test_a_plain_form_upload_redirects_to_the_task(bureau, signed_in, no_jobs):
    task = await school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    response = await post_upload(staff, task.id, {"file": ("现场照片.jpg", samples.jpeg(), "image/jpeg")},
                                 {"description": "升旗仪式", "covers_from": "2024-03-01", "covers_to": "2024-03-31"})
    assert response.status_code == 303 and response.headers["location"] == f"/tasks/{task.id}#evidence"
    [made] = await evidence_of(bureau, task.id)
    assert made.description == "升旗仪式" and str(made.covers_to) == "2024-03-31"
    assert no_jobs == [("make_evidence_thumbnail", str(bureau.tenant.id), str(made.id))]


async def test_the_camera_input_works_too_and_pdfs_get_no_thumbnail_job(bureau, signed_in, no_jobs):
    task = await school_task(bureau)
    head = await signed_in(bureau, Role.unit_head)
    response = await post_upload(head, task.id, {"camera": ("image.jpg", samples.jpeg(), "image/jpeg"),
                                                 "file": ("纪要.pdf", samples.pdf(), "application/pdf")})
    assert response.status_code == 303
    assert sorted(e.kind for e in await evidence_of(bureau, task.id)) == ["image", "pdf"]
    assert len(no_jobs) == 1


async def test_htmx_gets_the_fragment_with_the_list(bureau, signed_in, no_jobs):
    task = await school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    response = await post_upload(staff, task.id, {"file": ("第一季度 总结.docx", samples.docx(), "application/msword")},
                                 {"covers_from": "2024-01-01", "covers_to": "2024-03-31"}, HTMX)
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().startswith("<section id=\"evidence\"") and "<html" not in html
    assert "第一季度 总结.docx" in html and "2024-01-01 至 2024-03-31" in html
    assert bureau.users[Role.unit_staff].display_name in html
    assert 'capture="environment"' in html and 'accept="image/*,application/pdf,.doc,.docx,.xls,.xlsx,.wps,.et,' \
        '.mp4,.mov"' in html and "<progress" in html
    # The same URL gives the section by GET (htmx) and a page of its own without JavaScript.
    assert (await staff.get(f"/tasks/{task.id}/evidence", headers=HTMX)).text.lstrip().startswith("<section")
    page = await staff.get(f"/tasks/{task.id}/evidence")
    assert page.status_code == 200 and "<html" in page.text and "/static/js/upload.js" in page.text
    # The task page includes the same section (with the form for a member of an assigned unit).
    task_page = await staff.get(f"/tasks/{task.id}")
    assert task_page.status_code == 200 and 'id="evidence"' in task_page.text
    assert "第一季度 总结.docx" in task_page.text and 'name="camera"' in task_page.text


async def test_a_refused_file_rerenders_the_form_with_the_message_and_what_was_typed(bureau, signed_in, no_jobs):
    task = await school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    typed = {"description": "学校开展专题学习的照片", "covers_from": "2024-04-01", "covers_to": "2024-04-30"}
    for headers in (HTMX, {}):
        response = await post_upload(staff, task.id, {"file": ("photo.png", samples.SVG, "image/png")}, typed, headers)
        assert response.status_code == 422
        html = response.text
        assert "SVG 矢量图，可能含有脚本，不能上传" in html and 'id="e-file"' in html
        assert "学校开展专题学习的照片" in html and 'value="2024-04-01"' in html and 'value="2024-04-30"' in html
        assert ("<html" in html) is (headers == {})
    bad_date = await post_upload(staff, task.id, {"file": ("a.jpg", samples.jpeg(), "image/jpeg")},
                                 {"covers_from": "2024-13-45"}, HTMX)
    assert bad_date.status_code == 422 and "请填写正确的日期" in bad_date.text and 'id="e-covers_from"' in bad_date.text
    nothing = await post_upload(staff, task.id, {}, {"description": "忘了选文件"}, HTMX)
    assert nothing.status_code == 422 and "请选择要上传的文件" in nothing.text and "忘了选文件" in nothing.text
    assert await evidence_of(bureau, task.id) == [] and no_jobs == []


async def test_oversize_through_the_form(bureau, signed_in, no_jobs, monkeypatch):

    monkeypatch.setattr(get_settings(), "evidence_max_mb", 1)
    task = await school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    response = await post_upload(staff, task.id, {"file": ("视频.mp4", samples.mp4(2 * 2**20), "video/mp4")}, {}, HTMX)
    assert response.status_code == 422 and "超过 1 MB 的上限" in response.text


async def test_a_duplicate_is_reported_not_stored_twice(bureau, signed_in, no_jobs):
    task = await school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    data = samples.jpeg()
    await post_upload(staff, task.id, {"file": ("现场.jpg", data, "image/jpeg")})
    again = await post_upload(staff, task.id, {"file": ("又一次.jpg", data, "image/jpeg")}, {}, HTMX)
    assert again.status_code == 200 and "这份材料已经上传过：“现场.jpg”" in again.text
    plain = await post_upload(staff, task.id, {"file": ("又一次.jpg", data, "image/jpeg")})
    assert plain.status_code == 200 and "这份材料已经上传过" in plain.text
    assert len(await evidence_of(bureau, task.id)) == 1 and len(no_jobs) == 1


async def test_downloads_are_attachments_with_safe_headers(bureau, signed_in, no_jobs):
    task = await school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    files = {"第一季度 总结.docx": samples.docx(), "会议纪要.pdf": samples.pdf(), "现场.jpg": samples.jpeg()}
    for name, data in files.items():
        await post_upload(staff, task.id, {"file": (name, data, "application/octet-stream")})
    leader = await signed_in(bureau, Role.leader)  # reads what the units upload
    by_name = {e.filename: e for e in await evidence_of(bureau, task.id)}
    expected_type = {"第一季度 总结.docx": "application/octet-stream", "会议纪要.pdf": "application/pdf",
                     "现场.jpg": "image/jpeg"}
    for name, data in files.items():
        response = await leader.get(f"/evidence/{by_name[name].id}/download")
        assert response.status_code == 200 and response.content == data
        headers = response.headers
        assert headers["content-type"] == expected_type[name]
        disposition = headers["content-disposition"]
        assert disposition.startswith("attachment; filename=\"") and f"filename*=UTF-8''{quote(name)}" in disposition
        assert "sandbox; default-src 'none'" in headers.get_list("content-security-policy")
        assert "nosniff" in headers["x-content-type-options"]
        assert headers["content-length"] == str(len(data))
        assert "no-store" in headers["cache-control"]
        # A tapped thumbnail opens the photo in the browser; other files still download, whatever is asked.
        viewed = await leader.get(f"/evidence/{by_name[name].id}/download?view=1")
        assert viewed.status_code == 200 and viewed.content == data
        shown = viewed.headers["content-disposition"].split(";")[0]
        assert shown == ("inline" if name == "现场.jpg" else "attachment")
        assert "sandbox; default-src 'none'" in viewed.headers.get_list("content-security-policy")


async def test_the_api_uploads_lists_and_describes(bureau, no_jobs, client):
    task = await school_task(bureau)
    auth = await bearer(bureau, Role.unit_staff)
    data = samples.xlsx()
    created = await client.post(f"/api/v1/tasks/{task.id}/evidence", headers=auth,
                                files={"file": ("统计表.xlsx", data, "application/octet-stream")},
                                data={"description": "在校生统计", "covers_from": "2024-01-01",
                                      "covers_to": "2024-06-30"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "spreadsheet" and body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["uploader_name"] == bureau.users[Role.unit_staff].display_name and body["duplicate"] is False
    again = await client.post(f"/api/v1/tasks/{task.id}/evidence", headers=auth,
                              files={"file": ("again.xlsx", data, "application/octet-stream")})
    assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["id"] == body["id"]
    assert again.json()["message"].startswith("这份材料已经上传过")
    listed = await client.get(f"/api/v1/tasks/{task.id}/evidence", headers=await bearer(bureau, Role.leader))
    assert [e["id"] for e in listed.json()] == [body["id"]]
    one = await client.get(f"/api/v1/evidence/{body['id']}", headers=auth)
    assert one.status_code == 200 and one.json()["covers_to"] == "2024-06-30"
    content = await client.get(one.json()["download_url"], headers=auth)
    assert content.content == data and content.headers["content-type"] == "application/octet-stream"
    refused = await client.post(f"/api/v1/tasks/{task.id}/evidence", headers=auth,
                                files={"file": ("x.html", samples.HTML, "text/html")})
    assert refused.status_code == 422 and refused.json()["field"] == "file"
    assert "网页文件（HTML）" in refused.json()["detail"]
    newer = await client.post(f"/api/v1/evidence/{body['id']}/supersede", headers=auth,
                              files={"file": ("统计表v2.xlsx", samples.xlsx() + b"", "application/octet-stream")})
    assert newer.status_code in (200, 201)
    assert "tasks/{task_id}/evidence" in str((await client.get("/api/v1/openapi.json")).json()["paths"])


async def test_supersede_and_delete_through_the_page(bureau, signed_in, no_jobs):
    task = await school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    await post_upload(staff, task.id, {"file": ("总结.pdf", samples.pdf("v1"), "application/pdf")})
    [old] = await evidence_of(bureau, task.id)
    token = await csrf_of(staff, "/")
    response = await staff.post(f"/evidence/{old.id}/supersede", headers=HTMX, data={"csrf_token": token},
                                files={"file": ("总结v2.pdf", samples.pdf("v2"), "application/pdf")})
    assert response.status_code == 200 and "已被新版本替换" in response.text and "新版本" in response.text
    assert response.text.count("已上传新版本，原来的版本仍保留在台账中。") == 1  # said in the panel swapped in
    rows = {e.filename: e for e in await evidence_of(bureau, task.id)}
    assert rows["总结v2.pdf"].supersedes_id == old.id
    wrong = await staff.post(f"/evidence/{rows['总结v2.pdf'].id}/supersede", headers=HTMX,
                             data={"csrf_token": token, "description": "第三版"},
                             files={"file": ("v3.html", samples.HTML, "text/html")})
    assert wrong.status_code == 422 and "网页文件（HTML）" in wrong.text
    section = wrong.text.split(f'id="evidence-{rows["总结v2.pdf"].id}"', 1)[1].split("</li>", 1)[0]
    assert "网页文件（HTML）" in section and "<details class=\"evidence-actions\" open>" in section
    assert 'value="第三版"' in section
    refused = await staff.post(f"/evidence/{old.id}/delete", headers=HTMX, data={"csrf_token": token})
    assert refused.status_code == 409  # the old version stays in the ledger
    deleted = await staff.post(f"/evidence/{rows['总结v2.pdf'].id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303 and len(await evidence_of(bureau, task.id)) == 1
    assert (await staff.get(f"/tasks/{task.id}")).text.count("已删除这份材料。") == 1  # without htmx: on the page


async def test_leaders_may_not_upload(bureau, signed_in, no_jobs, client):
    task = await school_task(bureau)
    leader = await signed_in(bureau, Role.leader)
    response = await post_upload(leader, task.id, {"file": ("a.jpg", samples.jpeg(), "image/jpeg")})
    assert response.status_code == 403 and "局领导可以查看佐证材料，但不能上传" in response.text
    api = await client.post(f"/api/v1/tasks/{task.id}/evidence", headers=await bearer(bureau, Role.leader),
                            files={"file": ("a.jpg", samples.jpeg(), "image/jpeg")})
    assert api.status_code == 403
    page = await leader.get(f"/tasks/{task.id}/evidence")
    assert page.status_code == 200 and 'name="camera"' not in page.text  # no form offered
    assert await evidence_of(bureau, task.id) == []


async def test_another_bureau_gets_404_on_every_route(bureau, other_bureau, signed_in, no_jobs, client):
    task = await school_task(bureau)
    owner = await signed_in(bureau, Role.unit_staff)
    await post_upload(owner, task.id, {"file": ("照片.jpg", samples.jpeg(), "image/jpeg")})
    [made] = await evidence_of(bureau, task.id)
    async with unit_of_work(bureau.tenant.id) as session:  # a thumbnail exists, so that route has something to hide
        from backend.evidence.thumbnails import make_thumbnail

        assert await make_thumbnail(session, made.id) == "made"
    files = {"file": ("x.jpg", samples.jpeg(color=(1, 2, 3)), "image/jpeg")}
    for role in (Role.admin, Role.supervisor, Role.unit_staff):
        stranger = await signed_in(other_bureau, role)
        token = await csrf_of(stranger, "/")
        calls = [
            ("GET", f"/tasks/{task.id}/evidence", {}),
            ("GET", f"/tasks/{task.id}/evidence", {"headers": HTMX}),
            ("POST", f"/tasks/{task.id}/evidence", {"files": files, "data": {"csrf_token": token}}),
            ("POST", f"/tasks/{task.id}/evidence", {"data": {"csrf_token": token, "covers_from": "bad"}}),
            ("POST", f"/evidence/{made.id}/supersede", {"files": files, "data": {"csrf_token": token}}),
            ("POST", f"/evidence/{made.id}/delete", {"data": {"csrf_token": token}}),
            ("GET", f"/evidence/{made.id}/download", {}),
            ("GET", f"/evidence/{made.id}/thumbnail", {}),
        ]
        for method, path, kwargs in calls:
            response = await stranger.request(method, path, **kwargs)
            assert response.status_code == 404, (role, method, path, response.status_code)
            assert "照片.jpg" not in response.text
        auth = await bearer(other_bureau, role)
        api_calls = [
            ("GET", f"/api/v1/tasks/{task.id}/evidence", {}),
            ("POST", f"/api/v1/tasks/{task.id}/evidence", {"files": files}),
            ("GET", f"/api/v1/evidence/{made.id}", {}),
            ("GET", f"/api/v1/evidence/{made.id}/content", {}),
            ("GET", f"/api/v1/evidence/{made.id}/thumbnail", {}),
            ("POST", f"/api/v1/evidence/{made.id}/supersede", {"files": files}),
            ("DELETE", f"/api/v1/evidence/{made.id}", {}),
        ]
        for method, path, kwargs in api_calls:
            response = await client.request(method, path, headers=auth, **kwargs)
            assert response.status_code == 404, (role, method, path, response.status_code)
    assert [e.id for e in await evidence_of(bureau, task.id)] == [made.id]
    assert await evidence_of(other_bureau, task.id) == []


async def test_unknown_ids_are_404_and_anonymous_visitors_are_sent_to_log_in(bureau, signed_in, client):
    staff = await signed_in(bureau, Role.unit_staff)
    missing = uuid.uuid4()
    for path in (f"/evidence/{missing}/download", f"/evidence/{missing}/thumbnail", f"/tasks/{missing}/evidence"):
        assert (await staff.get(path)).status_code == 404
    assert (await staff.get("/evidence/not-a-uuid/download")).status_code == 404
    anonymous = await client.get(f"/evidence/{missing}/download")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert (await client.get(f"/api/v1/evidence/{missing}")).status_code == 401


async def test_thumbnails_are_served_inline_as_jpeg(bureau, signed_in, no_jobs):
    task = await school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    await post_upload(staff, task.id, {"file": ("现场.jpg", samples.jpeg(800, 600), "image/jpeg")})
    [made] = await evidence_of(bureau, task.id)
    assert (await staff.get(f"/evidence/{made.id}/thumbnail")).status_code == 404  # not made yet
    assert 'hx-trigger="load delay:3s"' in (await staff.get(f"/tasks/{task.id}/evidence")).text  # polls for it
    async with unit_of_work(bureau.tenant.id) as session:
        from backend.evidence.thumbnails import make_thumbnail

        await make_thumbnail(session, made.id)
    response = await staff.get(f"/evidence/{made.id}/thumbnail")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.content.startswith(b"\xff\xd8\xff")
    items = await staff.get(f"/tasks/{task.id}/evidence?part=items", headers=HTMX)
    assert items.text.lstrip().startswith("<ul") and f"/evidence/{made.id}/thumbnail" in items.text
    assert "hx-trigger" not in items.text


async def test_a_30_mb_upload_through_http_is_never_held_whole(bureau, signed_in, no_jobs, tmp_path):
    task = await school_task(bureau)
    staff = await signed_in(bureau, Role.unit_staff)
    big = tmp_path / "长视频.mp4"
    with big.open("wb") as out:
        out.write(samples.mp4(2**20))
        filler = bytes(range(256)) * 4096  # 1 MB
        for _ in range(29):
            out.write(filler)
    token = await csrf_of(staff, "/")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with big.open("rb") as handle:
            response = await staff.post(f"/tasks/{task.id}/evidence", data={"csrf_token": token},
                                        files={"file": ("长视频.mp4", handle, "video/mp4")})
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 303, response.text[:300]
    [made] = await evidence_of(bureau, task.id)
    async with unit_of_work(bureau.tenant.id) as session:
        stored = await session.get(StoredFile, made.file_id)
    assert stored.size == 30 * 2**20
    # Client, server and storage together: a few chunks and the multipart parser's buffers, never 30 MB.
    assert peak < 6 * 2**20, f"peak {peak / 2**20:.1f} MB while uploading 30 MB"


def test_no_inline_script_in_the_templates():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "frontend" / "templates" / "evidence"
    for template in folder.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name
        assert "style=" not in text, template.name
