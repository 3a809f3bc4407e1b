"""年考核 pages as the people who use them: the rubric, the results page and its forms, and the exports."""

import io
import re

from docx import Document
from openpyxl import load_workbook
from sqlmodel import select

from backend.accounts.service import create_api_token
from backend.assessments import rubric as rubrics
from backend.assessments import service as assessments
from backend.assessments.models import Assessment, AssessmentState
from backend.audit.models import AuditEvent
from backend.core.roles import Role
from backend.db import unit_of_work
from tests.assessments.world import YEAR, World, local
from tests.support.fixtures import make_client, post_form

RUBRIC = {"completion_weight": "40", "timeliness_weight": "20", "rating_weight": "30", "bonus_weight": "10",
          "rating_scale": "grade", "self_scoring": "1", "appeal_days": "5"}


async def test_admin_sets_the_rubric_and_bad_values_change_nothing(signed_in, bureau):
    admin = await signed_in(bureau, Role.admin)
    page = await admin.get("/admin/rubric")
    # The grade map is shown where the scale is chosen: 优 95, 良 85, 中 75, 差 60.
    assert page.status_code == 200 and re.search(r"<td>优</td><td>95</td>", page.text)
    assert re.search(r"<td>差</td><td>60</td>", page.text)
    bad = await post_form(admin, "/admin/rubric", RUBRIC | {"completion_weight": "45"}, page="/admin/rubric")
    assert bad.status_code == 422 and "合计须为 100" in bad.text and 'value="45"' in bad.text
    days = await post_form(admin, "/admin/rubric", RUBRIC | {"appeal_days": "60"}, page="/admin/rubric")
    assert days.status_code == 422 and "1 到 30" in days.text
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await rubrics.get_rubric(session, bureau.tenant.id)).appeal_days == 5
    saved = await post_form(admin, "/admin/rubric", RUBRIC | {"rating_scale": "score", "appeal_days": "7",
                                                             "completion_weight": "35", "bonus_weight": "15"},
                            page="/admin/rubric")
    assert saved.status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        rubric = await rubrics.get_rubric(session, bureau.tenant.id)
    assert (rubric.rating_scale, rubric.appeal_days, rubric.completion_weight, rubric.bonus_weight) == (
        "score", 7, 35, 15)
    for role in (Role.supervisor, Role.leader, Role.unit_head):
        other = await signed_in(bureau, role)
        assert (await other.get("/admin/rubric")).status_code == 403
        assert (await post_form(other, "/admin/rubric", RUBRIC)).status_code == 403


def _version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


