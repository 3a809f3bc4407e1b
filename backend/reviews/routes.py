"""季点评 pages: the list (and opening one by hand), the rating sheet with one form per unit, leaders' remarks,
publishing, and the quarter's summary with its .xlsx. Routes parse the form, call one service, and redirect."""

import uuid
from typing import Any

from fastapi import APIRouter, Request

from backend.core.downloads import XLSX, attachment
from backend.core.forms import form_version, see_other, unless_correctable
from backend.core.templating import render
from backend.deps import CurrentActor, DbSession
from backend.errors import DomainError
from backend.i18n import _
from backend.reports.common import report_state_label
from backend.reports.periods import period_label
from backend.reviews import service as reviews
from backend.reviews.exports import summary_xlsx
from backend.reviews.models import Grade, ReviewState
from backend.reviews.scale import GRADE_LABELS, GRADE_SCORES, grade_label, quarter_label, scale_label

pages = APIRouter(tags=["reviews"], include_in_schema=False)



def _notices() -> dict[str, str]:
    return {"rated": _("已保存该单位的评价。"), "remarked": _("已添加点评意见。"),
            "published": _("季度点评已发布，各单位已收到通知。"), "opened": _("季度点评已开启，请逐单位评价。")}


def _labels() -> dict[str, Any]:
    return {"quarter_label": quarter_label, "scale_label": scale_label, "grade_label": grade_label,
            "grades": [(g.value, _(GRADE_LABELS[g]), GRADE_SCORES[g]) for g in Grade], "period_label": period_label,
            "report_state_label": report_state_label, "ReviewState": ReviewState, "notices": _notices()}


async def _sheet(request: Request, session, actor, review_id: uuid.UUID, *, error: DomainError | None = None,
                 values: dict | None = None, unit_id: uuid.UUID | None = None):
    view = await reviews.review_view(session, actor, review_id)
    context = {"v": view, **_labels(), "values": values or {}, "error_unit": unit_id}
    if error is None:
        return render(request, "reviews/review.html", context)
    context["errors"] = {error.field or "__all__": error.message}
    return render(request, "reviews/review.html", context, status_code=error.status_code)


@pages.get("/quarterly")
async def list_page(request: Request, session: DbSession, actor: CurrentActor):
    rows = await reviews.list_reviews(session, actor)
    today = reviews.local_today(actor.timezone)
    return render(request, "reviews/list.html", {"rows": rows, **_labels(), "this_year": today.year,
                                                 "this_quarter": (today.month - 1) // 3 + 1})


@pages.post("/quarterly")
async def open_page(request: Request, session: DbSession, actor: CurrentActor):
    form = await request.form()
    values = {"year": str(form.get("year") or ""), "quarter": str(form.get("quarter") or "")}
    try:
        review = await reviews.open_review(session, actor, year=values["year"], quarter=values["quarter"])
    except DomainError as error:
        unless_correctable(error)
        rows = await reviews.list_reviews(session, actor)
        return render(request, "reviews/list.html", {
            "rows": rows, **_labels(), "this_year": values["year"], "this_quarter": values["quarter"],
            "errors": {error.field or "__all__": error.message}}, status_code=error.status_code)
    return see_other(request, f"/quarterly/{review.id}?notice=opened")


@pages.get("/quarterly/{review_id}")
async def review_page(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    return await _sheet(request, session, actor, review_id)


@pages.post("/quarterly/{review_id}/units/{unit_id}")
async def rate_page(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID,
                    unit_id: uuid.UUID):
    """One submit per unit: every task of the unit rated (or left blank) with its comment."""
    form = await request.form()
    entries: dict[str, reviews.RatingEntry] = {}
    typed: dict[str, str] = {}
    for key in form:
        if str(key).startswith("rating-"):
            task_key = str(key)[7:]
            entry = reviews.RatingEntry(str(form.get(key) or ""), str(form.get(f"comment-{task_key}") or ""),
                                        str(form.get(f"seen-{task_key}") or ""))
            entries[task_key] = entry
            typed[f"rating-{task_key}"], typed[f"comment-{task_key}"] = entry.raw, entry.comment
    try:
        await reviews.rate_unit(session, actor, review_id, unit_id, entries, version=form_version(form.get("version")))
    except DomainError as error:
        unless_correctable(error)
        return await _sheet(request, session, actor, review_id, error=error, values=typed, unit_id=unit_id)
    return see_other(request, f"/quarterly/{review_id}?notice=rated#unit-{unit_id}")


@pages.post("/quarterly/{review_id}/remarks")
async def remark_page(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    form = await request.form()
    raw_unit = str(form.get("unit_id") or "")
    try:
        unit_id = uuid.UUID(raw_unit) if raw_unit else None
    except ValueError:
        unit_id = None
    values = {"remark_text": str(form.get("text") or ""), "remark_unit": raw_unit}
    try:
        await reviews.add_remark(session, actor, review_id, text_=values["remark_text"], unit_id=unit_id,
                                 version=form_version(form.get("version")))
    except DomainError as error:
        unless_correctable(error)
        return await _sheet(request, session, actor, review_id, error=error, values=values)
    return see_other(request, f"/quarterly/{review_id}?notice=remarked#remarks")


@pages.post("/quarterly/{review_id}/publish")
async def publish_page(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    form = await request.form()
    values = {"summary": str(form.get("summary") or "")}
    try:
        await reviews.publish_review(session, actor, review_id, version=form_version(form.get("version")),
                                     summary=values["summary"])
    except DomainError as error:
        unless_correctable(error)
        return await _sheet(request, session, actor, review_id, error=error, values=values)
    return see_other(request, f"/quarterly/{review_id}?notice=published")


@pages.get("/quarterly/{review_id}/summary")
async def summary_page(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    review, lines = await reviews.summary(session, actor, review_id)
    return render(request, "reviews/summary.html", {"review": review, "lines": lines, **_labels()})


@pages.get("/quarterly/{review_id}/summary.xlsx")
async def summary_download(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    review, lines = await reviews.summary(session, actor, review_id)
    filename = _("%(q)s点评汇总.xlsx", q=quarter_label(review.year, review.quarter))
    return attachment(summary_xlsx(review, lines), XLSX, filename)
