"""The in-app notification centre: the bell's unread count (htmx) and the list."""

import uuid
from typing import Annotated, TypedDict

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from backend.core.feedback import done
from backend.core.forms import form_error, safe_next, see_other, unless_correctable
from backend.core.templating import render
from backend.deps import ApiActor, CurrentActor, DbSession
from backend.errors import DomainError
from backend.i18n import _
from backend.notifications import service as notifications
from backend.notifications.schemas import NotificationPublic, PreferencesIn, PreferencesPublic

pages = APIRouter(tags=["notifications"], include_in_schema=False)
api = APIRouter(tags=["notifications"])


@pages.get("/notifications")
async def notifications_page(request: Request, session: DbSession, actor: CurrentActor):
    return render(request, "notifications/list.html", {"items": await notifications.list_for(session, actor)})


@pages.get("/notifications/bell")
async def bell(request: Request, session: DbSession, actor: CurrentActor) -> HTMLResponse:
    return render(request, "notifications/_bell.html", {"unread": await notifications.unread_count(session, actor)})


@pages.post("/notifications/{notification_id}/read")
async def read_one(request: Request, session: DbSession, actor: CurrentActor, notification_id: uuid.UUID):
    target = await notifications.open_notification(session, actor, notification_id)
    return see_other(request, safe_next(target, "/notifications"))


@pages.post("/notifications/read-all")
async def read_all(request: Request, session: DbSession, actor: CurrentActor):
    await notifications.mark_all_read(session, actor)
    return done(request, "/notifications", _("已全部标为已读。"))


@api.get("/notifications", response_model=list[NotificationPublic])
async def api_notifications(session: DbSession, actor: ApiActor):
    return [NotificationPublic.model_validate(n) for n in await notifications.list_for(session, actor)]


# --- each person's notification preferences --------------------------------------------------------------


def _checked(value: str) -> bool:
    return value in ("1", "on", "true", "True", "yes")


class _PreferenceValues(TypedDict):
    """One person's preferences as the form shows them."""
    email: bool
    sms: bool
    phone: str
    daily_digest: bool
    weekly_digest: bool


def _preference_values(preferences: notifications.Preferences) -> _PreferenceValues:
    return {"email": preferences.email, "sms": preferences.sms, "phone": preferences.phone,
            "daily_digest": preferences.daily_digest, "weekly_digest": preferences.weekly_digest}


@pages.get("/account/notifications")
async def preferences_page(request: Request, session: DbSession, actor: CurrentActor):
    preferences = await notifications.get_preferences(session, actor)
    return render(request, "notifications/preferences.html",
                  {"preferences": preferences, "values": _preference_values(preferences)})


@pages.post("/account/notifications")
async def save_preferences_page(
    request: Request, session: DbSession, actor: CurrentActor, email: Annotated[str, Form()] = "",
    sms: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
    daily_digest: Annotated[str, Form()] = "", weekly_digest: Annotated[str, Form()] = "",
):
    # An unticked box is simply not sent: absent means off.
    values: _PreferenceValues = {"email": _checked(email), "sms": _checked(sms), "phone": phone,
              "daily_digest": _checked(daily_digest), "weekly_digest": _checked(weekly_digest)}
    try:
        await notifications.update_preferences(session, actor, **values)
    except DomainError as error:
        unless_correctable(error)
        return form_error(request, "notifications/preferences.html", error, values,
                          {"preferences": await notifications.get_preferences(session, actor)})
    return see_other(request, "/account/notifications?saved=1")


@api.get("/account/notifications", response_model=PreferencesPublic)
async def api_preferences(session: DbSession, actor: ApiActor):
    return PreferencesPublic.model_validate(await notifications.get_preferences(session, actor))


@api.put("/account/notifications", response_model=PreferencesPublic)
async def api_update_preferences(session: DbSession, actor: ApiActor, body: PreferencesIn):
    return PreferencesPublic.model_validate(await notifications.update_preferences(session, actor, **body.model_dump()))
