"""The quarter's summary as an .xlsx: per unit, tasks rated, average score and how many of each grade."""

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

from backend.i18n import _
from backend.reviews.models import QuarterlyReview
from backend.reviews.scale import grade_table, quarter_label, scale_label

# A cell beginning with one of these is a formula to Excel / WPS: what people typed must stay text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def add_sheet(book: Workbook, title: str, caption: str, header: Sequence[str], rows: Sequence[Sequence[object]]):
    """A sheet with a bold caption and header; typed text stays text (never a formula), numbers stay numbers."""
    sheet = book.create_sheet(title[:31])
    sheet.append([caption])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(list(header))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
        for cell in sheet[sheet.max_row]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if isinstance(cell.value, str):
                cell.data_type = "s"
                cell.quotePrefix = cell.value.startswith(FORMULA_START)
            elif isinstance(cell.value, float):
                cell.number_format = "0.00"
    for index, name in enumerate(header, start=1):
        letter = sheet.cell(row=2, column=index).column_letter
        sheet.column_dimensions[letter].width = max(10, min(40, len(str(name)) * 2.2))
    sheet.freeze_panes = "A3"
    return sheet


def to_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def summary_xlsx(review: QuarterlyReview, lines: list) -> bytes:
    book = Workbook()
    book.remove(book.active)
    labels = [label for label, _score, _floor in grade_table()]
    caption = _("%(q)s点评汇总（%(scale)s）", q=quarter_label(review.year, review.quarter),
                scale=scale_label(review.scale))
    rows = [[line.unit_name, line.rated, round(line.average, 2), *(line.grades.get(label, 0) for label in labels)]
            for line in lines]
    add_sheet(book, _("汇总"), caption, [_("单位"), _("已评任务"), _("平均分"), *labels], rows)
    return to_bytes(book)
