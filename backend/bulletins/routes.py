"""月通报 pages: the list, one bulletin (readable on a phone), its edit form, publishing, and its exports."""

import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated

import anyio
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from backend.bulletins import exports
from backend.bulletins import service as bulletins
from backend.bulletins.exemplary import exemplary_evidence, mark_exemplary
from backend.bulletins.models import Bulletin
from backend.bulletins.views import BulletinView, build_view
from backend.core import once
from backend.core.actor import Actor
from backend.core.clock import local_today
from backend.core.downloads import DOCX, PDF, XLSX, attachment
from backend.core.forms import form_error, safe_next, see_other, unless_correctable
from backend.core.templating import render
from backend.core.versions import form_version
from backend.deps import CurrentActor, DbSession
from backend.errors import DomainError
from backend.i18n import _, get_locale

pages = APIRouter(tags=["bulletins"], include_in_schema=False)
# Rendering is CPU work in C libraries (a 300-unit PDF takes seconds): it runs in a thread, two at a time, so the
# event loop keeps serving every other request meanwhile.
_RENDER_SLOTS = anyio.CapacityLimiter(2)


def _notices() -> dict[str, str]:
    return {"saved": _("已保存。"), "regenerated": _("已按最新数据重新生成，按语和下步要求保持不变。"),
            "published": _("已发布，各单位已收到通知。"), "drafted": _("已起草，请核对数据并填写按语后发布。")}


# Rendered documents of the latest few bulletin versions: when a bulletin is published every unit opens it within
# minutes, and a 300-unit PDF takes seconds to lay out. A version's figures and text never change, so its bytes can
# be reused (keyed by the version and the reader's language, which the document is written in).
_RENDERED: OrderedDict[tuple, bytes] = OrderedDict()
_RENDERED_KEEP = 16


async def _download(render: Callable[[BulletinView], bytes], view: BulletinView, media_type: str,
                    name: str) -> Response:
    b = view.bulletin
    key = (b.id, b.version, b.updated_at, render.__name__, get_locale(), view.bureau_name, view.timezone)
    data = _RENDERED.get(key)
    if data is None:
        data = await anyio.to_thread.run_sync(render, view, limiter=_RENDER_SLOTS)
        _RENDERED[key] = data
        while len(_RENDERED) > _RENDERED_KEEP:
            _RENDERED.popitem(last=False)
    return attachment(data, media_type, name)


async def _view(session, actor: Actor, bulletin_id: uuid.UUID):
    return build_view(await bulletins.get_bulletin(session, actor, bulletin_id), actor.tenant_name, actor.timezone)


@pages.get("/bulletins")
async def list_page(request: Request, session: DbSession, actor: CurrentActor):
    rows = await bulletins.list_bulletins(session, actor)
    today = local_today(actor.timezone)
    year, month = bulletins.previous_month(today)
    return render(request, "bulletins/list.html", {
        "rows": rows, "issue_label": bulletins.issue_label, "values": {"year": year, "month": month},
        "years": list(range(today.year, today.year - 6, -1))})


@pages.post("/bulletins")
async def create_page(request: Request, session: DbSession, actor: CurrentActor,
                      year: Annotated[str, Form()] = "", month: Annotated[str, Form()] = "",
                      form_key: Annotated[str, Form()] = ""):
    if (earlier := await once.earlier_page(request, session, actor, form_key)) is not None:
        return earlier
    try:
        bulletin = await bulletins.create_draft(session, actor, year=year, month=month)
    except DomainError as error:
        unless_correctable(error)
        rows = await bulletins.list_bulletins(session, actor)
        today = local_today(actor.timezone)
        return form_error(request, "bulletins/list.html", error, {"year": year, "month": month}, {
            "rows": rows, "issue_label": bulletins.issue_label, "years": list(range(today.year, today.year - 6, -1))})
    await once.settle(session, actor, form_key, location=f"/bulletins/{bulletin.id}?notice=drafted")
    return see_other(request, f"/bulletins/{bulletin.id}?notice=drafted")


# The exports come before /bulletins/{bulletin_id}, which would otherwise take "….docx" as the id.
@pages.get("/bulletins/{bulletin_id}.docx")
async def docx_export(session: DbSession, actor: CurrentActor, bulletin_id: uuid.UUID):
    view = await _view(session, actor, bulletin_id)
    return await _download(exports.render_docx, view, DOCX, exports.filename(view, "docx"))


