"""Importing a 任务分解表 into a published plan: a preview with row-level problems, then a confirmation that
is applied to the very same file (found again by its SHA-256), with every unit name settled by a person."""

import difflib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.config import get_settings
from backend.core.actor import Actor
from backend.core.budget import read_upload
from backend.errors import InvalidInput, NotFound
from backend.files import storage
from backend.files.models import StoredFile
from backend.i18n import _
from backend.plans import policy
from backend.plans.models import Plan, PlanItem
from backend.plans.parser import to_simplified
from backend.plans.responsibility_table import (
    ResponsibilityRow,
    ResponsibilityTableError,
    UnitMatch,
    match_units,
    read_responsibility_table,
)
from backend.tasks import service as tasks
from backend.tasks.models import Task
from backend.tenancy import service as tenancy
from backend.tenancy.models import Unit, UnitKind

MAX_TABLE_BYTES = 10 * 2**20
NEW_UNIT = "new"


@dataclass
class RowPreview:
    row: ResponsibilityRow
    task: Task | None
    problems: list[str] = field(default_factory=list)


@dataclass
class TablePreview:
    plan: Plan
    sha256: str
    filename: str
    rows: list[RowPreview]
    units: list[UnitMatch]
    all_units: list[Unit]
    flags: list[str]

    @property
    def ready_rows(self) -> int:
        return sum(1 for r in self.rows if r.task is not None)


async def upload_table(
    session: AsyncSession, actor: Actor, plan_id: uuid.UUID, *, filename: str, chunks: AsyncIterator[bytes]
) -> TablePreview:
    policy.require_assign(actor)
    plan = await _plan(session, plan_id)
    staged = await storage.stage(chunks, max_bytes=MAX_TABLE_BYTES, label=filename or "任务分解表")
    try:
        table = await _read(staged.path.read_bytes(), filename, plan.year)
    except BaseException:
        storage.discard(staged)
        raise
    storage.keep(actor.tenant_id, staged)
    if (await session.exec(select(StoredFile).where(StoredFile.sha256 == staged.sha256))).first() is None:
        session.add(StoredFile(
            tenant_id=actor.tenant_id, sha256=staged.sha256, size=staged.size, filename=filename[:255] or "table.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", created_by=actor.user_id,
        ))
        await session.flush()
    return await _preview(session, plan, staged.sha256, filename, table)


async def _read(data: bytes, filename: str, year: int):
    """`read_responsibility_table` in a child process with a time and memory budget (`LUOSHI_TABLE_PARSE_SECONDS`,
    `LUOSHI_TABLE_PARSE_MEMORY_MB`), never on the event loop: openpyxl reading a sheet of many rows is pure Python
    that would stop the web process answering anyone else."""
    settings = get_settings()
    return await read_upload(
        read_responsibility_table, data, filename, year, seconds=settings.table_parse_seconds,
        memory_mb=settings.table_parse_memory_mb, refused=ResponsibilityTableError,
        too_slow=lambda: _(
            "“%(name)s”在 %(seconds)s 秒内没有读完（行数或工作表过多），没有导入。请只保留任务分解表所在的"
            "工作表、删去多余的空行后重新上传。", name=filename, seconds=settings.table_parse_seconds),
        too_large=lambda: _(
            "读取“%(name)s”需要的内存超过了限制，没有导入。请删去图片、多余的工作表和空行后重新上传。", name=filename))


async def _plan(session: AsyncSession, plan_id: uuid.UUID) -> Plan:
    plan = await session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(_("找不到该工作要点，它可能已被删除。"))
    return plan


async def _preview(session: AsyncSession, plan: Plan, sha256: str, filename: str, table) -> TablePreview:
    query = select(PlanItem).where(PlanItem.plan_id == plan.id).order_by(col(PlanItem.position))
    items = (await session.exec(query)).all()
    task_of = {t.plan_item_id: t for t in (await session.exec(
        select(Task).where(col(Task.plan_item_id).in_([i.id for i in items]))
    )).all()}
    units = list((await session.exec(select(Unit).order_by(col(Unit.name)))).all())
    names = sorted({name for row in table.rows for name in row.lead + row.co})
    matches = match_units(names, [(str(u.id), u.name) for u in units])
    rows = []
    for row in table.rows:
        item = _item_for(row, items)
        problems = list(row.flags)
        if item is None:
            problems.append(_("第 %(n)s 行的任务在工作要点中找不到对应条目，将跳过。", n=row.row))
        if not row.lead and not any("牵头" in flag for flag in problems):
            problems.append(_("第 %(n)s 行没有牵头单位，将跳过。", n=row.row))
        rows.append(RowPreview(row, task_of.get(item.id) if item and row.lead else None, problems))
    return TablePreview(plan, sha256, filename, rows, matches, units, list(table.flags))


