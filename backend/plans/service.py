"""Plan intake: import a document into a draft, edit the draft, publish it as a plan with its tasks."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.config import get_settings
from backend.core import clock
from backend.core.actor import Actor
from backend.core.budget import read_upload
from backend.core.clock import local_today
from backend.core.versions import is_stale
from backend.errors import Conflict, InvalidInput, NotFound
from backend.evidence.filetypes import safe_filename
from backend.files import storage
from backend.files.models import StoredFile
from backend.i18n import _
from backend.plans import document as drafts
from backend.plans import policy
from backend.plans.models import ImportStatus, Plan, PlanImport, PlanItem, PlanSection
from backend.plans.parser import ParsedPlan, PlanInputError, parse_file, to_simplified
from backend.tasks import service as tasks
from backend.tasks.models import Task, TaskState
from backend.tenancy.models import Unit

MAX_PLAN_BYTES = 20 * 2**20
PASTED_NAME = "粘贴的文本.txt"


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def parse_bounded(data: bytes, filename: str | None) -> ParsedPlan:
    """`parse_file` in a child process with a time and memory budget (`LUOSHI_PLAN_PARSE_SECONDS`,
    `LUOSHI_PLAN_PARSE_MEMORY_MB`), never on the event loop; what cannot be read is InvalidInput on `file`."""
    settings = get_settings()
    name = filename or PASTED_NAME
    return await read_upload(
        parse_file, data, filename, seconds=settings.plan_parse_seconds, memory_mb=settings.plan_parse_memory_mb,
        refused=PlanInputError,
        too_slow=lambda: _(
            "“%(name)s”在 %(seconds)s 秒内没有解析完（内容过长或结构过于复杂），没有导入。请删去与工作要点"
            "无关的内容（如附件、大段表格）后重试。", name=name, seconds=settings.plan_parse_seconds),
        too_large=lambda: _(
            "解析“%(name)s”需要的内存超过了限制，没有导入。请删去图片、附件等与工作要点无关的内容后重试。", name=name))


async def start_import(
    session: AsyncSession, actor: Actor, *, filename: str, chunks: AsyncIterator[bytes] | None = None,
    pasted: str | None = None,
) -> PlanImport:
    """Parses an upload (or pasted text) into a draft. The same document again returns its open draft, and a
    document already published for that year is offered as an update of that plan, never a duplicate."""
    policy.require_manage_plans(actor)
    if pasted is not None:
        if not pasted.strip():
            raise InvalidInput(_("粘贴的内容是空的，请把工作要点全文粘贴进来。"), field="pasted")
        chunks, filename = _one_chunk(pasted.encode("utf-8")), PASTED_NAME
    if chunks is None:
        raise InvalidInput(_("请选择要上传的文件，或粘贴工作要点全文。"), field="file")
    filename = safe_filename(filename, default=_("工作要点"))  # no folders, control characters or overrides
    staged = await storage.stage(chunks, max_bytes=MAX_PLAN_BYTES, label=filename)
    try:
        open_draft = (await session.exec(select(PlanImport).where(
            PlanImport.source_sha256 == staged.sha256, PlanImport.status == ImportStatus.draft
        ))).first()
        if open_draft is not None:
            storage.discard(staged)
            return open_draft
        parsed = await parse_bounded(staged.path.read_bytes(), filename)
        if not parsed.sections:
            raise InvalidInput(_("没有在“%(name)s”中找到工作要点的条目（如“一、”“1.”）。请确认上传的是工作要点全文。",
                                 name=filename), field="file")
        stored = await _keep_file(session, actor, staged, filename)
    except BaseException:
        storage.discard(staged)
        raise
    document = drafts.from_parse(parsed)
    existing = await _published_match(session, staged.sha256, document)
    if existing is not None:  # an update keeps what the admin settled for the plan unless the new text says more
        document["title"] = document.get("title") or existing.title
        document["issuer"] = document.get("issuer") or existing.issuer
        document["year"] = document.get("year") or existing.year
    draft = PlanImport(
        tenant_id=actor.tenant_id, source_file_id=stored.id, source_sha256=staged.sha256, filename=filename,
        document=document, created_by=actor.user_id, updates_plan_id=existing.id if existing else None,
    )
    session.add(draft)
    await session.flush()
    await record(session, actor, "plan.import", object_type="plan_import", object_id=draft.id,
                 summary=_("导入工作要点“%(name)s”", name=document.get("title") or filename))
    return draft


async def _keep_file(session: AsyncSession, actor: Actor, staged: storage.StagedContent, filename: str) -> StoredFile:
    stored = (await session.exec(select(StoredFile).where(StoredFile.sha256 == staged.sha256))).first()
    storage.keep(actor.tenant_id, staged)
    if stored is None:
        stored = StoredFile(tenant_id=actor.tenant_id, sha256=staged.sha256, size=staged.size,
                            content_type=_content_type(filename), filename=filename, created_by=actor.user_id)
        session.add(stored)
        await session.flush()
    return stored


def _content_type(filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pdf": "application/pdf", "html": "text/html", "htm": "text/html",
    }.get(extension, "text/plain")


async def _published_match(session: AsyncSession, sha256: str, document: dict[str, Any]) -> Plan | None:
    """The plan this document updates: the same file, or the same title for the same year."""
    same_file = (await session.exec(select(Plan).where(Plan.source_sha256 == sha256))).first()
    if same_file or not document.get("year") or not document.get("title"):
        return same_file
    title = to_simplified(document["title"])
    for plan in (await session.exec(select(Plan).where(Plan.year == document["year"]))).all():
        if to_simplified(plan.title) == title:
            return plan
    return None


async def get_import(
    session: AsyncSession, actor: Actor, import_id: uuid.UUID, *, for_update: bool = False
) -> PlanImport:
    """The draft; `for_update` locks its row until the transaction ends and re-reads it, so a change that checks
    its state and version sees what the request before it committed (two publishes at once: one wins)."""
    policy.require_manage_plans(actor)
    draft = await session.get(PlanImport, import_id, with_for_update=for_update, populate_existing=for_update)
    if draft is None:
        raise NotFound(_("找不到该导入记录，它可能已被删除。"))
    return draft


async def parse_document(actor: Actor, data: bytes, filename: str | None) -> ParsedPlan:
    """A document's structure, saving nothing: for those who import plans (a script checks its file first)."""
    policy.require_manage_plans(actor)
    return await parse_bounded(data, filename)


