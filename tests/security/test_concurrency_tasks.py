"""Issue 14, concurrency sweep, part two: a task's work (签收/退回, reports, reviews, 办结, evidence, 延期, 取消, 催办,
结转) — the same request sent AT_ONCE times at once over separate clients has exactly one winner.

Each case builds its objects through the services and returns a `Shot` (tests/support/concurrency.py). Page forms
are sent from separate signed-in browsers, each with the CSRF token of its own page. A loser is refused with a 409
(API) or a 4xx page with the message, or lands where the winner did ("该报告已经提交过", a mark already set, a
batch with nothing left to do). Where the API or a page answers a repeat with the winner's object instead (the
same text rewritten, the same file uploaded), `REPEATS` names the case. Either way nothing is written twice.
"""

import uuid
from datetime import date, timedelta

import httpx
import pytest
from sqlmodel import col, func, select

from backend.accounts.service import create_user
from backend.audit.models import AuditEvent
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.evidence import service as evidence
from backend.evidence.models import Evidence
from backend.plans import rollover
from backend.reminders.models import Nudge
from backend.reports import service as reports
from backend.reports.models import ProgressReport, ReportReview
from backend.tasks import service as tasks
from backend.tasks.models import ExtensionRequest, Task
from backend.tenancy import service as tenancy
from backend.tenancy.acting import actor_for
from backend.tenancy.bureau_settings import update_bureau_settings
from tests.support.concurrency import (
    Shot,
    acknowledged_task,
    api_headers,
    assert_one_winner,
    audit_count,
    count,
    fire,
    school_task,
    submitted_ready,
)
from tests.support.fixtures import PASSWORD, PNG, Bureau


def _rows(bureau: Bureau, model, *where):
    return lambda: count(bureau, select(func.count()).select_from(model).where(*where))


async def _chunks(data: bytes):
    yield data


# --- the unit's own work: 签收, 退回, reports, 办结申请, evidence, 延期 ---------------------------------------------


async def acknowledge_page_case(bureau: Bureau) -> Shot:
    task = await school_task(bureau, "签收页面并发")
    return Shot("POST", f"/tasks/{task.id}/acknowledge", {"data": {"version": str(task.version)}},
                audit_count(bureau, task.id, "task.acknowledge"), csrf_page=f"/tasks/{task.id}", role=Role.unit_head)


async def send_back_page_case(bureau: Bureau) -> Shot:
    task = await school_task(bureau, "退回页面并发")
    return Shot("POST", f"/tasks/{task.id}/send-back", {"data": {"reason": "不属本单位", "version": str(task.version)}},
                audit_count(bureau, task.id, "task.send_back"), csrf_page=f"/tasks/{task.id}", role=Role.unit_head)


async def report_page_case(bureau: Bureau) -> Shot:
    """保存并提交 clicked six times on a new report: one report, submitted once; the others land on it (已提交过)."""
    task = await acknowledged_task(bureau, "报告页面并发")
    return Shot("POST", f"/tasks/{task.id}/report",
                {"data": {"progress": "已开展。", "percent": "30", "version": "0", "action": "submit"}},
                _rows(bureau, AuditEvent, AuditEvent.action == "report.submit",
                      AuditEvent.details["task_id"].astext == str(task.id)),
                csrf_page=f"/tasks/{task.id}/report", role=Role.unit_head)


async def report_api_case(bureau: Bureau) -> Shot:
    """A new draft saved six times with version 0: one report; the others are stale (409)."""
    task = await acknowledged_task(bureau, "报告接口并发")
    return Shot("POST", f"/api/v1/tasks/{task.id}/reports",
                {"headers": await api_headers(bureau, Role.unit_head),
                 "json": {"progress": "已开展。", "percent": 30, "version": 0}},
                _rows(bureau, AuditEvent, col(AuditEvent.action).in_(["report.create", "report.update"]),
                      AuditEvent.details["task_id"].astext == str(task.id)))


async def no_change_page_case(bureau: Bureau) -> Shot:
    task = await acknowledged_task(bureau, "无新进展页面并发")
    return Shot("POST", f"/tasks/{task.id}/report/no-change", {"data": {"reason": "等待上级批复", "version": "0"}},
                _rows(bureau, AuditEvent, AuditEvent.action == "report.no_change",
                      AuditEvent.details["task_id"].astext == str(task.id)),
                csrf_page=f"/tasks/{task.id}/report", role=Role.unit_head)


