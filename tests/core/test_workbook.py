"""Issue 14 finding 9: one safe workbook writer, and nothing in Luoshi writes .xlsx cells around it."""

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from backend.core.workbook import append_row, new_workbook, to_bytes

BACKEND = Path(__file__).resolve().parents[2] / "backend"


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1+1", "-1+1", "@SUM(1,1)", "\t=1+1", "\r=1+1"])
def test_text_that_looks_like_a_formula_is_stored_as_text(text):
    book = new_workbook()
    sheet = book.create_sheet("表")
    append_row(sheet, [text, "普通文字", 3, 0.5])
    cell, plain, number, rate = load_workbook(io.BytesIO(to_bytes(book)))["表"][1]
    assert (cell.data_type, cell.value, cell.quotePrefix) == ("s", text, True)
    assert (plain.data_type, plain.quotePrefix) == ("s", False)
    assert (number.value, rate.value) == (3, 0.5)


def test_no_module_writes_workbook_cells_directly():
    """Every sheet row goes through backend.core.workbook.append_row; a direct `sheet.append`, `cell.value =` or
    `Workbook()` elsewhere would skip the neutralising."""
    direct = re.compile(r"\bsheet\.append\(|\.cell\([^)]*value=|\.value\s*=[^=]|\bWorkbook\(\)")
    offenders = [f"{path.relative_to(BACKEND)}:{n}" for path in BACKEND.rglob("*.py")
                 if path.name != "workbook.py" or path.parent.name != "core"
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if direct.search(line)]
    assert offenders == []
