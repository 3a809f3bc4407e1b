"""Plan intake pages and API: upload or paste → preview → edit in place → publish; the published plan."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse

from backend.core import once
from backend.core.bodies import takes_files
from backend.core.feedback import done
from backend.core.forms import form_error, see_other, unless_correctable
from backend.core.templating import render
from backend.core.versions import form_version
from backend.deps import ApiActor, CurrentActor, DbSession
from backend.errors import DomainError, InvalidInput
from backend.i18n import _
from backend.plans import document as drafts
from backend.plans import responsibilities
from backend.plans import service as plans
from backend.plans.models import ImportStatus
from backend.plans.page import plan_page_context
from backend.plans.parser import parse_to_dict
from backend.plans.schemas import EditIn, ImportPublic, PlanPublic, PublishedPublic, PublishIn

pages = APIRouter(tags=["plans"], include_in_schema=False)
api = APIRouter(tags=["plans"])

# What the preview's edit forms may send, per operation: the service validates the values themselves.
EDIT_FIELDS = {
    "meta": ("title", "issuer", "year"), "rename_section": ("key", "title"), "rename_item": ("key", "title"),
    "deadline": ("key", "deadline"), "target": ("key", "index", "value", "unit", "comparator"),
    "remove_target": ("key", "index"), "merge": ("key",), "split": ("key", "at"),
    "move": ("key", "direction", "section_key"), "remove": ("key",),
    "groups_to_items": ("section_key",), "measures_to_items": ("section_key",),
}


def _edit_args(operation: str, values) -> dict[str, str]:
    return {name: str(values.get(name) or "") for name in EDIT_FIELDS.get(operation, ())}


async def _chunks(upload: UploadFile):
    while chunk := await upload.read(256 * 1024):
        yield chunk


def _preview_context(draft, actor) -> dict[str, Any]:
    document = draft.document
    return {
        "draft": draft, "doc": document, "highlight": drafts.highlight, "split_points": drafts.split_points,
        "level_actions": drafts.level_actions, "group_heading": drafts.group_heading,
        "all_items": [item for section in document["sections"] for item in section["items"]],
        "date_check": plans.dates_of(draft, actor),
        "item_count": sum(len(s["items"]) for s in document["sections"]),
        "flag_count": sum(len(i["flags"]) for s in document["sections"] for i in s["items"]) + len(document["flags"]),
    }


@pages.get("/plans")
async def plans_page(request: Request, session: DbSession, actor: CurrentActor):
    drafts_open = await plans.drafts_shown(session, actor)
    return render(request, "plans/list.html", {"plans": await plans.list_plans(session, actor), "drafts": drafts_open})


@pages.post("/plans/import")
@takes_files(lambda: plans.MAX_PLAN_BYTES)
async def import_page(
    request: Request, session: DbSession, actor: CurrentActor, file: Annotated[UploadFile | None, File()] = None,
    pasted: Annotated[str, Form()] = "", form_key: Annotated[str, Form()] = "",
):
    if (earlier := await once.earlier_page(request, session, actor, form_key)) is not None:
        return earlier  # the same upload sent twice: its one draft
    try:
        if file is not None and file.filename:
            draft = await plans.start_import(session, actor, filename=file.filename, chunks=_chunks(file))
        else:
            draft = await plans.start_import(session, actor, filename="", pasted=pasted)
    except InvalidInput as error:
        return form_error(request, "plans/list.html", error, {"pasted": pasted}, {
            "plans": await plans.list_plans(session, actor), "drafts": await plans.list_imports(session, actor),
        })
    await once.settle(session, actor, form_key, location=f"/plans/imports/{draft.id}")
    return see_other(request, f"/plans/imports/{draft.id}")


@pages.get("/plans/imports/{import_id}")
async def preview_page(request: Request, session: DbSession, actor: CurrentActor, import_id: uuid.UUID):
    draft = await plans.get_import(session, actor, import_id)
    return render(request, "plans/preview.html", _preview_context(draft, actor))


@pages.post("/plans/imports/{import_id}/edit")
async def edit_page(request: Request, session: DbSession, actor: CurrentActor, import_id: uuid.UUID):
    form = await request.form()
    operation = str(form.get("operation", ""))
    args = _edit_args(operation, form)
    anchor = f"#item-{args['key']}" if args.get("key") else ""
    return await _edit(request, session, actor, import_id, form.get("version"), operation, args, anchor)


@pages.post("/plans/imports/{import_id}/levels")
async def levels_page(
    request: Request, session: DbSession, actor: CurrentActor, import_id: uuid.UUID,
    operation: Annotated[str, Form()] = "", section_key: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
):
    """One level up or down for a section (`section_key`) or the whole plan: groups become items, or items'
    measures become items under them (backend.plans.document.LEVELS)."""
    operation = operation if operation in drafts.LEVELS else ""  # an unknown one is refused after the version
    anchor = f"#s-{section_key}" if section_key else ""
    return await _edit(request, session, actor, import_id, version, operation, _edit_args(operation, {
        "section_key": section_key}), anchor)


async def _edit(request: Request, session, actor, import_id: uuid.UUID, version, operation: str,
                args: dict[str, str], anchor: str):
    try:
        await plans.edit_import(session, actor, import_id, version=form_version(version), operation=operation,
                                **args)
    except DomainError as error:
        if error.status_code in (403, 404) and not isinstance(error, InvalidInput):
            raise
        draft = await plans.get_import(session, actor, import_id)
        context = {**_preview_context(draft, actor), "error_key": args.get("key", "meta")}
        return form_error(request, "plans/preview.html", error, args, context)
    return see_other(request, f"/plans/imports/{import_id}{anchor}")


@pages.post("/plans/imports/{import_id}/publish")
async def publish_page(
    request: Request, session: DbSession, actor: CurrentActor, import_id: uuid.UUID,
    version: Annotated[str, Form()] = "", confirm_dates: Annotated[str, Form()] = "",
):
    # Locked: a double click waits here for the first press to commit, then lands on the plan it made.
    draft = await plans.get_import(session, actor, import_id, for_update=True)
    if draft.status == ImportStatus.published and draft.plan_id:
        return see_other(request, f"/plans/{draft.plan_id}")
    if draft.status != ImportStatus.draft:
        return see_other(request, f"/plans/imports/{import_id}")  # discarded, or 发布 from a page left open
    try:
        result = await plans.publish(session, actor, import_id, version=form_version(version),
                                     confirm_dates=confirm_dates == "1")
    except DomainError as error:
        unless_correctable(error)
        draft = await plans.get_import(session, actor, import_id)
        return form_error(request, "plans/preview.html", error, {}, _preview_context(draft, actor))
    return see_other(request, f"/plans/{result.plan.id}?created={result.created}&updated={result.updated}"
                              f"&removed={result.removed}")


@pages.post("/plans/imports/{import_id}/discard")
async def discard_page(
    request: Request, session: DbSession, actor: CurrentActor, import_id: uuid.UUID,
    version: Annotated[str, Form()] = "",
):
    try:
        await plans.discard_import(session, actor, import_id, version=form_version(version))
    except DomainError as error:
        unless_correctable(error)
        draft = await plans.get_import(session, actor, import_id)
        return form_error(request, "plans/preview.html", error, {}, _preview_context(draft, actor))
    return done(request, "/plans", _("已放弃这次导入，没有生成任何任务。"))


@pages.get("/plans/{plan_id}")
async def plan_page(request: Request, session: DbSession, actor: CurrentActor, plan_id: uuid.UUID, q: str = ""):
    return render(request, "plans/plan.html", await plan_page_context(session, actor, plan_id, query=q[:100]))


@pages.post("/plans/{plan_id}/responsibilities")
@takes_files(lambda: responsibilities.MAX_TABLE_BYTES)
async def responsibilities_upload(
    request: Request, session: DbSession, actor: CurrentActor, plan_id: uuid.UUID,
    file: Annotated[UploadFile | None, File()] = None,
):
    try:
        if file is None or not file.filename:
            raise InvalidInput(_("请选择任务分解表文件（.xlsx）。"), field="file")
        preview = await responsibilities.upload_table(session, actor, plan_id, filename=file.filename,
                                                      chunks=_chunks(file))
    except InvalidInput as error:
        return form_error(request, "plans/plan.html", error, {}, await plan_page_context(session, actor, plan_id))
    return render(request, "plans/responsibilities.html", {"preview": preview, "NEW_UNIT": responsibilities.NEW_UNIT})


@pages.post("/plans/{plan_id}/responsibilities/confirm")
async def responsibilities_confirm(request: Request, session: DbSession, actor: CurrentActor, plan_id: uuid.UUID):
    form = await request.form()
    sha256 = str(form.get("sha256", ""))
    choices = {str(k)[5:]: str(v) for k, v in form.items() if str(k).startswith("unit:")}
    try:
        result = await responsibilities.apply_table(session, actor, plan_id, sha256=sha256, choices=choices)
    except InvalidInput as error:
        if error.field == "file":
            raise
        stored_path = await responsibilities.reopen(session, actor, plan_id, sha256=sha256)
        return form_error(request, "plans/responsibilities.html", error, choices,
                          {"preview": stored_path, "NEW_UNIT": responsibilities.NEW_UNIT})
    return see_other(request, f"/plans/{plan_id}?assigned={result.assigned}&skipped={result.skipped}")


@pages.get("/plans/{plan_id}/source")
async def source_download(session: DbSession, actor: CurrentActor, plan_id: uuid.UUID):
    stored, path = await plans.source_file(session, actor, plan_id)
    return FileResponse(path, media_type="application/octet-stream", filename=stored.filename,
                        content_disposition_type="attachment")


# --- API -------------------------------------------------------------------------------------------------


@api.post("/plans/parse")
@takes_files(lambda: plans.MAX_PLAN_BYTES)
async def api_parse(actor: ApiActor, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    """Parses a document and returns its structure (the shape of `luoshi plan parse --json`); saves nothing."""
    data = await file.read(plans.MAX_PLAN_BYTES + 1)
    if len(data) > plans.MAX_PLAN_BYTES:
        raise InvalidInput(_("文件超过 20 MB，请删去图片等内容后再上传。"), field="file")
    return parse_to_dict(await plans.parse_document(actor, data, file.filename))


@api.post("/plan-imports", response_model=ImportPublic, status_code=201)
@takes_files(lambda: plans.MAX_PLAN_BYTES)
async def api_import(request: Request, session: DbSession, actor: ApiActor, file: Annotated[UploadFile, File()]):
    if (earlier := await once.earlier_answer(request, session, actor)) is not None:
        return earlier
    made = ImportPublic.model_validate(await plans.start_import(session, actor, filename=file.filename or "",
                                                                chunks=_chunks(file)))
    await once.settle(session, actor, request.headers.get(once.HEADER), status_code=201, body=made)
    return made


@api.get("/plan-imports/{import_id}", response_model=ImportPublic)
async def api_get_import(session: DbSession, actor: ApiActor, import_id: uuid.UUID):
    return ImportPublic.model_validate(await plans.get_import(session, actor, import_id))


@api.post("/plan-imports/{import_id}/edits", response_model=ImportPublic)
async def api_edit_import(session: DbSession, actor: ApiActor, import_id: uuid.UUID, body: EditIn):
    args = _edit_args(body.operation, body.args)
    return ImportPublic.model_validate(await plans.edit_import(session, actor, import_id,
                                                               version=form_version(body.version),
                                                               operation=body.operation, **args))


@api.post("/plan-imports/{import_id}/publish", response_model=PublishedPublic)
async def api_publish(session: DbSession, actor: ApiActor, import_id: uuid.UUID, body: PublishIn):
    result = await plans.publish(session, actor, import_id, version=form_version(body.version),
                                 confirm_dates=body.confirm_dates)
    return PublishedPublic.model_validate(result)


@api.get("/plans", response_model=list[PlanPublic])
async def api_plans(session: DbSession, actor: ApiActor):
    return [PlanPublic.model_validate(p) for p in await plans.list_plans(session, actor)]