async def drafts_shown(session: AsyncSession, actor: Actor) -> list[PlanImport]:
    """The open drafts on the plans page, for those who import plans; the others see the published plans only."""
    return await list_imports(session, actor) if policy.may_manage_plans(actor) else []


async def list_imports(session: AsyncSession, actor: Actor) -> list[PlanImport]:
    policy.require_manage_plans(actor)
    query = (select(PlanImport).where(PlanImport.status == ImportStatus.draft)
             .order_by(col(PlanImport.created_at).desc()))
    return list((await session.exec(query)).all())


def _check_open(draft: PlanImport, version: int) -> None:
    stale = is_stale(draft.version, version)
    if draft.status != ImportStatus.draft:
        raise Conflict(_("该导入已经发布或放弃，不能再修改。"))
    if stale:
        raise Conflict(_("这份草稿刚被别人或您在另一个窗口修改过。请刷新页面，在最新内容上重新操作。"))


async def edit_import(
    session: AsyncSession, actor: Actor, import_id: uuid.UUID, *, version: int, operation: str, **args: Any
) -> PlanImport:
    draft = await get_import(session, actor, import_id, for_update=True)
    _check_open(draft, version)
    draft.document = drafts.edit(draft.document, operation, **args)
    draft.version += 1
    draft.updated_at = clock.now()
    session.add(draft)
    await session.flush()
    return draft


async def discard_import(session: AsyncSession, actor: Actor, import_id: uuid.UUID, *, version: int) -> None:
    draft = await get_import(session, actor, import_id, for_update=True)
    _check_open(draft, version)
    draft.status = ImportStatus.discarded
    session.add(draft)
    await record(session, actor, "plan.discard", object_type="plan_import", object_id=draft.id,
                 summary=_("放弃导入“%(name)s”", name=draft.document.get("title") or draft.filename))


