"""The quarter's summary as an .xlsx: per unit, tasks rated, average score and how many of each grade."""

from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from backend.core.workbook import append_row, new_workbook, to_bytes
from backend.i18n import _
from backend.reviews.models import QuarterlyReview
from backend.reviews.scale import grade_table, quarter_label, scale_label


def add_sheet(book: Workbook, title: str, caption: str, header: Sequence[str], rows: Sequence[Sequence[object]]):
    """A sheet with a bold caption and header; typed text stays text (never a formula), numbers stay numbers."""
    sheet = book.create_sheet(title[:31])
    append_row(sheet, [caption])
    sheet["A1"].font = Font(bold=True, size=13)
    append_row(sheet, header)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        for cell in append_row(sheet, row):
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if isinstance(cell.value, float):
                cell.number_format = "0.00"
    for index, name in enumerate(header, start=1):
        letter = sheet.cell(row=2, column=index).column_letter
        sheet.column_dimensions[letter].width = max(10, min(40, len(str(name)) * 2.2))
    sheet.freeze_panes = "A3"
    return sheet


def summary_xlsx(review: QuarterlyReview, lines: list) -> bytes:
    book = new_workbook()
    labels = [label for label, _score, _floor in grade_table()]
    caption = _("%(q)s点评汇总（%(scale)s）", q=quarter_label(review.year, review.quarter),
                scale=scale_label(review.scale))
    rows = [[line.unit_name, line.rated, round(line.average, 2), *(line.grades.get(label, 0) for label in labels)]
            for line in lines]
    add_sheet(book, _("汇总"), caption, [_("单位"), _("已评任务"), _("平均分"), *labels], rows)
    return to_bytes(book)
