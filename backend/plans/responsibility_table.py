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
"""

from __future__ import annotations

import calendar
import contextlib
import difflib
import io
import logging
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from backend.core.archives import ZipBomb, check_zip
from backend.i18n import N_, _

from .parsing.deadlines import find_deadlines, find_recurrence
from .parsing.lines import cn_to_int
from .parsing.script import shadow, to_simplified

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

HEADER_SCAN_ROWS = 20  # the header must be within this many rows of the top of the sheet
MAX_UNCOMPRESSED = 100 * 1024 * 1024  # refuse zip bombs before openpyxl inflates them
MAX_MERGED_CELLS = 2_000_000  # openpyxl creates one object per merged cell
MAX_ROWS = 20000

TO_XLSX = N_("请用 Excel 另存为 .xlsx 后上传")


class ResponsibilityTableError(ValueError):
    """The file cannot be read as a responsibility table; `message` says what to fix."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ResponsibilityRow:
    row: int  # 1-based sheet row, for messages
    number: int | None
    task: str
    lead: list[str] = field(default_factory=list)
    co: list[str] = field(default_factory=list)
    deadline_text: str = ""
    deadline: date | None = None
    leader: str = ""  # 责任领导 / 分管领导, as written
    section: str = ""  # the heading (or broader 重点工作 cell) the task sits under
    note: str = ""  # 备注 column
    flags: list[str] = field(default_factory=list)


@dataclass
class ResponsibilityTable:
    sheet: str
    header_row: int  # 1-based; the last row of a two-row header
    columns: dict[str, str]  # field ("number", "task", "lead", "co", "deadline", "leader", "note") → header as written
    year: int | None
    title: str
    rows: list[ResponsibilityRow] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def unit_names(self) -> list[str]:
        """Every unit named as lead or co, first appearance first, for `match_units`."""
        seen: dict[str, str] = {}
        for r in self.rows:
            for name in (*r.lead, *r.co):
                seen.setdefault(_key(name), name)
        return list(seen.values())


@dataclass
class UnitMatch:
    name: str
    status: Literal["exact", "fuzzy", "unknown"]
    unit_id: str | None = None
    candidates: list[tuple[str, str, float]] = field(default_factory=list)  # (unit id, unit name, score), best first


# ------------------------------------------------------------------------------------------ text helpers
def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _key(text: str) -> str:
    """Comparison form: NFKC (full-width → ASCII), simplified characters, no whitespace."""
    return re.sub(r"\s+", "", to_simplified(_nfkc(text)))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("_x000D_", "")
    text = text.replace("\xa0", " ").replace("\u200b", "").replace("\ufeff", "")
    return "\n".join(line.strip() for line in text.strip().split("\n")).strip()


# ------------------------------------------------------------------------------------------ headers
_TASK_SPECIFIC = re.compile(r"具体任务|任务内容|工作内容|具体措施|工作措施|主要措施|工作举措|具体内容|措施")
_TASK_GENERAL = re.compile(r"任务|工作要点|事项|要点|内容|举措")
_TASK_BROAD = re.compile(r"重点工作|主要工作|工作项目|项目|工作类别|类别|领域")
_NOT_TASK = re.compile(r"目标|成效|成果|标准|指标|依据|表$|清单$|进展|情况|完成率|分值|考核|评价")


