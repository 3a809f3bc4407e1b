"""Tables a web page flattened into text: one cell per line (序号 / 项目 / 任务 / 完成时间 / 负责处室 each on a line,
then each row's cells, a merged cell only on the first row it spans), or one row per line with its cells apart
(tabs or runs of spaces). Rows start at their 序号; a row short of cells leaves out the columns whose cells were
merged from above, chosen by what each cell holds (dates in the time column, unit names in unit columns). The
table found is handed to `tables` like an HTML or Word one."""

from __future__ import annotations

import functools
import re
from itertools import combinations

from ..responsibility_table.header import classify_key
from ..responsibility_table.rows import HEADING
from .script import shadow
from .tables import MAX_COLS, MAX_ROWS, OWNERS, CellBudget, Table, task_table

_OTHER_COLUMN = re.compile(
    r"^(?:工作|具体|预期|年度)?(?:目标|成效|标准|指标|要求|备注|说明|进度|依据|成果|考核)(?:任务|要求)?$"
)
_ROW_NUMBER = re.compile(r"^\d{1,3}(?:\s*[-—–－]\s*\d{1,3})?[.、．]?$")
_WHEN = re.compile(r"\d|[一二三四五六七八九十]月|年|前|底|季度|学期|长期|全年|每|持续|常态|开学|假|寒|暑|旬")
_UNIT = re.compile(r"[科处室局办组部委院所站馆校园队会]$|中心|各|学校|单位|部门")
_STOP = re.compile(
    r"^(?:附件|抄送|印发|上一篇|下一篇|打印|关闭|责任编辑|来源[:：])|^\d{4}年\d{1,2}月\d{1,2}日(?:印发|发布)?$"
)
_DATE = re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*(?:印发|发布)?$")  # of signing, not a deadline


_HEADERISH = re.compile(  # words a header cell is made of: the cheap test before `classify`
    r"序|编号|任务|事项|要点|内容|举措|措施|项目|类别|领域|重点工作|主要工作|牵头|主责|主办|负责|配合|协办|参与|协同|协助|责任"
    r"|承办|单位|部门|科室|处室|股室|时间|时限|期限|截止|节点|日期|进度|领导|备注|说明|目标|成效|标准|指标|要求|依据|成果|考核"
)


@functools.lru_cache(maxsize=4096)
def _header_cell(line: str) -> tuple[str, int] | None | bool:
    """The column a line names when it is a header cell; True for a known column that is not ours; None else."""
    sh = re.sub(r"\s+", "", shadow(line))
    if len(line) > 10 or re.search(r"[。，,；;：:、.]", line) or not _HEADERISH.search(sh):
        return None
    kind = classify_key(sh)  # the shadow is the comparison form already: no OpenCC per line
    return kind if kind is not None else (True if _OTHER_COLUMN.match(shadow(line)) else None)


def _fit(kind: tuple[str, int] | bool | None, cell: str) -> float:
    """How well a cell's text fits a column: dates in the time column, unit names in unit columns."""
    name = kind[0] if isinstance(kind, tuple) else ""
    if name == "deadline":
        return 2 if _WHEN.search(cell) and len(cell) <= 40 else -2
    if name == "leader":  # a person: 王强, 张局长
        return 1 if len(cell) <= 8 and not _UNIT.search(cell) and not _WHEN.search(cell) else -2
    if name in ("lead", "co", "resp"):
        return 1 if len(cell) <= 40 and "。" not in cell and _UNIT.search(cell) else -2
    if name == "task" and kind == ("task", 1):  # a project column: short names
        return 0.5 if len(cell) <= 15 else -1
    if name == "task":
        return 1 if len(cell) >= 6 else 0
    return 0


def _arrange(cells: list[str], kinds: list, above: list[str | None]) -> list[str | None]:
    """A row of fewer cells than columns: which columns its cells fill (the others carried down from the row
    above, as a merged cell reads), by how well each cell fits its column; ties carry the leftmost columns."""
    n = len(kinds)
    if len(cells) >= n:
        return list(cells[:n])
    best: tuple[float, list[str | None]] | None = None
    for cols in combinations(range(n), len(cells)):
        row: list[str | None] = [None] * n
        score = 0.0
        for c, cell in zip(cols, cells, strict=True):
            row[c] = cell
            score += _fit(kinds[c], cell)
        score -= sum(3 - 0.01 * (n - c) for c in range(n) if row[c] is None and above[c])  # the leftmost
        score -= sum(6 for c in range(n) if row[c] is None and not above[c])
        if best is None or score > best[0]:
            best = (score, row)
    assert best is not None
    return best[1]


def _flat_rows(lines: list[str], start: int, kinds: list) -> tuple[list[list[str | None]], int]:
    """Rows of a flattened table from line `start` on (rows start at a 序号 line), and the line after it."""
    n = len(kinds)
    numbered = kinds[0] == ("number", 0)
    rows: list[list[str | None]] = []
    above: list[str | None] = [None] * n
    i = start
    while i < len(lines) and len(rows) < MAX_ROWS:
        line = lines[i]
        if not line or _STOP.match(line):
            break
        if HEADING.match(line) and len(line) <= 40:
            rows.append([line] + [None] * (n - 1))
            above = [None] * n
            i += 1
            continue
        if numbered and not _ROW_NUMBER.match(line):
            break
        width = n if not numbered else _row_width(lines, i, n, rows)
        cells = lines[i:i + width]
        if len(cells) < 2 or any(not c or _STOP.match(c) for c in cells):
            break
        if numbered:
            row: list[str | None] = [cells[0], *_arrange(cells[1:], kinds[1:], above[1:])]
        else:
            row = [*cells, *([None] * (n - len(cells)))]
        rows.append(row)
        above = [row[c] if row[c] is not None else above[c] for c in range(n)]
        i += width
    return rows, i


