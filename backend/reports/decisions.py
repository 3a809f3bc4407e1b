"""Decisions on reports: the unit head's approval, the supervisor's accept / return (also in a batch that is
all or nothing), and the 办结 decision on a completion request. Each locks the task row, then the report row, and
checks the version the deciding page showed, so of two simultaneous decisions one wins and the other is told."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.core.roles import Role
from backend.core.versions import is_stale
from backend.delivery.notify import notify_unit
from backend.errors import Conflict, InvalidInput, NotFound
from backend.i18n import _
from backend.reports.access import load_report
from backend.reports.completion import unfinished_work
from backend.reports.labels import decision_label, report_state_label
from backend.reports.lights import relight
from backend.reports.models import (
    ProgressReport,
    ReportKind,
    ReportReview,
    ReportState,
    ReviewDecision,
)
from backend.reports.policy import require_reviewer, require_unit_head_of
from backend.reports.writing import (
    check_report_version,
    clean_text,
    kind_words,
    notify_supervisors,
    unit_name,
)
from backend.tasks.models import Task, TaskAssignment, TaskState
from backend.tasks.periods import period_label

BATCH_LIMIT = 200


# --- decisions -------------------------------------------------------------------------------------------


def _decide(session: AsyncSession, actor: Actor, report: ProgressReport, decision: ReviewDecision, comment: str,
            state: ReportState, moment: datetime, **recorded: Any) -> None:
    """One decision on a report: kept in its review history (with what else the decision `recorded`), and the
    report moved on to `state`."""
    session.add(ReportReview(tenant_id=actor.tenant_id, report_id=report.id, decision=decision, comment=comment,
                             reviewer_id=actor.user_id, decided_at=moment, **recorded))
    report.state = state
    report.version += 1
    report.updated_at = moment
    session.add(report)


def _require_comment(accept: bool, comment: str) -> str:
    comment = clean_text(comment, _("意见"), "comment")
    if not accept and not comment:
        raise InvalidInput(_("退回时必须填写意见，说明需要修改或补充什么。"), field="comment")
    return comment


async def unit_head_decide(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, *, approve: bool, comment: str = "",
    version: int | None,
) -> ProgressReport:
    """The unit head sends the report on to the bureau, or back to the unit's staff with a comment."""
    report, task = await load_report(session, actor, report_id, lock=True)
    require_unit_head_of(actor, report)
    await check_report_version(session, actor, report, version)
    if report.state != ReportState.awaiting_unit_head:
        raise Conflict(_("该报告当前状态为“%(state)s”，不在待单位负责人审核的环节。",
                         state=report_state_label(report.state, report.kind)))
    comment = _require_comment(approve, comment)
    before = {"report": str(report.state), "task": str(task.state)}
    decision = ReviewDecision.unit_head_approve if approve else ReviewDecision.unit_head_return
    _decide(session, actor, report, decision, comment, ReportState.submitted if approve else ReportState.returned,
            clock.now())
    if not approve and report.kind == ReportKind.completion:
        _reopen(task)
    await session.flush()
    unit = await unit_name(session, report.unit_id)
    if approve:
        await notify_supervisors(session, actor, task, report, unit)
    else:
        await notify_unit(session, actor.tenant_id, report.unit_id, kind="report_returned",
                          key=f"report-decided:{report.id}:{report.version}", roles=(Role.unit_staff,),
                          title=_("%(number)s %(what)s被单位负责人退回", number=task.number, what=kind_words(report)),
                          body=comment, link=f"/tasks/{task.id}/report?period={report.period}")
    await record(session, actor, f"report.{decision.value}", object_type="progress_report", object_id=report.id,
                 summary=_("%(decision)s：%(number)s %(what)s", decision=decision_label(decision),
                           number=task.number, what=kind_words(report)),
                 details={"task_id": str(task.id), "comment": comment, "before": before,
                          "after": {"report": str(report.state), "task": str(task.state)}})
    return report


