"""Rows under the header → responsibilities: sections, numbers, lead and co units, deadlines; the table's year."""

from __future__ import annotations

import re
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
_HEADING = re.compile(
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
    m = re.fullmatch(r"[(（]?\s*(\d{1,5})\s*[)）]?\s*[、.．]?", t)
    if m:
        return int(m.group(1)), None
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


def read_rows(grid: Grid, header: Header, year: int | None) -> tuple[list[ResponsibilityRow], list[str]]:
    cols = header.cols
    task_col = cols["task"][0]
    lead_cols = cols.get("lead") or []
    resp_cols = cols.get("resp") or []
    co_cols = cols.get("co") or []
    number_col = (cols.get("number") or [None])[0]
    deadline_col = (cols.get("deadline") or [None])[0]
    leader_col = (cols.get("leader") or [None])[0]
    note_col = (cols.get("note") or [None])[0]
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
        if not filled:
            continue
        first_text = texts[filled[0]]
        if _SKIP_ROW.match(first_text):
            continue
        # a repeated header (tables printed across pages): every cell a header word, one of them the task's
        kinds = [classify(texts[c]) for c in filled]
        if len(filled) >= 2 and all(kinds) and any(k[0] == "task" for k in kinds if k):
            continue
        # a row carried entirely by merges that began above adds nothing: it is the same task, drawn taller
        if all(not grid.own(r, c) for c in filled):
            continue

        task = texts[task_col]
        lead_text = _cell_units(grid, r, lead_cols or resp_cols)
        co_text = _cell_units(grid, r, co_cols)
        deadline_value = grid.value(r, deadline_col) if deadline_col else None
        has_units = bool(lead_text or co_text)

        # sections: one cell merged across the row (or across the task and unit columns), a lone heading
        # outside the task column, or a numbered heading with no units or deadline
        number_text = texts.get(number_col, "") if number_col else ""
        sources = {grid.source(r, c) for c in filled}
        if len(sources) == 1:
            src = next(iter(sources))
            m = grid.merge_of.get(src)
            lone_heading = (src[1] < task_col or src[1] == number_col) and _parse_number(first_text)[1]
            if (m and m[3] > m[1] and m[0] == r) or lone_heading:
                section = first_text
                continue
        m = grid.merge_of.get((r, task_col))
        if m and m[0] == r and m[3] > m[1] and any(m[1] <= c <= m[3] for c in lead_cols or resp_cols):
            section = (number_text + task) if number_text and not _HEADING.match(task) else task
            continue
        if not has_units and not cell_text(deadline_value):
            if _HEADING.match(task) or (number_text and _CN_NUM.match(number_text) and task):
                section = (number_text + task) if number_text and not _HEADING.match(task) else task
                continue
            if not task:
                continue  # a pre-numbered blank row
        if not task:
            table_flags.append(_("第%(row)s行填了单位或时限，但没有任务内容，已跳过", row=r))
            continue

        flags: list[str] = []
        number, problem = _parse_number(grid.value(r, number_col) if number_col else None)
        if problem:
            flags.append(problem)
        if number is None and not number_text:
            m2 = _LEADING_NUMBER.match(task)
            if m2:
                number = int(m2.group(1) or m2.group(2))
                task = task[m2.end() :].strip() or task

        if lead_cols:
            mark_lead, mark_co, plain = units_with_marks(lead_text)
            lead = dedupe(mark_lead + plain)
            extra_co = mark_co
        else:  # only a 责任单位 column: marked units, else the first (when the table says so), else all lead
            mark_lead, mark_co, plain = units_with_marks(lead_text)
            if mark_lead:
                lead, extra_co = dedupe(mark_lead), mark_co + plain
            elif first_is_lead and plain:
                lead, extra_co = plain[:1], plain[1:] + mark_co
            else:
                lead, extra_co = dedupe(plain), mark_co
        co_lead, co_co, co_plain = units_with_marks(co_text)
        if co_lead:
            flags.append(_("配合单位一栏标注了牵头单位：%(units)s，已作牵头单位", units="、".join(co_lead)))
        lead = dedupe(lead + co_lead)
        co = dedupe(extra_co + co_co + co_plain, exclude=lead)
        if not lead:
            flags.append(_("未填写牵头单位") if not co else _("未标明牵头单位，只有配合单位"))

        deadline_text, deadline, d_flags = ("", None, [])
        if deadline_col:
            deadline_text, deadline, d_flags = parse_deadline(deadline_value, year, grid.number_format(r, deadline_col))
        flags += d_flags

        category = ""
        for c in header.category_cols:
            if texts.get(c):
                category = texts[c]
        rows.append(
            ResponsibilityRow(
                row=r,
                number=number,
                task=task,
                lead=lead,
                co=co,
                deadline_text=deadline_text,
                deadline=deadline,
                leader=texts.get(leader_col, "") if leader_col else "",
                section=category or section,
                note=texts.get(note_col, "") if note_col else "",
                flags=flags,
            )
        )
    if not lead_cols and resp_cols and not co_cols:
        if first_is_lead:
            how = _("排在首位的单位作牵头单位")
        else:
            how = _("标注“牵头”的单位作牵头单位，未标注的全部作牵头单位")
        column = header.texts["resp"] if "resp" in header.texts else _("责任单位")
        table_flags.insert(0, _("没有“牵头单位”列，按“%(column)s”列读取：%(how)s，请核对", column=column, how=how))
    return rows, table_flags
