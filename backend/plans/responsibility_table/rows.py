"""Rows under the header → responsibilities: sections, numbers, lead and co units, deadlines; the table's year."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.i18n import _

from ..parsing.lines import cn_to_int
from ..parsing.script import shadow
from .deadline import parse_deadline
from .grid import MAX_ROWS, Grid
from .header import Header, classify
from .model import ResponsibilityRow
from .text import cell_text, nfkc
from .units import dedupe, units_with_marks

_YEAR_IN_TITLE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*(?:年|[-—–~至]\s*(?:19|20)?\d{2}\s*学年)")
_CN_YEAR = re.compile(r"[〇零一二三四五六七八九]{4}(?=\s*年)")
_CN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_SCHOOL_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}\s*[-—–~至]\s*(?:19|20)?\d{2}\s*学年")
HEADING = re.compile(  # a heading row: 一、 （一） 第一部分
    r"^(?:[一二三四五六七八九十百]+\s*[、.．]|[(（][一二三四五六七八九十百]+[)）]|第[一二三四五六七八九十\d]+(?:部分|章|篇|节|方面|板块))"
)
_CN_NUM = re.compile(r"^[(（]?[一二三四五六七八九十百]+[)）]?[、.．]?$")
_SKIP_ROW = re.compile(
    r"^(?:备\s*注|注\s*[:：1-9一]|说\s*明\s*[:：]|填表人|填报人|联系人|制表|审核人|负责人\s*[:：]|附\s*[:：])"
)
_FIRST_LEADS = re.compile(r"(?:首位|第一位|第一个|第一家|最前|第一)的?(?:单位|部门|科室|处室)?(?:为|是)牵头")
_LEADING_NUMBER = re.compile(r"^\s*(?:(\d{1,3})\s*(?:[、)）]|[.．](?!\d))|[(（](\d{1,3})[)）])\s*")


def _parse_number(value: Any) -> tuple[int | None, str | None]:
    """(number, problem) for a 序号 cell."""
    if value is None:
        return None, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer():
            return int(value), None
        return None, _("序号“%(number)s”不是整数", number=cell_text(value))
    t = nfkc(cell_text(value)).strip()
    if not t:
        return None, None
    m = re.fullmatch(r"[(（]?\s*(\d{1,5})\s*[)）]?\s*[、.．]?|(\d{1,5})\s*[-—–－]\s*\d{1,3}", t)  # 3—1: a row of task 3
    if m:
        return int(m.group(1) or m.group(2)), None
    m = re.fullmatch(r"[(（]?([一二三四五六七八九十百]+)[)）]?[、.．]?", t)
    if m and cn_to_int(m.group(1)):
        return cn_to_int(m.group(1)), None
    return None, _("序号“%(number)s”不是整数", number=t)


def find_year(grid: Grid, header_first_row: int, sheet: str, filename: str) -> tuple[int | None, str, list[str]]:
    """Year from the title rows above the header (then the sheet name, then the file name)."""
    title_lines: list[str] = []
    for r in range(1, header_first_row):
        seen = set()
        for c in range(1, grid.max_col + 1):
            src = grid.source(r, c)
            t = grid.text(r, c)
            if t and src not in seen:
                seen.add(src)
                title_lines.append(t)
    title = " ".join(title_lines)
    for text in (title, sheet, filename):
        sh = _CN_YEAR.sub(lambda m: m.group(0).translate(_CN_DIGITS), shadow(text or ""))
        m = _YEAR_IN_TITLE.search(sh)
        if m:
            flags = []
            if _SCHOOL_YEAR.search(sh):
                flags.append(_("表格按学年编排，只写月份的完成时限按%(year)s年推算，跨年的请核对", year=m.group(1)))
            return int(m.group(1)), title, flags
    return None, title, []


def _cell_units(grid: Grid, r: int, cols: list[int]) -> str:
    parts: list[str] = []
    for c in cols:
        t = grid.text(r, c)
        if t and t not in parts:
            parts.append(t)
    return "、".join(parts)


@dataclass
class _Columns:
    """Which columns hold what, from the header (None or [] when the table has no such column)."""

    task: int
    lead: list[int]
    resp: list[int]
    co: list[int]
    number: int | None
    deadline: int | None
    leader: int | None
    note: int | None
    category: list[int]

    @classmethod
    def of(cls, header: Header) -> _Columns:
        cols = header.cols

        def one(name: str) -> int | None:
            found = cols.get(name)
            return found[0] if found else None

        return cls(
            task=cols["task"][0],
            lead=cols.get("lead") or [],
            resp=cols.get("resp") or [],
            co=cols.get("co") or [],
            number=one("number"),
            deadline=one("deadline"),
            leader=one("leader"),
            note=one("note"),
            category=header.category_cols,
        )


@dataclass
class _Cells:
    """One row below the header, as text."""

    r: int
    texts: dict[int, str]
    filled: list[int]
    task: str
    number_text: str
    lead_text: str
    co_text: str
    deadline_value: Any

    @classmethod
    def of(cls, grid: Grid, r: int, cols: _Columns, texts: dict[int, str], filled: list[int]) -> _Cells:
        return cls(
            r=r,
            texts=texts,
            filled=filled,
            task=texts[cols.task],
            number_text=texts.get(cols.number, "") if cols.number else "",
            lead_text=_cell_units(grid, r, cols.lead or cols.resp),
            co_text=_cell_units(grid, r, cols.co),
            deadline_value=grid.value(r, cols.deadline) if cols.deadline else None,
        )


def _skipped(grid: Grid, r: int, texts: dict[int, str], filled: list[int]) -> bool:
    """Rows that are not tasks nor sections: empty, notes (备注, 填表人 …), repeated headers, merged carry-overs."""
    if not filled or _SKIP_ROW.match(texts[filled[0]]):
        return True
    # a repeated header (tables printed across pages): every cell a header word, one of them the task's
    kinds = [classify(texts[c]) for c in filled]
    if len(filled) >= 2 and all(kinds) and any(k[0] == "task" for k in kinds if k):
        return True
    # a row carried entirely by merges that began above adds nothing: it is the same task, drawn taller
    return all(not grid.own(r, c) for c in filled)


def _section_name(cells: _Cells) -> str:
    if cells.number_text and not HEADING.match(cells.task):
        return cells.number_text + cells.task
    return cells.task


def _section_heading(grid: Grid, cols: _Columns, cells: _Cells) -> str | None:
    """The row's text if it is a section heading: one cell merged across the row (or across the task and unit
    columns), a lone heading outside the task column, or a numbered heading with no units or deadline."""
    r, first_text = cells.r, cells.texts[cells.filled[0]]
    sources = {grid.source(r, c) for c in cells.filled}
    if len(sources) == 1:
        src = next(iter(sources))
        m = grid.merge_of.get(src)
        lone_heading = (src[1] < cols.task or src[1] == cols.number) and _parse_number(first_text)[1]
        if (m and m[3] > m[1] and m[0] == r) or lone_heading:
            return first_text
    m = grid.merge_of.get((r, cols.task))
    if m and m[0] == r and m[3] > m[1] and any(m[1] <= c <= m[3] for c in cols.lead or cols.resp):
        return _section_name(cells)
    if cells.lead_text or cells.co_text or cell_text(cells.deadline_value):
        return None
    numbered = cells.number_text and _CN_NUM.match(cells.number_text) and cells.task
    if HEADING.match(cells.task) or numbered:
        return _section_name(cells)
    return None


def _number(grid: Grid, cols: _Columns, cells: _Cells, flags: list[str]) -> tuple[int | None, str]:
    """The 序号, else a number written at the start of the task (then taken off the task)."""
    task = cells.task
    number, problem = _parse_number(grid.value(cells.r, cols.number) if cols.number else None)
    if problem:
        flags.append(problem)
    if number is None and not cells.number_text:
        m = _LEADING_NUMBER.match(task)
        if m:
            number = int(m.group(1) or m.group(2))
            task = task[m.end() :].strip() or task
    return number, task


def _units(cols: _Columns, cells: _Cells, first_is_lead: bool, flags: list[str]) -> tuple[list[str], list[str]]:
    """(lead, co) from the unit columns, with 牵头/配合 marks read and every name once."""
    mark_lead, mark_co, plain = units_with_marks(cells.lead_text)
    if cols.lead:
        lead, extra_co = dedupe(mark_lead + plain), mark_co
    elif mark_lead:  # only a 责任单位 column: marked units, else the first (when the table says so), else all lead
        lead, extra_co = dedupe(mark_lead), mark_co + plain
    elif first_is_lead and plain:
        lead, extra_co = plain[:1], plain[1:] + mark_co
    else:
        lead, extra_co = dedupe(plain), mark_co
    co_lead, co_co, co_plain = units_with_marks(cells.co_text)
    if co_lead:
        flags.append(_("配合单位一栏标注了牵头单位：%(units)s，已作牵头单位", units="、".join(co_lead)))
    lead = dedupe(lead + co_lead)
    co = dedupe(extra_co + co_co + co_plain, exclude=lead)
    if not lead:
        flags.append(_("未填写牵头单位") if not co else _("未标明牵头单位，只有配合单位"))
    return lead, co


def _row(
    grid: Grid, cols: _Columns, cells: _Cells, year: int | None, first_is_lead: bool, section: str
) -> ResponsibilityRow:
    flags: list[str] = []
    number, task = _number(grid, cols, cells, flags)
    lead, co = _units(cols, cells, first_is_lead, flags)
    no_deadline: tuple[str, date | None, list[str]] = ("", None, [])
    deadline_text, deadline, d_flags = (
        parse_deadline(cells.deadline_value, year, grid.number_format(cells.r, cols.deadline))
        if cols.deadline
        else no_deadline
    )
    flags += d_flags
    category = ""
    for c in cols.category:
        if cells.texts.get(c):
            category = cells.texts[c]
    return ResponsibilityRow(
        row=cells.r,
        number=number,
        task=task,
        lead=lead,
        co=co,
        deadline_text=deadline_text,
        deadline=deadline,
        leader=cells.texts.get(cols.leader, "") if cols.leader else "",
        section=category or section,
        heading=section,
        note=cells.texts.get(cols.note, "") if cols.note else "",
        flags=flags,
    )


def _resp_only_flag(header: Header, first_is_lead: bool) -> str:
    """Only a 责任单位 column: say how its units were split into lead and co."""
    how = _("排在首位的单位作牵头单位") if first_is_lead else _("标注“牵头”的单位作牵头单位，未标注的全部作牵头单位")
    column = header.texts["resp"] if "resp" in header.texts else _("责任单位")
    return _("没有“牵头单位”列，按“%(column)s”列读取：%(how)s，请核对", column=column, how=how)


def read_rows(grid: Grid, header: Header, year: int | None) -> tuple[list[ResponsibilityRow], list[str]]:
    """The responsibilities under the header, each under the section heading above it; and the table's flags."""
    cols = _Columns.of(header)
    rows: list[ResponsibilityRow] = []
    table_flags: list[str] = []
    section = ""
    # "排在首位的为牵头单位": a note anywhere on the sheet (title, header, foot) says the first 责任单位 leads
    first_is_lead = header.first_is_lead or any(_FIRST_LEADS.search(shadow(cell_text(v))) for v in grid.values.values())
    last_row = min(grid.max_row, header.row + MAX_ROWS)
    if grid.max_row > last_row:
        table_flags.append(_("表格超过 %(rows)s 行，只读取了前 %(rows)s 行", rows=MAX_ROWS))
    for r in range(header.row + 1, last_row + 1):
        texts = {c: grid.text(r, c) for c in range(1, grid.max_col + 1)}
        filled = [c for c, t in texts.items() if t]
        if _skipped(grid, r, texts, filled):
            continue
        cells = _Cells.of(grid, r, cols, texts, filled)
        heading = _section_heading(grid, cols, cells)
        if heading is not None:
            section = heading
        elif not cells.task and (cells.lead_text or cells.co_text or cell_text(cells.deadline_value)):
            table_flags.append(_("第%(row)s行填了单位或时限，但没有任务内容，已跳过", row=r))
        elif cells.task:
            rows.append(_row(grid, cols, cells, year, first_is_lead, section))
        # else a pre-numbered blank row
    if not cols.lead and cols.resp and not cols.co:
        table_flags.insert(0, _resp_only_flag(header, first_is_lead))
    return rows, table_flags
