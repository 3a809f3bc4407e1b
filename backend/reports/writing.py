"""Writing reports: the unit's draft and its submission, "no change this period", the co-units' parts, and the
lead unit's completion request. Everything is checked before anything changes, so a refused write leaves what
was saved before untouched."""

import math
import re
import unicodedata
import uuid
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.core.clock import local_today
from backend.core.roles import Role
from backend.core.versions import is_stale, missing_version_message
from backend.delivery.notify import notify_roles, notify_unit
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.evidence import service as evidence
from backend.i18n import _
from backend.reports.access import EDITABLE, OPEN_TASK, check_task_open, load_report
from backend.reports.labels import decision_label, report_state_label
from backend.reports.lights import relight
from backend.reports.models import (
    ProgressReport,
    ReportContribution,
    ReportKind,
    ReportReview,
    ReportState,
    TargetActual,
)
from backend.reports.policy import is_unit_head, require_contributor, writing_assignment
from backend.tasks.models import (
    AssignmentKind,
    EvidenceRule,
    Task,
    TaskAssignment,
    TaskState,
    TaskTarget,
    state_label,
)
from backend.tasks.periods import current_period, due_on, is_period_of, period_label, period_year
from backend.tasks.service import check_version, get_task
from backend.tenancy.bureau_settings import get_bureau_settings
from backend.tenancy.models import Unit

MAX_TEXT = 5000


class AlreadySubmitted(Conflict):
    """The report was submitted already (a double-clicked form, or a second tab): nothing was changed."""


# --- input -----------------------------------------------------------------------------------------------


