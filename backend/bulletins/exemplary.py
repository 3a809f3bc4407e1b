"""典型报告: a supervisor marks a filed progress report as exemplary (or takes the mark back) from the review
queue; the month's bulletin lists the marked reports. The mark is not part of the review, so it does not touch
the report's version (an open review form stays valid)."""

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.bulletins.policy import require_edit
from backend.core.actor import Actor
from backend.errors import Conflict
from backend.evidence.service import EvidenceRow, evidence_of_reports
from backend.i18n import _
from backend.reports.access import load_report
from backend.reports.models import ProgressReport, ReportKind
from backend.tasks.policy import sees_all_tasks


async def mark_exemplary(
    session: AsyncSession, actor: Actor, report_id: uuid.UUID, *, exemplary: bool
) -> ProgressReport:
    """Sets the mark to `exemplary` (so a double click changes nothing)."""
    report, task = await load_report(session, actor, report_id, lock=True)
    require_edit(actor)
    if report.kind != ReportKind.periodic or report.submitted_at is None:
        raise Conflict(_("只有已提交的进展报告可以评为典型。"))
    if report.exemplary == exemplary:
        return report
    report.exemplary = exemplary
    session.add(report)
    await session.flush()
    await record(session, actor, "report.exemplary" if exemplary else "report.not_exemplary",
                 object_type="progress_report", object_id=report.id,
                 summary=(_("评为典型：%(number)s %(period)s进展报告", number=task.number, period=report.period)
                          if exemplary else
                          _("取消典型：%(number)s %(period)s进展报告", number=task.number, period=report.period)),
                 details={"task_id": str(task.id)})
    return report


async def exemplary_evidence(session: AsyncSession, actor: Actor, figures: dict) -> dict[str, list[EvidenceRow]]:
    """The photos and files of a bulletin's 典型报告, by report id, in one query. For the bureau's roles, who may
    open every task's evidence; a unit's people read the table (and see their own reports' photos in the 台账)."""
    if not sees_all_tasks(actor):
        return {}
    ids = [uuid.UUID(item["report_id"]) for item in figures.get("exemplary", [])]
    return {str(report_id): rows for report_id, rows in (await evidence_of_reports(session, ids)).items()}