async def no_change_api_case(bureau: Bureau) -> Shot:
    task = await acknowledged_task(bureau, "无新进展接口并发")
    return Shot("POST", f"/api/v1/tasks/{task.id}/reports/no-change",
                {"headers": await api_headers(bureau, Role.unit_head),
                 "json": {"reason": "等待上级批复", "version": 0}},
                _rows(bureau, AuditEvent, AuditEvent.action == "report.no_change",
                      AuditEvent.details["task_id"].astext == str(task.id)))


async def submit_page_case(bureau: Bureau) -> Shot:
    task, report = await submitted_ready(bureau, "提交页面并发", submit=False)
    return Shot("POST", f"/reports/{report.id}/submit", {"data": {"version": str(report.version)}},
                audit_count(bureau, report.id, "report.submit"), csrf_page=f"/tasks/{task.id}/report",
                role=Role.unit_head)


async def completion_request_page_case(bureau: Bureau) -> Shot:
    task = await acknowledged_task(bureau, "申请办结页面并发")
    return Shot("POST", f"/tasks/{task.id}/completion",
                {"data": {"summary": "已全部完成。", "version": str(task.version)}},
                _rows(bureau, ProgressReport, ProgressReport.task_id == task.id),
                csrf_page=f"/tasks/{task.id}/report", role=Role.unit_head)


async def extension_page_case(bureau: Bureau) -> Shot:
    task = await acknowledged_task(bureau, "延期页面并发")
    return Shot("POST", f"/tasks/{task.id}/extension",
                {"data": {"requested_deadline": str(date.today() + timedelta(120)), "reason": "并发"}},
                _rows(bureau, ExtensionRequest, ExtensionRequest.task_id == task.id),
                csrf_page=f"/tasks/{task.id}", role=Role.unit_head)


async def _evidence_on(bureau: Bureau, title: str) -> Evidence:
    task = await acknowledged_task(bureau, title)
    async with unit_of_work(bureau.tenant.id) as session:
        return await evidence.upload_evidence(session, bureau.actors[Role.unit_head], task.id, filename="旧版.png",
                                              chunks=_chunks(PNG))


async def supersede_page_case(bureau: Bureau) -> Shot:
    """A new version chosen and sent six times: one new version; the others are told the old one has one."""
    old = await _evidence_on(bureau, "新版本页面并发")
    return Shot("POST", f"/evidence/{old.id}/supersede",
                {"data": {"description": "新版"}, "files": {"file": ("新版.png", PNG + b"\0", "image/png")}},
                _rows(bureau, Evidence, Evidence.supersedes_id == old.id),
                csrf_page=f"/tasks/{old.task_id}", role=Role.unit_head)


async def supersede_api_case(bureau: Bureau) -> Shot:
    old = await _evidence_on(bureau, "新版本接口并发")
    return Shot("POST", f"/api/v1/evidence/{old.id}/supersede",
                {"headers": await api_headers(bureau, Role.unit_head),
                 "files": {"file": ("新版.png", PNG + b"\0", "image/png")}},
                _rows(bureau, Evidence, Evidence.supersedes_id == old.id))


async def evidence_page_case(bureau: Bureau) -> Shot:
    """The same photo sent six times from the task page: one copy is kept; one browser goes on to the task, the
    others see the evidence page saying "这份材料已经上传过…，没有重复保存" (content-addressed, REPEATS)."""
    task = await acknowledged_task(bureau, "佐证页面并发")
    return Shot("POST", f"/tasks/{task.id}/evidence", {"data": {"description": ""},
                                                      "files": {"file": ("照片.png", PNG, "image/png")}},
                _rows(bureau, Evidence, Evidence.task_id == task.id), csrf_page=f"/tasks/{task.id}",
                role=Role.unit_head)


# --- decisions: 单位负责人, 督查督办 (审核, 批量通过, 办结), 评为典型 ------------------------------------------------


async def _awaiting_unit_head(bureau: Bureau, title: str) -> ProgressReport:
    async with unit_of_work(bureau.tenant.id) as session:
        await update_bureau_settings(session, bureau.actors[Role.admin], report_day=25,
                                             unit_head_approval=True)
    task = await acknowledged_task(bureau, title)
    staff = bureau.actors[Role.unit_staff]
    async with unit_of_work(bureau.tenant.id) as session:
        report = await reports.save_report(session, staff, task.id, progress="已开展。", percent=30, version=0)
        return await reports.submit_report(session, staff, report.id, version=report.version)


