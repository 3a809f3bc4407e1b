"""Evidence (佐证材料): uploading proof to a task, listing it, opening it, and new versions of it.

Who may upload: members of a unit assigned to the task, and the bureau's admins and supervisors; leaders read.
Uploads stream to storage under their SHA-256 with a size limit, and are typed from their bytes. Evidence is
immutable once its report is submitted (`submitted`); a new version supersedes it and both stay in the 台账.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import anyio
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text, update
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.core.bodies import evidence_file_bytes
from backend.core.jobs import enqueue_after_commit, sends_after_commit
from backend.core.text import without_controls
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.evidence import exif, filetypes, policy
from backend.evidence.jobs import make_evidence_thumbnail
from backend.evidence.models import Evidence
from backend.files import storage
from backend.files.models import StoredFile
from backend.files.service import stored_file_for
from backend.i18n import _
from backend.tasks import service as tasks
from backend.tasks.models import EvidenceRule, Task, TaskState
from backend.tenancy.models import Membership

MAX_DESCRIPTION = 500
KINDS = ("image", "pdf", "document", "spreadsheet", "presentation", "video")
_DUPLICATE = "luoshi.evidence.duplicate"
THUMBNAIL_WAIT = timedelta(minutes=2)


# --- reading ---------------------------------------------------------------------------------------------


@dataclass
class EvidenceRow:
    evidence: Evidence
    uploader_name: str
    size: int
    content_type: str
    sha256: str
    superseded_by_id: uuid.UUID | None

    @property
    def superseded(self) -> bool:
        return self.superseded_by_id is not None

    @property
    def thumbnail_pending(self) -> bool:
        """A photo uploaded moments ago whose thumbnail the job is still making (HEIC pictures get none): pages
        poll for it a little while, not for ever."""
        e = self.evidence
        return (e.kind == "image" and e.thumbnail_file_id is None and self.content_type != "image/heic"
                and e.uploaded_at > clock.now() - THUMBNAIL_WAIT)

    @property
    def download_url(self) -> str:
        """Where the API serves the file itself (its answers carry the link)."""
        return f"/api/v1/evidence/{self.evidence.id}/content"

    @property
    def thumbnail_url(self) -> str | None:
        return f"/api/v1/evidence/{self.evidence.id}/thumbnail" if self.evidence.thumbnail_file_id else None


@dataclass
class EvidencePanel:
    """What the task page's evidence section shows: the list and whether this person may add to it."""

    task: Task
    rows: list[EvidenceRow]
    can_upload: bool
    notice: str = ""
    pending_thumbnails: bool = False


def _rows_query(task_ids_or_evidence):
    newer = aliased(Evidence)
    return (
        select(Evidence, User.display_name, StoredFile.size, StoredFile.content_type, StoredFile.sha256, newer.id)
        .join(User, col(User.id) == Evidence.uploaded_by)
        .join(StoredFile, col(StoredFile.id) == Evidence.file_id)
        .outerjoin(newer, col(newer.supersedes_id) == Evidence.id)
        .where(task_ids_or_evidence)
    )


async def list_evidence(session: AsyncSession, actor: Actor, task_id: uuid.UUID) -> list[EvidenceRow]:
    """The task's evidence, newest first, with uploader names and version links (one query after the task's)."""
    task = await tasks.get_task(session, actor, task_id)
    query = _rows_query(col(Evidence.task_id) == task.id).order_by(
        col(Evidence.uploaded_at).desc(), col(Evidence.id)
    )
    return [EvidenceRow(*row) for row in (await session.exec(query)).all()]


async def evidence_of_reports(session: AsyncSession, report_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[EvidenceRow]]:
    """The evidence attached to each of the reports, oldest first: one query for a whole page of reports (also for
    none, so that a page costs the same). For callers that have checked the actor may see the reports' tasks."""
    found: dict[uuid.UUID, list[EvidenceRow]] = {}
    query = _rows_query(col(Evidence.report_id).in_(report_ids)).order_by(
        col(Evidence.uploaded_at), col(Evidence.id))
    for row in (await session.exec(query)).all():
        item = EvidenceRow(*row)
        found.setdefault(item.evidence.report_id, []).append(item)  # type: ignore[arg-type]
    return found


