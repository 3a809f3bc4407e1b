"""A 任务分解表 imported into a published plan: preview, settle unknown units, confirm against the same file."""

import io

from openpyxl import Workbook
from sqlmodel import select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.plans.models import Plan
from backend.tasks.models import Task, TaskAssignment
from backend.tenancy.models import Unit
from tests.support.fixtures import csrf_of, post_form


def _table() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["2024年教育工作要点任务分解表"])
    sheet.merge_cells("A1:E1")
    sheet.append(["完成时限", "序号", "工作任务", "牵头单位", "配合单位"])
    sheet.append(["2024年6月底前", 1, "深化理论学习", "办公室", "实验小学"])
    sheet.append(["年底前", 2, "新改扩建中小学26所", "基教科", ""])
    sheet.append(["", 9, "表里有、计划里没有的任务", "办公室", ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _plan_id(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        return (await session.exec(select(Plan.id))).one()


async def _upload(client, plan_id, content: bytes, name="分解表.xlsx"):
    token = await csrf_of(client, f"/plans/{plan_id}")
    return await client.post(f"/plans/{plan_id}/responsibilities", data={"csrf_token": token},
                             files={"file": (name, content, "application/octet-stream")})


async def test_preview_settle_and_confirm(signed_in, bureau):
    client = await signed_in(bureau, Role.supervisor)
    plan_id = await _plan_id(bureau)
    preview = await _upload(client, plan_id, _table())
    assert preview.status_code == 200, preview.text[:1000]
    assert "基教科" in preview.text and "需要确认的单位" in preview.text
    assert "在工作要点中找不到对应条目" in preview.text
    sha = preview.text.split('name="sha256" value="')[1].split('"')[0]

    unsettled = await post_form(client, f"/plans/{plan_id}/responsibilities/confirm",
                                {"sha256": sha, "unit:基教科": ""}, page=f"/plans/{plan_id}")
    assert unsettled.status_code == 422 and "请为这些单位选择" in unsettled.text and "基教科" in unsettled.text

    not_allowed = await post_form(client, f"/plans/{plan_id}/responsibilities/confirm",
                                  {"sha256": sha, "unit:基教科": "new"}, page=f"/plans/{plan_id}")
    assert not_allowed.status_code == 422 and "需要系统管理员" in not_allowed.text
    admin = await signed_in(bureau, Role.admin)  # the administrator may create the unit while confirming
    done = await post_form(admin, f"/plans/{plan_id}/responsibilities/confirm",
                           {"sha256": sha, "unit:基教科": "new"}, page=f"/plans/{plan_id}")
    assert done.status_code == 303 and "assigned=2" in done.headers["location"]
    async with unit_of_work(bureau.tenant.id) as session:
        tasks = {t.title: t for t in (await session.exec(select(Task))).all()}
        units = {u.name: u.id for u in (await session.exec(select(Unit))).all()}
        assignments = {(a.task_id, a.unit_id, a.kind) for a in (await session.exec(select(TaskAssignment))).all()}
    study = tasks["深化理论学习"]
    assert str(study.deadline) == "2024-06-30" and study.state == "assigned"
    assert (study.id, units["办公室"], "lead") in assignments
    assert (study.id, units["实验小学"], "cooperating") in assignments
    building = next(t for title, t in tasks.items() if "新改扩建" in title)
    assert (building.id, units["基教科"], "lead") in assignments


async def test_bad_table_and_other_bureau(signed_in, bureau, other_bureau):
    client = await signed_in(bureau, Role.supervisor)
    plan_id = await _plan_id(bureau)
    broken = await _upload(client, plan_id, b"not a spreadsheet at all", "x.xlsx")
    assert broken.status_code == 422 and ".xlsx" in broken.text
    preview = await _upload(client, plan_id, _table())
    sha = preview.text.split('name="sha256" value="')[1].split('"')[0]
    stranger = await signed_in(other_bureau, Role.supervisor)
    refused = await post_form(stranger, f"/plans/{plan_id}/responsibilities/confirm",
                              {"sha256": sha, "unit:基教科": "new"}, page="/plans")
    assert refused.status_code == 404
    staff = await signed_in(bureau, Role.unit_staff)
    assert (await _upload(staff, plan_id, _table())).status_code == 403
    async with unit_of_work(bureau.tenant.id) as session:
        assert "基教科" not in {u.name for u in (await session.exec(select(Unit))).all()}
