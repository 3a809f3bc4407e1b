"""One screen for a report with photos: the report form's own uploads. Each upload (or removal) first saves what
was typed into the unit's draft for the form's period — creating the draft on the first upload — then attaches
the files to that draft, so nothing typed is lost and the period never changes under the user."""

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.errors import Conflict, InvalidInput, NotFound
from backend.evidence import service as evidence
from backend.evidence.models import Evidence
from backend.i18n import _
from backend.reports import policy
from backend.reports.access import EDITABLE
from backend.reports.models import ProgressReport
from backend.reports.writing import save_report
from backend.tasks.models import Task
from backend.tasks.service import get_task


@dataclass
class Attached:
    report: ProgressReport
    added: int = 0
    removed: bool = False
    notices: list[str] = field(default_factory=list)  # "这份材料已经上传过…"


async def save_with_evidence(
    session: AsyncSession, actor: Actor, task_id: uuid.UUID, *,
    uploads: Sequence[tuple[str, AsyncIterator[bytes]]] = (), remove: uuid.UUID | None = None, **fields: Any,
) -> Attached:
    """Saves the draft with `fields` (as `save_report`), then uploads each (filename, chunks) as evidence of it
    and removes the evidence `remove` if given (only this report's, and only before it is submitted)."""
    report = await save_report(session, actor, task_id, **fields)
    outcome = Attached(report)
    for filename, chunks in uploads:
        item = await upload(session, actor, task_id, filename=filename, chunks=chunks, report_id=report.id)
        if message := evidence.duplicate_message(item):
            outcome.notices.append(message)
        else:
            outcome.added += 1
    if remove is not None:
        item = await evidence.get_evidence(session, actor, remove)
        if item.report_id != report.id:
            raise NotFound(_("找不到要移除的材料，可能已被移除。请刷新页面。"))
        await evidence.delete_evidence(session, actor, remove)
        outcome.removed = True
    return outcome


async def upload(
    session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, report_id: uuid.UUID | None = None, **details: Any,
) -> Evidence:
    """Every upload of evidence (`evidence.upload_evidence` with `details`); one attached to a report first passes
    the upload's own checks and then the report's (on the task, of the uploader's unit, still editable), before a
    byte is stored. It lives here because evidence sits below reports."""
    if report_id is not None:
        task = await get_task(session, actor, task_id)
        await evidence.check_may_upload(session, actor, task)
        evidence.check_details(details.get("description", ""), details.get("covers_from"), details.get("covers_to"))
        await _check_report(session, actor, task, report_id)
    return await evidence.upload_evidence(session, actor, task_id, report_id=report_id, **details)


async def _check_report(session: AsyncSession, actor: Actor, task: Task, report_id: uuid.UUID) -> None:
    report = (await session.exec(select(ProgressReport).where(
        ProgressReport.id == report_id, ProgressReport.task_id == task.id
    ))).first()
    if report is None:
        raise InvalidInput(_("找不到要附加材料的报告，请刷新页面后重试。"), field="report_id")
    policy.require_own_report(actor, report)
    if report.state not in EDITABLE:
        raise Conflict(_("这份报告已经提交，不能再附加材料。如需补充，请等退回后再上传，或在下期报告中上传。"))
