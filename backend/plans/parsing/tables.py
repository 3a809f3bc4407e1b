"""Tables inside a plan: a 任务清单 / 分解表 as an HTML <table>, a Word table or a table a web page flattened into
text one cell per line; each row becomes an item (source "table").

The columns are recognised by the 任务分解表 reader (`responsibility_table.header`) and its rows read by
`responsibility_table.rows` (merged cells, heading rows across the table, 牵头/配合 marks, `3—1` sub-rows), so a
table in a plan and an uploaded 分解表 are read alike. What this module adds: building that reader's `Grid` from
HTML/Word/flattened cells (with caps, so a hostile table costs bounded time and memory), and turning its rows
into plan items:

* title: the task cell (its first sentence when long); a 具体内容 column beside a 任务 column is the text;
* text: the task cell, then every other filled column as `列名：值` (targets and deadlines are read from it);
* owners: the lead / co columns as the table's reader split them; deadline: the time column through
  `deadlines.find_deadlines` (it wins over dates inside the task's text);
* group: the project column (项目 / 类别 / 领域 …, the broadest one); without one, the heading row above.

Where the rows go (`tables_sections` and `pipeline`): see docs/PLAN_IMPORT.md, "Tables and month calendars".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from backend.i18n import _

from ..responsibility_table.grid import Grid
from ..responsibility_table.header import Header, classify, find_header
from ..responsibility_table.model import ResponsibilityRow
from ..responsibility_table.rows import read_rows
from .attach import fill_item
from .calendar import month_years
from .deadlines import find_deadlines, find_recurrence
from .frontmatter import plan_period
from .lines import int_to_cn
from .model import Group, Item, Owners, Section
from .script import shadow

MAX_COLS = 40  # wider is not a task table
MAX_ROWS = 2000  # rows kept per table (a plan's task list has tens to a few hundred)
MAX_CELLS = 60_000  # cells kept over a whole document
OWNERS = frozenset({"lead", "resp", "co", "deadline"})  # a task column and one of these make a task table


@dataclass
class Table:
    """A task table found in a document: its grid, its header, and where it stood (line of the decoded text)."""

    grid: Grid
    header: Header
    line: int = 0
    caption: str = ""  # the line above it (附件：…任务清单), for a section named after it
    flags: list[str] = field(default_factory=list)
    title_col: int | None = None  # the column that titles each row's item, once found


class CellBudget:
    """Cells left for a whole document: a table past it is cut (and flagged), the rest read as text."""

    def __init__(self, cells: int = MAX_CELLS) -> None:
        self.left = cells
        self.cut = False


def build_grid(specs: list[tuple[int, int, str, int, int]], rows: int) -> Grid:
    """A Grid from cells (row, col, text, rowspan, colspan), 1-based, spans already clipped."""
    values: dict[tuple[int, int], object] = {}
    merge_of: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    max_col = 0
    for r, c, text, rs, cs in specs:
        if not text:
            continue
        values[(r, c)] = text
        r1, c1 = min(r + rs - 1, rows), c + cs - 1
        max_col = max(max_col, c1)
        if r1 > r or c1 > c:
            rng = (r, c, r1, c1)
            for rr in range(r, r1 + 1):
                for cc in range(c, c1 + 1):
                    merge_of[(rr, cc)] = rng
    return Grid(values, {}, merge_of, rows, max_col)


def task_table(specs: list[tuple[int, int, str, int, int]], rows: int, budget: CellBudget) -> Table | None:
    """The table if it is a task table (a task column beside a unit or time column), else None."""
    cut = rows > MAX_ROWS
    rows = min(rows, MAX_ROWS)
    specs = [s for s in specs if s[0] <= rows and s[1] <= MAX_COLS]
    area = sum(min(s[3], rows - s[0] + 1) * s[4] for s in specs)
    if not specs or area > budget.left:
        budget.cut = budget.cut or bool(specs)
        return None
    grid = build_grid(specs, rows)
    header, _seen = find_header(grid, owners=OWNERS)
    if header is None:
        return None
    budget.left -= area
    table = Table(grid, header)
    if cut:
        table.flags.append(_("表格超过 %(rows)s 行，只读取了前 %(rows)s 行", rows=MAX_ROWS))
    return table


def word_table(tbl, budget: CellBudget) -> Table | None:
    """A Word table (w:tbl) as a task table, read from its XML in one pass: w:gridSpan spans columns, w:vMerge
    continues the cell above. python-docx's own cell access is quadratic in the table's size."""
    from docx.oxml.ns import qn

    specs: list[tuple[int, int, str, int, int]] = []
    open_at: dict[int, int] = {}  # column → index in specs of the cell a vMerge continues
    rows = 0
    for tr in tbl.iterchildren(qn("w:tr")):
        rows += 1
        if rows > MAX_ROWS or len(specs) > MAX_CELLS:
            continue  # counted, not read: task_table says how many were left out
        col = 1
        for tc in tr.iterchildren(qn("w:tc")):
            pr = tc.find(qn("w:tcPr"))
            span_el = pr.find(qn("w:gridSpan")) if pr is not None else None
            merge_el = pr.find(qn("w:vMerge")) if pr is not None else None
            span = min(int(span_el.get(qn("w:val"), "1")), MAX_COLS) if span_el is not None else 1
            if merge_el is not None and merge_el.get(qn("w:val")) != "restart" and col in open_at:
                r, c, text, rs, cs = specs[open_at[col]]
                specs[open_at[col]] = (r, c, text, rs + 1, cs)
            else:
                paras = ("".join(t.text or "" for t in p.iter(qn("w:t"))) for p in tc.iter(qn("w:p")))
                text = "\n".join(x.strip() for x in paras if x.strip())
                open_at[col] = len(specs)
                specs.append((rows, col, text, 1, span))
            col += max(span, 1)
    return task_table(specs, rows, budget)


def word_table_text(tbl) -> list[str]:
    """A table that is not a task table: one line per row, cells apart."""
    from docx.oxml.ns import qn

    out = []
    for tr in tbl.iterchildren(qn("w:tr")):
        cells = ["".join(t.text or "" for t in tc.iter(qn("w:t"))).strip() for tc in tr.iterchildren(qn("w:tc"))]
        if any(cells):
            out.append("  ".join(c for c in cells if c))
    return out


# ------------------------------------------------------------------------------------------ rows → items
def _key(text: str) -> str:
    return re.sub(r"[\s。．.，,；;：:]+", "", shadow(text))


def _title_column(table: Table) -> int:
    """The column whose cell titles the item: the task column, or a 任务 column before a 具体内容 one."""
    if table.title_col is None:
        table.title_col = _find_title_column(table)
    return table.title_col


def _find_title_column(table: Table) -> int:
    task = table.header.cols["task"][0]
    if classify(table.grid.text(table.header.row, task)) == ("task", 3):
        for c in reversed(table.header.category_cols):
            named = classify(table.grid.text(table.header.row, c)) == ("task", 2)
            if c < task and named and not _merged_down(table, c):
                return c
    return task


def _merged_down(table: Table, c: int) -> bool:
    """Whether a column has a cell merged over rows below the header: a 重点任务 over its 具体举措, so a group."""
    grid = table.grid
    return any(m[1] == c and m[2] > m[0] and m[0] > table.header.row for m in grid.merge_of.values())


def _title(text: str) -> str:
    """A cell's first line, cut at its first 。 or ；, numbering and brackets around owners kept."""
    first = text.strip().split("\n", 1)[0]
    sh = shadow(first)
    cut = next((i for i, ch in enumerate(sh) if ch in "。;!?"), len(first))
    return first[:cut].strip().rstrip("。.")


