"""Small helpers shared by the HTML routes: form errors that keep what was typed, and safe redirects."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from backend.core.feedback import htmx_redirect, is_safe_path
from backend.core.templating import render
from backend.errors import DomainError
from backend.i18n import _


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


# The dates a filter may name. Python's and PostgreSQL's calendars end at 9999 and begin at year 1, so a filter
# day at either end overflows as soon as it is turned into a range (a day after 9999-12-31, a time zone applied to
# 0001-01-01); no record of Luoshi lies outside these bounds anyway.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
DATE_OUT_OF_RANGE = "date_out_of_range"


def _within_bounds(value: date | datetime | None) -> date | datetime | None:
    day = value.date() if isinstance(value, datetime) else value
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise PydanticCustomError(DATE_OUT_OF_RANGE, "date out of range")
    return value


def date_out_of_range_message() -> str:
    return _("日期超出范围，请填写 %(first)s 至 %(last)s 之间的日期。", first=FIRST_DAY.isoformat(),
             last=LAST_DAY.isoformat())


# The one type of a date (or moment) in a list's filter. A browser sends an empty date field as "": that means
# "not given", not an error; a day outside FIRST_DAY..LAST_DAY is refused with date_out_of_range_message().
OptionalDate = Annotated[date | None, BeforeValidator(_blank_is_none), AfterValidator(_within_bounds)]
OptionalDateTime = Annotated[datetime | None, BeforeValidator(_blank_is_none), AfterValidator(_within_bounds)]


def unless_correctable(error: DomainError) -> None:
    """Routes that re-render a form on a refusal: not signed in, not allowed and not found still go to their error
    pages (re-raised here); only what the person can correct on the page (invalid, stale, conflicting) returns."""
    if error.status_code in (401, 403, 404):
        raise error


def form_error(
    request: Request, template: str, error: DomainError, values: Mapping[str, Any],
    context: dict[str, Any] | None = None,
) -> HTMLResponse:
    """Re-renders the form with the message beside its field and everything typed still there."""
    field = error.field or "__all__"
    return render(
        request, template, {**(context or {}), "errors": {field: error.message}, "values": values},
        status_code=error.status_code,
    )


def see_other(request: Request, url: str) -> Response:
    """Post/Redirect/Get, also for htmx requests."""
    if request.headers.get("hx-request"):
        return htmx_redirect(url)
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None, default: str = "/") -> str:
    """`url` when it is a path on this site (never another host, `//`, a backslash or a line break), else `default`."""
    return url if url and is_safe_path(url) else default