def _classify(header: str) -> tuple[str, int] | None:
    """(field, priority) for a header cell, or None. Priority only matters among task columns."""
    h = _key(header)
    core = re.sub(r"[(\[<][^)\]>]*[)\]>]", "", h).strip(":*") or h
    if not h or len(core) > 16 or re.search(r":.", core):
        return None  # too long for a header, or "责任单位：教育局" (a filled-in form line)
    if "牵头" in h and re.search(r"首位|第一", h) and "牵头" not in core:
        return ("resp", 1)  # 责任单位（排在首位的为牵头单位）
    if "备注" in core or core in ("说明", "附注"):
        return ("note", 0)
    if re.fullmatch(r"(序号|编号|序|序列号|排序|项次|No\.?|NO\.?|no\.?|#)", core):
        return ("number", 0)
    if "领导" in core:
        return ("leader", 0)
    if "牵头" in h or re.search(r"(主责|主办|主要责任)(单位|部门|科室|处室|股室)", core):
        return ("lead", 0)
    if re.search(r"配合|协办|参与|协同|协助|协作|参加", core):
        return ("co", 0)
    if re.fullmatch(r"(责任|承办|落实|实施|主体)?(单位|部门|科室|处室|股室)|责任主体", core) or re.search(
        r"责任(单位|部门|科室|处室|股室)", core
    ):
        return ("resp", 0)
    if re.search(r"时限|时间|期限|截止|节点|完成日期|日期|进度安排", core):
        return ("deadline", 0)
    if _NOT_TASK.search(core):
        return None
    if _TASK_SPECIFIC.search(core):
        return ("task", 3)
    if _TASK_GENERAL.search(core):
        return ("task", 2)
    if _TASK_BROAD.search(core):
        return ("task", 1)
    return None


# ------------------------------------------------------------------------------------------ the grid
@dataclass
class _Grid:
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
        return _text(self.value(r, c))

    def source(self, r: int, c: int) -> tuple[int, int]:
        """The cell a value actually lives in (the top-left of its merge)."""
        m = self.merge_of.get((r, c))
        return (m[0], m[1]) if m else (r, c)

    def own(self, r: int, c: int) -> bool:
        """True when (r, c)'s value was written on row r (not carried down from a merge above)."""
        m = self.merge_of.get((r, c))
        return m is None or m[0] == r


def _grid(ws) -> _Grid:
    cells = getattr(ws, "_cells", None)
    values: dict[tuple[int, int], Any] = {}
    formats: dict[tuple[int, int], str] = {}
    if isinstance(cells, dict):
        for (r, c), cell in cells.items():
            v = getattr(cell, "value", None)
            if v is not None and _text(v) != "":
                values[(r, c)] = v
                if isinstance(v, (date, datetime)):
                    formats[(r, c)] = str(getattr(cell, "number_format", "") or "")
    else:  # pragma: no cover - openpyxl internals changed; read the used range, capped
        for row in ws.iter_rows(max_row=min(ws.max_row or 0, MAX_ROWS)):
            for cell in row:
                if cell.value is not None and _text(cell.value) != "":
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
    return _Grid(values, formats, merge_of, max_row, max_col)


# ------------------------------------------------------------------------------------------ header search
@dataclass
class _Header:
    row: int  # last header row
    first_row: int
    cols: dict[str, list[int]]
    texts: dict[str, str]
    category_cols: list[int]
    flags: list[str]
    first_is_lead: bool = False


def _is_banner(grid: _Grid, r: int) -> bool:
    """A row whose only content is one cell (often merged across the table): a title, never a header."""
    return len({grid.source(r, c) for c in range(1, grid.max_col + 1) if grid.text(r, c)}) == 1


def _row_labels(grid: _Grid, r: int) -> dict[int, tuple[str, tuple[str, int] | None]]:
    out = {}
    for c in range(1, grid.max_col + 1):
        t = grid.text(r, c)
        if t:
            out[c] = (t, _classify(t))
    return out


def _spans_columns(grid: _Grid, r: int, c: int) -> bool:
    m = grid.merge_of.get((r, c))
    return bool(m and m[3] > m[1])


