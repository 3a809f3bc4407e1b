"""Reading reports back: the report form, the review queue and a task's reports for the 台账.

Each function runs a fixed number of queries whatever the number of reports: the details of a list of reports
(contributions, target actuals, reviews, evidence) are four queries for the whole list.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.core.actor import Actor
from backend.core.clock import local_today
from backend.errors import Forbidden
from backend.evidence.service import EvidenceRow, evidence_of_reports
from backend.i18n import _
from backend.reports import policy
from backend.reports.access import EDITABLE, OPEN_TASK, readable_report, readable_reports
from backend.reports.completion import unfinished_work
from backend.reports.labels import decision_label, report_state_label
from backend.reports.models import (
    ProgressReport,
    ReportContribution,
    ReportKind,
    ReportReview,
    ReportState,
    TargetActual,
)
from backend.tasks.models import AssignmentKind, Task, TaskAssignment, TaskState, TaskTarget
from backend.tasks.periods import current_period, due_on, is_period_of, period_label
from backend.tasks.service import assignment_of, get_task
from backend.tenancy.bureau_settings import get_bureau_settings
from backend.tenancy.models import BureauSettings, Unit
from backend.tenancy.policy import require_manage_report_settings

QUEUE_LIMIT = 200  # the API's list
QUEUE_PAGE = 30  # the page: each report is shown in full, so a phone gets the oldest few
CLOSED_ASSIGNMENT = (TaskState.sent_back, TaskState.cancelled, TaskState.done)
RECENT_LIMIT = 12


@dataclass
class ContributionView:
    contribution: ReportContribution
    unit: str


@dataclass
class ActualView:
    target: TaskTarget
    actual: float


@dataclass
class ReviewView:
    review: ReportReview
    reviewer: str
    kind: ReportKind | str = ReportKind.periodic

    @property
    def decision_text(self) -> str:
        return decision_label(self.review.decision, self.kind)


@dataclass
class ReportView:
    report: ProgressReport
    unit: str
    task: Task | None = None
    contributions: list[ContributionView] = field(default_factory=list)
    actuals: list[ActualView] = field(default_factory=list)
    reviews: list[ReviewView] = field(default_factory=list)
    evidence: list[EvidenceRow] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # a completion request's unfinished work (reports.completion)

    @property
    def state_text(self) -> str:
        return report_state_label(self.report.state, self.report.kind)

    @property
    def period_text(self) -> str:
        if self.report.kind == ReportKind.completion:
            return _("办结申请（%(date)s）", date=self.report.period)
        return period_label(self.report.period)

    @property
    def last_return(self) -> ReviewView | None:
        """The comment a returned report was sent back with."""
        if self.report.state != ReportState.returned:
            return None
        returns = [r for r in self.reviews if r.review.decision in ("return", "unit_head_return")]
        return returns[-1] if returns else None


async def _with_details(session: AsyncSession, views: list[ReportView]) -> list[ReportView]:
    """Fills contributions, actuals, reviews and evidence of every view: four queries for the whole list."""
    by_id = {v.report.id: v for v in views}
    if not by_id:
        return views
    ids = list(by_id)
    contributions = await session.exec(
        select(ReportContribution, Unit.name).join(Unit, col(Unit.id) == ReportContribution.unit_id)
        .where(col(ReportContribution.report_id).in_(ids)).order_by(col(Unit.sort_order), col(Unit.name)))
    for contribution, unit in contributions.all():
        by_id[contribution.report_id].contributions.append(ContributionView(contribution, unit))
    actuals = await session.exec(
        select(TargetActual, TaskTarget).join(TaskTarget, col(TaskTarget.id) == TargetActual.target_id)
        .where(col(TargetActual.report_id).in_(ids)).order_by(col(TaskTarget.position)))
    for actual, target in actuals.all():
        by_id[actual.report_id].actuals.append(ActualView(target, actual.actual))
    reviews = await session.exec(
        select(ReportReview, User.display_name).join(User, col(User.id) == ReportReview.reviewer_id)
        .where(col(ReportReview.report_id).in_(ids)).order_by(col(ReportReview.decided_at)))
    for review, name in reviews.all():
        by_id[review.report_id].reviews.append(ReviewView(review, name, by_id[review.report_id].report.kind))
    for report_id, rows in (await evidence_of_reports(session, ids)).items():
        by_id[report_id].evidence = rows
    return views


# --- the 台账's reports ------------------------------------------------------------------------------------


@dataclass
class TaskReports:
    task: Task
    reports: list[ReportView]


async def reports_for_task(session: AsyncSession, actor: Actor, task_id: uuid.UUID) -> TaskReports:
    """Every report of the task, newest first, with contributions, actuals and reviews. Drafts are the units'
    working copies (see access.readable_reports): the bureau's roles see reports once they have been submitted."""
    task = await get_task(session, actor, task_id)
    query = (select(ProgressReport, Unit.name).join(Unit, col(Unit.id) == ProgressReport.unit_id)
             .where(ProgressReport.task_id == task.id)
             .order_by(col(ProgressReport.period).desc(), col(ProgressReport.created_at).desc(),
                       col(ProgressReport.id)))
    query = query.where(readable_reports(actor))
    views = [ReportView(report, unit, task) for report, unit in (await session.exec(query)).all()]
    return TaskReports(task, await _with_details(session, views))


