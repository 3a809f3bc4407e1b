"""The in-app notification centre: the bell's unread count (htmx) and the list."""

import uuid
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from backend.core.forms import safe_next, see_other
from backend.core.templating import render
from backend.deps import ApiActor, CurrentActor, DbSession
from backend.notifications import service as notifications

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
    return see_other(request, "/notifications")


class NotificationPublic(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


@api.get("/notifications", response_model=list[NotificationPublic])
async def api_notifications(session: DbSession, actor: ApiActor):
    return [NotificationPublic.model_validate(n, from_attributes=True)
            for n in await notifications.list_for(session, actor)]
