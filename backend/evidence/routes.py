"""Evidence pages and API: upload (file or phone camera), the task's evidence list, downloads and thumbnails.

One URL serves the page and its fragment: `/tasks/{id}/evidence` is a page of its own without JavaScript and the
task page's evidence section for htmx. Downloads are always attachments with headers that keep a browser from
running anything in them.
"""

import logging
import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from backend.config import get_settings
from backend.core.actor import Actor
from backend.core.bodies import evidence_file_bytes, takes_files
from backend.core.feedback import done
from backend.core.forms import see_other
from backend.core.templating import render
from backend.deps import ApiActor, CurrentActor, DbSession
from backend.errors import DomainError, InvalidInput, NotFound
from backend.evidence import filetypes
from backend.evidence import service as evidence_service
from backend.evidence.models import Evidence
from backend.evidence.schemas import EvidencePublic, EvidenceUploaded
from backend.files import storage
from backend.files.models import StoredFile
from backend.i18n import _
from backend.reports import attaching

log = logging.getLogger("luoshi.evidence")

pages = APIRouter(tags=["evidence"], include_in_schema=False)
api = APIRouter(tags=["evidence"])

ATTACHMENT_CSP = "sandbox; default-src 'none'"
SHOWN_AS_IS = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "application/pdf")
# Photos a phone's browser draws itself: tapping a thumbnail opens the picture instead of downloading a file. Only
# raster images whose type was read from their bytes; the sandbox CSP and nosniff still apply.
VIEWED_IN_PLACE = ("image/jpeg", "image/png", "image/gif", "image/webp")


def _date(value: str, field: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("请填写正确的日期，例如 2024-06-30。"), field=field) from None


def _uuid(value: str, field: str) -> uuid.UUID | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(_("找不到要附加材料的报告，请刷新页面后重试。"), field=field) from None


def _is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


def _panel_context(panel: evidence_service.EvidencePanel) -> dict[str, Any]:
    return {"panel": panel, "task": panel.task, "evidence": panel.rows, "evidence_can_upload": panel.can_upload,
            "evidence_max_mb": get_settings().evidence_max_mb}