async def test_the_year_through_its_pages_and_exports(world: World, signed_in, login_as, clock):
    clock(local(YEAR + 1, 1, 5))
    supervisor = await signed_in(world.bureau, Role.supervisor)
    opened = await post_form(supervisor, "/assessments", {"year": str(YEAR)}, page="/assessments")
    assert opened.status_code == 303
    path = opened.headers["location"].split("#")[0]
    page = await supervisor.get(path)
    assert page.text.count("已开启并完成首次计算。") == 1  # said once (core/feedback), and not on a reload:
    assert "已开启并完成首次计算。" not in (await supervisor.get(path)).text
    # Each term with its basis: A 办结 1/2 → 20.00; 按时 2/24 → 1.67; 均分 87.50（4 项）→ 26.25.
    for text in ("20.00", "办结 1/2", "1.67", "按时 2/24", "26.25", "均分 87.50（4 项）", "无已发布的点评"):
        assert text in page.text, text
    no_reason = await post_form(supervisor, f"{path}/adjustments", {
        "unit_id": str(world.units["A"]), "points": "3", "reason": "", "version": _version(page.text)}, page=path)
    assert no_reason.status_code == 422 and "必须写明理由" in no_reason.text and 'value="3"' in no_reason.text
    adjusted = await post_form(supervisor, f"{path}/adjustments", {
        "unit_id": str(world.units["A"]), "points": "3", "reason": "承办全市现场会", "version": _version(page.text)},
        page=path)
    assert adjusted.status_code == 303
    leader = await signed_in(world.bureau, Role.leader)
    assert (await post_form(leader, f"{path}/adjustments", {"unit_id": str(world.units["A"]), "points": "1",
                                                             "reason": "越权", "version": "1"})).status_code == 403
    head = await signed_in(world.bureau, Role.unit_head)  # 实验小学's head
    own = await head.get(path)
    assert own.status_code == 200 and "本单位自评" in own.text and "26.25" not in own.text  # drafts stay drafts
    assert (await post_form(head, f"{path}/self-score", {"self_total": "88", "self_note": "全年推进顺利", "seen": ""},
                            page=path)).status_code == 303
    page = await supervisor.get(path)
    published = await post_form(supervisor, f"{path}/publish", {"version": _version(page.text)}, page=path)
    assert published.status_code == 303
    staff_c = await login_as(world.usernames["C", Role.unit_staff])
    assert (await staff_c.get(path)).status_code == 200
    appeal = await post_form(head, f"{path}/appeals", {"text": "T3 办结材料已补交。"}, page=path)
    assert appeal.status_code == 303
    page = await supervisor.get(path)
    appeal_id = re.search(r'action="/assessment-appeals/([0-9a-f-]+)/answer"', page.text).group(1)
    early = await post_form(supervisor, f"{path}/finalise", {"version": _version(page.text)}, page=path)
    assert early.status_code == 409 and "申诉期至" in early.text
    answered = await post_form(supervisor, f"/assessment-appeals/{appeal_id}/answer",
                               {"decision": "dismissed", "response": "已核实，分数无误。"}, page=path)
    assert answered.status_code == 303
    clock(local(YEAR + 1, 1, 11))  # published 01-05 + 5 days → appeals until 01-10; finalise from 01-11
    supervisor = await signed_in(world.bureau, Role.supervisor)  # six days on: yesterday's sign-in has lapsed
    page = await supervisor.get(path)
    assert (await post_form(supervisor, f"{path}/finalise", {"version": _version(page.text)},
                            page=path)).status_code == 303
    page = await supervisor.get(path)
    assert "重新计算" not in page.text  # a final assessment offers no change; a posted one is refused
    locked = await post_form(supervisor, f"{path}/compute", {}, page=path)
    assert locked.status_code == 409 and "定稿锁定" in locked.text
    admin = await signed_in(world.bureau, Role.admin)
    page = await admin.get(path)
    assert (await post_form(admin, f"{path}/reopen", {"reason": "", "version": _version(page.text)},
                            page=path)).status_code == 422
    assert (await post_form(admin, f"{path}/reopen", {"reason": "更正加分", "version": _version(page.text)},
                            page=path)).status_code == 303
    async with unit_of_work(world.tenant_id) as session:
        assessment = (await session.exec(select(Assessment).where(Assessment.year == YEAR))).one()
        reopen = (await session.exec(select(AuditEvent).where(AuditEvent.action == "assessment.reopen"))).one()
    assert assessment.state == AssessmentState.published and reopen.details == {"reason": "更正加分"}

    # Exports. 办公室 20 + 1.6667 + 26.25 + 3 = 50.92 → 1; 实验小学 20 + 3.3333 + 24 = 47.33 → 2; 第二中学 0 → 3.
    workbook = load_workbook(io.BytesIO((await supervisor.get(f"{path}/results.xlsx")).content))
    results = [list(r[:7]) for r in workbook["考核结果"].iter_rows(min_row=3, values_only=True)]
    assert results == [[1, "办公室", 20, 1.67, 26.25, 3, 50.92], [2, "实验小学", 20, 3.33, 24, 0, 47.33],
                       [3, "第二中学", 0, 0, 0, 0, 0]]
    assert list(workbook["加减分"].iter_rows(min_row=3, values_only=True))[0][:3] == ("办公室", 3, "承办全市现场会")
    document = Document(io.BytesIO((await supervisor.get(f"{path}/results.docx")).content))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == world.bureau.tenant.name and f"{YEAR}年度工作目标考核结果" in paragraphs
    masthead = document.paragraphs[0].runs[0]
    assert masthead.font.color.rgb == (0xC0, 0x00, 0x00) and masthead.font.name == "黑体"
    cells = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert cells[0][5] == "缺项折算" and cells[1] == ["1", "办公室", "20.00", "1.67", "26.25", "", "+3.00", "50.92"]
    assert cells[3][:2] == ["3", "第二中学"] and cells[3][5] == "×1.50"  # no published rating: 90 / 60, as the page
    assert "PAGE" in document.sections[0].footer.paragraphs[0]._p.xml
    staff_c = await login_as(world.usernames["C", Role.unit_staff])  # signed in again: six days have passed
    assert (await staff_c.get(f"{path}/results.xlsx")).status_code == 200  # published results are the bureau's