@dataclass
class PublishResult:
    plan: Plan
    created: int
    updated: int
    removed: int


async def publish(
    session: AsyncSession, actor: Actor, import_id: uuid.UUID, *, version: int, confirm_dates: bool = False,
) -> PublishResult:
    """Publishes the draft: every item becomes a task. A new plan of another year, or one whose tasks would be born
    past their deadline, is refused until the publisher confirms the dates (`confirm_dates`)."""
    draft = await get_import(session, actor, import_id, for_update=True)
    _check_open(draft, version)
    document = draft.document
    check = dates_of(draft, actor)
    if check is not None and check.needs_confirmation and not confirm_dates:
        raise InvalidInput(check.message(), field="confirm_dates")
    if not document.get("year"):
        raise InvalidInput(_("还没有识别出计划年份，请先在“标题与年份”中填写年份。"), field="year")
    if not document.get("title"):
        raise InvalidInput(_("请先填写计划标题。"), field="title")
    if not any(section["items"] for section in document["sections"]):
        raise InvalidInput(_("草稿中没有任何条目，无法发布。"))
    units = {to_simplified("".join(u.name.split())): u.id for u in (await session.exec(select(Unit))).all()}
    if draft.updates_plan_id:
        plan = await session.get(Plan, draft.updates_plan_id)
        assert plan is not None
        result = await _update_plan(session, actor, plan, draft, units)
    else:
        plan = Plan(tenant_id=actor.tenant_id, title=document["title"][:300], issuer=document.get("issuer"),
                    year=document["year"], source_file_id=draft.source_file_id, source_sha256=draft.source_sha256,
                    import_id=draft.id, published_by=actor.user_id)
        session.add(plan)
        await session.flush()
        created = await _add_items(session, actor, plan, document, document["sections"], units)
        result = PublishResult(plan, created, 0, 0)
    draft.status = ImportStatus.published
    draft.plan_id = plan.id
    draft.version += 1
    session.add(draft)
    await record(session, actor, "plan.publish", object_type="plan", object_id=plan.id,
                 summary=_("发布工作要点“%(title)s”：新建任务 %(c)s 项，更新 %(u)s 项，移除 %(r)s 项",
                           title=plan.title, c=result.created, u=result.updated, r=result.removed))
    return result


def dates_of(draft: PlanImport, actor: Actor) -> drafts.DateCheck | None:
    """The date check of a draft on the bureau's date; none for an update of a published plan (its year is the
    plan's, and its items mostly keep their tasks)."""
    if draft.updates_plan_id or not draft.document.get("year"):
        return None
    return drafts.date_check(draft.document, local_today(actor.timezone))