def _reopen(task: Task) -> None:
    if task.state == TaskState.completion_requested:
        task.state = TaskState.in_progress
        task.version += 1
        task.updated_at = clock.now()


async def review(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, *, accept: bool, comment: str = "",
    version: int | None,
) -> ProgressReport:
    """The supervisor accepts a submitted report, or returns it to the unit with a comment (required)."""
    report, task = await load_report(session, actor, report_id, lock=True)
    require_reviewer(actor)
    await check_report_version(session, actor, report, version)
    if report.kind == ReportKind.completion:
        raise InvalidInput(_("这是办结申请，请用“批准办结 / 退回”处理。"))
    if report.state != ReportState.submitted:
        raise Conflict(_("该报告当前状态为“%(state)s”，不是待审核的报告。", state=report_state_label(report.state)))
    comment = _require_comment(accept, comment)
    await _decide_review(session, actor, task, report, accept=accept, comment=comment)
    return report


async def _decide_review(
    session: AsyncSession, actor: Actor, task: Task, report: ProgressReport, *, accept: bool, comment: str
) -> None:
    decision = ReviewDecision.accept if accept else ReviewDecision.return_
    before = str(report.state)
    _decide(session, actor, report, decision, comment, ReportState.accepted if accept else ReportState.returned,
            clock.now())
    await session.flush()
    await notify_unit(session, actor.tenant_id, report.unit_id, kind="report_accepted" if accept else "report_returned",
                      key=f"report-decided:{report.id}:{report.version}",
                      title=_("%(number)s %(what)s%(decision)s", number=task.number, what=kind_words(report),
                              decision=_("已通过审核") if accept else _("被退回，请修改后重新提交")),
                      body=comment, link=f"/tasks/{task.id}/report?period={report.period}")
    await relight(session, actor, [task.id], _("报送审核"))
    await record(session, actor, "report.accept" if accept else "report.return", object_type="progress_report",
                 object_id=report.id,
                 summary=_("%(decision)s：%(number)s %(what)s", decision=decision_label(decision),
                           number=task.number, what=kind_words(report)),
                 details={"task_id": str(task.id), "comment": comment, "before": {"report": before},
                          "after": {"report": str(report.state)}})


async def accept_reports(
    session: AsyncSession, actor: Actor, items: list[tuple[uuid.UUID, int]], *, comment: str = ""
) -> list[ProgressReport]:
    """Batch accept, all or nothing: if any report changed since the page showed it (its version), or is not a
    submitted progress report, none is accepted and the refusal names them."""
    wanted = dict(items)
    if len(wanted) > BATCH_LIMIT:
        raise InvalidInput(_("一次最多批量通过 %(n)s 份报告。", n=BATCH_LIMIT), field="reports")
    found = (await session.exec(select(ProgressReport.task_id).where(col(ProgressReport.id).in_(list(wanted))))).all()
    if len(found) != len(wanted):  # another bureau's reports are not found, whoever asks (404 before 403)
        raise NotFound(_("所选报告中有的已找不到，请刷新页面后重试。"))
    require_reviewer(actor)
    if not wanted:
        raise InvalidInput(_("请先勾选要通过的报告。"), field="reports")
    comment = clean_text(comment, _("意见"), "comment")
    tasks = {t.id: t for t in (await session.exec(
        select(Task).where(col(Task.id).in_(sorted(set(found)))).order_by(col(Task.id)).with_for_update()
        .execution_options(populate_existing=True))).all()}
    reports = list((await session.exec(
        select(ProgressReport).where(col(ProgressReport.id).in_(list(wanted))).order_by(col(ProgressReport.id))
        .with_for_update().execution_options(populate_existing=True))).all())
    changed = [f"{tasks[r.task_id].number}（{period_label(r.period)}）" for r in reports
               if r.kind != ReportKind.periodic or r.state != ReportState.submitted
               or is_stale(r.version, wanted[r.id])]
    if changed:
        raise Conflict(_("以下报告在您打开页面后已有变化，或已不是待审核的进展报告：%(list)s。"
                         "为避免误批，本次一份也没有通过，请刷新页面后重试。", list="、".join(changed)))
    for report in sorted(reports, key=lambda r: (r.submitted_at or r.created_at)):
        await _decide_review(session, actor, tasks[report.task_id], report, accept=True, comment=comment)
    return reports


