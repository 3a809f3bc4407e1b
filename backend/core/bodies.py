"""How big a request body may be, decided from the route before a byte of it is read.

Pages and API calls that take no file are capped small (`LUOSHI_BODY_MAX_KB`, 256 KiB by default): a sign-in, a
report's text or a plan edit is a few kilobytes. The few routes that take files say so with `takes_files(...)`,
naming their own limit (an evidence file, a plan document, a responsibility table); their bodies may be that big
plus the form around the file. BodyLimitMiddleware (backend.web) asks `body_limit(app, scope)` for every request.
"""

import re
from collections.abc import Callable
from typing import TypeVar

from starlette.routing import compile_path

from backend.config import get_settings

FORM_OVERHEAD = 2 * 2**20  # the other fields and the multipart boundaries around the files
F = TypeVar("F", bound=Callable)


def takes_files(max_file_bytes: Callable[[], int]) -> Callable[[F], F]:
    """Marks a route function as one that receives files of up to `max_file_bytes()` each (read per request, so a
    changed setting counts). Put it under the router's decorator: `@pages.post(...)` then `@takes_files(...)`."""

    def mark(endpoint: F) -> F:
        endpoint.max_file_bytes = max_file_bytes  # type: ignore[attr-defined]
        return endpoint

    return mark


def evidence_file_bytes() -> int:
    """The largest evidence file (`LUOSHI_EVIDENCE_MAX_MB`): the evidence pages and the report form take these."""
    return get_settings().evidence_max_mb * 2**20


def small_limit() -> int:
    return get_settings().body_max_kb * 1024


def _upload_routes(app) -> list[tuple[re.Pattern[str], frozenset[str], Callable[[], int]]]:
    """(path regex, methods, limit) of every route marked with `takes_files`, found once per app."""
    cached = getattr(app.state, "upload_routes", None)
    if cached is not None:
        return cached
    found: list[tuple[re.Pattern[str], frozenset[str], Callable[[], int]]] = []
    for path, route in _walk(app.router.routes, ""):
        endpoint = getattr(route, "endpoint", None)
        max_file_bytes = getattr(endpoint, "max_file_bytes", None)
        if max_file_bytes is not None:
            regex, _format, _convertors = compile_path(path)
            found.append((regex, frozenset(getattr(route, "methods", None) or ()), max_file_bytes))
    app.state.upload_routes = found
    return found


def _walk(routes, prefix: str):
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:  # FastAPI's included router: its routes under the include's prefix
            context = getattr(route, "include_context", None)
            inner = prefix + (getattr(context, "prefix", "") or "")
            yield from _walk([*original.routes, *getattr(original, "_low_priority_routes", [])], inner)
        elif getattr(route, "path", None) is not None and hasattr(route, "endpoint"):
            yield prefix + route.path, route


def body_limit(app, scope) -> tuple[int, bool]:
    """(the most bytes this request's body may have, whether it is an upload route)."""
    path, method = scope.get("path", ""), scope.get("method", "")
    for regex, methods, max_file_bytes in _upload_routes(app):
        if (not methods or method in methods) and regex.match(path):
            return max_file_bytes() + FORM_OVERHEAD, True
    return small_limit(), False


def urlencoded_limit() -> int:
    """A urlencoded form never carries a file: it is held to the small limit on every route."""
    return small_limit()