def clean_text(value: Any, label: str, field: str) -> str:
    text = str(value or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        message = _("%(label)s不能超过 %(max)s 字（现在 %(n)s 字），请精简后再保存。", label=label, max=MAX_TEXT,
                    n=len(text))
        raise InvalidInput(message, field=field)
    return text


def _normal(value: Any) -> str:
    """Full-width digits and punctuation (from Chinese input methods) become ASCII."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_percent(value: Any) -> int:
    if value is None or value == "":
        return 0
    message = _("完成进度请填写 0 到 100 之间的整数（百分比），例如 60。")
    if isinstance(value, bool):
        raise InvalidInput(message, field="percent")
    if isinstance(value, int):
        number = value
    else:
        text = _normal(value).removesuffix("%").strip()
        if not re.fullmatch(r"\d{1,3}", text):
            raise InvalidInput(message, field="percent")
        number = int(text)
    if not 0 <= number <= 100:
        raise InvalidInput(message, field="percent")
    return number


DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def parse_date(value: Any, *, field: str, label: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    message = _("%(label)s的日期无法识别，请按 2026-12-31 的格式填写。", label=label)
    match = DATE_RE.fullmatch(_normal(value))
    if not match:
        raise InvalidInput(message, field=field)
    try:
        parsed = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as error:
        raise InvalidInput(message, field=field) from error
    if not 2000 <= parsed.year <= 2100:
        raise InvalidInput(message, field=field)
    return parsed


async def _clean_actuals(session: AsyncSession, task: Task, raw: dict | None) -> dict[uuid.UUID, float | None]:
    """Target id → the number reported (None clears it). Numbers may carry the target's unit or thousands commas."""
    if not raw:
        return {}
    targets = {t.id: t for t in (await session.exec(select(TaskTarget).where(TaskTarget.task_id == task.id))).all()}
    cleaned: dict[uuid.UUID, float | None] = {}
    for key, value in raw.items():
        try:
            target = targets.get(key if isinstance(key, uuid.UUID) else uuid.UUID(str(key)))
        except ValueError:
            target = None
        if target is None:
            raise InvalidInput(_("所填指标不属于该任务，请刷新页面后重新填写。"), field="actuals")
        field = f"actual-{target.id}"
        if value is None or (isinstance(value, str) and not value.strip()):
            cleaned[target.id] = None
            continue
        message = _("“%(target)s”的完成值请填写数字，例如 12 或 3.5。", target=target.text[:40])
        if isinstance(value, bool):
            raise InvalidInput(message, field=field)
        if isinstance(value, int | float):
            number = float(value)
        else:
            text = _normal(value).replace(",", "").removesuffix(_normal(target.unit) if target.unit else "").strip()
            if not re.fullmatch(r"-?\d+(\.\d+)?", text):
                raise InvalidInput(message, field=field)
            number = float(text)
        if not math.isfinite(number) or abs(number) >= 1e12:
            raise InvalidInput(message, field=field)
        cleaned[target.id] = number
    return cleaned


def _check_period(task: Task, period: str, today: date) -> None:
    if not is_period_of(task.report_frequency, period):
        message = _("报送期“%(period)s”与该任务的报送频次不符，请从任务页面重新进入填报。", period=period[:20])
        raise InvalidInput(message, field="period")
    year = period_year(period)
    if year is not None and (period > current_period(task.report_frequency, today) or year < task.year - 1):
        raise InvalidInput(_("只能填报本期或以前各期的进展，不能提前填报“%(period)s”。", period=period_label(period)),
                           field="period")


# --- versions and what happened ----------------------------------------------------------------------------


def _when(actor: Actor, moment: datetime | None) -> str:
    return clock.localtime(moment, timezone=actor.timezone)


async def check_report_version(session: AsyncSession, actor: Actor, report: ProgressReport, version: int | None):
    """A form shown before the report changed is refused, saying what changed it when a decision did."""
    if not is_stale(report.version, version):
        return
    latest = (await session.exec(
        select(ReportReview, User.display_name).join(User, col(User.id) == ReportReview.reviewer_id)
        .where(ReportReview.report_id == report.id).order_by(col(ReportReview.decided_at).desc()).limit(1)
    )).first()
    if latest is not None and report.state != ReportState.draft:
        review, name = latest
        raise Conflict(_("该报告在您打开后已被修改，请刷新页面：%(name)s 已于 %(time)s %(decision)s"
                         "（当前状态：%(state)s）。您这次的操作没有保存。", name=name,
                         time=_when(actor, review.decided_at), decision=decision_label(review.decision, report.kind),
                         state=report_state_label(report.state, report.kind)))
    raise Conflict(_("该报告在您打开后已被修改，请刷新页面，看到最新内容后再操作（当前状态：%(state)s）。",
                     state=report_state_label(report.state, report.kind)))


def _check_new_report(version: int | None) -> None:
    """A new report's form says version 0: any other cannot be confirmed, as a missing one (core/versions.py)."""
    if is_stale(0, version):
        raise Conflict(missing_version_message())


def _already_submitted(actor: Actor, report: ProgressReport) -> AlreadySubmitted:
    if report.state == ReportState.accepted:
        return AlreadySubmitted(_("该报告已通过审核，不能再修改或重复提交。"))
    if report.state == ReportState.awaiting_unit_head:
        return AlreadySubmitted(_("该报告已于 %(time)s 提交，正在等待单位负责人审核，无需重复提交。",
                                  time=_when(actor, report.submitted_at)))
    return AlreadySubmitted(_("该报告已于 %(time)s 提交，正在等待督查督办人员审核，无需重复提交；"
                              "如需修改，请联系审核人退回。", time=_when(actor, report.submitted_at)))


def _snapshot(report: ProgressReport) -> dict[str, Any]:
    return {"state": str(report.state), "percent": report.percent, "no_change": report.no_change,
            "expected_completion": report.expected_completion.isoformat() if report.expected_completion else None,
            "version": report.version}


async def unit_name(session: AsyncSession, unit_id: uuid.UUID) -> str:
    unit = await session.get(Unit, unit_id)
    return unit.name if unit else ""


async def _find_own(
    session: AsyncSession, task_id: uuid.UUID, unit_id: uuid.UUID, period: str, kind: ReportKind
) -> ProgressReport | None:
    query = (select(ProgressReport).where(ProgressReport.task_id == task_id, ProgressReport.unit_id == unit_id,
                                          ProgressReport.period == period, ProgressReport.kind == kind)
             .with_for_update().execution_options(populate_existing=True))
    return (await session.exec(query)).first()


async def _editable_own(session: AsyncSession, actor: Actor, task_id: uuid.UUID, unit_id: uuid.UUID, period: str,
                        version: int | None) -> ProgressReport | None:
    """The unit's report of the period (None before the first save), once sure that the form shown at `version`
    may still change it: not sent already, not changed since."""
    report = await _find_own(session, task_id, unit_id, period, ReportKind.periodic)
    if report is None:
        _check_new_report(version)
    elif report.state not in EDITABLE:
        raise _already_submitted(actor, report)
    else:
        await check_report_version(session, actor, report, version)
    return report


async def _new_report(session: AsyncSession, actor: Actor, task: Task, period: str, kind: ReportKind) -> ProgressReport:
    settings = await get_bureau_settings(session, actor.tenant_id)
    due = task.deadline if kind == ReportKind.completion else due_on(period, settings.report_day,
                                                                     deadline=task.deadline)
    assert actor.unit_id is not None
    return ProgressReport(tenant_id=actor.tenant_id, task_id=task.id, unit_id=actor.unit_id, period=period,
                          kind=kind, due_on=due)


# --- writing ---------------------------------------------------------------------------------------------


async def save_report(
    session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, period: str | None = None, progress: str = "",
    problems: str = "", next_steps: str = "", support_needed: str = "", percent: int | str | None = 0,
    expected_completion: date | str | None = None, target_actuals: dict | None = None, version: int | None = 0,
) -> ProgressReport:
    """Saves the unit's report for the period as a draft (or keeps a returned one returned, to be resubmitted).
    `version` is the report's version the form was shown with (0 for a new one). Everything is checked before
    anything changes, so a refused save leaves what was saved before untouched."""
    task = await get_task(session, actor, task_id, for_update=True)
    assignment = await writing_assignment(session, actor, task)
    check_task_open(task)
    today = local_today(actor.timezone)
    period = (period or "").strip() or current_period(task.report_frequency, today)
    _check_period(task, period, today)
    report = await _editable_own(session, actor, task.id, assignment.unit_id, period, version)
    values = {
        "progress": clean_text(progress, _("进展情况"), "progress"),
        "problems": clean_text(problems, _("存在问题"), "problems"),
        "next_steps": clean_text(next_steps, _("下步措施"), "next_steps"),
        "support_needed": clean_text(support_needed, _("需协调事项"), "support_needed"),
        "percent": parse_percent(percent),
        "expected_completion": parse_date(expected_completion, field="expected_completion", label=_("预计完成时间")),
    }
    actuals = await _clean_actuals(session, task, target_actuals)
    created = report is None
    if report is None:
        report = await _new_report(session, actor, task, period, ReportKind.periodic)
        before = None
    else:
        before = _snapshot(report)
        report.version += 1
    for name, value in values.items():
        setattr(report, name, value)
    if values["progress"]:  # written progress makes a "no change" report (returned, say) an ordinary one
        report.no_change, report.no_change_reason = False, ""
    report.updated_at = clock.now()
    session.add(report)
    await session.flush()
    await _store_actuals(session, actor, report, actuals)
    await record(session, actor, "report.create" if created else "report.update", object_type="progress_report",
                 object_id=report.id,
                 summary=_("%(action)s %(number)s %(period)s进展报告", action=_("填写") if created else _("修改"),
                           number=task.number, period=period_label(period)),
                 details={"task_id": str(task.id), "period": period, "before": before, "after": _snapshot(report)})
    return report


async def _store_actuals(
    session: AsyncSession, actor: Actor, report: ProgressReport, actuals: dict[uuid.UUID, float | None]
) -> None:
    if not actuals:
        return
    existing = {a.target_id: a for a in (await session.exec(
        select(TargetActual).where(TargetActual.report_id == report.id))).all()}
    for target_id, value in actuals.items():
        row = existing.get(target_id)
        if value is None:
            if row is not None:
                await session.delete(row)
            continue
        row = row or TargetActual(tenant_id=actor.tenant_id, report_id=report.id, target_id=target_id, actual=value)
        row.actual = value
        session.add(row)
    await session.flush()


async def submit_report(session: AsyncSession, actor: Actor, report_id: uuid.UUID, *, version: int | None):
    """Sends the report up: to the unit head if the bureau asks for that, otherwise to the supervisors."""
    report, task = await load_report(session, actor, report_id, lock=True)
    assignment = await writing_assignment(session, actor, task)
    if report.unit_id != actor.unit_id:
        raise Forbidden(_("只能提交本单位的报告。"))
    if report.state not in EDITABLE:
        raise _already_submitted(actor, report)
    await check_report_version(session, actor, report, version)
    if report.kind == ReportKind.completion:
        raise InvalidInput(_("办结申请请在“申请办结”处重新提交。"))
    check_task_open(task)
    if not report.no_change and not report.progress.strip():
        raise InvalidInput(_("请填写进展情况（本期做了什么）；如本期确无新进展，请使用“无新进展”并说明原因。"),
                           field="progress")
    if task.evidence_rule == EvidenceRule.required and not await evidence.count_evidence(
            session, task.id, report_id=report.id):
        raise InvalidInput(_("这项任务要求随报告上传佐证材料，原因：%(reason)s。请至少上传一份照片或文件后再提交；"
                             "已填写的内容已保存。", reason=task.evidence_reason), field="file")
    return await _submit(session, actor, task, report, assignment, action="report.submit")


async def no_change_this_month(
    session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, reason: str, version: int | None = 0
) -> ProgressReport:
    """One tap: this period's report says "no new progress", with the reason, and the last report's percent."""
    task = await get_task(session, actor, task_id, for_update=True)
    assignment = await writing_assignment(session, actor, task)
    check_task_open(task)
    today = local_today(actor.timezone)
    period = current_period(task.report_frequency, today)
    report = await _editable_own(session, actor, task.id, assignment.unit_id, period, version)
    reason = clean_text(reason, _("无新进展的原因"), "reason")
    if not reason:
        raise InvalidInput(_("请说明本期没有新进展的原因，例如：等待上级批复、项目处于招标期。"), field="reason")
    last = (await session.exec(
        select(ProgressReport).where(
            ProgressReport.task_id == task.id, ProgressReport.unit_id == actor.unit_id,
            ProgressReport.kind == ReportKind.periodic, ProgressReport.period != period,
            col(ProgressReport.submitted_at).is_not(None))
        .order_by(col(ProgressReport.submitted_at).desc()).limit(1)
    )).first()
    if report is None:
        report = await _new_report(session, actor, task, period, ReportKind.periodic)
    report.no_change, report.no_change_reason = True, reason
    report.percent = last.percent if last else (task.progress if assignment.kind == AssignmentKind.lead else 0)
    if last is not None and report.expected_completion is None:
        report.expected_completion = last.expected_completion
    session.add(report)
    await session.flush()
    return await _submit(session, actor, task, report, assignment, action="report.no_change")


async def _submit(
    session: AsyncSession, actor: Actor, task: Task, report: ProgressReport, assignment: TaskAssignment, *,
    action: str,
) -> ProgressReport:
    settings = await get_bureau_settings(session, actor.tenant_id)
    moment = clock.now()
    before = {"report": str(report.state), "task": str(task.state), "assignment": str(assignment.state)}
    if report.submitted_at is None:  # lateness is measured at the first submission, not after a return
        report.late = local_today(actor.timezone) > report.due_on
        report.submitted_at = moment
    report.submitted_by = actor.user_id
    head_needed = settings.unit_head_approval and not is_unit_head(actor)
    report.state = ReportState.awaiting_unit_head if head_needed else ReportState.submitted
    report.version += 1
    report.updated_at = moment
    session.add(report)
    if report.kind == ReportKind.completion:
        if task.state != TaskState.completion_requested:
            task.state = TaskState.completion_requested
            task.version += 1
    else:
        if task.state in (TaskState.assigned, TaskState.acknowledged):
            task.state = TaskState.in_progress
            task.version += 1
        if assignment.state in (TaskState.assigned, TaskState.acknowledged):
            assignment.state = TaskState.in_progress
            session.add(assignment)
        if assignment.kind == AssignmentKind.lead:
            task.progress = report.percent
            await _apply_actuals(session, report)
    task.last_report_at = moment
    task.updated_at = moment
    session.add(task)
    await session.flush()
    # Evidence attached to a submitted report is immutable from now on.
    await evidence.mark_submitted(session, report_id=report.id)
    unit = await unit_name(session, report.unit_id)
    if head_needed:
        await notify_unit(session, actor.tenant_id, report.unit_id, kind="report_awaiting_unit_head",
                          key=f"report-head:{report.id}:{report.version}", roles=(Role.unit_head,),
                          title=_("%(number)s %(what)s待您审核", number=task.number, what=kind_words(report)),
                          body=task.title, link="/reviews")
    else:
        await notify_supervisors(session, actor, task, report, unit)
    after = {"report": str(report.state), "task": str(task.state), "assignment": str(assignment.state)}
    await record(session, actor, action, object_type="progress_report", object_id=report.id,
                 summary=_("%(unit)s 提交 %(number)s %(what)s%(late)s", unit=unit, number=task.number,
                           what=kind_words(report), late=_("（逾期）") if report.late else ""),
                 details={"task_id": str(task.id), "period": report.period, "late": report.late,
                          "unit_head_approval": settings.unit_head_approval, "before": before, "after": after})
    await relight(session, actor, [task.id], _("进展报送"))
    return report


def kind_words(report: ProgressReport) -> str:
    if report.kind == ReportKind.completion:
        return _("办结申请")
    return _("%(period)s进展报告", period=period_label(report.period))


async def notify_supervisors(session: AsyncSession, actor: Actor, task: Task, report: ProgressReport, unit: str):
    completion = report.kind == ReportKind.completion
    await notify_roles(session, actor.tenant_id, (Role.supervisor,),
                       kind="completion_requested" if completion else "report_submitted",
                       key=f"report-submitted:{report.id}:{report.version}",
                       title=_("%(unit)s 报送了 %(number)s %(what)s", unit=unit, number=task.number,
                               what=kind_words(report)),
                       body=task.title, link="/reviews")


async def _apply_actuals(session: AsyncSession, report: ProgressReport) -> None:
    """The lead unit's submitted figures become the targets' current actuals."""
    rows = (await session.exec(select(TargetActual).where(TargetActual.report_id == report.id))).all()
    if not rows:
        return
    targets = {t.id: t for t in (await session.exec(
        select(TaskTarget).where(col(TaskTarget.id).in_([r.target_id for r in rows])))).all()}
    for row in rows:
        if row.target_id in targets:
            targets[row.target_id].actual = row.actual
            session.add(targets[row.target_id])


async def contribute(session: AsyncSession, actor: Actor, report_id: uuid.UUID, *, text: str) -> ReportContribution:
    """A cooperating unit adds (or rewrites) its part of the report, until the report is accepted. The same text
    sent again (a double click, two browsers) changes nothing and is not logged twice."""
    report, task = await load_report(session, actor, report_id, lock=True)
    await require_contributor(session, actor, task)
    if report.state == ReportState.accepted:
        raise Conflict(_("该报告已通过审核，不能再补充配合情况；请在下一期报告中补充。"))
    text = clean_text(text, _("配合情况"), "text")
    if not text:
        raise InvalidInput(_("请填写本单位的配合情况。"), field="text")
    assert actor.unit_id is not None
    found = (await session.exec(select(ReportContribution).where(
        ReportContribution.report_id == report.id, ReportContribution.unit_id == actor.unit_id))).first()
    if found is not None and found.text == text:
        return found
    before = found.text if found else None
    contribution = found or ReportContribution(tenant_id=actor.tenant_id, report_id=report.id,
                                               unit_id=actor.unit_id, text=text, author_id=actor.user_id)
    contribution.text, contribution.author_id, contribution.updated_at = text, actor.user_id, clock.now()
    session.add(contribution)
    await session.flush()
    unit = await unit_name(session, actor.unit_id)
    await record(session, actor, "report.contribute", object_type="progress_report", object_id=report.id,
                 summary=_("%(unit)s 为 %(number)s %(what)s补充配合情况", unit=unit, number=task.number,
                           what=kind_words(report)),
                 details={"task_id": str(task.id), "before": before, "after": text})
    return contribution


# --- completion request (申请办结) ----------------------------------------------------------------------------


async def request_completion(
    session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, summary: str, version: int | None
) -> ProgressReport:
    """The lead unit asks for 办结 with a summary (and the final evidence attached to the request)."""
    task = await get_task(session, actor, task_id, for_update=True)
    assignment = await writing_assignment(session, actor, task)
    if assignment.kind != AssignmentKind.lead:
        raise Forbidden(_("只有牵头单位可以申请办结。"))
    if task.state == TaskState.completion_requested:
        raise AlreadySubmitted(_("任务“%(number)s”已申请办结，正在等待审批，无需重复申请。", number=task.number))
    check_version(task, version)
    if task.state not in OPEN_TASK:
        raise Conflict(_("任务“%(number)s”当前状态为“%(state)s”，不能申请办结。", number=task.number,
                         state=state_label(task.state)))
    summary = clean_text(summary, _("办结情况说明"), "summary")
    if not summary:
        raise InvalidInput(_("请填写办结情况说明：完成了什么、有哪些佐证材料。"), field="summary")
    if task.evidence_rule == EvidenceRule.required and not await evidence.count_evidence(session, task.id):
        raise InvalidInput(_("这项任务要求佐证材料，原因：%(reason)s。申请办结前请至少上传一份照片或文件"
                             "（在本期报告或任务页的“佐证材料”处上传）。", reason=task.evidence_reason),
                           field="summary")
    today = local_today(actor.timezone)
    report = await _find_own(session, task.id, assignment.unit_id, today.isoformat(), ReportKind.completion)
    if report is None:
        report = await _new_report(session, actor, task, today.isoformat(), ReportKind.completion)
    elif report.state not in EDITABLE:
        raise _already_submitted(actor, report)
    report.progress, report.percent, report.expected_completion = summary, 100, today
    session.add(report)
    await session.flush()
    return await _submit(session, actor, task, report, assignment, action="task.completion_request")
