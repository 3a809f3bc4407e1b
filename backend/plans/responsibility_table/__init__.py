"""任务分解表 (responsibility tables): a bureau's .xlsx listing plan tasks, who leads them and by when.

Pure functions, no database:

* `read_responsibility_table(data, filename, year)` reads the first sheet with a recognisable header
  into a `ResponsibilityTable` of `ResponsibilityRow`s. The header may sit anywhere in the first rows
  (below title rows and banners), span two rows (责任单位 over 牵头 / 配合), and name its columns in any
  order with the usual synonyms. A value merged over several rows applies to every row it covers; a
  row merged across the table, or a numbered heading without units, is a section, not a task.
  Anything uncertain becomes a Chinese flag on the row (or the table); nothing is silently guessed.
* `match_units(names, units)` matches unit names as written in a table to the bureau's units:
  exact (after folding spaces, full-width forms and traditional characters), fuzzy candidates to
  confirm, or unknown.

Every failure on bad input is a `ResponsibilityTableError` whose message (Simplified Chinese) says
what to fix; no other exception escapes `read_responsibility_table`.

The package follows the reading: `container` (the file), `grid` (the sheet), `header` (the columns),
`rows` (rows → responsibilities, with `units` and `deadline` for cells), `matching` (units), `model`.
"""

from __future__ import annotations

import contextlib
import logging

from backend.i18n import _

from .container import load_workbook
from .deadline import parse_deadline
from .grid import read_grid, sheet_has_values
from .header import find_header, no_header_message
from .matching import match_units
from .model import TO_XLSX, ResponsibilityRow, ResponsibilityTable, ResponsibilityTableError, UnitMatch
from .rows import find_year, read_rows
from .units import split_units

__all__ = [
    "ResponsibilityRow",
    "ResponsibilityTable",
    "ResponsibilityTableError",
    "UnitMatch",
    "match_units",
    "parse_deadline",
    "read_responsibility_table",
    "split_units",
]

log = logging.getLogger(__name__)


def read_responsibility_table(data: bytes, filename: str = "", year: int | None = None) -> ResponsibilityTable:
    """Read a 任务分解表 .xlsx. `year` resolves 6月底前 and the like; by default the title's year.

    Raises ResponsibilityTableError (message in Simplified Chinese) and nothing else on bad input.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ResponsibilityTableError(_("没有收到文件内容，请重新上传任务分解表 .xlsx 文件"))
    data = bytes(data)
    wb = load_workbook(data)
    try:
        return _read_workbook(wb, filename, year)
    except ResponsibilityTableError:
        raise
    except Exception as exc:  # a file we cannot make sense of must still get a message
        log.exception("responsibility table: unexpected failure reading %r", filename)
        raise ResponsibilityTableError(
            _("读取表格时出错，可能是文件格式不规范：请在 Excel 中打开，%(hint)s；仍不行请联系管理员", hint=_(TO_XLSX))
        ) from exc
    finally:
        with contextlib.suppress(Exception):  # closing is best effort
            wb.close()


def _read_workbook(wb, filename: str, year: int | None) -> ResponsibilityTable:
    sheets = [ws for ws in wb.worksheets if hasattr(ws, "merged_cells")]
    visible = [ws for ws in sheets if getattr(ws, "sheet_state", "visible") == "visible"]
    hidden = [ws for ws in sheets if ws not in visible]
    non_empty = [ws for ws in visible + hidden if sheet_has_values(ws)]
    if not non_empty:
        raise ResponsibilityTableError(_("表格是空的：工作表里没有任何内容，请填好任务分解表后重新上传"))
    seen_task = False
    for ws in non_empty:
        grid = read_grid(ws)
        header, saw = find_header(grid)
        seen_task = seen_task or saw
        if header is None:
            continue
        found_year, title, flags = find_year(grid, header.first_row, ws.title, filename)
        if year is None:
            year = found_year
        rows, row_flags = read_rows(grid, header, year)
        if not rows:
            raise ResponsibilityTableError(
                _(
                    "工作表“%(sheet)s”第%(row)s行是表头，但下面没有任务：请在表头下逐行填写任务、牵头单位和完成时限后重新上传",
                    sheet=ws.title,
                    row=header.row,
                )
            )
        table_flags = header.flags + flags + row_flags
        if year is None and any(r.deadline_text and r.deadline is None for r in rows):
            table_flags.append(
                _("标题中没有年份，只写月份的完成时限无法推算日期：请在标题中写明年度（如“2024年”）或上传时选择年度")
            )
        columns = dict(header.texts)
        return ResponsibilityTable(
            sheet=ws.title,
            header_row=header.row,
            columns=columns,
            year=year,
            title=title,
            rows=rows,
            flags=table_flags,
        )
    raise ResponsibilityTableError(no_header_message(seen_task))