def _owner_units(item: dict[str, Any], units: dict[str, uuid.UUID]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Units named in the text (责任单位：…) that the bureau has; the others are flagged on the item."""
    found: dict[str, list[uuid.UUID]] = {"lead": [], "co": []}
    for role in ("lead", "co"):
        for name in item.get("owners", {}).get(role, []):
            unit_id = units.get(to_simplified("".join(name.split())))
            if unit_id is None:
                item["flags"].append(_("文中的单位“%(name)s”在本局单位中找不到，请交办时指定。", name=name))
            elif unit_id not in found[role]:
                found[role].append(unit_id)
    return found["lead"], found["co"]


def _group_of(item: dict[str, Any]) -> tuple[str | None, str | None]:
    """The (label, title) of the group an item is published under (drafts made before items had groups have none)."""
    group = item.get("group") or {}
    return (group.get("label") or "")[:20] or None, (group.get("title") or "")[:500] or None


async def _add_items(
    session: AsyncSession, actor: Actor, plan: Plan, document: dict[str, Any], sections: list[dict[str, Any]],
    units: dict[str, uuid.UUID], *, first_position: int = 0,
) -> int:
    new_tasks: list[tasks.NewTask] = []
    position = first_position
    for section_position, section in enumerate(sections):
        plan_section = await _section_for(session, actor, plan, section, section_position)
        for item in section["items"]:
            lead, co = _owner_units(item, units)
            group_label, group_title = _group_of(item)
            plan_item = PlanItem(
                tenant_id=actor.tenant_id, plan_id=plan.id, section_id=plan_section.id, number=item["number"],
                title=item["title"][:500], text=item["text"], measures=item["measures"], targets=item["targets"],
                deadline=date.fromisoformat(item["deadline"]) if item.get("deadline") else None,
                recurrence=item.get("recurrence"), owners=item.get("owners", {}), flags=item["flags"],
                position=position, group_label=group_label, group_title=group_title,
            )
            position += 1
            session.add(plan_item)
            new_tasks.append(tasks.NewTask(
                title=item["title"], description=item["text"], deadline=drafts.due_date(item, plan.year),
                plan_item_id=plan_item.id, recurrence=item.get("recurrence"), measures=item["measures"],
                targets=item["targets"], lead_unit_ids=lead, co_unit_ids=co,
            ))
    await session.flush()
    await tasks.create_tasks(session, actor, plan.year, new_tasks)
    return len(new_tasks)


async def _section_for(
    session: AsyncSession, actor: Actor, plan: Plan, section: dict[str, Any], position: int
) -> PlanSection:
    existing = (await session.exec(select(PlanSection).where(
        PlanSection.plan_id == plan.id, PlanSection.label == section["label"]
    ))).first()
    if existing is not None:
        existing.title = section["title"][:500]
        session.add(existing)
        return existing
    plan_section = PlanSection(tenant_id=actor.tenant_id, plan_id=plan.id, label=section["label"],
                               title=section["title"][:500], position=position)
    session.add(plan_section)
    await session.flush()
    return plan_section


async def _update_plan(
    session: AsyncSession, actor: Actor, plan: Plan, draft: PlanImport, units: dict[str, uuid.UUID]
) -> PublishResult:
    """Matches the new items to the plan's (by title across scripts, else by section and number): matched
    items and their open tasks take the new text and deadline; new items become tasks; items that vanished stay
    with their tasks and history, marked as removed in this update."""
    document = draft.document
    old_items = list((await session.exec(select(PlanItem).where(PlanItem.plan_id == plan.id))).all())
    sections = {s.id: s for s in (await session.exec(select(PlanSection).where(PlanSection.plan_id == plan.id))).all()}
    by_title = {to_simplified(i.title): i for i in old_items}
    by_number = {(sections[i.section_id].label, i.number): i for i in old_items if i.number is not None}
    task_of = {t.plan_item_id: t for t in (await session.exec(
        select(Task).where(col(Task.plan_item_id).in_([i.id for i in old_items]))
    )).all()}
    matched: set[uuid.UUID] = set()
    new_sections: list[dict[str, Any]] = []
    updated = 0
    for section in document["sections"]:
        fresh = []
        for item in section["items"]:
            old = by_title.get(to_simplified(item["title"])) or by_number.get((section["label"], item["number"]))
            if old is None or old.id in matched:
                fresh.append(item)
                continue
            matched.add(old.id)
            lead, co = _owner_units(item, units)
            deadline = date.fromisoformat(item["deadline"]) if item.get("deadline") else None
            changed = (old.text, old.title, old.deadline) != (item["text"], item["title"][:500], deadline)
            old.title, old.text, old.deadline = item["title"][:500], item["text"], deadline
            old.measures, old.targets, old.flags = item["measures"], item["targets"], item["flags"]
            old.group_label, old.group_title = _group_of(item)
            old.removed_in_update = False
            session.add(old)
            task = task_of.get(old.id)
            if changed and task is not None and task.state not in (TaskState.done, TaskState.cancelled):
                task.title, task.description = old.title, old.text
                new_due = drafts.due_date(item, plan.year)
                if task.deadline == task.original_deadline:
                    task.deadline = task.original_deadline = new_due
                task.version += 1
                task.updated_at = clock.now()
                session.add(task)
            if task is not None and task.state == TaskState.unassigned and lead:
                await tasks.assign_units(session, actor, task, lead_unit_ids=lead, co_unit_ids=co)
            updated += int(changed)
        if fresh:
            new_sections.append({**section, "items": fresh})
    removed = 0
    for old in old_items:
        if old.id not in matched and not old.removed_in_update:
            old.removed_in_update = True
            session.add(old)
            removed += 1
    next_position = max((i.position for i in old_items), default=-1) + 1
    created = await _add_items(session, actor, plan, document, new_sections, units, first_position=next_position)
    plan.title, plan.issuer = document["title"][:300], document.get("issuer")
    plan.source_file_id, plan.source_sha256, plan.updated_at = draft.source_file_id, draft.source_sha256, clock.now()
    session.add(plan)
    return PublishResult(plan, created, updated, removed)


async def list_plans(session: AsyncSession, actor: Actor) -> list[Plan]:
    policy.require_read_plans(actor)
    return list((await session.exec(select(Plan).order_by(col(Plan.year).desc(), col(Plan.published_at)))).all())


async def list_sections(session: AsyncSession, actor: Actor, plan_id: uuid.UUID | None) -> list[PlanSection]:
    policy.require_read_plans(actor)
    query = select(PlanSection).where(PlanSection.plan_id == plan_id).order_by(col(PlanSection.position))
    return list((await session.exec(query)).all())


@dataclass
class PlanView:
    plan: Plan
    sections: list[tuple[PlanSection, list[tuple[PlanItem, tasks.TaskRow | None]]]]
    source: StoredFile | None
    may_assign: bool = False  # the page offers to hand its tasks to units


async def get_plan(session: AsyncSession, actor: Actor, plan_id: uuid.UUID, *, query: str = "") -> PlanView:
    """The plan with its sections, items and each item's task: four queries whatever the plan's length.
    `query` keeps the items that mention it, in simplified or traditional characters alike."""
    policy.require_read_plans(actor)
    plan = await session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(_("找不到该工作要点，它可能已被删除。"))
    sections = (await session.exec(
        select(PlanSection).where(PlanSection.plan_id == plan.id).order_by(col(PlanSection.position))
    )).all()
    items = (await session.exec(
        select(PlanItem).where(PlanItem.plan_id == plan.id).order_by(col(PlanItem.position))
    )).all()
    needle = to_simplified("".join(query.split()))
    if needle:
        items = [i for i in items if needle in to_simplified("".join((i.title + i.text).split()))]
    task_rows = await tasks.tasks_for_plan_items(session, actor, [i.id for i in items])
    grouped = [(s, [(i, task_rows.get(i.id)) for i in items if i.section_id == s.id]) for s in sections]
    grouped = [(s, rows) for s, rows in grouped if rows or not needle]
    source = await session.get(StoredFile, plan.source_file_id) if plan.source_file_id else None
    return PlanView(plan, grouped, source, may_assign=policy.may_assign(actor))


async def place_in_plan(session: AsyncSession, task: Task) -> str | None:
    """Where a plan's task sits in its plan, 一、… › （一）…, for the task's page: shown to whoever may see the
    task (its view has checked that); None for an ad-hoc task."""
    if task.plan_item_id is None:
        return None
    row = (await session.exec(select(PlanSection, PlanItem).join(PlanItem, col(PlanItem.section_id) == PlanSection.id)
                              .where(PlanItem.id == task.plan_item_id))).first()
    if row is None:
        return None
    section, item = row
    parts = [f"{section.label}、{section.title}" if section.label else section.title]
    if item.group_title:
        parts.append(drafts.group_heading(item.group_label, item.group_title))
    return " › ".join(parts)


async def source_file(session: AsyncSession, actor: Actor, plan_id: uuid.UUID) -> tuple[StoredFile, Any]:
    view = await get_plan(session, actor, plan_id)
    if view.source is None:
        raise NotFound(_("该工作要点没有保存原始文件。"))
    return view.source, storage.content_path(actor.tenant_id, view.source.sha256)
