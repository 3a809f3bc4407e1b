"""One screen for a report with photos: the report form's own uploads. Each upload (or removal) first saves what
was typed into the unit's draft for the form's period — creating the draft on the first upload — then attaches
the files to that draft, so nothing typed is lost and the period never changes under the user."""

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.errors import NotFound
from backend.evidence import service as evidence
from backend.i18n import _
from backend.reports.models import ProgressReport
from backend.reports.writing import save_report


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
        item = await evidence.upload_evidence(session, actor, task_id, filename=filename, chunks=chunks,
                                              report_id=report.id)
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
