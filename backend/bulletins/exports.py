"""A bulletin as .docx (an official document: 红头, 仿宋 / 黑体, page numbers), .pdf (WeasyPrint from the print
template, Noto CJK fonts embedded) and .xlsx (one sheet per table). Rendered from the snapshot on each request."""

from datetime import date

from openpyxl.styles import Alignment, Font

from backend.bulletins.views import BulletinView
from backend.core import clock
from backend.core import documents as doc
from backend.core.templating import env
from backend.core.workbook import append_row, new_workbook, to_bytes
from backend.i18n import _

HEADINGS = ("一、", "二、", "三、", "四、", "五、", "六、")


def issued_on(view: BulletinView) -> date:
    """The bureau-local date of publishing (a draft: of computing); 07:30 in Beijing is still the day before in UTC."""
    moment = view.bulletin.published_at or view.bulletin.computed_at
    return clock.local_now(view.timezone, moment).date()


def filename(view: BulletinView, suffix: str) -> str:
    return f"{view.bulletin.title or _('月通报')}.{suffix}"


def sections(view: BulletinView) -> list[tuple[str, list]]:
    """The bulletin's parts in reading order: (heading, tables)."""
    return [
        (_("总体情况"), [view.lights]),
        (_("各单位报送与办理情况"), [view.units]),
        (_("全年趋势"), [view.trend]),
        (_("典型报告"), [view.exemplary]),
        (_("超期未办结任务"), [view.overdue]),
    ]


def render_docx(view: BulletinView) -> bytes:
    b = view.bulletin
    document = doc.official_document()
    doc.masthead(document, _("%(bureau)s督查通报", bureau=view.bureau_name), view.issue)
    doc.title(document, b.title)
    to, foreword = doc.addressee(b.foreword)
    if to:
        doc.body(document, to, indent=False)
    doc.body(document, foreword)
    for index, (heading, tables) in enumerate(sections(view)):
        doc.heading(document, HEADINGS[index] + heading)
        if index == 0:
            for line in view.summary:
                doc.body(document, line)
        for table in tables:
            caption = document.add_paragraph()
            doc.run(caption, table.caption, size=12, font=doc.HEADING_FONT)
            if table.rows:
                doc.table(document, table.header, table.rows, size=10.5)
            else:
                doc.body(document, _("无。"))
            if table.note:
                doc.run(document.add_paragraph(), table.note, size=10.5)
    if b.remarks:
        doc.heading(document, HEADINGS[len(sections(view))] + _("下步工作要求"))
        doc.body(document, b.remarks)
    when = issued_on(view)
    doc.signature(document, view.bureau_name, _("%(y)s年%(m)s月%(d)s日", y=when.year, m=when.month, d=when.day))
    doc.page_numbers(document)
    return doc.to_bytes(document)


def render_pdf(view: BulletinView) -> bytes:
    from weasyprint import HTML  # imported on use: it loads Pango and fonts, which only the PDF needs

    masthead = _("%(bureau)s督查通报", bureau=view.bureau_name)
    to, foreword = doc.addressee(view.bulletin.foreword)
    html = env.get_template("bulletins/print.html").render(
        view=view, sections=sections(view), headings=HEADINGS, issued=issued_on(view), addressee=to,
        foreword=doc.paragraphs(foreword), remarks=doc.paragraphs(view.bulletin.remarks),
        body_fonts=doc.PDF_BODY_FONTS, heading_fonts=doc.PDF_HEADING_FONTS,
        masthead=masthead, masthead_size=doc.masthead_size(masthead))
    return HTML(string=html).write_pdf()


def _cell(value):
    """A rate shown as “40%” goes into the sheet as the number 0.4 (formatted as a percentage)."""
    if isinstance(value, str) and value.endswith("%"):
        try:
            return float(value[:-1]) / 100
        except ValueError:
            return value
    return value


def render_xlsx(view: BulletinView) -> bytes:
    book = new_workbook()
    bold = Font(bold=True)
    for table in view.tables:
        sheet = book.create_sheet(table.sheet[:31])
        append_row(sheet, [table.caption])
        sheet["A1"].font = bold
        append_row(sheet, table.header)
        for cell in sheet[2]:
            cell.font = bold
        for row in table.rows:
            append_row(sheet, [_cell(v) if i >= table.numeric_from else v for i, v in enumerate(row)])
        if table.note:
            append_row(sheet, [table.note])
        for column in range(1, len(table.header) + 1):
            letter = sheet.cell(row=2, column=column).column_letter
            sheet.column_dimensions[letter].width = 12 if column >= table.numeric_from else 28
        for row in sheet.iter_rows(min_row=3):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                if isinstance(cell.value, float):
                    cell.number_format = "0.0%"
    return to_bytes(book)