async def _render_panel(request: Request, session, actor: Actor, task_id: uuid.UUID, *, notice: str = "",
                        error: DomainError | None = None, values: dict[str, str] | None = None,
                        status_code: int = 200, failed_version_of: uuid.UUID | None = None):
    panel = await evidence_service.panel(session, actor, task_id, notice=notice)
    context = {**_panel_context(panel), "values": values or {},
               "errors": {(error.field or "file"): error.message} if error else {},
               "failed_version_of": str(failed_version_of) if failed_version_of else ""}
    template = "evidence/_list.html" if _is_htmx(request) else "evidence/page.html"
    return render(request, template, context, status_code=status_code)


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266 / RFC 5987: an ASCII fallback and the real (Chinese) name, percent-encoded as UTF-8."""
    return f"{kind}; filename=\"{filetypes.ascii_fallback(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _send(tenant_id: uuid.UUID, stored: StoredFile, *, filename: str, media_type: str, disposition: str,
                cache: str) -> StreamingResponse:
    try:
        body = await storage.open_stream(tenant_id, stored.sha256)
    except FileNotFoundError:
        log.error("stored content missing", extra={"sha256": stored.sha256})
        raise NotFound(_("这份材料的文件内容找不到了，请联系本局系统管理员。")) from None
    headers = {
        "Content-Disposition": content_disposition(disposition, filename),
        "Content-Length": str(stored.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": ATTACHMENT_CSP,
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": cache,
    }
    return StreamingResponse(body, media_type=media_type, headers=headers)


async def download_response(session, actor: Actor, evidence_id: uuid.UUID, *, view: bool = False
                            ) -> StreamingResponse:
    """The stored file as a download; `view` shows a photo in the browser instead (other files still download)."""
    evidence, stored = await evidence_service.evidence_file(session, actor, evidence_id)
    media_type = stored.content_type if stored.content_type in SHOWN_AS_IS else "application/octet-stream"
    disposition = "inline" if view and stored.content_type in VIEWED_IN_PLACE else "attachment"
    return await _send(actor.tenant_id, stored, filename=evidence.filename, media_type=media_type,
                       disposition=disposition, cache="private, no-store")


async def thumbnail_response(session, actor: Actor, evidence_id: uuid.UUID) -> StreamingResponse:
    evidence, stored = await evidence_service.thumbnail_file(session, actor, evidence_id)
    name = evidence.filename.rsplit(".", 1)[0] + "-缩略图.jpg"
    return await _send(actor.tenant_id, stored, filename=name, media_type="image/jpeg", disposition="inline",
                       cache="private, max-age=3600")


# --- pages -----------------------------------------------------------------------------------------------


@pages.get("/tasks/{task_id}/evidence")
async def evidence_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
                        part: str = ""):
    """The evidence section (htmx) or a page of its own; `part=items` gives only the list (thumbnail polling)."""
    panel = await evidence_service.panel(session, actor, task_id)
    context = _panel_context(panel)
    if _is_htmx(request) and part == "items":
        return render(request, "evidence/_list.html", context, block="items")
    return render(request, "evidence/_list.html" if _is_htmx(request) else "evidence/page.html", context)


@pages.post("/tasks/{task_id}/evidence")
@takes_files(evidence_file_bytes)
async def upload_page(
    request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
    file: Annotated[UploadFile | None, File()] = None, camera: Annotated[UploadFile | None, File()] = None,
    description: Annotated[str, Form()] = "", covers_from: Annotated[str, Form()] = "",
    covers_to: Annotated[str, Form()] = "", report_id: Annotated[str, Form()] = "",
):
    values = {"description": description, "covers_from": covers_from, "covers_to": covers_to, "report_id": report_id}
    uploads = [u for u in (file, camera) if u is not None and u.filename]
    notices: list[str] = []
    try:
        period = _date(covers_from, "covers_from"), _date(covers_to, "covers_to")
        report = _uuid(report_id, "report_id")
        if not uploads:  # (the form is re-rendered through the task: another bureau's task gives 404)
            raise InvalidInput(_("请选择要上传的文件，或用手机拍照上传。"), field="file")
        for upload in uploads:
            evidence = await attaching.upload(
                session, actor, task_id, filename=upload.filename or "", chunks=storage.upload_chunks(upload),
                description=description, covers_from=period[0], covers_to=period[1], report_id=report,
            )
            if message := evidence_service.duplicate_message(evidence):
                notices.append(message)
    except InvalidInput as error:
        return await _render_panel(request, session, actor, task_id, error=error, values=values,
                                   notice=" ".join(notices), status_code=422)
    if notices or _is_htmx(request):
        return await _render_panel(request, session, actor, task_id, notice=" ".join(notices))
    # From the report form, back to it; otherwise to the task's evidence.
    return see_other(request, f"/tasks/{task_id}/report" if report else f"/tasks/{task_id}#evidence")


@pages.post("/evidence/{evidence_id}/supersede")
@takes_files(evidence_file_bytes)
async def supersede_page(
    request: Request, session: DbSession, actor: CurrentActor, evidence_id: uuid.UUID,
    file: Annotated[UploadFile | None, File()] = None, camera: Annotated[UploadFile | None, File()] = None,
    description: Annotated[str, Form()] = "", covers_from: Annotated[str, Form()] = "",
    covers_to: Annotated[str, Form()] = "",
):
    old = await evidence_service.get_evidence(session, actor, evidence_id)
    upload = next((u for u in (file, camera) if u is not None and u.filename), None)
    values = {"description": description, "covers_from": covers_from, "covers_to": covers_to}
    try:
        if upload is None:
            raise InvalidInput(_("请选择新版本的文件，或用手机拍照上传。"), field="file")
        new = await evidence_service.supersede(
            session, actor, evidence_id, filename=upload.filename or "", chunks=storage.upload_chunks(upload),
            description=description.strip() or None, covers_from=_date(covers_from, "covers_from"),
            covers_to=_date(covers_to, "covers_to"),
        )
    except InvalidInput as error:
        return await _render_panel(request, session, actor, old.task_id, error=error, values=values, status_code=422,
                                   failed_version_of=old.id)
    notice = evidence_service.duplicate_message(new) or ""
    if notice or _is_htmx(request):
        return await _render_panel(request, session, actor, old.task_id, notice=notice or _superseded())
    return done(request, f"/tasks/{old.task_id}", _superseded(), place="evidence")


@pages.post("/evidence/{evidence_id}/delete")
async def delete_page(request: Request, session: DbSession, actor: CurrentActor, evidence_id: uuid.UUID):
    task_id = await evidence_service.delete_evidence(session, actor, evidence_id)
    if _is_htmx(request):
        return await _render_panel(request, session, actor, task_id, notice=_("已删除这份材料。"))
    return done(request, f"/tasks/{task_id}", _("已删除这份材料。"), place="evidence")


def _superseded() -> str:
    return _("已上传新版本，原来的版本仍保留在台账中。")


@pages.get("/evidence/{evidence_id}/download")
async def download_page(session: DbSession, actor: CurrentActor, evidence_id: uuid.UUID, view: str = ""):
    return await download_response(session, actor, evidence_id, view=view == "1")


@pages.get("/evidence/{evidence_id}/thumbnail")
async def thumbnail_page(session: DbSession, actor: CurrentActor, evidence_id: uuid.UUID):
    return await thumbnail_response(session, actor, evidence_id)


# --- API -------------------------------------------------------------------------------------------------


async def _uploaded(session, actor: Actor, evidence: Evidence, response: Response) -> EvidenceUploaded:
    message = evidence_service.duplicate_message(evidence)
    response.status_code = 200 if message else 201
    row = await evidence_service.get_row(session, actor, evidence.id)
    return EvidenceUploaded(**EvidencePublic.model_validate(row).model_dump(), duplicate=bool(message), message=message)


@api.post("/tasks/{task_id}/evidence", response_model=EvidenceUploaded, status_code=201,
          responses={200: {"model": EvidenceUploaded, "description": "已上传过的同一份材料（不重复保存）"}})
@takes_files(evidence_file_bytes)
async def api_upload(
    session: DbSession, actor: ApiActor, task_id: uuid.UUID, response: Response,
    file: Annotated[UploadFile, File()], description: Annotated[str, Form()] = "",
    covers_from: Annotated[date | None, Form()] = None, covers_to: Annotated[date | None, Form()] = None,
    report_id: Annotated[uuid.UUID | None, Form()] = None,
):
    """Uploads one file (multipart). 201 with the new evidence; 200 with `duplicate: true` and the existing
    evidence when the same content is already on the task."""
    evidence = await attaching.upload(
        session, actor, task_id, filename=file.filename or "", chunks=storage.upload_chunks(file),
        description=description, covers_from=covers_from, covers_to=covers_to, report_id=report_id,
    )
    return await _uploaded(session, actor, evidence, response)


@api.get("/tasks/{task_id}/evidence", response_model=list[EvidencePublic])
async def api_list(session: DbSession, actor: ApiActor, task_id: uuid.UUID):
    return [EvidencePublic.model_validate(row) for row in await evidence_service.list_evidence(session, actor, task_id)]


@api.get("/evidence/{evidence_id}", response_model=EvidencePublic)
async def api_get(session: DbSession, actor: ApiActor, evidence_id: uuid.UUID):
    return EvidencePublic.model_validate(await evidence_service.get_row(session, actor, evidence_id))


@api.get("/evidence/{evidence_id}/content", response_class=StreamingResponse,
         responses={200: {"content": {media_type: {} for media_type in (*SHOWN_AS_IS, "application/octet-stream")},
                          "description": "文件内容（附件）：图片和 PDF 为其本身的类型，其余为二进制"}})
async def api_content(session: DbSession, actor: ApiActor, evidence_id: uuid.UUID):
    return await download_response(session, actor, evidence_id)


@api.get("/evidence/{evidence_id}/thumbnail", response_class=StreamingResponse,
         responses={200: {"content": {"image/jpeg": {}}, "description": "缩略图（JPEG，最长边 480 像素）"}})
async def api_thumbnail(session: DbSession, actor: ApiActor, evidence_id: uuid.UUID):
    return await thumbnail_response(session, actor, evidence_id)


@api.post("/evidence/{evidence_id}/supersede", response_model=EvidenceUploaded, status_code=201)
@takes_files(evidence_file_bytes)
async def api_supersede(
    session: DbSession, actor: ApiActor, evidence_id: uuid.UUID, response: Response,
    file: Annotated[UploadFile, File()], description: Annotated[str | None, Form()] = None,
    covers_from: Annotated[date | None, Form()] = None, covers_to: Annotated[date | None, Form()] = None,
):
    """Uploads a new version; the old one stays, marked as superseded."""
    evidence = await evidence_service.supersede(
        session, actor, evidence_id, filename=file.filename or "", chunks=storage.upload_chunks(file),
        description=description, covers_from=covers_from, covers_to=covers_to,
    )
    return await _uploaded(session, actor, evidence, response)


@api.delete("/evidence/{evidence_id}", status_code=204)
async def api_delete(session: DbSession, actor: ApiActor, evidence_id: uuid.UUID):
    """Removes evidence uploaded by mistake while it is not yet submitted."""
    await evidence_service.delete_evidence(session, actor, evidence_id)
    return Response(status_code=204)