# --- completion (办结) ---------------------------------------------------------------------------------------


async def decide_completion(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, *, approve: bool, comment: str = "",
    version: int | None, override_reason: str = "",
) -> ProgressReport:
    """办结: approve → the task is done; refuse (with a comment) → the task goes back to in progress. Approving while
    work is unfinished (reports.completion) needs a reason, kept with the decision and in the audit log. The task's
    progress stays what the units last reported: 办结 is the supervisor's decision to close, not a measurement."""
    report, task = await load_report(session, actor, report_id, lock=True)
    require_reviewer(actor)
    await check_report_version(session, actor, report, version)
    if report.kind != ReportKind.completion:
        raise InvalidInput(_("这是进展报告，不是办结申请，请用“通过 / 退回”审核。"))
    if report.state != ReportState.submitted:
        raise Conflict(_("该办结申请当前状态为“%(state)s”，不是待审批的申请。",
                         state=report_state_label(report.state, report.kind)))
    comment = _require_comment(approve, comment)
    unfinished: list[str] = []
    if approve:
        unfinished = (await unfinished_work(session, [task.id])).get(task.id, [])
        override_reason = clean_text(override_reason, _("办结理由"), "override_reason")
        if unfinished and not override_reason:
            raise InvalidInput(_("该任务还有未完成事项：%(list)s。如确需办结，请填写办结理由（记入台账和操作日志）。",
                                 list="；".join(unfinished)), field="override_reason")
        if not unfinished:
            override_reason = ""
    moment = clock.now()
    before = {"report": str(report.state), "task": str(task.state)}
    decision = ReviewDecision.accept if approve else ReviewDecision.return_
    _decide(session, actor, report, decision, comment, ReportState.accepted if approve else ReportState.returned,
            moment, unfinished=unfinished, override_reason=override_reason)
    if approve:
        task.state, task.done_at = TaskState.done, moment
        task.version += 1
        task.updated_at = moment
        lead = (await session.exec(select(TaskAssignment).where(
            TaskAssignment.task_id == task.id, TaskAssignment.unit_id == report.unit_id))).first()
        if lead is not None:
            lead.state, lead.done_at = TaskState.done, moment
            session.add(lead)
    else:
        _reopen(task)
    session.add(task)
    await session.flush()
    await notify_unit(session, actor.tenant_id, report.unit_id,
                      kind="completion_approved" if approve else "completion_refused",
                      key=f"report-decided:{report.id}:{report.version}",
                      title=_("%(number)s 已批准办结", number=task.number) if approve
                      else _("%(number)s 的办结申请被退回", number=task.number),
                      body=comment, link=f"/tasks/{task.id}/report")
    await relight(session, actor, [task.id], _("办结审批"))
    summary = _("%(decision)s：%(number)s“%(title)s”", decision=decision_label(decision, ReportKind.completion),
                number=task.number, title=task.title[:60])
    if override_reason:
        summary += _("（尚有未完成事项，办结理由：%(reason)s）", reason=override_reason[:200])
    await record(session, actor, "task.completion_approve" if approve else "task.completion_refuse",
                 object_type="task", object_id=task.id, summary=summary,
                 details={"report_id": str(report.id), "comment": comment, "before": before,
                          "after": {"report": str(report.state), "task": str(task.state)},
                          "unfinished": unfinished, "override_reason": override_reason})
    return report
