"""A sheet as a grid of values with merged ranges resolved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .text import cell_text

MAX_ROWS = 20000


@dataclass
class Grid:
    """Sheet values with merged ranges resolved: every covered cell reads the range's value."""

    values: dict[tuple[int, int], Any]
    formats: dict[tuple[int, int], str]  # number formats of date cells
    merge_of: dict[tuple[int, int], tuple[int, int, int, int]]  # cell → (min_row, min_col, max_row, max_col)
    max_row: int
    max_col: int

    def value(self, r: int, c: int) -> Any:
        m = self.merge_of.get((r, c))
        if m:
            return self.values.get((m[0], m[1]))
        return self.values.get((r, c))

    def number_format(self, r: int, c: int) -> str:
        return self.formats.get(self.source(r, c), "")

    def text(self, r: int, c: int) -> str:
        return cell_text(self.value(r, c))

    def source(self, r: int, c: int) -> tuple[int, int]:
        """The cell a value actually lives in (the top-left of its merge)."""
        m = self.merge_of.get((r, c))
        return (m[0], m[1]) if m else (r, c)

    def own(self, r: int, c: int) -> bool:
        """True when (r, c)'s value was written on row r (not carried down from a merge above)."""
        m = self.merge_of.get((r, c))
        return m is None or m[0] == r


def read_grid(ws) -> Grid:
    cells = getattr(ws, "_cells", None)
    values: dict[tuple[int, int], Any] = {}
    formats: dict[tuple[int, int], str] = {}
    if isinstance(cells, dict):
        for (r, c), cell in cells.items():
            v = getattr(cell, "value", None)
            if v is not None and cell_text(v) != "":
                values[(r, c)] = v
                if isinstance(v, (date, datetime)):
                    formats[(r, c)] = str(getattr(cell, "number_format", "") or "")
    else:  # pragma: no cover - openpyxl internals changed; read the used range, capped
        for row in ws.iter_rows(max_row=min(ws.max_row or 0, MAX_ROWS)):
            for cell in row:
                if cell.value is not None and cell_text(cell.value) != "":
                    values[(cell.row, cell.column)] = cell.value
    max_row = max((r for r, _ in values), default=0)
    max_col = max((c for _, c in values), default=0)
    merge_of: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for rng in list(getattr(ws.merged_cells, "ranges", [])):
        r0, c0, r1, c1 = rng.min_row, rng.min_col, min(rng.max_row, max_row), min(rng.max_col, max_col)
        if (r0, c0) not in values or r0 > r1 or c0 > c1:
            continue
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                merge_of[(r, c)] = (r0, c0, r1, c1)
    return Grid(values, formats, merge_of, max_row, max_col)


def sheet_has_values(ws) -> bool:
    cells = getattr(ws, "_cells", None)
    if isinstance(cells, dict):
        return any(cell_text(getattr(c, "value", None)) != "" for c in cells.values())
    return any(v is not None for row in ws.iter_rows(values_only=True) for v in row)  # pragma: no cover
