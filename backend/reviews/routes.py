"""季点评 pages: the list (and opening one by hand), the rating sheet of all units with one save, leaders' remarks,
publishing, and the quarter's summary with its .xlsx. Routes parse the form, call one service, and redirect."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request

from backend.core import once
from backend.core.clock import local_today
from backend.core.downloads import XLSX, attachment
from backend.core.forms import see_other, unless_correctable
from backend.core.templating import render
from backend.core.versions import form_version
from backend.deps import CurrentActor, DbSession
from backend.errors import DomainError
from backend.i18n import _
from backend.reports.labels import report_state_label
from backend.reviews import service as reviews
from backend.reviews.exports import summary_xlsx
from backend.reviews.models import Grade, ReviewState
from backend.reviews.scale import GRADE_LABELS, GRADE_SCORES, grade_label, quarter_label, scale_label
from backend.tasks.periods import period_label

pages = APIRouter(tags=["reviews"], include_in_schema=False)



def _notices() -> dict[str, str]:
    return {"rated": _("已保存评价。"), "remarked": _("已添加点评意见。"),
            "published": _("季度点评已发布，各单位已收到通知。"), "opened": _("季度点评已开启，请逐单位评价。")}


def _labels() -> dict[str, Any]:
    return {"quarter_label": quarter_label, "scale_label": scale_label, "grade_label": grade_label,
            "grades": [(g.value, _(GRADE_LABELS[g]), GRADE_SCORES[g]) for g in Grade], "period_label": period_label,
            "report_state_label": report_state_label, "ReviewState": ReviewState, "notices": _notices()}


async def _sheet(request: Request, session, actor, review_id: uuid.UUID, *, error: DomainError | None = None,
                 values: dict | None = None, typed: bool = False):
    view = await reviews.review_view(session, actor, review_id)
    context = {"v": view, **_labels(), "values": values or {}, "typed": typed, "sheet_key": reviews.sheet_key}
    if error is None:
        return render(request, "reviews/review.html", context)
    context["errors"] = {error.field or "__all__": error.message}
    return render(request, "reviews/review.html", context, status_code=error.status_code)


@pages.get("/quarterly")
async def list_page(request: Request, session: DbSession, actor: CurrentActor):
    rows = await reviews.list_reviews(session, actor)
    today = local_today(actor.timezone)
    return render(request, "reviews/list.html", {"rows": rows, **_labels(), "this_year": today.year,
                                                 "this_quarter": (today.month - 1) // 3 + 1})


@pages.post("/quarterly")
async def open_page(request: Request, session: DbSession, actor: CurrentActor):
    form = await request.form()
    if (earlier := await once.earlier_page(request, session, actor, form.get(once.FORM_FIELD))) is not None:
        return earlier
    values = {"year": str(form.get("year") or ""), "quarter": str(form.get("quarter") or "")}
    try:
        review = await reviews.open_review(session, actor, year=values["year"], quarter=values["quarter"])
    except DomainError as error:
        unless_correctable(error)
        rows = await reviews.list_reviews(session, actor)
        return render(request, "reviews/list.html", {
            "rows": rows, **_labels(), "this_year": values["year"], "this_quarter": values["quarter"],
            "errors": {error.field or "__all__": error.message}}, status_code=error.status_code)
    await once.settle(session, actor, form.get(once.FORM_FIELD), location=f"/quarterly/{review.id}?notice=opened")
    return see_other(request, f"/quarterly/{review.id}?notice=opened")


@pages.get("/quarterly/{review_id}")
async def review_page(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    return await _sheet(request, session, actor, review_id)


@pages.post("/quarterly/{review_id}/ratings")
async def rate_page(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    """The whole sheet in one save: every unit's tasks rated (or left blank) with their comments."""
    form = await request.form()
    entries: dict[tuple[uuid.UUID, str], reviews.RatingEntry] = {}
    typed: dict[str, str] = {}
    for key in form:
        if not str(key).startswith("rating-"):
            continue
        row_key = str(key)[7:]
        unit_key, _sep, task_key = row_key.partition("_")
        try:
            unit_id = uuid.UUID(unit_key)
        except ValueError:
            continue  # not a row of the sheet; a row missing from the sheet is refused by the service
        entry = reviews.RatingEntry(str(form.get(key) or ""), str(form.get(f"comment-{row_key}") or ""),
                                    str(form.get(f"seen-{row_key}") or ""))
        entries[unit_id, task_key] = entry
        typed[f"rating-{row_key}"], typed[f"comment-{row_key}"] = entry.raw, entry.comment
    try:
        changed = await reviews.rate_sheet(session, actor, review_id, entries,
                                           version=form_version(form.get("version")))
    except DomainError as error:
        unless_correctable(error)
        return await _sheet(request, session, actor, review_id, error=error, values=typed, typed=True)
    return see_other(request, f"/quarterly/{review_id}?notice=rated&n={changed}")


async def _act(request: Request, session, actor, review_id: uuid.UUID, action: Callable[[], Awaitable[Any]],
               values: dict, notice: str):
    """Runs one service call from the sheet's forms: on to the sheet with `notice`, or, refused, the sheet again
    with its message and what was typed."""
    try:
        await action()
    except DomainError as error:
        unless_correctable(error)
        return await _sheet(request, session, actor, review_id, error=error, values=values)
    return see_other(request, f"/quarterly/{review_id}?notice={notice}")


@pages.post("/quarterly/{review_id}/remarks")
async def remark_page(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    form = await request.form()
    raw_unit = str(form.get("unit_id") or "")
    try:
        unit_id = uuid.UUID(raw_unit) if raw_unit else None
    except ValueError:
        unit_id = None
    values = {"remark_text": str(form.get("text") or ""), "remark_unit": raw_unit}
    return await _act(request, session, actor, review_id, lambda: reviews.add_remark(
        session, actor, review_id, text_=values["remark_text"], unit_id=unit_id,
        version=form_version(form.get("version"))), values, "remarked#remarks")


@pages.post("/quarterly/{review_id}/publish")
async def publish_page(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    form = await request.form()
    values = {"summary": str(form.get("summary") or "")}
    return await _act(request, session, actor, review_id, lambda: reviews.publish_review(
        session, actor, review_id, version=form_version(form.get("version")), summary=values["summary"]),
        values, "published")


@pages.get("/quarterly/{review_id}/summary")
async def summary_page(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    review, lines = await reviews.summary(session, actor, review_id)
    return render(request, "reviews/summary.html", {"review": review, "lines": lines, **_labels()})


@pages.get("/quarterly/{review_id}/summary.xlsx")
async def summary_download(request: Request, session: DbSession, actor: CurrentActor, review_id: uuid.UUID):
    review, lines = await reviews.summary(session, actor, review_id)
    filename = _("%(q)s点评汇总.xlsx", q=quarter_label(review.year, review.quarter))
    return attachment(summary_xlsx(review, lines), XLSX, filename)
