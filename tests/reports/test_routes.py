"""Report pages (plain HTML forms, no JavaScript needed) and the report API: the main paths, what each role may
do, bad input that keeps what was typed, and another bureau's members finding nothing."""

import re

import pytest

from backend.reports import service as reports
from tests.reports.helpers import (
    EARLY_NOVEMBER,
    count_reports,
    events,
    filed,
    main,
    make_loop,
    report_for,
    report_of,
    run,
    save,
    set_settings,
    task_of,
)


@pytest.fixture(autouse=True)
def _november(clock):
    clock(EARLY_NOVEMBER)


def form_data(**values) -> dict:
    data = {"period": "2026-11", "version": "0", "progress": "开展专题学习3次", "problems": "", "next_steps": "",
            "support_needed": "", "percent": "30", "expected_completion": "", "action": "save"}
    return {**data, **values}


# --- the report form -------------------------------------------------------------------------------------


async def test_staff_fill_in_save_and_submit_the_report_form(loop, browser):
    staff = await browser(loop.usernames["staff"])
    page = await staff.get(f"/tasks/{loop.task_id}/report")
    assert page.status_code == 200
    html = main(page)
    for name, label in (("progress", "进展情况"), ("problems", "存在问题"), ("next_steps", "下步措施"),
                        ("support_needed", "需协调事项"), ("percent", "完成进度"),
                        ("expected_completion", "预计完成时间")):
        assert re.search(rf'<label for="f-{name}">{label}', html), name
        assert f'id="f-{name}" name="{name}"' in html
    assert f'name="actual-{loop.target_id}"' in html and "开展专题学习不少于12次" in html
    assert "本月无新进展" in html and "申请办结" in html and "2026年11月" in html
    assert "本单位配合情况" not in html

    saved = await staff.post(f"/tasks/{loop.task_id}/report",
                             form_data(problems="场地紧张", **{f"actual-{loop.target_id}": "3"}))
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/tasks/{loop.task_id}/report?period=2026-11&notice=saved"
    page = main(await staff.get(saved.headers["location"]))
    assert "已保存草稿" in page and "场地紧张" in page and 'value="3"' in page and 'name="version" value="1"' in page

    sent = await staff.post(f"/tasks/{loop.task_id}/report", form_data(version="1", action="submit"))
    assert sent.status_code == 303 and sent.headers["location"].endswith("notice=submitted")
    page = main(await staff.get(sent.headers["location"]))
    assert "已提交" in page and "已报送，待审核" in page and 'name="progress"' not in page  # read-only now
    assert (await task_of(loop)).state == "in_progress"


async def test_bad_input_re_renders_the_form_with_the_message_and_what_was_typed(loop, browser):
    await save(loop, progress="已保存的进展", percent=20)
    staff = await browser(loop.usernames["staff"])
    response = await staff.post(f"/tasks/{loop.task_id}/report",
                                form_data(version="1", progress="新写的进展", percent="120"))
    assert response.status_code == 422
    html = main(response)
    assert 'id="e-percent"' in html and "0 到 100" in html and 'aria-invalid="true"' in html
    assert "新写的进展" in html and 'value="120"' in html
    kept = await report_for(loop)
    assert (kept.progress, kept.percent, kept.version) == ("已保存的进展", 20, 1)

    response = await staff.post(f"/tasks/{loop.task_id}/report",
                                form_data(version="1", **{f"actual-{loop.target_id}": "很多"}))
    assert response.status_code == 422 and f'id="e-actual-{loop.target_id}"' in response.text
    assert 'value="很多"' in response.text


async def test_submit_without_progress_keeps_the_saved_draft(loop, browser):
    staff = await browser(loop.usernames["staff"])
    response = await staff.post(f"/tasks/{loop.task_id}/report",
                                form_data(progress="", problems="先写了问题", action="submit"))
    assert response.status_code == 422 and 'id="e-progress"' in response.text
    assert "先写了问题" in response.text and 'name="version" value="1"' in response.text
    draft = await report_for(loop)
    assert draft.state == "draft" and draft.problems == "先写了问题"