async def get_evidence(session: AsyncSession, actor: Actor, evidence_id: uuid.UUID, *,
                       for_update: bool = False) -> Evidence:
    """The evidence if the actor may see its task; otherwise "not found", whether it exists or not."""
    query = select(Evidence).where(Evidence.id == evidence_id, Evidence.tenant_id == actor.tenant_id)
    if for_update:
        query = query.with_for_update()
    evidence = (await session.exec(query)).first()
    if evidence is not None:
        try:
            await tasks.get_task(session, actor, evidence.task_id)
        except NotFound:
            evidence = None
    if evidence is None:
        raise NotFound(_("找不到该佐证材料，可能不属于您的单位或已被删除。"))
    return evidence


async def get_row(session: AsyncSession, actor: Actor, evidence_id: uuid.UUID) -> EvidenceRow:
    evidence = await get_evidence(session, actor, evidence_id)
    row = (await session.exec(_rows_query(col(Evidence.id) == evidence.id))).first()
    assert row is not None
    return EvidenceRow(*row)


async def evidence_file(session: AsyncSession, actor: Actor, evidence_id: uuid.UUID) -> tuple[Evidence, StoredFile]:
    evidence = await get_evidence(session, actor, evidence_id)
    stored = await session.get(StoredFile, evidence.file_id)
    assert stored is not None
    return evidence, stored


async def thumbnail_file(session: AsyncSession, actor: Actor, evidence_id: uuid.UUID) -> tuple[Evidence, StoredFile]:
    evidence = await get_evidence(session, actor, evidence_id)
    stored = await session.get(StoredFile, evidence.thumbnail_file_id) if evidence.thumbnail_file_id else None
    if stored is None:
        raise NotFound(_("这份材料还没有缩略图。"))
    return evidence, stored


async def panel(session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, notice: str = "") -> EvidencePanel:
    """Context for `evidence/_list.html`: `{% include "evidence/_list.html" %}` with `panel` in the context."""
    task = await tasks.get_task(session, actor, task_id)
    rows = await list_evidence(session, actor, task_id)
    pending = any(r.thumbnail_pending for r in rows)
    return EvidencePanel(task=task, rows=rows, can_upload=policy.may_upload(actor, task), notice=notice,
                         pending_thumbnails=pending)


def duplicate_message(evidence: Evidence) -> str | None:
    """Set when `upload_evidence` returned evidence already on the task instead of making a second copy."""
    return sa_inspect(evidence).info.get(_DUPLICATE)


# --- writing ---------------------------------------------------------------------------------------------


async def check_may_upload(session: AsyncSession, actor: Actor, task: Task) -> None:
    policy.require_uploader(actor)
    if policy.needs_own_assignment(actor) and await tasks.assignment_of(session, actor, task) is None:
        raise Forbidden(_("只有承担该任务的单位才能上传佐证材料。"))
    if task.state == TaskState.cancelled:
        raise Conflict(_("任务“%(number)s”已撤销，不能再上传佐证材料。", number=task.number))
    if task.state == TaskState.done:
        raise Conflict(_("任务“%(number)s”已办结，不能再上传佐证材料。如需补充，请联系督查督办人员。",
                         number=task.number))
    if task.evidence_rule == EvidenceRule.none:
        raise InvalidInput(_("任务“%(number)s”不需要佐证材料，无需上传照片或文件；如实填写进展即可。",
                             number=task.number), field="file")


def check_details(description: str, covers_from: date | None, covers_to: date | None) -> str:
    description = without_controls(description or "").strip()  # (a multipart form: not cleaned on the way in)
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(_("材料说明最多 %(n)s 字，请精简后再提交。", n=MAX_DESCRIPTION), field="description")
    for value, name in ((covers_from, "covers_from"), (covers_to, "covers_to")):
        if value is not None and not 2000 <= value.year <= 2100:
            raise InvalidInput(_("请填写正确的日期，例如 2024-06-30。"), field=name)
    if covers_from and covers_to and covers_from > covers_to:
        raise InvalidInput(_("材料所反映时段的结束日期不能早于开始日期。"), field="covers_to")
    return description


async def _same_on_task(session: AsyncSession, task_id: uuid.UUID, sha256: str) -> tuple[Evidence, str] | None:
    row = (await session.exec(
        select(Evidence, User.display_name).join(StoredFile, col(StoredFile.id) == Evidence.file_id)
        .join(User, col(User.id) == Evidence.uploaded_by)
        .where(Evidence.task_id == task_id, StoredFile.sha256 == sha256)
        .order_by(col(Evidence.uploaded_at))
    )).first()
    return (row[0], row[1]) if row else None


