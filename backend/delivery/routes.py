"""The administrator's delivery pages: the bureau's group robots and e-mail sender, and the dead-letter list."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request

from backend.core import once
from backend.core.clock import localtime
from backend.core.feedback import done
from backend.core.forms import form_error, unless_correctable
from backend.core.templating import render
from backend.core.text import check_length
from backend.delivery import masks
from backend.delivery import service as delivery
from backend.delivery.models import ConfigKind
from backend.delivery.schemas import ChannelPublic, DeadLettersPublic, RetryIn, RetryOut
from backend.deps import ApiActor, CurrentActor, DbSession
from backend.errors import DomainError, InvalidInput
from backend.i18n import _

pages = APIRouter(tags=["delivery"], include_in_schema=False)
api = APIRouter(tags=["delivery"])


def _notices() -> dict[str, str]:
    """What each action says on the page it leads to (core/feedback.done)."""
    return {
        "added": _("已添加。可以点“发送测试消息”确认群里能收到。"),
        "enabled": _("已启用。"),
        "disabled": _("已停用，该渠道不再收到消息。"),
        "deleted": _("已删除。"),
        "tested": _("测试消息已排队，通常一分钟内到达（夜间免打扰时段内顺延到时段结束后）。"
                    "如果迟迟没有收到，请到“发送失败的消息”查看原因。"),
        "retried": _("已重新排队，将在一分钟内重新发送。"),
        "stale": _("所选消息已不在失败列表中（可能已被重新发送），无需再次操作。"),
    }


def _uuid(value: str, field: str, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except (ValueError, AttributeError) as exc:
        raise InvalidInput(message, field=field) from exc


def _bureau_time(zone: str):
    """Stored UTC times shown on the bureau's own clock."""
    def show(value: datetime | None) -> str:
        return localtime(value, timezone=zone)
    return show


def _channel_context(overview: delivery.ChannelOverview) -> dict:
    return {
        "groups": overview.groups, "nodes": overview.nodes, "kinds": list(ConfigKind),
        "kind_label": delivery.config_kind_label, "mask_url": masks.mask_url,
        "mask_secret": masks.mask_secret,
    }


# --- channels --------------------------------------------------------------------------------------------


@pages.get("/admin/channels")
async def channels_page(request: Request, session: DbSession, actor: CurrentActor):
    return render(request, "delivery/channels.html",
                  _channel_context(await delivery.list_channels(session, actor)))


@pages.post("/admin/channels")
async def add_channel_page(
    request: Request, session: DbSession, actor: CurrentActor, kind: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "", secret: Annotated[str, Form()] = "", unit_id: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
):
    if (earlier := await once.earlier_page(request, session, actor, form_key)) is not None:
        return earlier
    values = {"kind": kind, "url": url, "secret": secret, "unit_id": unit_id}
    try:
        unit = _uuid(unit_id, "unit_id", _("所选单位无效，请重新选择。")) if unit_id else None
        # The service keeps at most 200 characters of a secret: a longer one is a copying slip, say so.
        check_length(secret.strip(), limit=200, label=_("加签密钥"), field="secret")
        await delivery.add_channel(session, actor, kind=kind, url=url, secret=secret, unit_id=unit)
    except DomainError as error:
        if error.status_code == 403:
            raise
        return form_error(request, "delivery/channels.html", error, values,
                          _channel_context(await delivery.list_channels(session, actor)))
    await once.settle(session, actor, form_key, location="/admin/channels")
    return done(request, "/admin/channels", _notices()["added"])


@pages.post("/admin/channels/{config_id}/enable")
async def enable_channel_page(request: Request, session: DbSession, actor: CurrentActor, config_id: uuid.UUID):
    await delivery.set_channel_enabled(session, actor, config_id, enabled=True)
    return done(request, "/admin/channels", _notices()["enabled"])


@pages.post("/admin/channels/{config_id}/disable")
async def disable_channel_page(request: Request, session: DbSession, actor: CurrentActor, config_id: uuid.UUID):
    await delivery.set_channel_enabled(session, actor, config_id, enabled=False)
    return done(request, "/admin/channels", _notices()["disabled"])


@pages.post("/admin/channels/{config_id}/delete")
async def delete_channel_page(request: Request, session: DbSession, actor: CurrentActor, config_id: uuid.UUID):
    await delivery.delete_channel(session, actor, config_id)
    return done(request, "/admin/channels", _notices()["deleted"])


@pages.post("/admin/channels/{config_id}/test")
async def test_channel_page(request: Request, session: DbSession, actor: CurrentActor, config_id: uuid.UUID):
    try:
        await delivery.send_test_message(session, actor, config_id)
    except DomainError as error:
        unless_correctable(error)
        error.field = None  # the channel's own row has no field: say it at the top of the page
        return form_error(request, "delivery/channels.html", error, {},
                          _channel_context(await delivery.list_channels(session, actor)))
    return done(request, "/admin/channels", _notices()["tested"])


# --- dead letters ----------------------------------------------------------------------------------------


def _dead_context(actor, dead: delivery.DeadLetters) -> dict:
    return {
        "messages": dead.messages, "counts": dead.counts, "channel_label": delivery.channel_label,
        "mask_recipient": masks.mask_recipient, "bureau_time": _bureau_time(actor.timezone),
    }


@pages.get("/admin/outbox/dead")
async def dead_page(request: Request, session: DbSession, actor: CurrentActor):
    return render(request, "delivery/dead.html", _dead_context(actor, await delivery.dead_letters(session, actor)))


@pages.post("/admin/outbox/dead/retry")
async def retry_page(
    request: Request, session: DbSession, actor: CurrentActor, ids: Annotated[list[str] | None, Form()] = None,
):
    try:
        chosen = [_uuid(v, "ids", _("所选消息无效，请刷新页面后重新勾选。")) for v in ids or [] if v]
        retried = await delivery.retry_dead(session, actor, chosen)
    except DomainError as error:
        if error.status_code == 403:
            raise
        return form_error(request, "delivery/dead.html", error, {},
                          _dead_context(actor, await delivery.dead_letters(session, actor)))
    return done(request, "/admin/outbox/dead", _notices()["retried" if retried else "stale"])


@pages.post("/admin/outbox/dead/retry-all")
async def retry_all_page(request: Request, session: DbSession, actor: CurrentActor):
    retried = await delivery.retry_all_dead(session, actor)
    return done(request, "/admin/outbox/dead", _notices()["retried" if retried else "stale"])


# --- API -------------------------------------------------------------------------------------------------


@api.get("/admin/channels", response_model=list[ChannelPublic])
async def api_channels(session: DbSession, actor: ApiActor):
    overview = await delivery.list_channels(session, actor)
    return [ChannelPublic.model_validate(c) for group in overview.groups for c in group.configs]


@api.get("/admin/outbox/dead", response_model=DeadLettersPublic)
async def api_dead(session: DbSession, actor: ApiActor):
    return DeadLettersPublic.model_validate(await delivery.dead_letters(session, actor))


@api.post("/admin/outbox/dead/retry", response_model=RetryOut)
async def api_retry(session: DbSession, actor: ApiActor, body: RetryIn):
    return RetryOut(retried=await delivery.retry_dead(session, actor, body.ids))
