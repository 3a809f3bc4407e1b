"""What reading a responsibility table gives: its rows and flags to preview, unit matches to confirm."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from backend.i18n import N_

from .text import key

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
    heading: str = ""  # the heading row (merged across the table) the task sits under, whatever its category
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
                seen.setdefault(key(name), name)
        return list(seen.values())


@dataclass
class UnitMatch:
    name: str
    status: Literal["exact", "fuzzy", "unknown"]
    unit_id: str | None = None
    candidates: list[tuple[str, str, float]] = field(default_factory=list)  # (unit id, unit name, score), best first
