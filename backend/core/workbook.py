"""The one way Luoshi writes a row into an .xlsx sheet (bulletins, ledgers, assessments, review summaries, evidence
indexes): every text cell is written as a string, never a formula, whatever it starts with.

openpyxl turns any string starting with "=" into a formula, and Excel/WPS treat a cell starting with =, +, -, @, a
tab or a carriage return as one when it is edited or imported (formula or CSV injection). Such a text is stored as
a plain string with Excel's quote prefix (the hidden leading ' that keeps it text when edited); its value stays
exactly as typed. Characters XML cannot hold are taken out.
"""

import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def new_workbook() -> Workbook:
    """A workbook without its default sheet: sheets are added with `book.create_sheet(title)`."""
    book = Workbook()
    book.remove(book.active)
    return book


def append_row(sheet: Worksheet, values: Iterable[object]) -> tuple:
    """Appends one row and returns its cells; text is always text (never a formula)."""
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    cells = sheet[sheet.max_row]
    for cell in cells:
        if isinstance(cell.value, str):
            cell.data_type = "s"
            cell.quotePrefix = cell.value.startswith(FORMULA_START)
    return cells


def to_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
