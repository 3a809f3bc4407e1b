"""The 台账 exported: a workbook of the task's whole history (with its reports), and a .zip of all its evidence with
an index. It reads tasks, reports and evidence, so it lives in reports, the highest of the three."""

import re
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import get_settings
from backend.core.actor import Actor
from backend.core.clock import localtime
from backend.core.redis import Claim, claim
from backend.core.workbook import append_row, new_workbook, to_bytes
from backend.errors import TooLarge, TooManyAttempts
from backend.evidence import service as evidence_service
from backend.evidence.filetypes import kind_label
from backend.files import storage
from backend.i18n import _
from backend.reports.queries import reports_for_task
from backend.tasks.models import assignment_kind_label, state_label
from backend.tasks.service import TaskView, task_view

UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass
class Ledger:
    view: TaskView
    reports: list[Any]
    evidence: list[Any]


async def ledger(session: AsyncSession, actor: Actor, task_id: uuid.UUID) -> Ledger:
    view = await task_view(session, actor, task_id)
    reports = (await reports_for_task(session, actor, task_id)).reports
    evidence = await evidence_service.list_evidence(session, actor, task_id)
    return Ledger(view, reports, evidence)


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list[Any]]):
    sheet = book.create_sheet(title)
    for cell in append_row(sheet, header):
        cell.font = Font(bold=True)
    for row in rows:
        append_row(sheet, row)
    for column in sheet.columns:
        width = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[column[0].column_letter].width = min(60, max(10, width * 1.6))
        for cell in column[1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"


def covered_period(evidence) -> str:
    """2026-11-01 ~ 2026-11-30; 2026-11-01 起 or 至 2026-11-30 with one end; empty when the uploader gave none."""
    start, end = evidence.covers_from, evidence.covers_to
    if start and end:
        return f"{start} ~ {end}"
    if start:
        return _("%(day)s 起", day=start)
    return _("至 %(day)s", day=end) if end else ""


def workbook(data: Ledger) -> bytes:
    task = data.view.task
    book = new_workbook()
    units = "；".join(f"{row.unit_name}（{assignment_kind_label(row.assignment.kind)}）"
                     for row in data.view.assignments)
    _sheet(book, _("概况"), [_("项目"), _("内容")], [
        [_("编号"), task.number], [_("任务"), task.title], [_("状态"), state_label(task.state)],
        [_("时限"), str(task.deadline)], [_("原时限"), str(task.original_deadline)], [_("进度"), f"{task.progress}%"],
        [_("承办单位"), units], [_("任务内容"), task.description],
    ])
    report_header = [_("期次"), _("单位"), _("状态"), _("逾期"), _("进展情况"), _("存在问题"), _("下步措施"),
                     _("需协调事项"), _("进度%"), _("报送时间"), _("审核意见")]
    _sheet(book, _("进展报送"), report_header, [
        [r.period_text, r.unit, r.state_text, _("是") if r.report.late else "", r.report.progress, r.report.problems,
         r.report.next_steps, r.report.support_needed, r.report.percent, localtime(r.report.submitted_at),
         "；".join(_review_text(v) for v in r.reviews if v.review.comment or v.review.override_reason)]
        for r in data.reports
    ])
    evidence_header = [_("文件"), _("类型"), _("覆盖期间"), _("上传人"), _("上传时间"), _("SHA-256"), _("状态")]
    _sheet(book, _("佐证材料"), evidence_header, [
        [row.evidence.filename, kind_label(row.evidence.kind), covered_period(row.evidence), row.uploader_name,
         localtime(row.evidence.uploaded_at), row.sha256, _("已被新版本取代") if row.superseded_by_id else ""]
        for row in data.evidence
    ])
    _sheet(book, _("办理记录"), [_("时间"), _("操作人"), _("事项")], [
        [localtime(h.occurred_at), h.actor_name, h.summary] for h in reversed(data.view.history)
    ])
    return to_bytes(book)


def _review_text(v) -> str:
    """A decision's comment and, for a 办结 approved with work unfinished, what was unfinished and why it closed."""
    text = f"{v.reviewer}：{v.review.comment}"
    if v.review.override_reason:
        text += _("（办结时尚有未完成：%(list)s；办结理由：%(reason)s）", list="；".join(v.review.unfinished),
                  reason=v.review.override_reason)
    return text


def entry_name(index: int, filename: str) -> str:
    name = UNSAFE_NAME.sub("_", filename).strip(". ") or "file"
    return f"{index:03d}_{name}"[:150]


ZIP_CLAIM_SECONDS = 15 * 60  # a build and its download; the claim lapses by itself if the process dies


async def claim_evidence_zip(actor: Actor, data: Ledger) -> Claim:
    """The right to build this task's evidence archive for this member now, after checking its size.

    An archive costs a temporary file as big as all the task's evidence and the time to write it: it is refused
    (413) when the evidence is over `LUOSHI_EVIDENCE_ZIP_MAX_MB` in all, and a member gets one build of a task's
    archive at a time (429 while the previous one is still being built or downloaded, in any process)."""
    limit = get_settings().evidence_zip_max_mb * 2**20
    total = sum(row.size for row in data.evidence)
    if total > limit:
        raise TooLarge(_("这项任务的佐证材料共 %(total)s MB，超过打包下载的上限 %(limit)s MB。请在任务页逐个下载，"
                         "或请管理员调整上限。", total=-(-total // 2**20), limit=limit // 2**20))
    key = f"luoshi:evidence-zip:{actor.tenant_id}:{data.view.task.id}:{actor.user_id}"
    held = await claim(key, seconds=ZIP_CLAIM_SECONDS)
    if held is None:
        raise TooManyAttempts(_("正在为您打包这项任务的佐证材料，请等上一次下载完成后再试。"))
    return held


async def evidence_zip(tenant_id: uuid.UUID, data: Ledger) -> tempfile.SpooledTemporaryFile:
    """All evidence files (superseded versions too) and an index workbook; spooled to disk past 8 MB.

    The files are stored as they are, not compressed again: photos, videos, PDFs and Office files are compressed
    already, and deflating hundreds of megabytes here held the event loop for seconds."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 2**20)  # noqa: SIM115 — the response closes it
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
        index_rows = []
        for number, row in enumerate(data.evidence, start=1):
            name = entry_name(number, row.evidence.filename)
            with archive.open(f"{data.view.task.number}/{name}", "w", force_zip64=True) as target:
                async for chunk in storage.stream(tenant_id, row.sha256):
                    target.write(chunk)
            index_rows.append([name, row.evidence.filename, row.evidence.description, row.uploader_name,
                               localtime(row.evidence.uploaded_at), row.sha256])
        book = new_workbook()
        index_header = [_("压缩包内文件"), _("原文件名"), _("说明"), _("上传人"), _("上传时间"), _("SHA-256")]
        _sheet(book, _("材料清单"), index_header, index_rows)
        archive.writestr(f"{data.view.task.number}/{_('材料清单')}.xlsx", to_bytes(book),
                         compress_type=zipfile.ZIP_DEFLATED)
    spool.seek(0)
    return spool