def _item_for(row: ResponsibilityRow, items) -> PlanItem | None:
    """The plan item a row is about: the same title (across scripts), else the same number whose title is
    close, else the single title that is clearly the closest."""
    wanted = to_simplified("".join(row.task.split()))
    if not wanted:
        return None
    scored = []
    for item in items:
        title = to_simplified("".join(item.title.split()))
        if title == wanted or (len(title) >= 4 and (title in wanted or wanted in title)):
            return item
        scored.append((difflib.SequenceMatcher(None, title, wanted[: len(title) * 2]).ratio(), item))
    if row.number is not None:
        numbered = [item for score, item in scored if item.number == row.number and score >= 0.3]
        if len(numbered) == 1:
            return numbered[0]
    scored.sort(key=lambda pair: pair[0], reverse=True)
    if scored and scored[0][0] >= 0.6 and (len(scored) == 1 or scored[0][0] - scored[1][0] >= 0.15):
        return scored[0][1]
    return None


async def reopen(session: AsyncSession, actor: Actor, plan_id: uuid.UUID, *, sha256: str) -> TablePreview:
    """The preview of an uploaded table again, to show beside what still needs settling."""
    policy.require_assign(actor)
    plan = await _plan(session, plan_id)
    stored = (await session.exec(select(StoredFile).where(StoredFile.sha256 == sha256))).first()
    path = storage.content_path(actor.tenant_id, sha256) if stored else None
    if stored is None or path is None or not path.exists():
        raise InvalidInput(_("找不到刚才上传的任务分解表，请重新上传。"), field="file")
    table = await _read(path.read_bytes(), stored.filename, plan.year)
    return await _preview(session, plan, sha256, stored.filename, table)


@dataclass
class ApplyResult:
    assigned: int
    skipped: int
    created_units: list[str]


async def apply_table(
    session: AsyncSession, actor: Actor, plan_id: uuid.UUID, *, sha256: str, choices: dict[str, str]
) -> ApplyResult:
    """`choices` settles each unit name that is not an exact match: a unit id, or "new" to create it."""
    preview = await reopen(session, actor, plan_id, sha256=sha256)
    plan = preview.plan
    unit_ids: dict[str, uuid.UUID] = {}
    unsettled = []
    created = []
    for match in preview.units:
        if match.status == "exact" and match.unit_id:
            unit_ids[match.name] = uuid.UUID(match.unit_id)
            continue
        choice = choices.get(match.name, "")
        if choice == NEW_UNIT and not policy.may_create_units(actor):
            raise InvalidInput(_("新建单位“%(name)s”需要系统管理员操作。请选择一个已有单位，或请管理员先建立该单位。",
                                 name=match.name), field="units")
        if choice == NEW_UNIT:
            unit = await tenancy.create_unit(session, actor, name=match.name, kind=UnitKind.other)
            unit_ids[match.name] = unit.id
            created.append(match.name)
        elif choice and any(str(u.id) == choice for u in preview.all_units):
            unit_ids[match.name] = uuid.UUID(choice)
        else:
            unsettled.append(match.name)
    if unsettled:
        raise InvalidInput(_("请为这些单位选择对应的本局单位或新建：%(names)s", names="、".join(unsettled)),
                           field="units")
    assigned = 0
    for row_preview in preview.rows:
        if row_preview.task is None:
            continue
        await tasks.assign_units(
            session, actor, row_preview.task, lead_unit_ids=[unit_ids[n] for n in row_preview.row.lead],
            co_unit_ids=[unit_ids[n] for n in row_preview.row.co], deadline=row_preview.row.deadline,
        )
        assigned += 1
    skipped = len(preview.rows) - assigned
    await record(session, actor, "plan.responsibilities", object_type="plan", object_id=plan.id,
                 summary=_("按任务分解表交办 %(n)s 项任务（跳过 %(s)s 行）", n=assigned, s=skipped),
                 details={"sha256": sha256, "created_units": created})
    return ApplyResult(assigned, skipped, created)