@pages.get("/bulletins/{bulletin_id}.pdf")
async def pdf_export(session: DbSession, actor: CurrentActor, bulletin_id: uuid.UUID):
    view = await _view(session, actor, bulletin_id)
    return await _download(exports.render_pdf, view, PDF, exports.filename(view, "pdf"))


@pages.get("/bulletins/{bulletin_id}.xlsx")
async def xlsx_export(session: DbSession, actor: CurrentActor, bulletin_id: uuid.UUID):
    view = await _view(session, actor, bulletin_id)
    return await _download(exports.render_xlsx, view, XLSX, exports.filename(view, "xlsx"))


@pages.get("/bulletins/{bulletin_id}")
async def bulletin_page(request: Request, session: DbSession, actor: CurrentActor, bulletin_id: uuid.UUID):
    view = await _view(session, actor, bulletin_id)
    return render(request, "bulletins/bulletin.html", {"view": view, "notices": _notices(), "own": _own(view, actor),
                                                       "exemplary_evidence": await exemplary_evidence(
                                                           session, actor, view.figures)})


def _own(view, actor: Actor) -> dict | None:
    """A unit's own row, shown first to its people (among hundreds of units)."""
    unit_id = str(actor.unit_id) if actor.unit_id else None
    return next((u for u in view.figures["units"] if u["id"] == unit_id), None)


def _form_values(bulletin: Bulletin) -> dict:
    return {"title": bulletin.title, "foreword": bulletin.foreword, "remarks": bulletin.remarks,
            "version": bulletin.version}


@pages.get("/bulletins/{bulletin_id}/edit")
async def edit_page(request: Request, session: DbSession, actor: CurrentActor, bulletin_id: uuid.UUID):
    bulletin = await bulletins.bulletin_to_edit(session, actor, bulletin_id)
    return render(request, "bulletins/edit.html", {"bulletin": bulletin, "values": _form_values(bulletin)})


@pages.post("/bulletins/{bulletin_id}/edit")
async def save_page(
    request: Request, session: DbSession, actor: CurrentActor, bulletin_id: uuid.UUID,
    title: Annotated[str, Form()] = "", foreword: Annotated[str, Form()] = "", remarks: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
):
    try:
        await bulletins.update_text(session, actor, bulletin_id, title=title, foreword=foreword, remarks=remarks,
                                    version=form_version(version))
    except DomainError as error:
        unless_correctable(error)
        bulletin = await bulletins.get_bulletin(session, actor, bulletin_id)
        values = {"title": title, "foreword": foreword, "remarks": remarks, "version": version}
        return form_error(request, "bulletins/edit.html", error, values, {"bulletin": bulletin})
    return see_other(request, f"/bulletins/{bulletin_id}?notice=saved")


async def _act(request: Request, session, actor: Actor, bulletin_id: uuid.UUID, action, version: str, notice: str):
    try:
        await action(session, actor, bulletin_id, version=form_version(version))
    except DomainError as error:
        unless_correctable(error)
        view = await _view(session, actor, bulletin_id)
        return render(request, "bulletins/bulletin.html",
                      {"view": view, "notices": _notices(), "own": _own(view, actor),
                       "errors": {"__all__": error.message}}, status_code=error.status_code)
    return see_other(request, f"/bulletins/{bulletin_id}?notice={notice}")


@pages.post("/bulletins/{bulletin_id}/regenerate")
async def regenerate_page(request: Request, session: DbSession, actor: CurrentActor, bulletin_id: uuid.UUID,
                          version: Annotated[str, Form()] = ""):
    return await _act(request, session, actor, bulletin_id, bulletins.regenerate, version, "regenerated")


@pages.post("/bulletins/{bulletin_id}/publish")
async def publish_page(request: Request, session: DbSession, actor: CurrentActor, bulletin_id: uuid.UUID,
                       version: Annotated[str, Form()] = ""):
    return await _act(request, session, actor, bulletin_id, bulletins.publish, version, "published")


@pages.post("/reports/{report_id}/exemplary")
async def exemplary_page(request: Request, session: DbSession, actor: CurrentActor, report_id: uuid.UUID,
                         exemplary: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/reviews"):
    await mark_exemplary(session, actor, report_id, exemplary=exemplary == "1")
    url = safe_next(next, "/reviews")
    return see_other(request, url + ("&" if "?" in url else "?") + "notice=exemplary")
