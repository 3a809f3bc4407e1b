"""The 督办单 as a Word document in the layout of an official notice: a red masthead with the bureau's name, the
notice number under it, a rule, and the facts in a table. Rendered from the notice row whenever it is opened."""

import io
from datetime import datetime

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from backend.i18n import _
from backend.reminders.models import NoticeLevel, SupervisionNotice
from backend.tasks.models import Task

RED = RGBColor(0xC0, 0x00, 0x00)
AMBER = RGBColor(0xB8, 0x86, 0x0B)
BODY_FONT = "仿宋"
HEADING_FONT = "黑体"


def notice_number(notice: SupervisionNotice) -> str:
    return _("督〔%(year)s〕%(seq)s号", year=notice.year, seq=f"{notice.seq:03d}")


def _run(paragraph, text: str, *, size: float, font: str = BODY_FONT, bold: bool = False, color=None):
    run = paragraph.add_run(text)
    run.font.size, run.font.bold, run.font.name = Pt(size), bold, font
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    if color is not None:
        run.font.color.rgb = color
    return run


def _red_rule(paragraph) -> None:
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "18"), ("space", "1"), ("color", "C00000")):
        bottom.set(qn(f"w:{key}"), value)
    border.append(bottom)
    paragraph._p.get_or_add_pPr().append(border)


def render_notice(notice: SupervisionNotice, task: Task, unit_name: str, bureau_name: str, issued: datetime) -> bytes:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin, section.left_margin, section.right_margin = Cm(3.7), Cm(3.5), Cm(2.8), \
        Cm(2.6)
    masthead = document.add_paragraph()
    masthead.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(masthead, _("%(bureau)s督查督办通知单", bureau=bureau_name), size=26, font=HEADING_FONT, bold=True, color=RED)
    number = document.add_paragraph()
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(number, notice_number(notice), size=16)
    _red_rule(number)
    red = notice.level == NoticeLevel.red
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, _("红色督办单") if red else _("黄色督办单"), size=22, font=HEADING_FONT, bold=True,
         color=RED if red else AMBER)
    addressee = document.add_paragraph()
    _run(addressee, _("%(unit)s：", unit=unit_name), size=16)
    lead = document.add_paragraph()
    lead.paragraph_format.first_line_indent = Pt(32)
    _run(lead, _("你单位承办的下列任务已超过办理时限 %(days)s 个工作日，现予%(level)s督办。请接到本通知后立即办理，"
                 "并在 3 个工作日内通过“落实”平台报送办理进展及佐证材料。",
                 days=notice.workdays_overdue, level=_("红色") if red else _("黄色")), size=16)
    rows = [
        (_("任务编号"), task.number),
        (_("督办事项"), task.title),
        (_("承办单位"), unit_name),
        (_("办理时限"), notice.deadline.isoformat()),
        (_("超期情况"), _("已超期 %(days)s 个工作日", days=notice.workdays_overdue)),
        (_("督办等级"), _("红色督办（报局领导）") if red else _("黄色督办（报单位负责人）")),
    ]
    table = document.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for row, (label, value) in zip(table.rows, rows, strict=True):
        row.cells[0].width, row.cells[1].width = Cm(3.5), Cm(12)
        _run(row.cells[0].paragraphs[0], label, size=14, font=HEADING_FONT)
        _run(row.cells[1].paragraphs[0], value, size=14)
    signature = document.add_paragraph()
    signature.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    signature.paragraph_format.space_before = Pt(36)
    _run(signature, bureau_name, size=16)
    date_line = document.add_paragraph()
    date_line.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _run(date_line, _("%(y)s年%(m)s月%(d)s日", y=issued.year, m=issued.month, d=issued.day), size=16)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