async def test_other_bureaus_get_404_and_roles_without_the_right_are_refused(world: World, signed_in, other_bureau,
                                                                              clock):
    clock(local(YEAR + 1, 1, 5))
    supervisor = await signed_in(world.bureau, Role.supervisor)
    path = (await post_form(supervisor, "/assessments", {"year": str(YEAR)}, page="/assessments")
            ).headers["location"].split("#")[0]
    for role in (Role.supervisor, Role.admin, Role.unit_head):
        outsider = await signed_in(other_bureau, role)
        for url in (path, f"{path}/results.xlsx", f"{path}/results.docx"):
            response = await outsider.get(url)
            assert response.status_code == 404 and "第二中学" not in response.text, (role, url)
        for url, data in ((f"{path}/compute", {}), (f"{path}/adjustments", {"unit_id": str(world.units["A"]),
                                                                            "points": "1", "reason": "x"}),
                          (f"{path}/self-score", {"self_total": "1"}), (f"{path}/publish", {}),
                          (f"{path}/appeals", {"text": "x"}), (f"{path}/finalise", {}),
                          (f"{path}/reopen", {"reason": "x"})):
            assert (await post_form(outsider, url, data)).status_code == 404, (role, url)
    # Unit staff do not see an open assessment; a leader reads it but cannot compute or publish.
    staff = await signed_in(world.bureau, Role.unit_staff)
    assert (await staff.get(path)).status_code == 404
    leader = await signed_in(world.bureau, Role.leader)
    assert (await leader.get(path)).status_code == 200
    for url in (f"{path}/compute", f"{path}/publish"):
        refused = await post_form(leader, url, {}, page=path)
        assert refused.status_code == 403 and "无权" in refused.text
    assert (await post_form(leader, "/assessments", {"year": str(YEAR)})).status_code == 403


async def test_the_results_as_json_for_scripts(world: World, app, other_bureau, clock):
    clock(local(YEAR + 1, 1, 5))
    async with unit_of_work(world.tenant_id) as session:
        assessment = await assessments.open_assessment(session, world.actor(Role.supervisor), year=YEAR)
    tokens = {}
    for name, tenant_id, actor in (("supervisor", world.tenant_id, world.actor(Role.supervisor)),
                                   ("staff", world.tenant_id, world.actor(Role.unit_staff)),
                                   ("outsider", other_bureau.tenant.id, other_bureau.actors[Role.supervisor])):
        async with unit_of_work(tenant_id) as session:
            tokens[name] = (await create_api_token(session, actor, name="脚本"))[1]
    async with make_client(app) as client:
        url = f"/api/v1/assessments/{assessment.id}"
        got = await client.get(url, headers={"Authorization": f"Bearer {tokens['supervisor']}"})
        assert got.status_code == 200
        body = got.json()
        # 办公室 20 + 1.6667 + 26.25 = 47.92 → rank 1; 实验小学 20 + 3.3333 + 24 = 47.33 → 2; 第二中学 0 → 3.
        assert [(s["unit_name"], s["rank"], round(s["total"], 2)) for s in body["scores"]] == [
            ("办公室", 1, 47.92), ("实验小学", 2, 47.33), ("第二中学", 3, 0)]
        assert body["state"] == "open" and body["completion_weight"] == 40
        for name in ("staff", "outsider"):  # staff: not yet published; outsider: another bureau's
            refused = await client.get(url, headers={"Authorization": f"Bearer {tokens[name]}"})
            assert refused.status_code == 404, name
