"""The operator's page for the national holiday schedule."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request

from backend.core.clock import local_today
from backend.core.forms import form_error, see_other
from backend.core.jobs import enqueue_after_commit
from backend.core.templating import render
from backend.deps import CurrentOperator, DbSession
from backend.errors import DomainError
from backend.holidays import service as holidays
from backend.reports.jobs import refresh_all_lights

pages = APIRouter(tags=["holidays"], include_in_schema=False)


def _today() -> date:
    """The operator's date: the platform's zone (China's, where the notices are published)."""
    return local_today()


@pages.get("/operator/calendar")
async def calendar_page(request: Request, session: DbSession, operator: CurrentOperator, year: int | None = None,
                        saved: int | None = None):
    """The form is for next year, or (更正) for the year asked; `saved` names the year just saved, to confirm it."""
    page = await holidays.calendar_page(session, operator, today=_today(), year=year, saved=saved)
    return render(request, "holidays/calendar.html", {"page": page, "values": page.form,
                                                      "correcting": year is not None})


@pages.post("/operator/calendar")
async def save_calendar(
    request: Request, session: DbSession, operator: CurrentOperator, year: Annotated[str, Form()] = "",
    notice: Annotated[str, Form()] = "", days_off: Annotated[str, Form()] = "",
    workdays: Annotated[str, Form()] = "",
):
    values = {"year": year, "notice": notice, "days_off": days_off, "workdays": workdays}
    try:
        saved = await holidays.save_year(session, operator, year=year, notice=notice, days_off=days_off,
                                         workdays=workdays)
    except DomainError as error:
        page = await holidays.calendar_page(session, operator, today=_today())
        return form_error(request, "holidays/calendar.html", error, values, {"page": page})
    # The lights' reasons were written with the old calendar ("…按周一至周五计算"): every bureau's are redone.
    enqueue_after_commit(refresh_all_lights)
    return see_other(request, f"/operator/calendar?saved={saved.year}")