async def _decision(bureau: Bureau, report: ProgressReport, action: str, role: Role, *, form: dict | None = None,
                    body: dict | None = None) -> Shot:
    """A decision on `report` by page (`form`, from the review queue) or API (`body`): one review row at most."""
    made = _rows(bureau, ReportReview, ReportReview.report_id == report.id)
    if form is not None:
        return Shot("POST", f"/reports/{report.id}/{action}",
                    {"data": {**form, "comment": "", "version": str(report.version)}}, made, csrf_page="/reviews",
                    role=role)
    return Shot("POST", f"/api/v1/reports/{report.id}/{action}",
                {"headers": await api_headers(bureau, role), "json": {**(body or {}), "comment": "",
                                                                      "version": report.version}}, made)


async def unit_head_page_case(bureau: Bureau) -> Shot:
    report = await _awaiting_unit_head(bureau, "负责人审核页面并发")
    return await _decision(bureau, report, "unit-head", Role.unit_head, form={"decision": "approve"})


async def unit_head_api_case(bureau: Bureau) -> Shot:
    report = await _awaiting_unit_head(bureau, "负责人审核接口并发")
    return await _decision(bureau, report, "unit-head", Role.unit_head, body={"approve": True})


async def review_page_case(bureau: Bureau) -> Shot:
    _task, report = await submitted_ready(bureau, "审核页面并发", submit=True)
    return await _decision(bureau, report, "review", Role.supervisor, form={"decision": "accept"})


async def _two_submitted(bureau: Bureau, title: str) -> list[ProgressReport]:
    return [(await submitted_ready(bureau, f"{title}{n}", submit=True))[1] for n in (1, 2)]


def _most_reviews(bureau: Bureau, batch: list[ProgressReport]):
    """How many times the batch was applied: the most decisions any of its reports got (1: each accepted once)."""
    async def made() -> int:
        return max([await count(bureau, select(func.count()).select_from(ReportReview)
                                .where(ReportReview.report_id == r.id)) for r in batch])
    return made


async def batch_page_case(bureau: Bureau) -> Shot:
    batch = await _two_submitted(bureau, "批量通过页面并发")
    return Shot("POST", "/reviews/batch",
                {"data": {"report": [f"{r.id}:{r.version}" for r in batch], "comment": ""}},
                _most_reviews(bureau, batch), csrf_page="/reviews", role=Role.supervisor)


async def batch_api_case(bureau: Bureau) -> Shot:
    batch = await _two_submitted(bureau, "批量通过接口并发")
    return Shot("POST", "/api/v1/reviews/accept",
                {"headers": await api_headers(bureau, Role.supervisor),
                 "json": {"items": [{"id": str(r.id), "version": r.version} for r in batch], "comment": ""}},
                _most_reviews(bureau, batch))


async def _completion_requested(bureau: Bureau, title: str) -> ProgressReport:
    task = await acknowledged_task(bureau, title)
    async with unit_of_work(bureau.tenant.id) as session:
        return await reports.request_completion(session, bureau.actors[Role.unit_head], task.id,
                                                summary="已全部完成。", version=task.version)


async def completion_decision_page_case(bureau: Bureau) -> Shot:
    report = await _completion_requested(bureau, "批准办结页面并发")
    return await _decision(bureau, report, "completion", Role.supervisor, form={"decision": "approve"})


async def completion_decision_api_case(bureau: Bureau) -> Shot:
    report = await _completion_requested(bureau, "批准办结接口并发")
    return await _decision(bureau, report, "completion", Role.supervisor, body={"approve": True})


async def exemplary_case(bureau: Bureau) -> Shot:
    """评为典型 clicked six times: the mark is set once (one audit event); every click lands on the same page."""
    _task, report = await submitted_ready(bureau, "典型并发", submit=True)
    return Shot("POST", f"/reports/{report.id}/exemplary", {"data": {"exemplary": "1", "next": "/reviews"}},
                audit_count(bureau, report.id, "report.exemplary"), csrf_page="/reviews", role=Role.supervisor)


# --- 配合情况: a cooperating unit writes its part of the lead unit's report --------------------------------------


