"""Recognising the header row(s) and what each column holds, with the usual synonyms."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from backend.i18n import _

from ..parsing.script import shadow
from .grid import Grid
from .text import nfkc

HEADER_SCAN_ROWS = 20  # the header must be within this many rows of the top of the sheet

_TASK_SPECIFIC = re.compile(r"具体任务|任务内容|工作内容|具体措施|工作措施|主要措施|工作举措|具体内容|措施")
_TASK_GENERAL = re.compile(r"任务|工作要点|事项|要点|内容|举措")
_TASK_BROAD = re.compile(r"重点工作|主要工作|工作项目|项目|工作类别|类别|领域")
_NOT_TASK = re.compile(r"依据|表$|清单$|进展|情况|完成率|分值|考核|评价")
_RESULT = re.compile(r"目标|成效|成果|标准|指标")  # not a task column, unless it names the task too (工作任务及目标)
_NAMES_TASK = re.compile(r"任务|内容|措施|举措|事项")


# (field, priority) for a header cell by the first rule that applies to it (h: its key, core: without brackets);
# None stops the search: a column that is not one of ours. Priority only matters among task columns.
_RULES: tuple[tuple[tuple[str, int] | None, Callable[[str, str], object]], ...] = (
    # 责任单位（排在首位的为牵头单位）
    (("resp", 1), lambda h, core: "牵头" in h and re.search(r"首位|第一", h) and "牵头" not in core),
    (("note", 0), lambda h, core: "备注" in core or core in ("说明", "附注")),
    (("number", 0), lambda h, core: re.fullmatch(r"(序号|编号|序|序列号|排序|项次|No\.?|NO\.?|no\.?|#)", core)),
    (("leader", 0), lambda h, core: "领导" in core or re.fullmatch(r"(负责|责任)人", core)),
    (("lead", 0), lambda h, core: "牵头" in h
                                  or re.search(r"(主责|主办|主要责任|负责)(单位|部门|科室|处室|股室)", core)),
    (("co", 0), lambda h, core: re.search(r"配合|协办|参与|协同|协助|协作|参加", core)),
    (("resp", 0), lambda h, core: re.fullmatch(r"(责任|承办|落实|实施|主体)?(单位|部门|科室|处室|股室)|责任主体", core)
                                  or re.search(r"责任(单位|部门|科室|处室|股室)", core)),
    (("deadline", 0), lambda h, core: re.search(r"时限|时间|期限|截止|节点|完成日期|日期|进度安排", core)
                                      or re.fullmatch(r"月份?|月度", core)),  # a 行事历 table's 月份 column
    (None, lambda h, core: _NOT_TASK.search(core) or (_RESULT.search(core) and not _NAMES_TASK.search(core))),
    (("task", 3), lambda h, core: _TASK_SPECIFIC.search(core)),
    (("task", 2), lambda h, core: _TASK_GENERAL.search(core)),
    (("task", 1), lambda h, core: _TASK_BROAD.search(core)),
)


def classify(header: str) -> tuple[str, int] | None:
    """(field, priority) for a header cell, or None (at once for a long cell: a task's text, not a header)."""
    if len(header) > 60:
        return None
    return classify_key(re.sub(r"\s+", "", shadow(nfkc(header))))  # character-wise t2s: enough for header words


def classify_key(h: str) -> tuple[str, int] | None:
    """`classify` of a header already in comparison form (`text.key`)."""
    core = re.sub(r"[(\[<][^)\]>]*[)\]>]", "", h).strip(":*") or h
    if not h or len(core) > 16 or re.search(r":.", core):
        return None  # too long for a header, or "责任单位：教育局" (a filled-in form line)
    return next((field for field, applies in _RULES if applies(h, core)), None)


@dataclass
class Header:
    row: int  # last header row
    first_row: int
    cols: dict[str, list[int]]
    texts: dict[str, str]
    category_cols: list[int]
    flags: list[str]
    first_is_lead: bool = False


def _is_banner(grid: Grid, r: int) -> bool:
    """A row whose only content is one cell (often merged across the table): a title, never a header."""
    return len({grid.source(r, c) for c in range(1, grid.max_col + 1) if grid.text(r, c)}) == 1


def _row_labels(grid: Grid, r: int) -> dict[int, tuple[str, tuple[str, int] | None]]:
    out = {}
    for c in range(1, grid.max_col + 1):
        t = grid.text(r, c)
        if t:
            out[c] = (t, classify(t))
    return out


def _spans_columns(grid: Grid, r: int, c: int) -> bool:
    m = grid.merge_of.get((r, c))
    return bool(m and m[3] > m[1])


def find_header(grid: Grid, *, owners: frozenset[str] = frozenset({"lead", "resp"})) -> tuple[Header | None, bool]:
    """The header, and whether a task column was seen anywhere (for the error message). A header needs a task
    column and one of `owners` (a table inside a plan may do with a deadline column instead of a unit column)."""
    seen_task = False
    for r in range(1, min(grid.max_row, HEADER_SCAN_ROWS) + 1):
        if _is_banner(grid, r):
            continue
        labels = _row_labels(grid, r)
        if not labels:
            continue
        # a second header row (责任单位 merged over 牵头 | 配合): cells written on r+1 that are all header words
        below = {
            c: (t, classify(t))
            for c in range(1, grid.max_col + 1)
            if (t := grid.text(r + 1, c)) and grid.own(r + 1, c) and r + 1 <= grid.max_row
        }
        two_rows = (
            bool(below)
            and all(k is not None for _, k in below.values())
            and any(_spans_columns(grid, r, c) for c in below)
        )
        per_col: dict[int, tuple[str, tuple[str, int]]] = {}
        for c in range(1, grid.max_col + 1):
            if two_rows and c in below:
                sub_t, sub_k = below[c]
                parent_t = labels.get(c, ("", None))[0]
                if sub_k is not None and sub_k[0] in ("number", "task") and parent_t:
                    sub_k = classify(parent_t + sub_t) or sub_k
                if sub_k is not None:
                    per_col[c] = (sub_t, sub_k)
            elif c in labels and (field := labels[c][1]) is not None:
                if grid.source(r, c)[1] != c and field[0] not in ("lead", "co", "resp"):
                    continue  # one header merged across several columns: its first column carries the field
                per_col[c] = (labels[c][0], field)
        fields = {k[0] for _, k in per_col.values()}
        if "task" in fields:
            seen_task = True
        if "task" not in fields or not fields & owners:
            continue
        return _build_header(r + 1 if two_rows else r, r, per_col), seen_task
    return None, seen_task


def _build_header(row: int, first_row: int, per_col: dict[int, tuple[str, tuple[str, int]]]) -> Header:
    cols: dict[str, list[int]] = {}
    texts: dict[str, str] = {}
    flags: list[str] = []
    tasks = sorted(((k[1], c, t) for c, (t, k) in per_col.items() if k[0] == "task"), key=lambda x: (-x[0], -x[1]))
    _weight, task_col, task_text = tasks[0]
    cols["task"] = [task_col]
    texts["task"] = task_text
    category_cols = sorted(c for _, c, _ in tasks[1:])
    for c in sorted(per_col):
        t, (name, _weight) = per_col[c]
        if name == "task":
            continue
        if name in cols:
            if name in ("lead", "co", "resp"):
                cols[name].append(c)  # two 配合单位 columns: both read
            continue
        cols[name] = [c]
        texts[name] = t
    if "lead" in cols and "resp" in cols:  # 牵头单位 and 责任单位 side by side: 责任单位 are the co-units
        cols["co"] = sorted(cols.get("co", []) + cols.pop("resp"))
        resp_text = texts.pop("resp")
        texts.setdefault("co", resp_text)
    if "deadline" not in cols:
        flags.append(_("没有找到“完成时限”列，各任务均无截止日期"))
    first_is_lead = any(k == ("resp", 1) for _, k in per_col.values())
    return Header(row, first_row, cols, texts, category_cols, flags, first_is_lead)


def no_header_message(seen_task: bool) -> str:
    looks = _(
        "“任务”列（表头可写作：任务、工作任务、重点任务、任务内容、工作内容、工作要点、具体任务、事项）和"
        "“牵头单位”列（牵头单位、牵头部门、牵头科室、责任科室（牵头）或责任单位）；"
        "另可有序号、配合单位（责任单位、配合单位、协办单位、参与单位）、完成时限（完成时间、时间节点、截止时间、时限要求）、"
        "责任领导（分管领导）列"
    )
    if seen_task:
        return _("找到了“任务”列，但没有找到“牵头单位”列：请在表头写明牵头单位。需要的列是%(columns)s", columns=looks)
    return _(
        "没有找到“任务”和“牵头单位”列：请确认表格前%(rows)s行内有一行表头，包含%(columns)s",
        rows=HEADER_SCAN_ROWS,
        columns=looks,
    )