def _find_header(grid: _Grid) -> tuple[_Header | None, bool]:
    """The header, and whether a task column was seen anywhere (for the error message)."""
    seen_task = False
    for r in range(1, min(grid.max_row, HEADER_SCAN_ROWS) + 1):
        if _is_banner(grid, r):
            continue
        labels = _row_labels(grid, r)
        if not labels:
            continue
        # a second header row (责任单位 merged over 牵头 | 配合): cells written on r+1 that are all header words
        below = {
            c: (t, _classify(t))
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
                    sub_k = _classify(parent_t + sub_t) or sub_k
                if sub_k is not None:
                    per_col[c] = (sub_t, sub_k)
            elif c in labels and labels[c][1] is not None:
                if grid.source(r, c)[1] != c and labels[c][1][0] not in ("lead", "co", "resp"):
                    continue  # one header merged across several columns: its first column carries the field
                per_col[c] = (labels[c][0], labels[c][1])
        fields = {k[0] for _, k in per_col.values()}
        if "task" in fields:
            seen_task = True
        if "task" not in fields or not fields & {"lead", "resp"}:
            continue
        return _build_header(r + 1 if two_rows else r, r, per_col), seen_task
    return None, seen_task


def _build_header(row: int, first_row: int, per_col: dict[int, tuple[str, tuple[str, int]]]) -> _Header:
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
    return _Header(row, first_row, cols, texts, category_cols, flags, first_is_lead)


# ------------------------------------------------------------------------------------------ units
_SEP_CHARS = frozenset("、，,；;/／|｜")
_OPEN, _CLOSE = "（([【〔{《", "）)]】〕}》"
_SUFFIX = (
    "科", "室", "处", "局", "中心", "校", "园", "站", "所", "院", "馆", "会", "部", "办", "队", "组", "委", "团",
    "股", "司", "厅", "单位", "部门", "学", "社", "台", "公司", "府",
)  # fmt: skip
_JOIN = re.compile(r"以及|和|及|与|暨")
_TRAILING = re.compile(r"(?:等(?:相关|有关|其他)?(?:单位|部门|科室|处室|股室|学校)?|负责|牵头|配合|协办)$")
_BRACKETED_END = re.compile(r"[(（][^()（）]*[)）]$")
_DROP = {"各", "等", "和", "及", "与", "以及", "其他", "有关", "相关", "无", "暂无", "/", "-", "—", "待定"}
_MARK = re.compile(r"[(（]\s*(牵头|牽頭|主责|配合|协办|參與|参与)\s*[)）]")
_LABEL = re.compile(r"(牵头(?:单位|部门|科室)?|配合(?:单位|部门|科室)?|协办(?:单位)?|参与(?:单位)?)\s*[:：]")


def _tokens(text: str) -> list[str]:
    """Split on 、，；/ | and whitespace, but not inside brackets: 各县（市、区）教育局 is one name."""
    out: list[str] = []
    buf: list[str] = []
    depth = 0
    for ch in text:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and (ch in _SEP_CHARS or ch.isspace()):
            if buf:
                out.append("".join(buf))
                buf = []
            continue
        buf.append(ch)
    if depth:  # an unclosed bracket: brackets cannot be trusted, split everywhere
        return [t for t in re.split(r"[、，,；;/／|｜\s]+", text) if t]
    if buf:
        out.append("".join(buf))
    return out


def _ends_as_unit(text: str) -> bool:
    return shadow(_BRACKETED_END.sub("", text)).endswith(_SUFFIX)


def _split_joined(piece: str) -> list[str]:
    """基教科和德育科 → two names; 教育和体育局, 职业与成人教育科 stay whole."""
    out: list[str] = []
    start = 0
    for m in _JOIN.finditer(shadow(piece)):  # shadow: 與 → 与, same offsets
        left = piece[start : m.start()]
        right = piece[m.end() :]
        if left and right and _ends_as_unit(left) and right[:1] not in "其时時谐諧":
            out.append(left)
            start = m.end()
    out.append(piece[start:])
    return out


def _clean_unit(name: str) -> str:
    name = name.strip(" 　.。:：\"'“”‘’")
    name = re.sub(r"^(?:由|请|請)(?=.{2,})", "", name)
    for _pass in range(2):  # 局办公室等 → 局办公室, but 各高等学校 stays
        m = _TRAILING.search(shadow(name))
        if m and _ends_as_unit(name[: m.start()]):
            name = name[: m.start()]
    return name.strip()


def split_units(text: str) -> list[str]:
    """Unit names in a cell: split on 、，；/ spaces newlines and on 和/及 between whole names, de-duplicated."""
    if not text:
        return []
    tokens = _tokens(text.strip())
    if len(tokens) > 2 and all(len(t) == 1 for t in tokens):  # "基 教 科": spaced-out characters
        tokens = ["".join(tokens)]
    names: list[str] = []
    seen: set[str] = set()
    for token in tokens:
        for piece in _split_joined(token):
            name = _clean_unit(piece)
            if not name or name in _DROP:
                continue
            k = _key(name)
            if k not in seen:
                seen.add(k)
                names.append(name)
    return names


def _units_with_marks(text: str) -> tuple[list[str], list[str], list[str]]:
    """(marked lead, marked co, unmarked) from a cell like "牵头：基教科；配合：德育科" or "基教科（牵头）、德育科"."""
    lead: list[str] = []
    co: list[str] = []
    plain: list[str] = []
    labelled = list(_LABEL.finditer(shadow(text)))
    if labelled:
        plain += split_units(text[: labelled[0].start()])
        for i, m in enumerate(labelled):
            chunk = text[m.end() : labelled[i + 1].start() if i + 1 < len(labelled) else len(text)]
            (lead if m.group(1).startswith("牵头") else co).extend(split_units(chunk))
        return lead, co, plain
    for token in _tokens(text):
        mark = _MARK.search(token)
        names = split_units(_MARK.sub("", token))
        if mark and mark.group(1) in ("牵头", "牽頭", "主责"):
            lead += names
        elif mark:
            co += names
        else:
            plain += names
    return lead, co, plain


def _dedupe(names: list[str], exclude: list[str] | None = None) -> list[str]:
    seen = {_key(n) for n in exclude or []}
    out = []
    for n in names:
        k = _key(n)
        if k not in seen:
            seen.add(k)
            out.append(n)
    return out


# ------------------------------------------------------------------------------------------ deadlines
_LONG_TERM = re.compile(r"长期|持续|常态|常年|贯穿全年|经常性|不定期|动态|随时|适时")
_FULL_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*(?:[.\-/年]|\s)\s*(\d{1,2})\s*(?:[.\-/月]|\s)\s*(\d{1,2})(?!\d)\s*[日号]?"
)
_YEAR_MONTH = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[.\-/]\s*(\d{1,2})(?![\d.\-/])")
_MONTH_DAY = re.compile(r"(?<![\d.])(\d{1,2}|十[一二]|[一二三四五六七八九十])\s*月\s*(\d{1,2})\s*[日号]")
_MD_NUMERIC = re.compile(r"(?<![\d.\-/])(\d{1,2})\s*[./]\s*(\d{1,2})(?![\d.\-/%])")
_BARE_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年\s*(?:度\s*)?(?:内|前|底前|完成|全年)?\s*$")
_WHOLE_YEAR = re.compile(r"全年|年度内|本年度")
_BARE_MONTH = re.compile(
    r"(?:(?<!\d)((?:19|20)\d{2})\s*年\s*)?(?<![\d.])(\d{1,2}|十[一二]|[一二三四五六七八九十])\s*月\s*份?(?!\s*\d|\s*[底末上中下前])"
)