async def settings_to_edit(session: AsyncSession, actor: Actor) -> BureauSettings:
    """The bureau's report rules as the administrator's form shows them."""
    require_manage_report_settings(actor)
    return await get_bureau_settings(session, actor.tenant_id)


async def get_report(session: AsyncSession, actor: Actor, report_id: uuid.UUID) -> ReportView:
    report, task = await readable_report(session, actor, report_id)
    unit = await session.get(Unit, report.unit_id)
    return (await _with_details(session, [ReportView(report, unit.name if unit else "", task)]))[0]


# --- the review queue ------------------------------------------------------------------------------------


class ReviewQueue(list[ReportView]):
    """The oldest waiting reports (at most the limit asked for) and how many wait in all."""

    total: int = 0
    for_reviewer: bool = False  # a supervisor's queue (the bureau's), not a unit head's


async def review_queue(session: AsyncSession, actor: Actor, *, limit: int = QUEUE_LIMIT) -> ReviewQueue:
    """What waits for the actor's decision, oldest first: for supervisors (and admins) the submitted reports and
    completion requests of the bureau; for a unit head the reports of their unit waiting for their approval. The
    total comes with the rows (a window count), so a page can show the first few and say how many wait."""
    query = (select(ProgressReport, Task, Unit.name, func.count().over())
             .join(Task, col(Task.id) == ProgressReport.task_id).join(Unit, col(Unit.id) == ProgressReport.unit_id))
    if policy.is_reviewer(actor):
        query = query.where(ProgressReport.state == ReportState.submitted)
    elif policy.is_unit_head(actor):
        query = query.where(ProgressReport.state == ReportState.awaiting_unit_head,
                            ProgressReport.unit_id == actor.unit_id)
    else:
        raise Forbidden(_("审核队列供督查督办人员和单位负责人使用；您可以在任务的台账中查阅报告。"))
    query = query.order_by(col(ProgressReport.submitted_at).asc().nulls_last(), col(ProgressReport.created_at),
                           col(ProgressReport.id)).limit(limit)
    rows = (await session.exec(query)).all()
    views = [ReportView(report, unit, task) for report, task, unit, _total in rows]
    unfinished = await unfinished_work(session, [v.report.task_id for v in views
                                                 if v.report.kind == ReportKind.completion])
    for view in views:
        if view.report.kind == ReportKind.completion:
            view.unfinished = unfinished.get(view.report.task_id, [])
    queue = ReviewQueue(await _with_details(session, views))
    queue.total = rows[0][3] if rows else 0
    queue.for_reviewer = policy.is_reviewer(actor)
    return queue


# --- the report form -------------------------------------------------------------------------------------