async def upload_evidence(
    session: AsyncSession,
    actor: Actor,
    task_id: uuid.UUID,
    *,
    filename: str,
    chunks: AsyncIterator[bytes],
    description: str = "",
    covers_from: date | None = None,
    covers_to: date | None = None,
    report_id: uuid.UUID | None = None,
    supersedes: Evidence | None = None,
) -> Evidence:
    """Streams one file to storage and records it as evidence of the task.

    The same bytes already on the task are not stored twice: the existing evidence is returned and
    `duplicate_message(evidence)` says so ("这份材料已经上传过：…"). A `report_id` attaches it to that report,
    which `reports.attaching.upload` has checked (the way every route and the report form upload).
    """
    task = await tasks.get_task(session, actor, task_id)
    await check_may_upload(session, actor, task)
    description = check_details(description, covers_from, covers_to)
    name = filetypes.safe_filename(filename)
    if not (filename or "").strip():
        raise InvalidInput(_("请选择要上传的文件，或用手机拍照上传。"), field="file")
    staged = await storage.stage(chunks, max_bytes=evidence_file_bytes(), label=name)
    try:
        detected = await anyio.to_thread.run_sync(filetypes.detect, staged.path, staged.head, name)
        name = filetypes.with_extension(name, detected)
        taken = await anyio.to_thread.run_sync(exif.taken_at, staged.path) if detected.kind == "image" else None
        # Two uploads of the same bytes to the same task at once: the second waits here and then finds the first.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))").bindparams(
            key=f"evidence:{task.id}:{staged.sha256}"))
        same = await _same_on_task(session, task.id, staged.sha256)
        if same is not None:
            storage.discard(staged)
            existing, uploader = same
            sa_inspect(existing).info[_DUPLICATE] = _(
                "这份材料已经上传过：“%(name)s”（%(who)s，%(when)s 上传），没有重复保存。",
                name=existing.filename, who=uploader, when=_local(existing.uploaded_at, actor),
            )
            return existing
        stored = await stored_file_for(session, actor.tenant_id, staged, filename=name,
                                       content_type=detected.content_type, created_by=actor.user_id)
        await storage.store(actor.tenant_id, staged)
    except BaseException:
        storage.discard(staged)
        raise
    evidence = Evidence(
        tenant_id=actor.tenant_id, task_id=task.id, report_id=report_id, file_id=stored.id, filename=name,
        kind=detected.kind, description=description, covers_from=covers_from, covers_to=covers_to,
        supersedes_id=supersedes.id if supersedes else None, uploaded_by=actor.user_id, taken_at=taken,
    )
    session.add(evidence)
    await session.flush()
    details = {"filename": name, "kind": detected.kind, "sha256": staged.sha256, "size": staged.size,
               "task_id": str(task.id)}
    if supersedes is not None:
        details["supersedes"] = str(supersedes.id)
        await record(session, actor, "evidence.supersede", object_type="evidence", object_id=evidence.id,
                     summary=_("上传“%(new)s”替换任务 %(number)s 的佐证材料“%(old)s”", new=name, number=task.number,
                               old=supersedes.filename), details=details)
    else:
        await record(session, actor, "evidence.upload", object_type="evidence", object_id=evidence.id,
                     summary=_("为任务 %(number)s 上传佐证材料“%(name)s”", number=task.number, name=name),
                     details=details)
    if evidence.kind == "image":
        _thumbnail_later(actor, evidence)
    return evidence


def _thumbnail_later(actor: Actor, evidence: Evidence) -> None:
    """Queues the photo's thumbnail for after the commit. A thumbnail is a nicety: if Redis is down the upload
    still counts (the job is idempotent, and the catch-up job makes what was never queued), and so does an upload
    outside a request (a script, the demo, a test), which leaves it to the catch-up job."""
    if sends_after_commit():
        enqueue_after_commit(make_evidence_thumbnail, str(actor.tenant_id), str(evidence.id))


def _local(value: datetime, actor: Actor) -> str:
    return clock.localtime(value, timezone=actor.timezone)


async def supersede(
    session: AsyncSession,
    actor: Actor,
    evidence_id: uuid.UUID,
    *,
    filename: str,
    chunks: AsyncIterator[bytes],
    description: str | None = None,
    covers_from: date | None = None,
    covers_to: date | None = None,
) -> Evidence:
    """A new version of a piece of evidence; the old one stays in the 台账, marked as superseded.

    Description and period default to the old version's.
    """
    old = await get_evidence(session, actor, evidence_id, for_update=True)
    await _check_may_replace(session, actor, old)
    newer = (await session.exec(select(Evidence.id).where(Evidence.supersedes_id == old.id))).first()
    if newer is not None:
        raise Conflict(_("“%(name)s”已经有新版本了，请在最新版本上操作。", name=old.filename))
    return await upload_evidence(
        session, actor, old.task_id, filename=filename, chunks=chunks,
        description=old.description if description is None else description,
        covers_from=covers_from if covers_from or covers_to else old.covers_from,
        covers_to=covers_to if covers_from or covers_to else old.covers_to,
        supersedes=old,
    )


