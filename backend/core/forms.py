"""Small helpers shared by the HTML routes: form errors that keep what was typed, and safe redirects."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.core.templating import render
from backend.errors import DomainError


def form_error(
    request: Request, template: str, error: DomainError, values: dict[str, Any], context: dict[str, Any] | None = None
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
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None, default: str = "/") -> str:
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default