_CLASS = re.compile(r"类别|类型|分类|领域|板块|方面")


def _parents(table: Table, row: ResponsibilityRow) -> tuple[str, Group | None]:
    """What the row sits under: its heading row or classification column (类别 / 领域 …: a section when the
    table stands for the plan), and its project column (项目 / 重点工作 …: the item's group)."""
    grid, header, title_col = table.grid, table.header, _title_column(table)
    parent, project = row.heading, None
    for c in header.category_cols:
        text = grid.text(row.row, c)
        if c == title_col or not text:
            continue
        if _CLASS.search(grid.text(header.row, c)) and not row.heading:
            parent = parent or text
        elif project is None:
            project = _labelled_group(text)
    return parent, project


_GROUP_LABEL = re.compile(
    r"^\s*(?:([一二三四五六七八九十百]+)\s*[、.．]|[(（]([一二三四五六七八九十百]+)[)）]|(\d{1,3})\s*[、.．](?!\d))"
)


def _labelled_group(text: str) -> Group:
    m = _GROUP_LABEL.match(text)
    if m and m.end() < len(text):
        return Group(label=m.group(1) or m.group(2) or m.group(3), title=text[m.end():].strip())
    return Group(label="", title=text.strip())


def _notes(table: Table, row: ResponsibilityRow, skip: set[int]) -> list[str]:
    """Every other filled cell of the row as 列名：值, each merged cell once."""
    grid, header = table.grid, table.header
    out, seen = [], set()
    for c in range(1, grid.max_col + 1):
        src = grid.source(row.row, c)
        value = grid.text(row.row, c)
        if c in skip or not value or src in seen:
            continue
        seen.add(src)
        name = re.sub(r"\s+", "", grid.text(header.row, c))
        out.append(f"{name}：{value}" if name and name != value else value)
    return out