@dataclass
class ReportForm:
    task: Task
    assignment: TaskAssignment | None
    mode: str  # "write" (lead / responsible unit), "contribute" (cooperating unit) or "read"
    period: str
    current_period: str
    due: date
    settings: BureauSettings
    targets: list[TaskTarget]
    own: ReportView | None  # the actor's unit's report for the period
    values: dict[str, Any]  # what the form shows: the report's values, or defaults for a new one
    recent: list[ProgressReport]  # the unit's reports of other periods, newest first
    period_reports: list[ReportView]  # the writing units' reports of the period (what co-units contribute to)
    completion: ReportView | None  # the task's latest completion request
    today: date

    @property
    def unit_active(self) -> bool:
        """The unit still works on the task (it has not sent it back, nor finished its part)."""
        return self.assignment is not None and self.assignment.state not in CLOSED_ASSIGNMENT

    @property
    def editable(self) -> bool:
        return (self.mode == "write" and self.unit_active and self.task.state in OPEN_TASK
                and (self.own is None or self.own.report.state in EDITABLE))

    @property
    def version(self) -> int:
        return self.own.report.version if self.own else 0

    @property
    def is_current(self) -> bool:
        return self.period == self.current_period

    @property
    def can_request_completion(self) -> bool:
        return (self.mode == "write" and self.unit_active and self.task.state in OPEN_TASK
                and self.assignment is not None and self.assignment.kind == AssignmentKind.lead)

    def my_contribution(self, view: ReportView, unit_id: uuid.UUID | None) -> str:
        return next((c.contribution.text for c in view.contributions if c.contribution.unit_id == unit_id), "")


async def report_form(
    session: AsyncSession, actor: Actor, task_id: uuid.UUID, period: str | None = None
) -> ReportForm:
    """Everything the report page shows for the task and period (the current one unless given)."""
    task = await get_task(session, actor, task_id)
    assignment = await assignment_of(session, actor, task)
    mode = policy.form_mode(actor, assignment)
    today = local_today(actor.timezone)
    current = current_period(task.report_frequency, today)
    period = period if period and is_period_of(task.report_frequency, period) and period <= current else current
    settings = await get_bureau_settings(session, actor.tenant_id)
    targets = list((await session.exec(
        select(TaskTarget).where(TaskTarget.task_id == task.id).order_by(col(TaskTarget.position)))).all())
    rows = (await session.exec(
        select(ProgressReport, Unit.name, TaskAssignment.kind)
        .join(Unit, col(Unit.id) == ProgressReport.unit_id)
        .outerjoin(TaskAssignment, (col(TaskAssignment.task_id) == ProgressReport.task_id)
                   & (col(TaskAssignment.unit_id) == ProgressReport.unit_id))
        .where(ProgressReport.task_id == task.id)
        .order_by(col(ProgressReport.created_at).desc(), col(ProgressReport.id)))).all()
    own = None
    recent: list[ProgressReport] = []
    period_reports: list[ReportView] = []
    completion = None
    for report, unit, kind in rows:
        if report.kind == ReportKind.completion:
            if completion is None:
                completion = ReportView(report, unit, task)
        elif report.unit_id == actor.unit_id and report.period == period:
            own = ReportView(report, unit, task)
        elif report.unit_id == actor.unit_id:
            recent.append(report)
        elif report.period == period and kind != AssignmentKind.cooperating:
            period_reports.append(ReportView(report, unit, task))
    recent = sorted(recent, key=lambda r: r.period, reverse=True)[:RECENT_LIMIT]
    await _with_details(session, [v for v in (own, completion, *period_reports) if v is not None])
    return ReportForm(
        task=task, assignment=assignment, mode=mode, period=period, current_period=current,
        due=due_on(period, settings.report_day, deadline=task.deadline), settings=settings, targets=targets,
        own=own, values=_form_values(own, recent, task), recent=recent, period_reports=period_reports,
        completion=completion, today=today,
    )


def _form_values(own: ReportView | None, recent: list[ProgressReport], task: Task) -> dict[str, Any]:
    """The report's own values; for a new report the last submitted percent and expected completion."""
    if own is not None:
        report = own.report
        values: dict[str, Any] = {
            "progress": report.progress, "problems": report.problems, "next_steps": report.next_steps,
            "support_needed": report.support_needed, "percent": str(report.percent),
            "expected_completion": report.expected_completion.isoformat() if report.expected_completion else "",
        }
        for actual in own.actuals:
            values[f"actual-{actual.target.id}"] = f"{actual.actual:g}"
        return values
    last = next((r for r in recent if r.submitted_at is not None), None)
    return {
        "percent": str(last.percent if last else task.progress),
        "expected_completion": last.expected_completion.isoformat() if last and last.expected_completion else "",
    }


__all__ = ["QUEUE_PAGE", "ReportForm", "ReportView", "ReviewQueue", "TaskReports", "get_report", "report_form",
           "reports_for_task", "review_queue"]