async def _lead_report_with_co_unit(bureau: Bureau, title: str) -> ProgressReport:
    """A report of the office (lead) on a task where the school cooperates; written by an office clerk."""
    admin, supervisor = bureau.actors[Role.admin], bureau.actors[Role.supervisor]
    async with unit_of_work(bureau.tenant.id) as session:
        user = await create_user(session, username=f"office-{uuid.uuid4().hex[:8]}", display_name="办公室经办",
                                 password=PASSWORD)
        await tenancy.add_member(session, admin, tenant_id=bureau.tenant.id, user=user, role=Role.unit_staff,
                                 unit_id=bureau.units["office"].id)
        clerk = await actor_for(session, user, bureau.tenant.id)
        task = await tasks.create_adhoc_task(session, supervisor, title=title, description="",
                                             deadline=date.today() + timedelta(60),
                                             lead_unit_id=bureau.units["office"].id,
                                             co_unit_ids=[bureau.units["school"].id])
        report = await reports.save_report(session, clerk, task.id, progress="已开展。", percent=30, version=0)
        return await reports.submit_report(session, clerk, report.id, version=report.version)


async def contribution_page_case(bureau: Bureau) -> Shot:
    """The school's part sent six times: one contribution, written once (the same text again is no
    change); every browser lands on the report."""
    report = await _lead_report_with_co_unit(bureau, "配合页面并发")
    return Shot("POST", f"/reports/{report.id}/contribution", {"data": {"text": "已派员参加。"}},
                audit_count(bureau, report.id, "report.contribute"), csrf_page=f"/tasks/{report.task_id}/report",
                role=Role.unit_staff)


async def contribution_api_case(bureau: Bureau) -> Shot:
    report = await _lead_report_with_co_unit(bureau, "配合接口并发")
    return Shot("POST", f"/api/v1/reports/{report.id}/contribution",
                {"headers": await api_headers(bureau, Role.unit_staff), "json": {"text": "已派员参加。"}},
                audit_count(bureau, report.id, "report.contribute"))


# --- the supervisor's task actions: 取消, 催办, 催所有未报单位, 年度结转 ---------------------------------------------


async def cancel_page_case(bureau: Bureau) -> Shot:
    task = await school_task(bureau, "取消页面并发")
    return Shot("POST", f"/tasks/{task.id}/cancel", {"data": {"reason": "并发", "version": str(task.version)}},
                audit_count(bureau, task.id, "task.cancel"), csrf_page=f"/tasks/{task.id}", role=Role.supervisor)


async def evidence_rule_page_case(bureau: Bureau) -> Shot:
    """佐证要求 saved six times from one form: one change; the others find the task changed (stale)."""
    task = await school_task(bureau, "佐证要求页面并发")
    return Shot("POST", f"/tasks/{task.id}/evidence-rule",
                {"data": {"evidence_rule": "required", "evidence_reason": "资金拨付", "version": str(task.version)}},
                audit_count(bureau, task.id, "task.evidence_rule"), csrf_page=f"/tasks/{task.id}",
                role=Role.supervisor)


async def evidence_rule_api_case(bureau: Bureau) -> Shot:
    task = await school_task(bureau, "佐证要求接口并发")
    return Shot("POST", f"/api/v1/tasks/{task.id}/evidence-rule",
                {"headers": await api_headers(bureau, Role.supervisor),
                 "json": {"rule": "none", "version": task.version}},
                audit_count(bureau, task.id, "task.evidence_rule"))


async def nudge_page_case(bureau: Bureau) -> Shot:
    """催办 clicked six times: one nudge (one notification per person); the others are told it was just sent."""
    task = await school_task(bureau, "催办页面并发")
    return Shot("POST", f"/tasks/{task.id}/nudge", {"data": {"message": "请抓紧。"}},
                _rows(bureau, Nudge, Nudge.task_id == task.id), csrf_page=f"/tasks/{task.id}", role=Role.supervisor)


async def nudge_missing_case(bureau: Bureau) -> Shot:
    """催所有未报单位 sent six times: the first nudges the unit that owes this month's report; the others find it
    nudged within the interval and send nothing new; every browser lands on the result page."""
    task = await school_task(bureau, "催报并发")
    today = date.today()
    return Shot("POST", "/nudges/missing", {"data": {"period": f"{today.year}-{today.month:02d}", "message": ""}},
                _rows(bureau, Nudge, Nudge.task_id == task.id), csrf_page="/nudges/missing", role=Role.supervisor)