def _row_width(lines: list[str], i: int, n: int, rows: list[list[str | None]]) -> int:
    """Cells of the row numbered at line i: up to the next number line; the last row as wide as the one above."""
    j = i + 1
    while j < len(lines) and j - i < n and lines[j] and not _ROW_NUMBER.match(lines[j]) \
            and not _STOP.match(lines[j]) and not (HEADING.match(lines[j]) and len(lines[j]) <= 40):
        j += 1
    if j < len(lines) and lines[j] and _ROW_NUMBER.match(lines[j]):
        return j - i
    # the last row: as wide as the widest row, short of a signature (a line followed by the date of signing)
    widest = max((sum(c is not None for c in r) for r in rows), default=j - i)
    k = next((k for k in range(i + 1, j) if k + 1 < len(lines) and _DATE.match(lines[k + 1])), j)
    return min(k - i, widest)


def flat_tables(raws: list[str], budget: CellBudget) -> list[tuple[Table, list[int]]]:
    """Tables a web page flattened into text one cell per line (序号 / 项目 / 任务 / 完成时间 / 负责处室 each on
    a line, then each row's cells): each with the indices of the lines it took."""
    idx = [i for i, r in enumerate(raws) if r.strip()]
    lines = [raws[i].strip() for i in idx]
    found: list[tuple[Table, list[int]]] = []
    k = 0
    while k < len(lines):
        spread = _row_table(lines, k, budget)
        if spread is not None:
            spread[0].line = idx[k]
            found.append((spread[0], idx[k:spread[1]]))
            k = spread[1]
            continue
        kinds: list[tuple[str, int] | bool] = []
        while k + len(kinds) < len(lines) and len(kinds) < MAX_COLS:
            kind = _header_cell(lines[k + len(kinds)])
            if kind is None or kind is False:
                break
            kinds.append(kind)
        names = {kd[0] for kd in kinds if isinstance(kd, tuple)}
        if len(kinds) < 3 or "task" not in names or not names & OWNERS:
            k += max(1, len(kinds))
            continue
        rows, end = _flat_rows(lines, k + len(kinds), kinds)
        table = _flat_table(lines[k:k + len(kinds)], rows, budget) if rows else None
        if table is None:
            k += len(kinds)
            continue
        table.line = idx[k]
        found.append((table, idx[k:end]))
        k = end
    return found


def _flat_table(header: list[str], rows: list[list[str | None]], budget: CellBudget) -> Table | None:
    n = len(header)
    specs = [(1, c + 1, h, 1, 1) for c, h in enumerate(header)]
    start: dict[int, int] = {}
    for r, row in enumerate(rows, 2):
        if row[0] is not None and all(c is None for c in row[1:]) and HEADING.match(row[0]):
            specs.append((r, 1, row[0], 1, n))
            start.clear()
            continue
        for c, cell in enumerate(row):
            if cell is None and c in start:
                rr, cc, text, rs, cs = specs[start[c]]
                specs[start[c]] = (rr, cc, text, rs + 1, cs)
            elif cell is not None:
                start[c] = len(specs)
                specs.append((r, c + 1, cell, 1, 1))
    return task_table(specs, len(rows) + 1, budget)


_APART = re.compile(r"\t+|[ \u3000]{2,}")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in _APART.split(line.strip()) if c.strip()]


def _spread_row(line: str, cells: list[str], kinds: list, above: list[str | None], numbered: bool) -> list[str | None]:
    """A row's cells in their columns: tab-separated cells stand in place (an empty project cell is merged from
    above); cells apart by spaces are arranged like a flattened row's."""
    if "\t" in line and len(line.split("\t")) == len(kinds):
        return [c.strip() or (None if kinds[n] == ("task", 1) else "") for n, c in enumerate(line.split("\t"))]
    if numbered and _ROW_NUMBER.match(cells[0]):
        return [cells[0], *_arrange(cells[1:], kinds[1:], above[1:])]
    if numbered:
        return [None, *_arrange(cells, kinds[1:], above[1:])]
    return _arrange(cells, kinds, above)


def _row_table(lines: list[str], k: int, budget: CellBudget) -> tuple[Table, int] | None:
    """A table pasted one row per line, its cells apart (序号\t任务\t牵头单位\t完成时限), from line k: the table
    and the line after it, or None."""
    header = _cells(lines[k])
    if len(header) < 3 or len(header) > MAX_COLS:
        return None
    kinds = [_header_cell(h) for h in header]
    if any(kd is None for kd in kinds):
        return None
    names = {kd[0] for kd in kinds if isinstance(kd, tuple)}
    if "task" not in names or not names & OWNERS:
        return None
    numbered = kinds[0] == ("number", 0)
    rows: list[list[str | None]] = []
    above: list[str | None] = [None] * len(kinds)
    end = k + 1
    while end < len(lines) and len(rows) < MAX_ROWS:
        cells = _cells(lines[end])
        if len(cells) == 1 and HEADING.match(cells[0]) and len(cells[0]) <= 40:
            rows.append([cells[0]] + [None] * (len(kinds) - 1))
            above = [None] * len(kinds)
        elif len(cells) < 2 or _STOP.match(cells[0]):
            break
        else:
            row = _spread_row(lines[end], cells, kinds, above, numbered)
            rows.append(row)
            above = [row[c] if row[c] is not None else above[c] for c in range(len(kinds))]
        end += 1
    table = _flat_table(header, rows, budget) if rows else None
    return (table, end) if table is not None else None
