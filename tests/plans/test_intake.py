"""Plan intake through the pages, as an admin does it: upload → preview → edit → publish → tasks."""

import re
import uuid

from sqlmodel import col, select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.plans import service as plans
from backend.plans.models import PlanImport, PlanItem
from backend.tasks.models import Task, TaskAssignment, TaskChecklistItem, TaskTarget
from tests.support.fixtures import csrf_of, post_form
from tests.support.samples import SAMPLES


async def _upload(client, name: str, data: bytes | None = None):
    token = await csrf_of(client, "/plans")
    content = data if data is not None else (SAMPLES / name).read_bytes()
    return await client.post("/plans/import", data={"csrf_token": token}, files={"file": (name, content, "text/plain")})


def _import_id(response) -> str:
    assert response.status_code == 303, response.text[:2000]
    return response.headers["location"].rsplit("/", 1)[-1]


async def _draft(bureau, import_id: str) -> PlanImport:
    async with unit_of_work(bureau.tenant.id) as session:
        return await session.get(PlanImport, uuid.UUID(import_id))


async def test_upload_preview_edit_publish(signed_in, bureau):
    client = await signed_in(bureau, Role.admin)
    import_id = _import_id(await _upload(client, "003_b8ce0ceb39984800.txt"))
    preview = await client.get(f"/plans/imports/{import_id}")
    assert preview.status_code == 200
    assert "常州市教育局" in preview.text
    assert 'class="m-target"' in preview.text and 'class="m-deadline"' in preview.text
    draft = await _draft(bureau, import_id)
    first = draft.document["sections"][0]["items"][0]
    items_before = sum(len(s["items"]) for s in draft.document["sections"])

    renamed = await post_form(client, f"/plans/imports/{import_id}/edit", {
        "operation": "rename_item", "key": first["key"], "title": "改过的标题", "version": draft.version,
    }, page=f"/plans/imports/{import_id}")
    assert renamed.status_code == 303
    bad_date = await post_form(client, f"/plans/imports/{import_id}/edit", {
        "operation": "deadline", "key": first["key"], "deadline": "2023-13-45", "version": draft.version + 1,
    }, page=f"/plans/imports/{import_id}")
    assert bad_date.status_code == 422 and "日期格式不对" in bad_date.text
    stale = await post_form(client, f"/plans/imports/{import_id}/edit", {
        "operation": "rename_item", "key": first["key"], "title": "过期表单", "version": draft.version,
    }, page=f"/plans/imports/{import_id}")
    assert stale.status_code == 409 and "刷新页面" in stale.text
    await post_form(client, f"/plans/imports/{import_id}/edit", {
        "operation": "deadline", "key": first["key"], "deadline": "2023-09-30", "version": draft.version + 1,
    }, page=f"/plans/imports/{import_id}")

    draft = await _draft(bureau, import_id)
    published = await post_form(client, f"/plans/imports/{import_id}/publish",
                                {"version": draft.version, "confirm_dates": "1"},
                                page=f"/plans/imports/{import_id}")
    assert published.status_code == 303
    plan_url = published.headers["location"].split("?")[0]
    plan_page = await client.get(plan_url)
    assert "改过的标题" in plan_page.text and "督-2023-001" in plan_page.text
    async with unit_of_work(bureau.tenant.id) as session:
        tasks = (await session.exec(select(Task).where(Task.year == 2023).order_by(Task.seq))).all()
        assert len(tasks) == items_before
        assert tasks[0].title == "改过的标题" and str(tasks[0].deadline) == "2023-09-30"
        assert [t.number for t in tasks[:2]] == ["督-2023-001", "督-2023-002"]
        undated = [t for t in tasks if t.plan_item_id and str(t.deadline) == "2023-12-31"]
        assert undated, "items without a stated deadline are due at the end of the plan's year"
        ids = [t.id for t in tasks]
        checklist = (await session.exec(select(TaskChecklistItem).where(col(TaskChecklistItem.task_id).in_(ids)))).all()
        targets = (await session.exec(select(TaskTarget).where(col(TaskTarget.task_id).in_(ids)))).all()
    measures = sum(len(i["measures"]) for s in draft.document["sections"] for i in s["items"])
    assert len(checklist) == measures and measures > 0
    assert targets

    source = await client.get(f"{plan_url}/source")
    assert source.status_code == 200
    assert source.headers["content-disposition"].startswith("attachment")
    assert source.content == (SAMPLES / "003_b8ce0ceb39984800.txt").read_bytes()