async def _check_may_change(session: AsyncSession, actor: Actor, evidence: Evidence) -> None:
    if evidence.submitted:
        raise Conflict(_("“%(name)s”已随报告提交，不能再修改或删除。"
                         "如需更正，请上传新版本替换（旧版本会保留在台账中）。", name=evidence.filename))
    await _check_may_replace(session, actor, evidence)


async def _check_may_replace(session: AsyncSession, actor: Actor, evidence: Evidence) -> None:
    """The uploader, the head of the uploader's unit, or a supervisor: not another unit of the same task."""
    if policy.replaces_any(actor) or evidence.uploaded_by == actor.user_id:
        return
    if policy.replaces_own_unit(actor):
        uploader_unit = (await session.exec(select(Membership.unit_id).where(
            Membership.user_id == evidence.uploaded_by, Membership.tenant_id == actor.tenant_id))).first()
        if uploader_unit == actor.unit_id:
            return
    raise Forbidden(_("只有上传人、本单位负责人或督查督办人员可以修改这份材料。"))


async def update_evidence(
    session: AsyncSession, actor: Actor, evidence_id: uuid.UUID, *, description: str,
    covers_from: date | None, covers_to: date | None,
) -> Evidence:
    """Changes the description and period of evidence not yet submitted."""
    evidence = await get_evidence(session, actor, evidence_id, for_update=True)
    await _check_may_change(session, actor, evidence)
    before = {"description": evidence.description, "covers_from": str(evidence.covers_from or ""),
              "covers_to": str(evidence.covers_to or "")}
    evidence.description = check_details(description, covers_from, covers_to)
    evidence.covers_from, evidence.covers_to = covers_from, covers_to
    session.add(evidence)
    await session.flush()
    after = {"description": evidence.description, "covers_from": str(covers_from or ""),
             "covers_to": str(covers_to or "")}
    await record(session, actor, "evidence.update", object_type="evidence", object_id=evidence.id,
                 summary=_("修改佐证材料“%(name)s”的说明", name=evidence.filename),
                 details={"before": before, "after": after})
    return evidence


async def delete_evidence(session: AsyncSession, actor: Actor, evidence_id: uuid.UUID) -> uuid.UUID:
    """Removes evidence uploaded by mistake, while it is not yet submitted; returns its task's id.

    The stored content stays (other evidence may share it; it is addressed by its hash).
    """
    evidence = await get_evidence(session, actor, evidence_id, for_update=True)
    await _check_may_change(session, actor, evidence)
    newer = (await session.exec(select(Evidence.id).where(Evidence.supersedes_id == evidence.id))).first()
    if newer is not None:
        raise Conflict(_("“%(name)s”已有新版本，旧版本要保留在台账中，不能删除。", name=evidence.filename))
    task_id = evidence.task_id
    await record(session, actor, "evidence.delete", object_type="evidence", object_id=evidence.id,
                 summary=_("删除未提交的佐证材料“%(name)s”", name=evidence.filename),
                 details={"filename": evidence.filename, "task_id": str(task_id), "file_id": str(evidence.file_id)})
    await session.delete(evidence)
    await session.flush()
    return task_id


async def count_evidence(session: AsyncSession, task_id: uuid.UUID, *, report_id: uuid.UUID | None = None) -> int:
    """How many files a report carries (`report_id`), or the whole task: what a task whose evidence is required
    asks for at submit and at 办结. For callers that have read the task as the actor."""
    query = select(func.count()).select_from(Evidence).where(Evidence.task_id == task_id)
    if report_id is not None:
        query = query.where(Evidence.report_id == report_id)
    return (await session.exec(query)).one()


async def mark_submitted(session: AsyncSession, *, report_id: uuid.UUID) -> int:
    """For the reports service: freezes the report's evidence when the report is submitted. Returns the count."""
    result = await session.exec(
        update(Evidence).where(col(Evidence.report_id) == report_id, col(Evidence.submitted).is_(False))
        .values(submitted=True)
    )
    await session.flush()
    return result.rowcount or 0