def row_item(table: Table, row: ResponsibilityRow, year: int | None, title: str = "") -> Item:
    """One row as an item: title from the task cell, owners and deadline from their columns."""
    grid, header = table.grid, table.header
    title_col = _title_column(table)
    cell = grid.text(row.row, title_col) if title_col != header.cols["task"][0] else row.task
    number_col = header.cols.get("number", [None])[0]
    label = grid.text(row.row, number_col) if number_col else ""
    item = Item(number=row.number, title=_title(cell) or row.task[:60], text="", label=label or None,
                source="table")
    deadline_col = header.cols.get("deadline", [None])[0]
    skip = {title_col} | ({number_col} if number_col else set())
    parts = [cell, *_notes(table, row, skip | ({deadline_col} if deadline_col else set()))]
    period = plan_period(title, year)  # a school-year plan's 一月 falls in its second year, its items due in August
    fill_item(item, parts, list(row.flags), "ar", period, ("", ""))
    item.text = "\n".join([item.text, *_notes(table, row, set(range(1, table.grid.max_col + 1)) - {deadline_col})])
    item.owners = Owners(list(row.lead), list(row.co)) if row.lead or row.co else item.owners
    when = grid.text(row.row, deadline_col) if deadline_col else ""
    if when:  # the time column wins over dates in the task's text: the plan's parser, else the 分解表 reader's
        found, _flags = find_deadlines(shadow(when), when, period)
        stated = max(d.date for d in found) if found else row.deadline
        if stated is not None and year and not re.search(r"\d{4}|[〇零一二三四五六七八九]{4}", when):
            stated = stated.replace(year=month_years([stated.month], year, title)[0] or year)  # 一月 of a 学年
        if stated is not None:
            item.deadline = item.due = stated
        recurring = find_recurrence(shadow(when), when)
        if recurring and stated is None:
            item.recurrence = "；".join(recurring)
    return item


def table_items(table: Table, year: int | None, title: str = "") -> list[tuple[str, Item]]:
    """(heading row or classification it sits under, item) per task row, in order; the item's group is its
    project."""
    rows, flags = read_rows(table.grid, table.header, year)
    table.flags.extend(flags)
    out = []
    for row in rows:
        item = row_item(table, row, year, title)
        parent, item.group = _parents(table, row)
        out.append((parent, item))
    return out


def sections_of(pairs: list[tuple[str, Item]], caption: str) -> list[Section]:
    """Rows standing for the plan itself: each heading row (or classification) is a section; rows under none
    are in a section named after the table's caption."""
    out: list[Section] = []
    current = None
    for parent, item in pairs:
        if not out or parent != current:
            current = parent
            out.append(_section(parent, len(out) + 1) if parent else Section(label="", title=caption))
        out[-1].items.append(item)
    return out


def in_section(pairs: list[tuple[str, Item]]) -> list[Item]:
    """Rows inside a text section: the heading row or classification is the group of a row without project."""
    for parent, item in pairs:
        if item.group is None and parent:
            item.group = _labelled_group(parent)
    return [item for _parent, item in pairs]


def _section(name: str, n: int) -> Section:
    """A heading row (一、党的建设) keeps its number; a project gets the next one."""
    group = _labelled_group(name)
    if group.label and not group.label.isdigit():
        return Section(label=group.label, title=group.title)
    return Section(label=int_to_cn(n), title=group.title if group.label else name)


def _same_task(a: str, b: str) -> bool:
    """Two titles name the same task: equal, or the shorter (6 characters or more) is half the longer and inside it."""
    short, long = sorted((a, b), key=len)
    return a == b or (len(short) >= 6 and 2 * len(short) >= len(long) and short in long)


def merge_into(items: list[Item], pairs: list[tuple[str, Item]]) -> list[tuple[str, Item]]:
    """Rows that repeat a text item (same title, or one title inside the other) fill that item's missing owners
    and deadline instead of counting the task twice (`_same_task`); the other rows are returned."""
    keys = [(_key(i.title), i) for i in items if len(_key(i.title)) >= 4]
    filled: set[int] = set()  # items whose deadline came from rows: the latest of their rows (3—1, 3—2) holds
    rest = []
    for heading, row in pairs:
        k = _key(row.title)
        match = next((i for ik, i in keys if _same_task(ik, k)), None)
        if match is None:
            rest.append((heading, row))
            continue
        if not (match.owners.lead or match.owners.co):
            match.owners = row.owners
        if row.deadline is not None and (match.deadline is None or id(match) in filled):
            filled.add(id(match))
            match.deadline = match.due = max(row.deadline, match.deadline or row.deadline)
    return rest
