"""The preview's groups and level changes through the app, as an admin uses them: groups shown under their
section, items from a table or a month calendar marked, one button a level up or down for a section or the whole
plan (with the stale-form rule), the same through the API, and publishing keeps each item's group."""

import re
import uuid

from sqlmodel import col, select

from backend.core.roles import Role
from backend.core.versions import missing_version_message
from backend.db import unit_of_work
from backend.plans import service as plans
from backend.plans.models import PlanImport, PlanItem
from backend.tasks.models import Task
from tests.plans.test_api import _headers
from tests.plans.test_levels_edit import MEASURED, grouped_plan
from tests.support.fixtures import post_form


async def _paste(client, text: str) -> str:
    response = await post_form(client, "/plans/import", {"pasted": text}, page="/plans")
    assert response.status_code == 303, response.text[:2000]
    return response.headers["location"].rsplit("/", 1)[-1]


async def _draft(bureau, import_id: str) -> PlanImport:
    async with unit_of_work(bureau.tenant.id) as session:
        return await session.get(PlanImport, uuid.UUID(import_id))


def _group_headings(page: str) -> list[str]:
    return re.findall(r'<h3 class="group-heading">([^<]*)</h3>', page)


async def test_measures_to_items_for_one_section_then_publish(signed_in, bureau):
    client = await signed_in(bureau, Role.admin)
    import_id = await _paste(client, MEASURED)
    preview = (await client.get(f"/plans/imports/{import_id}")).text
    assert "措施拆为条目（2 条）" in preview, "the whole plan's button counts the items it would cut"
    assert "措施拆为条目（1 条）" in preview and not _group_headings(preview)
    draft = await _draft(bureau, import_id)
    first = draft.document["sections"][0]["key"]
    page = f"/plans/imports/{import_id}"

    cut = await post_form(client, f"{page}/levels", {"operation": "measures_to_items", "section_key": first,
                                                     "version": draft.version}, page=page)
    assert cut.status_code == 303 and cut.headers["location"].endswith(f"#s-{first}")
    preview = (await client.get(page)).text
    assert _group_headings(preview) == ["1. 新改扩建中小学26所，9月底前完成规划"]
    assert "3. 开展教师培训</h3>" in preview, "the other section is as it was"

    stale = await post_form(client, f"{page}/levels", {"operation": "groups_to_items", "section_key": first,
                                                       "version": draft.version}, page=page)
    assert stale.status_code == 409 and "刷新页面" in stale.text
    missing = await post_form(client, f"{page}/levels", {"operation": "groups_to_items"}, page=page)
    assert missing.status_code == 409 and missing_version_message() in missing.text
    unknown = await post_form(client, f"{page}/levels", {"operation": "remove", "version": draft.version + 1},
                              page=page)
    assert unknown.status_code == 422 and "不支持的修改操作" in unknown.text
    nothing = await post_form(client, f"{page}/levels", {"operation": "groups_to_items", "version": draft.version + 1,
                                                         "section_key": draft.document["sections"][1]["key"]},
                              page=page)
    assert nothing.status_code == 422 and "没有分组" in nothing.text
    assert (await _draft(bureau, import_id)).version == draft.version + 1, "no refused form changed the draft"

    published = await post_form(client, f"{page}/publish", {"version": draft.version + 1, "confirm_dates": "1"},
                                page=page)
    assert published.status_code == 303
    plan_url = published.headers["location"].split("?")[0]
    assert _group_headings((await client.get(plan_url)).text) == ["1. 新改扩建中小学26所，9月底前完成规划"]
    async with unit_of_work(bureau.tenant.id) as session:
        items = (await session.exec(select(PlanItem).where(
            PlanItem.plan_id == uuid.UUID(plan_url.rsplit("/", 1)[-1])).order_by(col(PlanItem.position)))).all()
    assert [(i.group_label, i.title) for i in items[:3]] == [
        ("1", "新改扩建中小学26所，9月底前完成规划"), ("1", "完成选址，5月底前报批"), ("1", "开工建设10所")]
    assert items[3].group_title is None
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.plan_item_id == items[1].id))).one()
    assert ("一、推进教育现代化 › 1. 新改扩建中小学26所，9月底前完成规划"
            in (await client.get(f"/tasks/{task.id}")).text), "the task's page says where it sits in the plan"

    again = await _paste(client, MEASURED.replace("培育优质学校8所", "培育优质学校9所"))  # the same plan, updated
    draft = await _draft(bureau, again)
    assert draft.updates_plan_id is not None
    await post_form(client, f"/plans/imports/{again}/publish", {"version": draft.version}, page=page)
    async with unit_of_work(bureau.tenant.id) as session:
        updated = await session.get(PlanItem, items[0].id)
    assert (updated.group_label, updated.group_title) == (None, None), "an update carries the item's new level"


async def test_groups_and_sources_shown_and_turned_into_items_through_the_api(signed_in, client, bureau,
                                                                              monkeypatch):
    async def parsed(data, filename):
        return grouped_plan()

    monkeypatch.setattr(plans, "parse_bounded", parsed)  # the parser's three levels, tables and calendars
    admin = await signed_in(bureau, Role.admin)
    import_id = await _paste(admin, "三级计划")
    preview = (await admin.get(f"/plans/imports/{import_id}")).text
    assert _group_headings(preview) == ["（一）抓好政治建设", "（二）抓好基层组织建设"]
    assert preview.count("来自表格") == 2 and preview.count("来自月历") == 1
    assert "分组升为条目（2 组）" in preview

    draft = await _draft(bureau, import_id)
    headers = await _headers(bureau)
    edited = await client.post(f"/api/v1/plan-imports/{import_id}/edits", headers=headers, json={
        "version": draft.version, "operation": "groups_to_items", "args": {}})
    assert edited.status_code == 200, edited.text
    items = edited.json()["document"]["sections"][0]["items"]
    assert [(i["title"], len(i["measures"]), i["group"]) for i in items] == [
        ("抓好政治建设", 2, None), ("抓好基层组织建设", 2, None), ("做好信访工作", 0, None)]
    stale = await client.post(f"/api/v1/plan-imports/{import_id}/edits", headers=headers, json={
        "version": draft.version, "operation": "measures_to_items", "args": {}})
    assert stale.status_code == 409
    back = await client.post(f"/api/v1/plan-imports/{import_id}/edits", headers=headers, json={
        "version": draft.version + 1, "operation": "measures_to_items", "args": {}})
    assert back.status_code == 200
    assert _group_headings((await admin.get(f"/plans/imports/{import_id}")).text) == [
        "（一）抓好政治建设", "（二）抓好基层组织建设"]
