"""年考核 pages: the rubric (admin), the list and opening a year, the results page with its forms (compute,
self-score, adjust, publish, appeal, answer, finalise, reopen), and the .xlsx / .docx exports.

Every form re-renders the page with its message and what was typed when refused; success redirects (PRG)."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request

from backend.assessments import rubric as rubrics
from backend.assessments import service as assessments
from backend.assessments.exports import basis_text, rank_text, results_docx, results_xlsx, scale_note, scale_text
from backend.assessments.models import AppealState, AssessmentState
from backend.assessments.schemas import AssessmentPublic
from backend.core import once
from backend.core.clock import local_today
from backend.core.downloads import DOCX, XLSX, attachment
from backend.core.feedback import done
from backend.core.forms import form_error, unless_correctable
from backend.core.templating import render
from backend.core.versions import form_version
from backend.deps import ApiActor, CurrentActor, DbSession
from backend.errors import DomainError, InvalidInput, NotFound
from backend.i18n import _
from backend.plans.rollover import default_year as closing_year
from backend.reviews.models import RatingScale
from backend.reviews.scale import grade_table, scale_label

pages = APIRouter(tags=["assessments"], include_in_schema=False)
api = APIRouter(tags=["assessments"])



def _notices() -> dict[str, str]:
    """What each action says on the page it leads to (core/feedback.done)."""
    return {"opened": _("已开启并完成首次计算。"), "computed": _("已重新计算。"),
            "self_scored": _("已保存本单位自评。"), "adjusted": _("已记录加减分并重新计算。"),
            "published": _("考核结果已公示，各单位已收到通知。"), "appealed": _("已提交申诉，等待答复。"),
            "answered": _("已答复申诉。"), "finalised": _("考核结果已定稿锁定。"),
            "reopened": _("已撤销定稿，结果回到公示状态。"), "rubric": _("考核细则已保存。")}


def _labels() -> dict[str, Any]:
    return {"state_label": assessments.state_label, "appeal_label": assessments.appeal_label,
            "AssessmentState": AssessmentState, "AppealState": AppealState, "basis_text": basis_text,
            "rank_text": rank_text, "scale_text": scale_text, "scale_note": scale_note}


# --- the rubric -------------------------------------------------------------------------------------------------


def _rubric_context() -> dict[str, Any]:
    return {"scales": [(s.value, scale_label(s)) for s in RatingScale], "grade_table": grade_table(), **_labels()}


@pages.get("/admin/rubric")
async def rubric_page(request: Request, session: DbSession, actor: CurrentActor):
    rubric = await rubrics.rubric_to_edit(session, actor)
    values = {name: f"{getattr(rubric, name):g}" for name in rubrics.WEIGHTS} | {
        "rating_scale": str(rubric.rating_scale), "self_scoring": rubric.self_scoring,
        "appeal_days": str(rubric.appeal_days)}
    return render(request, "assessments/rubric.html", {"values": values, **_rubric_context()})


@pages.post("/admin/rubric")
async def save_rubric_page(request: Request, session: DbSession, actor: CurrentActor):
    form = await request.form()
    values: dict[str, Any] = {name: str(form.get(name) or "") for name in (*rubrics.WEIGHTS, "rating_scale",
                                                                           "appeal_days")}
    values["self_scoring"] = form.get("self_scoring") in ("1", "on", "true")
    try:
        await rubrics.update_rubric(session, actor, rubrics.RubricForm(**values))
    except InvalidInput as error:
        return form_error(request, "assessments/rubric.html", error, values, _rubric_context())
    return done(request, "/admin/rubric", _notices()["rubric"])


# --- the list and the results page --------------------------------------------------------------------------------


@pages.get("/assessments")
async def list_page(request: Request, session: DbSession, actor: CurrentActor):
    rows = await assessments.list_assessments(session, actor)
    today = local_today(actor.timezone)
    return render(request, "assessments/list.html", {"rows": rows, "values": {"year": str(closing_year(today))},
                                                     **_labels()})


@pages.post("/assessments")
async def open_page(request: Request, session: DbSession, actor: CurrentActor):
    form = await request.form()
    if (earlier := await once.earlier_page(request, session, actor, form.get(once.FORM_FIELD))) is not None:
        return earlier
    values = {"year": str(form.get("year") or "")}
    try:
        assessment = await assessments.open_assessment(session, actor, year=values["year"])
    except InvalidInput as error:
        rows = await assessments.list_assessments(session, actor)
        return form_error(request, "assessments/list.html", error, values, {"rows": rows, **_labels()})
    await once.settle(session, actor, form.get(once.FORM_FIELD), location=f"/assessments/{assessment.id}")
    return done(request, f"/assessments/{assessment.id}", _notices()["opened"])


async def _page(request: Request, session, actor, assessment_id: uuid.UUID, *, error: DomainError | None = None,
                values: dict | None = None):
    view = await assessments.assessment_view(session, actor, assessment_id)
    context = {"v": view, "values": values or {}, **_labels()}
    if error is None:
        return render(request, "assessments/assessment.html", context)
    context["errors"] = {error.field or "__all__": error.message}
    return render(request, "assessments/assessment.html", context, status_code=error.status_code)


@pages.get("/assessments/{assessment_id}")
async def assessment_page(request: Request, session: DbSession, actor: CurrentActor, assessment_id: uuid.UUID):
    return await _page(request, session, actor, assessment_id)


async def _act(request: Request, session, actor, assessment_id: uuid.UUID, action: Callable[[], Awaitable[Any]],
               notice: str, values: dict, place: str = ""):
    """Runs one service call; a refusal re-renders the page with its message and what was typed. What it did is
    said in the section it was done in (`place`: adjustments, appeals), else at the top of the page."""
    try:
        await action()
    except DomainError as error:
        unless_correctable(error)
        return await _page(request, session, actor, assessment_id, error=error, values=values)
    return done(request, f"/assessments/{assessment_id}", _notices()[notice], place=place)


async def _versioned(request: Request, session, actor, assessment_id: uuid.UUID,
                     service: Callable[..., Awaitable[Any]], notice: str):
    """compute, publish and finalise: the form carries nothing but the version of the results it was shown."""
    form = await request.form()
    return await _act(request, session, actor, assessment_id, lambda: service(
        session, actor, assessment_id, version=form_version(form.get("version"))), notice, {})


@pages.post("/assessments/{assessment_id}/compute")
async def compute_page(request: Request, session: DbSession, actor: CurrentActor, assessment_id: uuid.UUID):
    return await _versioned(request, session, actor, assessment_id, assessments.compute, "computed")


@pages.post("/assessments/{assessment_id}/self-score")
async def self_score_page(request: Request, session: DbSession, actor: CurrentActor, assessment_id: uuid.UUID):
    form = await request.form()
    values = {"self_total": str(form.get("self_total") or ""), "self_note": str(form.get("self_note") or "")}
    return await _act(request, session, actor, assessment_id, lambda: assessments.self_score(
        session, actor, assessment_id, total=values["self_total"], note=values["self_note"],
        seen=str(form.get("seen") or "")), "self_scored", values)


@pages.post("/assessments/{assessment_id}/adjustments")
async def adjust_page(request: Request, session: DbSession, actor: CurrentActor, assessment_id: uuid.UUID):
    form = await request.form()
    values = {"unit_id": str(form.get("unit_id") or ""), "points": str(form.get("points") or ""),
              "reason": str(form.get("reason") or "")}
    return await _act(request, session, actor, assessment_id, lambda: assessments.adjust(
        session, actor, assessment_id, unit_id=values["unit_id"], points=values["points"], reason=values["reason"],
        version=form_version(form.get("version"))), "adjusted", values, "adjustments")


@pages.post("/assessments/{assessment_id}/publish")
async def publish_page(request: Request, session: DbSession, actor: CurrentActor, assessment_id: uuid.UUID):
    return await _versioned(request, session, actor, assessment_id, assessments.publish, "published")


@pages.post("/assessments/{assessment_id}/appeals")
async def appeal_page(request: Request, session: DbSession, actor: CurrentActor, assessment_id: uuid.UUID):
    form = await request.form()
    values = {"appeal_text": str(form.get("text") or "")}
    return await _act(request, session, actor, assessment_id, lambda: assessments.file_appeal(
        session, actor, assessment_id, text_=values["appeal_text"]), "appealed", values, "appeals")


@pages.post("/assessment-appeals/{appeal_id}/answer")
async def answer_page(request: Request, session: DbSession, actor: CurrentActor, appeal_id: uuid.UUID):
    form = await request.form()
    appeal = await assessments.get_appeal(session, actor, appeal_id)
    values = {f"response-{appeal_id}": str(form.get("response") or "")}
    return await _act(request, session, actor, appeal.assessment_id, lambda: assessments.answer_appeal(
        session, actor, appeal_id, upheld=form.get("decision") == "upheld", response=str(form.get("response") or "")),
        "answered", values, "appeals")


@pages.post("/assessments/{assessment_id}/finalise")
async def finalise_page(request: Request, session: DbSession, actor: CurrentActor, assessment_id: uuid.UUID):
    return await _versioned(request, session, actor, assessment_id, assessments.finalise, "finalised")


@pages.post("/assessments/{assessment_id}/reopen")
async def reopen_page(request: Request, session: DbSession, actor: CurrentActor, assessment_id: uuid.UUID):
    form = await request.form()
    values = {"reopen_reason": str(form.get("reason") or "")}
    return await _act(request, session, actor, assessment_id, lambda: assessments.reopen(
        session, actor, assessment_id, reason=values["reopen_reason"], version=form_version(form.get("version"))),
        "reopened", values)


# --- exports ----------------------------------------------------------------------------------------------------


async def _export_view(session, actor, assessment_id: uuid.UUID) -> assessments.AssessmentView:
    view = await assessments.assessment_view(session, actor, assessment_id)
    if not view.show_scores:
        raise NotFound(_(assessments.NOT_FOUND))
    return view


@pages.get("/assessments/{assessment_id}/results.xlsx")
async def results_xlsx_download(request: Request, session: DbSession, actor: CurrentActor,
                                assessment_id: uuid.UUID):
    view = await _export_view(session, actor, assessment_id)
    filename = _("%(year)s年度工作目标考核结果.xlsx", year=view.assessment.year)
    return attachment(results_xlsx(view, actor.tenant_name), XLSX, filename)


@pages.get("/assessments/{assessment_id}/results.docx")
async def results_docx_download(request: Request, session: DbSession, actor: CurrentActor,
                                assessment_id: uuid.UUID):
    view = await _export_view(session, actor, assessment_id)
    filename = _("%(year)s年度工作目标考核结果.docx", year=view.assessment.year)
    return attachment(results_docx(view, actor.tenant_name), DOCX, filename)


# --- JSON ---------------------------------------------------------------------------------------------------------


@api.get("/assessments/{assessment_id}", response_model=AssessmentPublic)
async def assessment_api(session: DbSession, actor: ApiActor, assessment_id: uuid.UUID):
    return AssessmentPublic.model_validate(await assessments.assessment_view(session, actor, assessment_id))