def _last_day(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _fmt(d: date) -> str:
    return _("%(year)s年%(month)s月%(day)s日", year=d.year, month=d.month, day=d.day)


def _excel_serial(n: float) -> date | None:
    if 20000 <= n <= 80000:
        return (datetime(1899, 12, 30) + timedelta(days=int(n))).date()
    return None


def _month_only(number_format: str) -> bool:
    """True for date formats without a day (yyyy年m月, mmm-yy): the cell means "within that month"."""
    fmt = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", number_format or "").lower()
    return "m" in fmt and "y" in fmt and "d" not in fmt and "h" not in fmt


def parse_deadline(value: Any, year: int | None, number_format: str = "") -> tuple[str, date | None, list[str]]:
    """(deadline_text, deadline, flags) for a 完成时限 cell: a date cell, a serial number or Chinese text."""
    if value is None or _text(value) == "":
        return "", None, [_("未填写完成时限")]
    if isinstance(value, datetime) and _month_only(number_format):
        return f"{value.year}年{value.month}月", _last_day(value.year, value.month), []
    if isinstance(value, datetime):
        return value.date().isoformat(), value.date(), []
    if isinstance(value, date):
        return value.isoformat(), value, []
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        d = _excel_serial(float(value))
        if d is not None:
            return _text(value), d, [
                _("完成时限是数字 %(number)s，按 Excel 日期读作%(date)s，请核对", number=_text(value), date=_fmt(d))
            ]
        if float(value).is_integer() and 1 <= value <= 12 and year:
            d = _last_day(year, int(value))
            return _text(value), d, [
                _("完成时限只写了数字 %(number)s，按%(date)s计，请核对", number=int(value), date=_fmt(d))
            ]
        if 1990 < value < 2100 and not float(value).is_integer():  # 2024.06 typed as a number → 2024.6
            y, frac = int(value), round((value - int(value)) * 100)
            m = frac // 10 if frac % 10 == 0 and frac >= 10 else frac
            if 1 <= m <= 12:
                d = _last_day(y, m)
                return _text(value), d, [
                    _("完成时限“%(text)s”按%(date)s计，请核对月份", text=_text(value), date=_fmt(d))
                ]
        return _text(value), None, [_("无法识别完成时限“%(text)s”，请填写日期", text=_text(value))]

    raw = _text(value)
    sh = shadow(raw)
    flags: list[str] = []
    found: list[date] = []
    taken: list[tuple[int, int]] = []
    unresolved: list[str] = []

    def free(m: re.Match[str]) -> bool:
        return not any(a < m.end() and m.start() < b for a, b in taken)

    for m in _FULL_DATE.finditer(sh):  # 2024.06.30, 2024-6-30, 2024年6月30日
        taken.append(m.span())
        try:
            found.append(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            flags.append(_("日期不存在：%(text)s，请改正", text=raw[m.start() : m.end()]))
    for m in _YEAR_MONTH.finditer(sh):  # 2024.06, 2024-6
        if free(m) and 1 <= int(m.group(2)) <= 12:
            taken.append(m.span())
            found.append(_last_day(int(m.group(1)), int(m.group(2))))
    for pattern in (_MONTH_DAY, _MD_NUMERIC):  # 6月30日, 6.30 (the year from the table)
        for m in pattern.finditer(sh):
            mo, day = cn_to_int(m.group(1)), int(m.group(2))
            if not free(m) or not mo:
                continue
            taken.append(m.span())
            if year is None:
                unresolved.append(raw[m.start() : m.end()])
                continue
            try:
                found.append(date(year, mo, day))
            except ValueError:
                flags.append(_("日期不存在：%(text)s，请改正", text=raw[m.start() : m.end()]))
    # phrases (6月底前, 年底前, 上半年, 三季度末, 秋季开学前 …) from the plan parser, on what is left
    masked = list(sh)
    for a, b in taken:
        masked[a:b] = " " * (b - a)
    rest = "".join(masked)
    phrases, more = find_deadlines(rest, raw, year)
    if not phrases and year:
        earlier, _flags = find_deadlines(rest, raw, None)
        if earlier:
            phrases, more = earlier, [_("完成时限早于计划年度（%(year)s年）：%(text)s，请核对", year=year, text=raw)]
    flags += more
    for p in phrases:
        found.append(p.date)
        taken.append((p.start, p.end))
    for m in _BARE_MONTH.finditer(sh):  # 6月, 2024年6月: by the end of that month
        mo = cn_to_int(m.group(2))
        if not free(m) or not mo or not 1 <= mo <= 12:
            continue
        taken.append(m.span())
        y = int(m.group(1)) if m.group(1) else year
        if y is None:
            unresolved.append(raw[m.start() : m.end()])
            continue
        found.append(_last_day(y, mo))
    if unresolved:
        flags.append(_("未识别到年份，无法推算截止日期：%(dates)s", dates="、".join(unresolved)))
    if not found and not flags:
        m = _BARE_YEAR.search(sh)
        if m and free(m):
            d = date(int(m.group(1)), 12, 31)
            return raw, d, [_("完成时限只写了年份，按%(date)s计", date=_fmt(d))]
        if _WHOLE_YEAR.search(sh) and not _LONG_TERM.search(sh):
            if year is None:
                return raw, None, [_("未识别到年份，无法推算截止日期：%(dates)s", dates=raw)]
            d = date(year, 12, 31)
            return raw, d, [_("完成时限“%(text)s”按%(date)s计", text=raw, date=_fmt(d))]
    if found:
        latest = max(found)
        if len(set(found)) > 1:
            flags.append(_("完成时限含多个时间，取最晚的%(date)s", date=_fmt(latest)))
        return raw, latest, flags
    if flags:
        return raw, None, flags
    if _LONG_TERM.search(sh):
        return raw, None, [_("长期任务（%(text)s），没有截止日期", text=raw)]
    recurring = find_recurrence(sh, raw)
    if recurring:
        return raw, None, [_("周期性任务（%(phrases)s），没有截止日期", phrases="、".join(recurring))]
    return raw, None, [_("无法识别完成时限“%(text)s”，请填写日期", text=raw)]


# ------------------------------------------------------------------------------------------ file checks
def _check_container(data: bytes) -> None:
    if not data:
        raise ResponsibilityTableError(_("文件是空的（0 字节），请重新选择任务分解表 .xlsx 文件上传"))
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        if "EncryptedPackage".encode("utf-16-le") in data or b"EncryptionInfo" in data.replace(b"\x00", b""):
            raise ResponsibilityTableError(
                _(
                    "文件设置了打开密码，无法读取：请在 Excel 中打开，"
                    "依次点“文件 → 信息 → 保护工作簿 → 用密码进行加密”，清空密码并保存后重新上传"
                )
            )
        raise ResponsibilityTableError(
            _("这是旧版 Excel（.xls）或 WPS 格式的文件，无法读取：%(hint)s", hint=_(TO_XLSX))
        )
    if data[:4] != b"PK\x03\x04" and data[:4] != b"PK\x05\x06":
        head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if head.startswith((b"<html", b"<!doctype", b"<table", b"<?xml", b"<meta")):
            raise ResponsibilityTableError(
                _("这是网页（HTML/XML）格式的表格，虽然扩展名可能是 .xls，但不是 Excel 文件：%(hint)s", hint=_(TO_XLSX))
            )
        if data[:5] == b"%PDF-":
            raise ResponsibilityTableError(_("这是 PDF 文件，不是 Excel 表格：请上传任务分解表的 .xlsx 文件"))
        if _looks_like_text(data):
            raise ResponsibilityTableError(_("这是 CSV 或文本文件，不是 Excel 表格：%(hint)s", hint=_(TO_XLSX)))
        raise ResponsibilityTableError(_("这不是 Excel 文件（.xlsx），无法读取：%(hint)s", hint=_(TO_XLSX)))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            bomb = _is_bomb(zf)
    except Exception as exc:  # any failure here means a damaged archive
        raise ResponsibilityTableError(
            _("文件已损坏或不完整（可能没有上传完），无法读取：请在 Excel 中打开确认无误，%(hint)s", hint=_(TO_XLSX))
        ) from exc
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            raise ResponsibilityTableError(_("这是 Excel 二进制工作簿（.xlsb），无法读取：%(hint)s", hint=_(TO_XLSX)))
        if "word/document.xml" in names:
            raise ResponsibilityTableError(
                _("这是 Word 文档，不是 Excel 表格：请把任务分解表复制到 Excel 中，另存为 .xlsx 后上传")
            )
        if "ppt/presentation.xml" in names:
            raise ResponsibilityTableError(_("这是 PowerPoint 文件，不是 Excel 表格：请上传任务分解表的 .xlsx 文件"))
        if "content.xml" in names:
            raise ResponsibilityTableError(
                _("这是 WPS/OpenOffice 格式（.ods/.et）的表格，无法读取：%(hint)s", hint=_(TO_XLSX))
            )
        raise ResponsibilityTableError(_("这是一个压缩包，不是 Excel 表格（.xlsx）：%(hint)s", hint=_(TO_XLSX)))
    if bomb:
        raise ResponsibilityTableError(_("表格解压后过大，无法读取：请删去多余的工作表、图片和空行后重新保存上传"))
    try:
        merged = _merged_area(data)
    except Exception as exc:  # a damaged member (bad CRC, truncated deflate stream)
        raise ResponsibilityTableError(
            _("文件已损坏或不完整（可能没有上传完），无法读取：请在 Excel 中打开确认无误，%(hint)s", hint=_(TO_XLSX))
        ) from exc
    if merged > MAX_MERGED_CELLS:
        raise ResponsibilityTableError(
            _("表格里有覆盖整行整列的超大合并单元格，无法读取：请选中整个工作表，取消合并单元格后只合并需要的格子，重新保存上传")
        )


_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="\$?([A-Z]{1,3})\$?(\d{1,7}):\$?([A-Z]{1,3})\$?(\d{1,7})"')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _is_bomb(zf: zipfile.ZipFile) -> bool:
    try:
        check_zip(zf, max_total=MAX_UNCOMPRESSED)
    except ZipBomb:
        return True
    return False


def _merged_area(data: bytes) -> int:
    """Cells covered by merges in all sheets: openpyxl makes an object for each, so A:XFD merges must be refused."""
    area = 0
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                continue
            body = zf.read(info)
            for m in _MERGE_REF.finditer(body):
                rows = abs(int(m.group(4)) - int(m.group(2))) + 1
                cols = abs(_col_number(m.group(3)) - _col_number(m.group(1))) + 1
                area += rows * cols
    return area


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    for enc in ("utf-8", "gb18030"):
        try:
            text = sample.decode(enc)
        except UnicodeDecodeError:
            continue
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
        return printable >= 0.95 * max(1, len(text))
    return False


def _load(data: bytes):
    _check_container(data)
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - deployment problem, not the user's
        raise ResponsibilityTableError(_("服务器缺少读取 .xlsx 的组件（openpyxl），请联系管理员")) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=False)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise ResponsibilityTableError(
            _("文件已损坏或不是有效的 .xlsx，无法读取：请在 Excel 中打开确认无误，%(hint)s", hint=_(TO_XLSX))
        ) from exc


# ------------------------------------------------------------------------------------------ reading
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
        return None, _("序号“%(number)s”不是整数", number=_text(value))
    t = _nfkc(_text(value)).strip()
    if not t:
        return None, None
    m = re.fullmatch(r"[(（]?\s*(\d{1,5})\s*[)）]?\s*[、.．]?", t)
    if m:
        return int(m.group(1)), None
    m = re.fullmatch(r"[(（]?([一二三四五六七八九十百]+)[)）]?[、.．]?", t)
    if m and cn_to_int(m.group(1)):
        return cn_to_int(m.group(1)), None
    return None, _("序号“%(number)s”不是整数", number=t)


def _find_year(grid: _Grid, header_first_row: int, sheet: str, filename: str) -> tuple[int | None, str, list[str]]:
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


def _sheet_has_values(ws) -> bool:
    cells = getattr(ws, "_cells", None)
    if isinstance(cells, dict):
        return any(_text(getattr(c, "value", None)) != "" for c in cells.values())
    return any(v is not None for row in ws.iter_rows(values_only=True) for v in row)  # pragma: no cover


def _cell_units(grid: _Grid, r: int, cols: list[int]) -> str:
    parts: list[str] = []
    for c in cols:
        t = grid.text(r, c)
        if t and t not in parts:
            parts.append(t)
    return "、".join(parts)


def _read_rows(grid: _Grid, header: _Header, year: int | None) -> tuple[list[ResponsibilityRow], list[str]]:
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
    first_is_lead = header.first_is_lead or any(_FIRST_LEADS.search(shadow(_text(v))) for v in grid.values.values())
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
        kinds = [_classify(texts[c]) for c in filled]
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
        if not has_units and not _text(deadline_value):
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
            mark_lead, mark_co, plain = _units_with_marks(lead_text)
            lead = _dedupe(mark_lead + plain)
            extra_co = mark_co
        else:  # only a 责任单位 column: marked units, else the first (when the table says so), else all lead
            mark_lead, mark_co, plain = _units_with_marks(lead_text)
            if mark_lead:
                lead, extra_co = _dedupe(mark_lead), mark_co + plain
            elif first_is_lead and plain:
                lead, extra_co = plain[:1], plain[1:] + mark_co
            else:
                lead, extra_co = _dedupe(plain), mark_co
        co_lead, co_co, co_plain = _units_with_marks(co_text)
        if co_lead:
            flags.append(_("配合单位一栏标注了牵头单位：%(units)s，已作牵头单位", units="、".join(co_lead)))
        lead = _dedupe(lead + co_lead)
        co = _dedupe(extra_co + co_co + co_plain, exclude=lead)
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


def _no_header_message(seen_task: bool) -> str:
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


def read_responsibility_table(data: bytes, filename: str = "", year: int | None = None) -> ResponsibilityTable:
    """Read a 任务分解表 .xlsx. `year` resolves 6月底前 and the like; by default the title's year.

    Raises ResponsibilityTableError (message in Simplified Chinese) and nothing else on bad input.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ResponsibilityTableError(_("没有收到文件内容，请重新上传任务分解表 .xlsx 文件"))
    data = bytes(data)
    wb = _load(data)
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
    non_empty = [ws for ws in visible + hidden if _sheet_has_values(ws)]
    if not non_empty:
        raise ResponsibilityTableError(_("表格是空的：工作表里没有任何内容，请填好任务分解表后重新上传"))
    seen_task = False
    for ws in non_empty:
        grid = _grid(ws)
        header, saw = _find_header(grid)
        seen_task = seen_task or saw
        if header is None:
            continue
        found_year, title, flags = _find_year(grid, header.first_row, ws.title, filename)
        if year is None:
            year = found_year
        rows, row_flags = _read_rows(grid, header, year)
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
    raise ResponsibilityTableError(_no_header_message(seen_task))


# ------------------------------------------------------------------------------------------ unit matching
_GENERIC = {"科", "室", "处", "股", "中心", "学校", "单位", "部门", "科室", "处室", "股室", "局", "各", "相关", "有关"}
_MIN_RATIO = 0.6


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _abbreviates(short: str, long: str) -> bool:
    """基教科 ↔ 基础教育科, 计财科 ↔ 计划财务科: same first and last character, the rest in order."""
    return (
        len(short) >= 2
        and len(short) < len(long)
        and short[0] == long[0]
        and short[-1] == long[-1]
        and _is_subsequence(short, long)
    )


def _score(name: str, unit: str) -> float:
    """0 (unrelated) to 0.99: containment (办公室 ↔ 局办公室), abbreviation (基教科 ↔ 基础教育科), difflib ratio."""
    if not name or not unit:
        return 0.0
    short, long = sorted((name, unit), key=len)
    score = 0.0
    if short not in _GENERIC and len(short) >= 2 and short in long:
        score = max(score, 0.7 + 0.25 * len(short) / len(long))
    if _abbreviates(short, long):
        score = max(score, 0.6 + 0.3 * len(short) / len(long))
    ratio = difflib.SequenceMatcher(None, name, unit, autojunk=False).ratio()
    if ratio >= _MIN_RATIO:
        score = max(score, ratio)
    return round(min(score, 0.99), 3)


def match_units(names: list[str], units: list[tuple[str, str]]) -> list[UnitMatch]:
    """Match each name (as written in a table) against the bureau's units, given as (id, name).

    exact: equal once spaces, full-width forms and traditional characters are folded (one unit only);
    fuzzy: candidates (id, name, score in 0–1), best first, for a person to confirm; unknown: nothing close.
    """
    keyed = [(uid, uname, _key(uname)) for uid, uname in units]
    out: list[UnitMatch] = []
    for name in names:
        k = _key(name or "")
        if not k:
            out.append(UnitMatch(name=name, status="unknown"))
            continue
        same = [(uid, uname) for uid, uname, uk in keyed if uk == k]
        if len(same) == 1:
            uid, uname = same[0]
            out.append(UnitMatch(name=name, status="exact", unit_id=uid, candidates=[(uid, uname, 1.0)]))
            continue
        if same:  # two units with the same name: someone must choose
            out.append(UnitMatch(name=name, status="fuzzy", candidates=[(uid, uname, 1.0) for uid, uname in same]))
            continue
        scored = [(uid, uname, _score(k, uk)) for uid, uname, uk in keyed]
        candidates = sorted((c for c in scored if c[2] >= _MIN_RATIO), key=lambda c: (-c[2], c[1]))[:5]
        if candidates:
            out.append(UnitMatch(name=name, status="fuzzy", candidates=candidates))
        else:
            out.append(UnitMatch(name=name, status="unknown"))
    return out