async def test_a_double_submitted_form_makes_one_report(loop, browser):
    staff = await browser(loop.usernames["staff"])
    first = await staff.post(f"/tasks/{loop.task_id}/report", form_data(action="submit"))
    second = await staff.post(f"/tasks/{loop.task_id}/report", form_data(action="submit"))
    assert first.status_code == second.status_code == 303
    assert second.headers["location"].endswith("notice=already")
    assert "已经提交过" in main(await staff.get(second.headers["location"]))
    assert await count_reports(loop) == 1 and len(await events(loop, "report.submit")) == 1


async def test_a_stale_form_is_refused_and_what_was_typed_is_shown(loop, browser):
    staff = await browser(loop.usernames["staff"])
    assert (await staff.post(f"/tasks/{loop.task_id}/report", form_data(progress="第一次"))).status_code == 303
    stale = await staff.post(f"/tasks/{loop.task_id}/report", form_data(progress="另一个标签页写的"))
    assert stale.status_code == 409
    html = main(stale)
    assert "已被修改，请刷新" in html and "您刚才填写但未保存的内容" in html and "另一个标签页写的" in html
    assert (await report_for(loop)).progress == "第一次"


async def test_htmx_posts_get_a_redirect_header(loop, browser):
    staff = await browser(loop.usernames["staff"])
    response = await staff.client.post(f"/tasks/{loop.task_id}/report", data={**form_data(), "csrf_token": staff.csrf},
                                       headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith("notice=saved")


async def test_no_change_this_month_page(loop, browser):
    staff = await browser(loop.usernames["staff"])
    missing = await staff.post(f"/tasks/{loop.task_id}/report/no-change", {"reason": " ", "version": "0"})
    assert missing.status_code == 422 and 'id="e-reason"' in missing.text
    assert '<details class="card" open>' in missing.text
    done = await staff.post(f"/tasks/{loop.task_id}/report/no-change", {"reason": "等待上级批复", "version": "0"})
    assert done.status_code == 303 and done.headers["location"].endswith("notice=no_change")
    page = main(await staff.get(done.headers["location"]))
    assert "等待上级批复" in page and "无新进展" in page
    again = await staff.post(f"/tasks/{loop.task_id}/report/no-change", {"reason": "再点一次", "version": "0"})
    assert again.headers["location"].endswith("notice=already")


async def test_a_returned_report_shows_the_comment_and_can_be_fixed(loop, browser):
    report = await filed(loop)
    await run(loop, reports.review, loop.supervisor, report.id, accept=False, comment="请附学习签到表",
              version=report.version)
    staff = await browser(loop.usernames["staff"])
    page = main(await staff.get(f"/tasks/{loop.task_id}/report"))
    assert "退回意见" in page and "请附学习签到表" in page and 'name="progress"' in page
    fixed = await staff.post(f"/tasks/{loop.task_id}/report", form_data(version="3", action="submit"))
    assert fixed.status_code == 303 and (await report_of(loop, report.id)).state == "submitted"


async def test_an_earlier_period_is_reached_by_its_link(loop, browser):
    october = await filed(loop, period="2026-10")
    await run(loop, reports.review, loop.supervisor, october.id, accept=False, comment="补充", version=october.version)
    staff = await browser(loop.usernames["staff"])
    page = main(await staff.get(f"/tasks/{loop.task_id}/report"))
    assert "以下报告被退回" in page and "?period=2026-10" in page
    october_page = main(await staff.get(f"/tasks/{loop.task_id}/report?period=2026-10"))
    assert 'name="period" value="2026-10"' in october_page and "补充" in october_page
    bogus = main(await staff.get(f"/tasks/{loop.task_id}/report?period=2099-01"))
    assert 'name="period" value="2026-11"' in bogus  # an unknown period shows the current one


async def test_submit_route_for_a_saved_draft(loop, browser):
    draft = await save(loop)
    staff = await browser(loop.usernames["staff"])
    response = await staff.post(f"/reports/{draft.id}/submit", {"version": str(draft.version)})
    assert response.status_code == 303 and response.headers["location"].endswith("notice=submitted")
    again = await staff.post(f"/reports/{draft.id}/submit", {"version": str(draft.version)})
    assert again.headers["location"].endswith("notice=already")


# --- co-units, unit heads, supervisors -------------------------------------------------------------------


async def test_a_cooperating_unit_adds_its_part_on_the_report_page(loop, browser):
    co = await browser(loop.usernames["co_staff"])
    empty = main(await co.get(f"/tasks/{loop.task_id}/report"))
    assert "牵头单位尚未填写本期报告" in empty and 'name="progress"' not in empty
    draft = await save(loop, progress="办公室的进展")
    page = main(await co.get(f"/tasks/{loop.task_id}/report"))
    assert "办公室的进展" in page and f'action="/reports/{draft.id}/contribution"' in page
    blank = await co.post(f"/reports/{draft.id}/contribution", {"text": ""})
    assert blank.status_code == 422 and f'id="e-text-{draft.id}"' in blank.text
    added = await co.post(f"/reports/{draft.id}/contribution", {"text": "学校组织教师参加"})
    assert added.status_code == 303 and added.headers["location"].endswith("notice=contributed")
    assert "学校组织教师参加" in main(await co.get(added.headers["location"]))
    staff = await browser(loop.usernames["staff"])
    assert "学校组织教师参加" in main(await staff.get(f"/tasks/{loop.task_id}/report"))


async def test_unit_head_approves_from_the_queue(loop, browser):
    await set_settings(loop, unit_head_approval=True)
    staff = await browser(loop.usernames["staff"])
    sent = await staff.post(f"/tasks/{loop.task_id}/report", form_data(action="submit"))
    assert sent.headers["location"].endswith("notice=awaiting")
    report = await report_for(loop)
    head = await browser(loop.usernames["head"])
    queue = main(await head.get("/reviews"))
    assert "待我审核的本单位报告" in queue and f'action="/reports/{report.id}/unit-head"' in queue
    assert 'form="batch"' not in queue
    on_form = main(await head.get(f"/tasks/{loop.task_id}/report"))
    assert "单位负责人审核" in on_form
    no_comment = await head.post(f"/reports/{report.id}/unit-head",
                                 {"decision": "return", "comment": "", "version": str(report.version)})
    assert no_comment.status_code == 422 and "退回时必须填写意见" in no_comment.text
    approved = await head.post(f"/reports/{report.id}/unit-head",
                               {"decision": "approve", "version": str(report.version), "next": "/reviews"})
    assert approved.status_code == 303 and approved.headers["location"] == "/reviews#feedback"
    said = "已同意，报告已报送局里审核。"
    assert main(await head.get("/reviews")).count(said) == 1  # said once, where the head decided …
    assert said not in main(await head.get("/reviews"))  # … and not again on a reload
    assert (await report_of(loop, report.id)).state == "submitted"


async def test_supervisor_reviews_from_the_queue(loop, browser):
    report = await filed(loop, problems="经费不足")
    supervisor = await browser(loop.usernames["supervisor"])
    queue = main(await supervisor.get("/reviews"))
    assert loop.task_number in queue and "深化理论学习" in queue and "办公室" in queue and "经费不足" in queue
    assert f'value="{report.id}:{report.version}"' in queue and f'action="/reports/{report.id}/review"' in queue
    no_comment = await supervisor.post(f"/reports/{report.id}/review",
                                       {"decision": "return", "comment": "", "version": str(report.version)})
    assert no_comment.status_code == 422 and "退回时必须填写意见" in main(no_comment)
    returned = await supervisor.post(f"/reports/{report.id}/review", {
        "decision": "return", "comment": "请补充", "version": str(report.version), "next": "/reviews"})
    assert returned.status_code == 303
    assert main(await supervisor.get("/reviews")).count("已退回这份报告，承办单位会看到您的意见并修改后重报。") == 1
    stale = await supervisor.post(f"/reports/{report.id}/review",
                                  {"decision": "accept", "version": str(report.version)})
    assert stale.status_code == 409 and "已被修改，请刷新" in stale.text and "退回" in stale.text
    assert (await report_of(loop, report.id)).state == "returned"
    assert "没有待审核的报告" in main(await supervisor.get("/reviews"))


async def test_batch_accept_page_is_all_or_nothing(loop, browser):
    october = await filed(loop, period="2026-10")
    november = await filed(loop)
    supervisor = await browser(loop.usernames["supervisor"])
    refused = await supervisor.client.post("/reviews/batch", data={
        "csrf_token": supervisor.csrf, "report": [f"{october.id}:{october.version}", f"{november.id}:1"]})
    assert refused.status_code == 409 and "一份也没有通过" in refused.text
    assert (await report_of(loop, october.id)).state == "submitted"
    nothing = await supervisor.post("/reviews/batch", {})
    assert nothing.status_code == 422 and "请先勾选" in nothing.text
    junk = await supervisor.post("/reviews/batch", {"report": "not-an-id"})
    assert junk.status_code == 422
    accepted = await supervisor.client.post("/reviews/batch", data={
        "csrf_token": supervisor.csrf,
        "report": [f"{october.id}:{october.version}", f"{november.id}:{november.version}"]})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/reviews#feedback"
    assert main(await supervisor.get("/reviews")).count("已批量通过 2 份报告") == 1
    assert {(await report_of(loop, r.id)).state for r in (october, november)} == {"accepted"}


async def test_completion_is_requested_and_approved_on_pages(loop, browser):
    staff = await browser(loop.usernames["staff"])
    task = await task_of(loop)
    empty = await staff.post(f"/tasks/{loop.task_id}/completion", {"summary": "", "version": str(task.version)})
    assert empty.status_code == 422 and 'id="e-summary"' in empty.text
    asked = await staff.post(f"/tasks/{loop.task_id}/completion",
                             {"summary": "全年任务完成", "version": str(task.version)})
    assert asked.status_code == 303 and asked.headers["location"].endswith("notice=completion")
    again = await staff.post(f"/tasks/{loop.task_id}/completion",
                             {"summary": "全年任务完成", "version": str(task.version)})
    assert again.headers["location"].endswith("notice=already")
    page = main(await staff.get(f"/tasks/{loop.task_id}/report"))
    assert "已申请办结，待审批" in page and "全年任务完成" in page
    supervisor = await browser(loop.usernames["supervisor"])
    queue = main(await supervisor.get("/reviews"))
    request = (await run(loop, reports.review_queue, loop.supervisor))[0].report
    assert "办结申请" in queue and f'action="/reports/{request.id}/completion"' in queue
    # Before deciding the supervisor sees what is unfinished; approving without a reason is refused, text kept.
    assert "以下事项尚未完成" in queue and "目标“一是开展专题学习不少于12次”：目前 未填报，目标 12次" in queue
    assert "工作措施 2 项中已勾选 0 项" in queue and "配合单位 实验小学：未签收，也未报送任何进展" in queue
    refused = await supervisor.post(f"/reports/{request.id}/completion",
                                    {"decision": "approve", "version": str(request.version), "comment": "同意"})
    assert refused.status_code == 422 and "请填写办结理由" in refused.text and ">同意</textarea>" in refused.text
    assert main(refused).count("请填写办结理由") == 1  # beside the row acted on, not again at the top
    assert (await task_of(loop)).state == "completion_requested"
    approved = await supervisor.post(f"/reports/{request.id}/completion",
                                     {"decision": "approve", "version": str(request.version),
                                      "override_reason": "学习已按年度计划完成，次数以年终统计为准"})
    assert approved.status_code == 303
    assert (await task_of(loop)).state == "done"
    ledger = main(await supervisor.get(f"/tasks/{loop.task_id}/reports"))
    assert "办结理由：学习已按年度计划完成" in ledger and "办结时尚未完成：目标“一是开展专题学习" in ledger
    task_page = main(await supervisor.get(f"/tasks/{loop.task_id}"))
    assert "已办结" in task_page and "办结前最后一次报送的进度" in task_page  # not a 100% nobody reported


async def test_bureau_roles_read_the_reports_page_but_not_the_form(loop, browser):
    await filed(loop, problems="需要经费")
    leader = await browser(loop.usernames["leader"])
    redirected = await leader.get(f"/tasks/{loop.task_id}/report")
    assert redirected.status_code == 303 and redirected.headers["location"] == f"/tasks/{loop.task_id}/reports"
    ledger = await leader.get(f"/tasks/{loop.task_id}/reports")
    assert ledger.status_code == 200 and "需要经费" in main(ledger) and "已报送，待审核" in main(ledger)
    assert (await leader.get("/reviews")).status_code == 403


async def test_report_settings_page(loop, browser):
    admin = await browser(loop.usernames["admin"])
    page = main(await admin.get("/admin/report-settings"))
    assert 'value="25"' in page and "本单位负责人审核" in page
    bad = await admin.post("/admin/report-settings", {"report_day": "40"})
    assert bad.status_code == 422 and 'id="e-report_day"' in bad.text and 'value="40"' in bad.text
    ok = await admin.post("/admin/report-settings", {"report_day": "20", "unit_head_approval": "1"})
    assert ok.status_code == 303
    page = main(await admin.get(ok.headers["location"]))
    assert "报送规则已保存" in page and 'value="20"' in page and "checked" in page
    supervisor = await browser(loop.usernames["supervisor"])
    assert (await supervisor.get("/admin/report-settings")).status_code == 403
    assert (await supervisor.post("/admin/report-settings", {"report_day": "5"})).status_code == 403


# --- who may do what -------------------------------------------------------------------------------------


async def test_roles_without_the_right_get_403_and_change_nothing(loop, browser):
    draft = await save(loop)
    report = await filed(loop, period="2026-10")
    task = await task_of(loop)
    cases = [
        ("supervisor", f"/tasks/{loop.task_id}/report", form_data(version="1")),
        ("leader", f"/tasks/{loop.task_id}/report", form_data(version="1")),
        ("co_staff", f"/tasks/{loop.task_id}/report", form_data(version="1")),
        ("admin", f"/tasks/{loop.task_id}/report/no-change", {"reason": "无"}),
        ("co_staff", f"/reports/{draft.id}/submit", {"version": str(draft.version)}),
        ("staff", f"/reports/{draft.id}/contribution", {"text": "牵头单位自己写"}),
        ("leader", f"/reports/{report.id}/review", {"decision": "accept", "version": str(report.version)}),
        ("staff", f"/reports/{report.id}/review", {"decision": "accept", "version": str(report.version)}),
        ("co_head", f"/reports/{report.id}/unit-head", {"decision": "approve", "version": str(report.version)}),
        ("co_staff", f"/tasks/{loop.task_id}/completion", {"summary": "完成", "version": str(task.version)}),
        ("leader", "/reviews/batch", {"report": f"{report.id}:{report.version}"}),
        ("staff", "/admin/report-settings", {"report_day": "5"}),
    ]
    for who, path, data in cases:
        client = await browser(loop.usernames[who])
        response = await client.post(path, data)
        assert response.status_code == 403, (who, path, response.status_code)
        assert "alert error" in response.text
    assert (await report_of(loop, draft.id)).version == draft.version
    assert (await report_of(loop, report.id)).state == "submitted"
    assert (await task_of(loop)).state == task.state


async def test_another_bureaus_members_find_nothing_on_any_report_route(loop, other_bureau, browser, api_client):
    other = await make_loop(other_bureau)
    await save(loop, progress="本局独有的进展内容")
    report = await filed(loop, period="2026-10", progress="本局十月独有的进展")
    await run(loop, reports.contribute, loop.co_staff, report.id, text="本局独有的配合")
    before = (await report_of(loop, report.id)).version
    t, r = loop.task_id, report.id
    pages = [
        ("GET", f"/tasks/{t}/report", {}), ("POST", f"/tasks/{t}/report", form_data(version="1")),
        ("POST", f"/tasks/{t}/report/no-change", {"reason": "无"}),
        ("POST", f"/reports/{r}/submit", {"version": str(before)}),
        ("POST", f"/reports/{r}/contribution", {"text": "越界"}),
        ("POST", f"/reports/{r}/unit-head", {"decision": "approve", "version": str(before)}),
        ("POST", f"/reports/{r}/review", {"decision": "accept", "version": str(before)}),
        ("POST", f"/tasks/{t}/completion", {"summary": "越界", "version": "1"}),
        ("POST", f"/reports/{r}/completion", {"decision": "approve", "version": str(before)}),
        ("GET", f"/tasks/{t}/reports", {}), ("POST", "/reviews/batch", {"report": f"{r}:{before}"}),
    ]
    api = [
        ("GET", f"/api/v1/tasks/{t}/reports", None), ("POST", f"/api/v1/tasks/{t}/reports", {"progress": "x"}),
        ("POST", f"/api/v1/tasks/{t}/reports/no-change", {"reason": "x"}), ("GET", f"/api/v1/reports/{r}", None),
        ("POST", f"/api/v1/reports/{r}/submit", {"version": before}),
        ("POST", f"/api/v1/reports/{r}/contribution", {"text": "x"}),
        ("POST", f"/api/v1/reports/{r}/unit-head", {"approve": True, "version": before}),
        ("POST", f"/api/v1/reports/{r}/review", {"accept": True, "version": before}),
        ("POST", f"/api/v1/tasks/{t}/completion", {"summary": "x", "version": 1}),
        ("POST", f"/api/v1/reports/{r}/completion", {"approve": True, "version": before}),
        ("POST", "/api/v1/reviews/accept", {"items": [{"id": str(r), "version": before}]}),
    ]
    for who in ("staff", "head", "co_staff", "supervisor", "admin", "leader"):
        client = await browser(other.usernames[who])
        for method, path, data in pages:
            response = await (client.get(path) if method == "GET" else client.post(path, data))
            assert response.status_code == 404, (who, method, path, response.status_code)
            assert "本局" not in response.text
        script = await api_client(other.bureau, other.actors[who])
        for method, path, body in api:
            response = await script.request(method, path, json=body)
            assert response.status_code == 404, (who, method, path, response.status_code, response.text)
        queue = await client.get("/reviews")
        assert "本局十月独有的进展" not in queue.text
    after = await report_of(loop, report.id)
    assert (after.state, after.version) == ("submitted", before)
    assert await count_reports(loop) == 2 and await count_reports(other) == 0


# --- the API ---------------------------------------------------------------------------------------------


async def test_the_api_files_reviews_and_lists_reports(loop, api_client):
    staff = await api_client(loop.bureau, loop.staff)
    created = await staff.post(f"/api/v1/tasks/{loop.task_id}/reports", json={
        "progress": "接口填报的进展", "percent": 55, "expected_completion": "2026-12-31",
        "target_actuals": {str(loop.target_id): 6}, "version": 0})
    assert created.status_code == 200, created.text
    body = created.json()
    assert (body["state"], body["period"], body["percent"], body["version"]) == ("draft", "2026-11", 55, 1)
    assert body["actuals"] == [{"target_id": str(loop.target_id), "target": "一是开展专题学习不少于12次",
                                "unit": "次", "actual": 6.0}]
    stale = await staff.post(f"/api/v1/tasks/{loop.task_id}/reports", json={"progress": "旧", "version": 0})
    assert stale.status_code == 409 and "已被修改，请刷新" in stale.json()["detail"]
    bad = await staff.post(f"/api/v1/tasks/{loop.task_id}/reports",
                           json={"progress": "x", "percent": 101, "version": 1})
    assert bad.status_code == 422 and bad.json()["field"] == "percent"
    submitted = await staff.post(f"/api/v1/reports/{body['id']}/submit", json={"version": 1})
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"
    twice = await staff.post(f"/api/v1/reports/{body['id']}/submit", json={"version": 1})
    assert twice.status_code == 409 and "无需重复提交" in twice.json()["detail"]

    co = await api_client(loop.bureau, loop.co_staff)
    assert (await co.post(f"/api/v1/reports/{body['id']}/contribution", json={"text": "配合"})).status_code == 200

    supervisor = await api_client(loop.bureau, loop.supervisor)
    queue = (await supervisor.get("/api/v1/reviews")).json()
    assert [(q["id"], q["task_number"], q["unit"]) for q in queue] == [(body["id"], loop.task_number, "办公室")]
    assert queue[0]["contributions"][0]["text"] == "配合"
    no_comment = await supervisor.post(f"/api/v1/reports/{body['id']}/review", json={"accept": False, "version": 2})
    assert no_comment.status_code == 422 and no_comment.json()["field"] == "comment"
    accepted = await supervisor.post(f"/api/v1/reports/{body['id']}/review", json={"accept": True, "version": 2})
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    assert accepted.json()["reviews"][0]["decision"] == "accept"
    listed = (await supervisor.get(f"/api/v1/tasks/{loop.task_id}/reports")).json()
    assert [r["id"] for r in listed] == [body["id"]]

    leader = await api_client(loop.bureau, loop.leader)
    assert (await leader.get(f"/api/v1/tasks/{loop.task_id}/reports")).status_code == 200
    assert (await leader.get("/api/v1/reviews")).status_code == 403
    refused = await leader.post(f"/api/v1/reports/{body['id']}/review", json={"accept": True, "version": 3})
    assert refused.status_code == 403


async def test_the_api_no_change_completion_and_batch(loop, api_client):
    staff = await api_client(loop.bureau, loop.staff)
    october = (await staff.post(f"/api/v1/tasks/{loop.task_id}/reports",
                                json={"period": "2026-10", "progress": "十月", "percent": 40, "version": 0})).json()
    await staff.post(f"/api/v1/reports/{october['id']}/submit", json={"version": october["version"]})
    no_change = await staff.post(f"/api/v1/tasks/{loop.task_id}/reports/no-change",
                                 json={"reason": "等待批复", "version": 0})
    assert no_change.status_code == 200 and no_change.json()["no_change"] and no_change.json()["percent"] == 40
    supervisor = await api_client(loop.bureau, loop.supervisor)
    queue = (await supervisor.get("/api/v1/reviews")).json()
    items = [{"id": q["id"], "version": q["version"]} for q in queue]
    stale = await supervisor.post("/api/v1/reviews/accept", json={"items": [{**items[0], "version": 1}, items[1]]})
    assert stale.status_code == 409
    accepted = await supervisor.post("/api/v1/reviews/accept", json={"items": items})
    assert accepted.status_code == 200 and {a["state"] for a in accepted.json()} == {"accepted"}
    task = await task_of(loop)
    asked = await staff.post(f"/api/v1/tasks/{loop.task_id}/completion",
                             json={"summary": "完成", "version": task.version})
    assert asked.status_code == 200 and asked.json()["kind"] == "completion"
    refused = await supervisor.post(f"/api/v1/reports/{asked.json()['id']}/completion",
                                    json={"approve": False, "comment": "材料不全", "version": asked.json()["version"]})
    assert refused.status_code == 200 and refused.json()["state"] == "returned"
    assert (await task_of(loop)).state == "in_progress"
    # Asked again; approving while the target is short needs a reason, which the report then carries.
    task = await task_of(loop)
    again = await staff.post(f"/api/v1/tasks/{loop.task_id}/completion",
                             json={"summary": "补齐", "version": task.version})
    decision = {"approve": True, "version": again.json()["version"]}
    unreasoned = await supervisor.post(f"/api/v1/reports/{again.json()['id']}/completion", json=decision)
    assert unreasoned.status_code == 422 and "办结理由" in unreasoned.text
    approved = await supervisor.post(f"/api/v1/reports/{again.json()['id']}/completion",
                                     json=decision | {"override_reason": "以年终统计为准"})
    assert approved.status_code == 200 and approved.json()["state"] == "accepted"
    [review] = [r for r in approved.json()["reviews"] if r["override_reason"]]
    assert review["override_reason"] == "以年终统计为准" and review["unfinished"]


async def test_the_api_is_in_the_openapi_document(app, client):
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    for path in ("/api/v1/tasks/{task_id}/reports", "/api/v1/reports/{report_id}/submit",
                 "/api/v1/reports/{report_id}/review", "/api/v1/reviews"):
        assert path in paths
    assert not any(p.startswith(("/tasks", "/reviews", "/reports")) for p in paths)  # pages stay out


async def test_a_draft_is_read_only_by_its_units_people(loop, api_client):
    """Issue 14 finding 15: a unit's draft is its working copy. The bureau's roles (supervisor, leader, admin) get a
    404 for it on the object route, as every list already hides it; the unit's own staff and head read it, and so do
    the co-unit's people (who write their part into it). Once submitted, the bureau's roles read it."""
    from backend.errors import NotFound
    from backend.reports.queries import get_report, reports_for_task

    draft = await save(loop, progress="尚未提交的草稿内容")
    for name in ("supervisor", "leader", "admin"):
        client = await api_client(loop.bureau, loop.actors[name])
        response = await client.get(f"/api/v1/reports/{draft.id}")
        assert response.status_code == 404 and "尚未提交的草稿内容" not in response.text, name
        with pytest.raises(NotFound):
            await run(loop, get_report, loop.actors[name], draft.id)
        listed = await run(loop, reports_for_task, loop.actors[name], loop.task_id)
        assert draft.id not in {v.report.id for v in listed.reports}
    for name in ("staff", "head", "co_staff"):
        client = await api_client(loop.bureau, loop.actors[name])
        response = await client.get(f"/api/v1/reports/{draft.id}")
        assert response.status_code == 200 and response.json()["progress"] == "尚未提交的草稿内容", name
        listed = await run(loop, reports_for_task, loop.actors[name], loop.task_id)
        assert draft.id in {v.report.id for v in listed.reports}
    report = await run(loop, reports.submit_report, loop.staff, draft.id, version=draft.version)
    client = await api_client(loop.bureau, loop.supervisor)
    assert (await client.get(f"/api/v1/reports/{report.id}")).status_code == 200
