"""The audit log with filters, as a page and through the API."""


from fastapi import APIRouter, Request

from backend.audit import service as audit
from backend.audit.schemas import AuditEventPublic
from backend.core.forms import OptionalDate, OptionalDateTime
from backend.core.templating import render
from backend.deps import ApiActor, CurrentActor, DbSession
from backend.i18n import N_

pages = APIRouter(tags=["audit"], include_in_schema=False)
api = APIRouter(tags=["audit"])

ACTION_FILTERS = {
    "": N_("全部操作"), "login": N_("登录"), "unit.": N_("单位"), "member.": N_("人员与角色"), "token.": N_("API 令牌"),
    "tenant.": N_("教育局"),
}


@pages.get("/audit")
async def audit_page(
    request: Request, session: DbSession, actor: CurrentActor, action: str = "", who: str = "",
    since: OptionalDate = None, until: OptionalDate = None, before: OptionalDateTime = None,
):
    events = await audit.list_events(session, actor, action=action or None, actor_name=who or None, since=since,
                                     until=until, before=before)
    return render(request, "audit/list.html", {
        "events": events, "values": {"action": action, "who": who, "since": since or "", "until": until or ""},
        "action_filters": ACTION_FILTERS, "has_more": len(events) == audit.PAGE_SIZE,
    })


@api.get("/audit-events", response_model=list[AuditEventPublic])
async def api_audit_events(
    session: DbSession, actor: ApiActor, action: str = "", who: str = "", since: OptionalDate = None,
    until: OptionalDate = None, before: OptionalDateTime = None,
):
    events = await audit.list_events(session, actor, action=action or None, actor_name=who or None, since=since,
                                     until=until, before=before)
    return [AuditEventPublic.model_validate(e) for e in events]