async def rollover_case(bureau: Bureau) -> Shot:
    """年度结转 sent six times: the year's open tasks are copied once; the others find nothing left to carry and
    land on the same result page."""
    async with unit_of_work(bureau.tenant.id) as session:
        preview = await rollover.preview(session, bureau.actors[Role.supervisor], 2024)
    originals = [row.task.id for row in preview.rows]
    assert originals, "the bureau's 2024 plan has open tasks to carry"

    async def copied_once() -> int:
        copies = await count(bureau, select(func.count()).select_from(Task).where(
            col(Task.carried_from_id).in_(originals)))
        assert copies == len(originals), f"{copies} copies of {len(originals)} tasks"
        return await count(bureau, select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "plans.roll_over"))

    return Shot("POST", "/tasks/rollover",
                {"data": {"year": "2024", "fingerprint": preview.fingerprint, "deadline": "", "confirmed": "1"}},
                copied_once, csrf_page="/tasks/rollover?year=2024", role=Role.supervisor)


CASES = {
    ("POST", "/tasks/{task_id}/acknowledge"): acknowledge_page_case,
    ("POST", "/tasks/{task_id}/send-back"): send_back_page_case,
    ("POST", "/tasks/{task_id}/report"): report_page_case,
    ("POST", "/api/v1/tasks/{task_id}/reports"): report_api_case,
    ("POST", "/tasks/{task_id}/report/no-change"): no_change_page_case,
    ("POST", "/api/v1/tasks/{task_id}/reports/no-change"): no_change_api_case,
    ("POST", "/reports/{report_id}/submit"): submit_page_case,
    ("POST", "/tasks/{task_id}/completion"): completion_request_page_case,
    ("POST", "/tasks/{task_id}/extension"): extension_page_case,
    ("POST", "/tasks/{task_id}/evidence"): evidence_page_case,
    ("POST", "/evidence/{evidence_id}/supersede"): supersede_page_case,
    ("POST", "/api/v1/evidence/{evidence_id}/supersede"): supersede_api_case,
    ("POST", "/reports/{report_id}/unit-head"): unit_head_page_case,
    ("POST", "/api/v1/reports/{report_id}/unit-head"): unit_head_api_case,
    ("POST", "/reports/{report_id}/review"): review_page_case,
    ("POST", "/reviews/batch"): batch_page_case,
    ("POST", "/api/v1/reviews/accept"): batch_api_case,
    ("POST", "/reports/{report_id}/completion"): completion_decision_page_case,
    ("POST", "/api/v1/reports/{report_id}/completion"): completion_decision_api_case,
    ("POST", "/reports/{report_id}/exemplary"): exemplary_case,
    ("POST", "/reports/{report_id}/contribution"): contribution_page_case,
    ("POST", "/api/v1/reports/{report_id}/contribution"): contribution_api_case,
    ("POST", "/tasks/{task_id}/cancel"): cancel_page_case,
    ("POST", "/tasks/{task_id}/nudge"): nudge_page_case,
    ("POST", "/tasks/{task_id}/evidence-rule"): evidence_rule_page_case,
    ("POST", "/api/v1/tasks/{task_id}/evidence-rule"): evidence_rule_api_case,
    ("POST", "/nudges/missing"): nudge_missing_case,
    ("POST", "/tasks/rollover"): rollover_case,
}


# Repeating these is not a second action but the same answer: what a page that is not the winner's redirect says.
REPEATS = {
    ("POST", "/api/v1/reports/{report_id}/contribution"): "",
    ("POST", "/tasks/{task_id}/evidence"): "没有重复保存",
}


async def assert_repeats(shot: Shot, answers: list[httpx.Response], said: str) -> None:
    """Every answer is the winner's (the same redirect, the same body) or, where `said`, a page that says nothing
    was saved twice; and nothing was written twice."""
    statuses = [a.status_code for a in answers]
    assert all(200 <= s < 400 for s in statuses), [(a.status_code, a.text[:200]) for a in answers]
    assert len({a.headers["location"] for a in answers if a.status_code == 303}) <= 1, statuses
    pages = [a for a in answers if a.status_code == 200]
    if said:
        assert statuses.count(303) == 1 and all(said in a.text for a in pages), statuses
    else:
        assert len({a.text for a in pages}) == 1, "the same request is answered with the same object"
    assert await shot.made() == 1


@pytest.mark.parametrize("route", list(CASES), ids=[f"{m} {p}" for m, p in CASES])
async def test_the_same_task_request_at_once_has_one_winner(app, bureau, route):
    shot = await CASES[route](bureau)
    answers = await fire(app, bureau, shot)
    if route in REPEATS:
        await assert_repeats(shot, answers, REPEATS[route])
    else:
        await assert_one_winner(shot, answers)
