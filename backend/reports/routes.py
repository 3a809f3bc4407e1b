"""Report pages (the phone-first report form, the review queue, a task's reports, the bureau's report rules) and
the report API. Routes parse the form, call one service, and render or redirect (Post/Redirect/Get)."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from starlette.datastructures import UploadFile

from backend.config import get_settings
from backend.core.actor import Actor
from backend.core.bodies import evidence_file_bytes, takes_files
from backend.core.feedback import done
from backend.core.forms import form_error, safe_next, see_other, unless_correctable
from backend.core.templating import render
from backend.core.versions import form_version
from backend.deps import ApiActor, CurrentActor, DbSession
from backend.errors import Conflict, DomainError, InvalidInput
from backend.files.storage import upload_chunks
from backend.i18n import _
from backend.reports import service as reports
from backend.reports.labels import report_state_label
from backend.reports.models import ProgressReport, ReportKind
from backend.reports.queries import QUEUE_PAGE
from backend.reports.schemas import (
    BatchIn,
    BatchItemPublic,
    CompletionDecisionIn,
    CompletionIn,
    ContributionIn,
    DecisionIn,
    NoChangeIn,
    ReportIn,
    ReportPublic,
    ReviewIn,
    VersionIn,
)
from backend.tasks.models import state_label
from backend.tasks.periods import no_change_label, period_label
from backend.tenancy.bureau_settings import update_bureau_settings

pages = APIRouter(tags=["reports"], include_in_schema=False)
api = APIRouter(tags=["reports"])

REPORT_FIELDS = ("progress", "problems", "next_steps", "support_needed", "percent", "expected_completion")


def _notices() -> dict[str, str]:
    return {
        "saved": _("已保存草稿。确认无误后请点“保存并提交”。"),
        "uploaded": _("已上传，并已保存草稿。确认无误后请点“保存并提交”。"),
        "removed": _("已移除该材料，并已保存草稿。"),
        "submitted": _("已提交。"),
        "awaiting": _("已提交，等待本单位负责人审核后报送局里。"),
        "already": _("该报告已经提交过，无需重复提交；下面是它现在的状态。"),
        "no_change": _("已报送“无新进展”。"),
        "contributed": _("已保存本单位的配合情况。"),
        "completion": _("已申请办结，等待审批。"),
        "completion_awaiting": _("已申请办结，等待本单位负责人审核后报送局里。"),
        "settings": _("报送规则已保存。"),
    }


def _labels() -> dict[str, Any]:
    return {"state_label": state_label, "report_state_label": report_state_label, "period_label": period_label,
            "no_change_label": no_change_label, "notices": _notices(), "ReportKind": ReportKind,
            "evidence_max_mb": get_settings().evidence_max_mb}


def _report_url(task_id: uuid.UUID, period: str | None = None, notice: str | None = None) -> str:
    query = [f"period={quote(period)}"] if period else []
    if notice:
        query.append(f"notice={notice}")
    return f"/tasks/{task_id}/report" + ("?" + "&".join(query) if query else "")


def _submitted_notice(report: ProgressReport) -> str:
    return "awaiting" if report.state == "awaiting_unit_head" else "submitted"


async def _render_form(request: Request, session, actor: Actor, task_id: uuid.UUID, period: str | None,
                       error: DomainError | None = None, values: dict | None = None,
                       extra: dict | None = None):
    form = await reports.report_form(session, actor, task_id, period)
    context = {"f": form, **_labels(), **(extra or {})}
    if error is None:
        return render(request, "reports/report.html", {**context, "values": form.values})
    if isinstance(error, Conflict):  # the latest saved values, and what was typed beside them
        context["unsaved"] = {k: v for k, v in (values or {}).items() if v}
        return form_error(request, "reports/report.html", error, {**form.values, **{
            k: v for k, v in (values or {}).items() if k in ("reason", "summary")}}, context)
    return form_error(request, "reports/report.html", error, values or {}, context)


# --- the report form -------------------------------------------------------------------------------------


@pages.get("/tasks/{task_id}/report")
async def report_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID, period: str = "",
                      part: str = ""):
    """The report form; for htmx with `part=evidence`, only its evidence list (polled while thumbnails are made)."""
    form = await reports.report_form(session, actor, task_id, period[:10] or None)
    if form.mode == "read":
        return see_other(request, f"/tasks/{task_id}/reports")
    context = {"f": form, "values": form.values, **_labels()}
    if part == "evidence" and _is_htmx(request):
        return render(request, "reports/report.html", context, block="evidence")
    return render(request, "reports/report.html", context)


def _is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


def _uploads(form) -> list[tuple[str, Any]]:
    """The photos and other files chosen on the form, as (filename, chunks) for the service."""
    chosen = [item for name in ("photos", "files") for item in form.getlist(name)
              if isinstance(item, UploadFile) and item.filename]
    return [(item.filename or "", upload_chunks(item)) for item in chosen]


def _removed(action: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(action.removeprefix("remove:")) if action.startswith("remove:") else None
    except ValueError:
        raise InvalidInput(_("找不到要移除的材料，可能已被移除。请刷新页面。"), field="evidence") from None


async def _evidence_part(request: Request, session, actor: Actor, task_id: uuid.UUID, period: str | None, *,
                         error: DomainError | None = None, notices: list[str] | None = None):
    """The form's evidence list after an htmx upload or removal (with the report's new version inside it)."""
    form = await reports.report_form(session, actor, task_id, period)
    context = {"f": form, "values": form.values, "evidence_error": error.message if error else "",
               "evidence_notices": notices or [], "evidence_oob": form.is_current, **_labels()}
    return render(request, "reports/report.html", context, block="evidence",
                  status_code=422 if error else 200)


@pages.post("/tasks/{task_id}/report")
@takes_files(evidence_file_bytes)
async def save_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID):
    """Saves the draft (and attaches any photos and files chosen), then: submits it, or comes back to the same
    form and period. With htmx (a file chosen, a file removed) only the evidence list comes back."""
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in REPORT_FIELDS}
    actuals = {str(k)[7:]: str(v) for k, v in form.items() if str(k).startswith("actual-")}
    typed = {**values, **{f"actual-{k}": v for k, v in actuals.items()}}
    period = str(form.get("period") or "")[:20]
    action = str(form.get("action") or "save")
    partial = _is_htmx(request) and (action == "upload" or action.startswith("remove:"))
    try:
        saved = await reports.save_with_evidence(
            session, actor, task_id, period=period or None, target_actuals=actuals,
            version=form_version(form.get("version")), uploads=_uploads(form), remove=_removed(action), **values)
        report = saved.report
        if action == "submit":
            report = await reports.submit_report(session, actor, report.id, version=report.version)
            return see_other(request, _report_url(task_id, report.period, _submitted_notice(report)))
    except reports.AlreadySubmitted:
        return see_other(request, _report_url(task_id, period, "already"))
    except DomainError as error:
        unless_correctable(error)
        if partial:
            return await _evidence_part(request, session, actor, task_id, period or None, error=error)
        return await _render_form(request, session, actor, task_id, period or None, error, typed)
    if partial:
        return await _evidence_part(request, session, actor, task_id, report.period, notices=saved.notices)
    if saved.notices:  # "这份材料已经上传过…": said on the form itself, not lost in a redirect
        return await _render_form(request, session, actor, task_id, report.period,
                                  extra={"evidence_notices": saved.notices})
    notice = "removed" if saved.removed else "uploaded" if saved.added else "saved"
    return see_other(request, _report_url(task_id, report.period, notice) + ("#report-evidence" if notice != "saved"
                                                                            else ""))


async def _send_from_form(request: Request, session, actor: Actor, task_id: uuid.UUID,
                          send: Callable[[], Awaitable[ProgressReport]], typed: dict[str, str], opened: str,
                          after: Callable[[ProgressReport], str]):
    """The month's "no change" and the completion request, both sent from a folded form of the report page: on
    to `after(report)`, or back to the page (the month already sent; refused: the form unfolded, as typed)."""
    try:
        report = await send()
    except reports.AlreadySubmitted:
        return see_other(request, _report_url(task_id, None, "already"))
    except DomainError as error:
        unless_correctable(error)
        return await _render_form(request, session, actor, task_id, None, error, typed, {opened: True})
    return see_other(request, after(report))


@pages.post("/tasks/{task_id}/report/no-change")
async def no_change_page(
    request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
    reason: Annotated[str, Form()] = "", version: Annotated[str, Form()] = "",
):
    return await _send_from_form(
        request, session, actor, task_id,
        lambda: reports.no_change_this_month(session, actor, task_id, reason=reason, version=form_version(version)),
        {"reason": reason}, "open_no_change", lambda report: _report_url(
            task_id, report.period, "awaiting" if report.state == "awaiting_unit_head" else "no_change"))


@pages.post("/reports/{report_id}/submit")
async def submit_page(
    request: Request, session: DbSession, actor: CurrentActor, report_id: uuid.UUID,
    version: Annotated[str, Form()] = "",
):
    view = await reports.get_report(session, actor, report_id)
    task_id, period = view.report.task_id, view.report.period
    try:
        report = await reports.submit_report(session, actor, report_id, version=form_version(version))
    except reports.AlreadySubmitted:
        return see_other(request, _report_url(task_id, period, "already"))
    except DomainError as error:
        unless_correctable(error)
        return await _render_form(request, session, actor, task_id, period, error, {})
    return see_other(request, _report_url(task_id, period, _submitted_notice(report)))


@pages.post("/reports/{report_id}/contribution")
async def contribution_page(
    request: Request, session: DbSession, actor: CurrentActor, report_id: uuid.UUID,
    text: Annotated[str, Form()] = "",
):
    view = await reports.get_report(session, actor, report_id)
    task_id, period = view.report.task_id, view.report.period
    try:
        await reports.contribute(session, actor, report_id, text=text)
    except DomainError as error:
        unless_correctable(error)
        field = f"text-{report_id}" if error.field == "text" else error.field
        return await _render_form(request, session, actor, task_id, period,
                                  InvalidInput(error.message, field=field), {f"text-{report_id}": text})
    return see_other(request, _report_url(task_id, period, "contributed"))


@pages.post("/tasks/{task_id}/completion")
async def completion_request_page(
    request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
    summary: Annotated[str, Form()] = "", version: Annotated[str, Form()] = "",
):
    return await _send_from_form(
        request, session, actor, task_id,
        lambda: reports.request_completion(session, actor, task_id, summary=summary, version=form_version(version)),
        {"summary": summary}, "open_completion", lambda report: _report_url(
            task_id, None, "completion_awaiting" if report.state == "awaiting_unit_head" else "completion"))


# --- decisions: unit head, supervisor, 办结; the review queue ------------------------------------------------


async def _render_queue(request: Request, session, actor: Actor, *, status_code: int = 200,
                        errors: dict | None = None, values: dict | None = None):
    rows = await reports.review_queue(session, actor, limit=QUEUE_PAGE)
    errors = dict(errors or {})
    if any(f"row-{view.report.id}" in errors for view in rows):
        errors.pop("__all__", None)  # said once, on the row acted on; at the top only when that row is not listed
    context = {"rows": rows, "errors": errors, "values": values or {}, "is_reviewer": rows.for_reviewer,
               **_labels()}
    return render(request, "reports/reviews.html", context, status_code=status_code)


async def _decide(request: Request, session, actor: Actor, report_id: uuid.UUID, decide, *, approve: bool,
                  comment: str, version: str, next_url: str, **extra: str):
    try:
        await decide(session, actor, report_id, approve=approve, comment=comment, version=form_version(version),
                     **extra)
    except DomainError as error:
        unless_correctable(error)
        errors = {"__all__": error.message, f"row-{report_id}": error.message}
        values = {f"comment-{report_id}": comment} | {f"{k}-{report_id}": v for k, v in extra.items()}
        return await _render_queue(request, session, actor, status_code=error.status_code, errors=errors,
                                   values=values)
    url = safe_next(next_url, "/reviews")
    return done(request, url, _decided(decide, approve))


async def _review(session, actor, report_id, *, approve: bool, comment: str, version: int):
    return await reports.review(session, actor, report_id, accept=approve, comment=comment, version=version)


def _decided(decide, approve: bool) -> str:
    """What the page says after a decision (in place of the old "已处理。"): whose decision, and what follows."""
    if decide is reports.unit_head_decide:
        return _("已同意，报告已报送局里审核。") if approve else _("已退回给经办人修改，对方会看到您的意见。")
    if decide is reports.decide_completion:
        return _("已批准办结，这项任务已办结。") if approve else _("已退回办结申请，承办单位会看到您的意见。")
    return (_("已通过这份报告，承办单位会收到通知。") if approve
            else _("已退回这份报告，承办单位会看到您的意见并修改后重报。"))


@pages.post("/reports/{report_id}/unit-head")
async def unit_head_page(
    request: Request, session: DbSession, actor: CurrentActor, report_id: uuid.UUID,
    decision: Annotated[str, Form()] = "", comment: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/reviews",
):
    return await _decide(request, session, actor, report_id, reports.unit_head_decide, approve=decision == "approve",
                         comment=comment, version=version, next_url=next)


@pages.post("/reports/{report_id}/review")
async def review_page(
    request: Request, session: DbSession, actor: CurrentActor, report_id: uuid.UUID,
    decision: Annotated[str, Form()] = "", comment: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/reviews",
):
    return await _decide(request, session, actor, report_id, _review, approve=decision == "accept",
                         comment=comment, version=version, next_url=next)


@pages.post("/reports/{report_id}/completion")
async def completion_decision_page(
    request: Request, session: DbSession, actor: CurrentActor, report_id: uuid.UUID,
    decision: Annotated[str, Form()] = "", comment: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/reviews",
    override_reason: Annotated[str, Form()] = "",
):
    return await _decide(request, session, actor, report_id, reports.decide_completion,
                         approve=decision == "approve", comment=comment, version=version, next_url=next,
                         override_reason=override_reason)


@pages.get("/reviews")
async def reviews_page(request: Request, session: DbSession, actor: CurrentActor):
    return await _render_queue(request, session, actor)


def _batch_items(raw: list) -> list[tuple[uuid.UUID, int]]:
    items = []
    for value in raw:
        report_id, _sep, version = str(value).partition(":")
        try:
            report = uuid.UUID(report_id)
        except ValueError as error:
            raise InvalidInput(_("所选报告无效，请刷新页面后重新勾选。"), field="reports") from error
        items.append((report, form_version(version)))
    return items


@pages.post("/reviews/batch")
async def batch_page(request: Request, session: DbSession, actor: CurrentActor):
    form = await request.form()
    comment = str(form.get("comment") or "")
    try:
        accepted = await reports.accept_reports(session, actor, _batch_items(form.getlist("report")),
                                                comment=comment)
    except DomainError as error:
        unless_correctable(error)
        return await _render_queue(request, session, actor, status_code=error.status_code,
                                   errors={"__all__": error.message}, values={"comment": comment})
    return done(request, "/reviews", _("已批量通过 %(n)s 份报告，承办单位会收到通知。", n=len(accepted)))


# --- a task's reports (the 台账's report part) and the bureau's report rules ---------------------------------


@pages.get("/tasks/{task_id}/reports")
async def ledger_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID):
    ledger = await reports.reports_for_task(session, actor, task_id)
    return render(request, "reports/ledger.html", {"ledger": ledger, **_labels()})


@pages.get("/admin/report-settings")
async def settings_page(request: Request, session: DbSession, actor: CurrentActor):
    settings = await reports.settings_to_edit(session, actor)
    values = {"report_day": str(settings.report_day), "unit_head_approval": settings.unit_head_approval}
    return render(request, "reports/settings.html", {"values": values, **_labels()})


@pages.post("/admin/report-settings")
async def save_settings_page(
    request: Request, session: DbSession, actor: CurrentActor, report_day: Annotated[str, Form()] = "",
    unit_head_approval: Annotated[str, Form()] = "",
):
    approval = unit_head_approval in ("1", "on", "true")
    try:
        await update_bureau_settings(session, actor, report_day=report_day, unit_head_approval=approval)
    except InvalidInput as error:
        return form_error(request, "reports/settings.html", error,
                          {"report_day": report_day, "unit_head_approval": approval}, _labels())
    return see_other(request, "/admin/report-settings?notice=settings")


# --- API -------------------------------------------------------------------------------------------------


async def _public_of(session, actor: Actor, report: ProgressReport) -> ReportPublic:
    return ReportPublic.model_validate(await reports.get_report(session, actor, report.id))


@api.get("/tasks/{task_id}/reports", response_model=list[ReportPublic])
async def api_reports(session: DbSession, actor: ApiActor, task_id: uuid.UUID):
    ledger = await reports.reports_for_task(session, actor, task_id)
    return [ReportPublic.model_validate(view) for view in ledger.reports]


@api.post("/tasks/{task_id}/reports", response_model=ReportPublic)
async def api_save(session: DbSession, actor: ApiActor, task_id: uuid.UUID, body: ReportIn):
    report = await reports.save_report(
        session, actor, task_id, period=body.period, progress=body.progress, problems=body.problems,
        next_steps=body.next_steps, support_needed=body.support_needed, percent=body.percent,
        expected_completion=body.expected_completion, target_actuals=body.target_actuals,
        version=form_version(body.version))
    return await _public_of(session, actor, report)


@api.post("/tasks/{task_id}/reports/no-change", response_model=ReportPublic)
async def api_no_change(session: DbSession, actor: ApiActor, task_id: uuid.UUID, body: NoChangeIn):
    report = await reports.no_change_this_month(session, actor, task_id, reason=body.reason,
                                                version=form_version(body.version))
    return await _public_of(session, actor, report)


@api.get("/reports/{report_id}", response_model=ReportPublic)
async def api_report(session: DbSession, actor: ApiActor, report_id: uuid.UUID):
    return ReportPublic.model_validate(await reports.get_report(session, actor, report_id))


@api.post("/reports/{report_id}/submit", response_model=ReportPublic)
async def api_submit(session: DbSession, actor: ApiActor, report_id: uuid.UUID, body: VersionIn):
    report = await reports.submit_report(session, actor, report_id, version=form_version(body.version))
    return await _public_of(session, actor, report)


@api.post("/reports/{report_id}/contribution", response_model=ReportPublic)
async def api_contribute(session: DbSession, actor: ApiActor, report_id: uuid.UUID, body: ContributionIn):
    await reports.contribute(session, actor, report_id, text=body.text)
    return ReportPublic.model_validate(await reports.get_report(session, actor, report_id))


@api.post("/reports/{report_id}/unit-head", response_model=ReportPublic)
async def api_unit_head(session: DbSession, actor: ApiActor, report_id: uuid.UUID, body: DecisionIn):
    report = await reports.unit_head_decide(session, actor, report_id, approve=body.approve, comment=body.comment,
                                            version=form_version(body.version))
    return await _public_of(session, actor, report)


@api.post("/reports/{report_id}/review", response_model=ReportPublic)
async def api_review(session: DbSession, actor: ApiActor, report_id: uuid.UUID, body: ReviewIn):
    report = await reports.review(session, actor, report_id, accept=body.accept, comment=body.comment,
                                  version=form_version(body.version))
    return await _public_of(session, actor, report)


@api.post("/tasks/{task_id}/completion", response_model=ReportPublic)
async def api_request_completion(session: DbSession, actor: ApiActor, task_id: uuid.UUID, body: CompletionIn):
    report = await reports.request_completion(session, actor, task_id, summary=body.summary,
                                              version=form_version(body.version))
    return await _public_of(session, actor, report)


@api.post("/reports/{report_id}/completion", response_model=ReportPublic)
async def api_decide_completion(session: DbSession, actor: ApiActor, report_id: uuid.UUID,
                                body: CompletionDecisionIn):
    report = await reports.decide_completion(session, actor, report_id, approve=body.approve, comment=body.comment,
                                             version=form_version(body.version), override_reason=body.override_reason)
    return await _public_of(session, actor, report)


@api.get("/reviews", response_model=list[ReportPublic])
async def api_reviews(session: DbSession, actor: ApiActor):
    return [ReportPublic.model_validate(view) for view in await reports.review_queue(session, actor)]


@api.post("/reviews/accept", response_model=list[BatchItemPublic])
async def api_batch_accept(session: DbSession, actor: ApiActor, body: BatchIn):
    """Accepts all the listed reports or none (409 naming those that changed since `version`)."""
    accepted = await reports.accept_reports(session, actor, [(i.id, form_version(i.version)) for i in body.items],
                                            comment=body.comment)
    return [BatchItemPublic.model_validate(r) for r in accepted]
