"""Jinja2 with Babel's gettext and `render`, which returns the whole page or one block of it for htmx."""

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2_fragments import render_block

from backend import i18n
from backend.config import get_settings
from backend.core import calendar
from backend.core.clock import MINUTE, local_today, localtime
from backend.core.feedback import FLASH_COOKIE, take_flash
from backend.core.once import new_form_key
from backend.core.roles import role_label
from backend.core.security import sign

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "frontend" / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    enable_async=False,
    # Outside development templates do not change while running: no stat() of every template on every render.
    auto_reload=get_settings().environment == "development",
)
env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


@pass_context
def _localtime_filter(context, value: datetime | None, fmt: str = MINUTE) -> str:
    """In a page, the time zone is the acting member's bureau's (a bureau in Urumqi sees its own clock)."""
    request = context.get("request")
    actor = getattr(getattr(request, "state", None), "actor", None)
    return localtime(value, fmt, getattr(actor, "timezone", None))


env.filters["localtime"] = _localtime_filter


def number(value: float | int | None) -> str:
    """26.0 shows as 26, 95.5 as 95.5."""
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


env.filters["number"] = number


def _today(context) -> date:
    request = context.get("request")
    actor = getattr(getattr(request, "state", None), "actor", None)
    return local_today(getattr(actor, "timezone", None))


@pass_context
def workday_note(context) -> str:
    """Beside working-day figures: whether this year, or the next within reach of today's deadlines, counts
    weekends only because its holiday schedule is not entered yet."""
    today = _today(context)
    return calendar.weekends_only_note(today, today + timedelta(days=WORKDAY_REACH_DAYS))


@pass_context
def operator_calendar_warning(context) -> str:
    return calendar.missing_year_warning(_today(context))


# Working-day figures on a page look at most this far ahead (T-7 reminders, yellow lights, the digest's week).
WORKDAY_REACH_DAYS = 31
env.globals["workday_note"] = workday_note
env.globals["new_form_key"] = new_form_key
env.globals["operator_calendar_warning"] = operator_calendar_warning


def csrf_token(request: Request) -> str:
    return sign("csrf:" + request.state.csrf_seed)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
    block: str | None = None, headers: dict[str, str] | None = None,
) -> HTMLResponse:
    actor = getattr(request.state, "actor", None)
    flash = take_flash(request) if block is None else None
    context = {
        "request": request,
        "actor": actor,
        "bureau_name": actor.tenant_name if actor else "",
        "role_name": role_label(actor.role) if actor else "",
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "locale": i18n.get_locale(),
        "languages": i18n.LANGUAGES,
        "errors": {},
        "values": {},
        "flash": flash,
        **(context or {}),
    }
    html = render_block(env, template, block, context) if block else env.get_template(template).render(context)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    if flash is not None:  # shown once: a reload does not say it again
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