async def test_same_document_again_is_offered_as_update(signed_in, bureau):
    client = await signed_in(bureau, Role.admin)
    import_id = _import_id(await _upload(client, "002_667994beb315eca0.txt"))
    assert _import_id(await _upload(client, "002_667994beb315eca0.txt")) == import_id  # the open draft again
    draft = await _draft(bureau, import_id)
    if not draft.document["title"]:  # sample 002 has no title line: publishing asks for one
        refused = await post_form(client, f"/plans/imports/{import_id}/publish",
                                  {"version": draft.version, "confirm_dates": "1"},
                                  page=f"/plans/imports/{import_id}")
        assert refused.status_code == 422 and "请先填写计划标题" in refused.text
        await post_form(client, f"/plans/imports/{import_id}/edit", {
            "operation": "meta", "title": "2020年未央区教育工作要点", "issuer": draft.document["issuer"] or "",
            "year": draft.document["year"], "version": draft.version}, page=f"/plans/imports/{import_id}")
        draft = await _draft(bureau, import_id)
    published = await post_form(client, f"/plans/imports/{import_id}/publish",
                                {"version": draft.version, "confirm_dates": "1"},
                                page=f"/plans/imports/{import_id}")
    assert published.status_code == 303
    again = _import_id(await _upload(client, "002_667994beb315eca0.txt"))
    assert again != import_id
    preview = await client.get(f"/plans/imports/{again}")
    assert "已发布过这份工作要点" in preview.text
    second = await _draft(bureau, again)
    result = await post_form(client, f"/plans/imports/{again}/publish",
                             {"version": second.version, "confirm_dates": "1"},
                             page=f"/plans/imports/{again}")
    assert "created=0" in result.headers["location"]
    async with unit_of_work(bureau.tenant.id) as session:
        count = len((await session.exec(select(Task).where(Task.year == draft.document["year"]))).all())
    assert count == sum(len(s["items"]) for s in draft.document["sections"])


async def test_owners_in_text_become_assignments(signed_in, bureau):
    client = await signed_in(bureau, Role.admin)
    text = ("2024年机关党建工作要点\n一、加强党的建设\n1.深化理论学习。全年开展专题学习12次。"
            "（责任单位：办公室；配合单位：实验小学、不存在科）\n2.推进清廉学校建设。6月底前完成。\n")
    token = await csrf_of(client, "/plans")
    response = await client.post("/plans/import", data={"csrf_token": token, "pasted": text})
    import_id = _import_id(response)
    draft = await _draft(bureau, import_id)
    published = await post_form(client, f"/plans/imports/{import_id}/publish",
                                {"version": draft.version, "confirm_dates": "1"},
                                page=f"/plans/imports/{import_id}")
    plan_id = published.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    async with unit_of_work(bureau.tenant.id) as session:
        tasks = (await session.exec(
            select(Task).join(PlanItem, col(PlanItem.id) == Task.plan_item_id)
            .where(PlanItem.plan_id == uuid.UUID(plan_id)).order_by(Task.seq)
        )).all()
        assignments = (await session.exec(
            select(TaskAssignment).where(col(TaskAssignment.task_id).in_([t.id for t in tasks]))
        )).all()
    assert [t.state for t in tasks] == ["assigned", "unassigned"]
    assert str(tasks[1].deadline) == "2024-06-30"
    kinds = sorted((a.kind, a.unit_id) for a in assignments)
    assert kinds == sorted([("lead", bureau.units["office"].id), ("cooperating", bureau.units["school"].id)])
    page = await client.get(f"/plans/{plan_id}")
    assert "牵头：办公室" in page.text and "配合：实验小学" in page.text
    assert "文中的单位“不存在科”在本局单位中找不到" in page.text


async def test_bad_files_get_clear_messages_and_nothing_is_saved(signed_in, bureau):
    client = await signed_in(bureau, Role.admin)
    empty = await _upload(client, "empty.txt", b"")
    assert empty.status_code == 422 and "空文件" in empty.text
    image = await _upload(client, "scan.pdf", b"%PDF-1.4\n%%EOF\n")
    assert image.status_code == 422
    assert re.search(r"(扫描|文字|PDF)", image.text)
    pasted = await post_form(client, "/plans/import", {"pasted": "   "}, page="/plans")
    assert pasted.status_code == 422 and "粘贴的内容是空的" in pasted.text
    async with unit_of_work(bureau.tenant.id) as session:
        drafts = (await session.exec(select(PlanImport).where(PlanImport.status == "draft"))).all()
        assert drafts == []


async def test_roles_without_the_right_and_other_bureaus(signed_in, bureau, other_bureau):
    admin = await signed_in(bureau, Role.admin)
    import_id = _import_id(await _upload(admin, "004_89347142f8fed752.txt"))
    staff = await signed_in(bureau, Role.unit_staff)
    refused = await _upload(staff, "004_89347142f8fed752.txt")
    assert refused.status_code == 403
    assert (await staff.get(f"/plans/imports/{import_id}")).status_code == 403
    stranger = await signed_in(other_bureau, Role.admin)
    assert (await stranger.get(f"/plans/imports/{import_id}")).status_code == 404
    edit = await post_form(stranger, f"/plans/imports/{import_id}/publish",
                           {"version": 1, "confirm_dates": "1"}, page="/plans")
    assert edit.status_code == 404
    async with unit_of_work(bureau.tenant.id) as session:
        draft = await plans.get_import(session, bureau.actors[Role.admin], uuid.UUID(import_id))
        assert draft.status == "draft" and draft.version == 1


async def test_search_across_scripts(signed_in, bureau):
    client = await signed_in(bureau, Role.admin)
    import_id = _import_id(await _upload(client, "000_c7232f6de0a13980.txt"))  # written in traditional characters
    draft = await _draft(bureau, import_id)
    published = await post_form(client, f"/plans/imports/{import_id}/publish",
                                {"version": draft.version, "confirm_dates": "1"},
                                page=f"/plans/imports/{import_id}")
    plan_url = published.headers["location"].split("?")[0]
    simplified = await client.get(plan_url, params={"q": "党建引领"})
    assert "堅持黨建引領" in simplified.text  # the original text is kept and found by its simplified form
    nothing = await client.get(plan_url, params={"q": "不可能出现的词语"})
    assert "没有找到包含" in nothing.text
