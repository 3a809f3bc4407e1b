# ruff: noqa: S608 — the SQL is composed of this module's constants; every value is a bound parameter.
"""The counted states of tasks, defined once (docs/CYCLE.md "计数口径" writes them out): the home page, the leaders'
weekly overview and the 月通报 count with these, so "推进中" means one thing wherever a reader meets it.

- 待交办: no unit carries the task — never handed out (`unassigned`), or sent back by its lead unit (`sent_back`)
  and waiting to be handed out again. No unit's clock runs: never 超期, never a red light.
- 推进中: handed to a unit and not closed — assigned, acknowledged, in progress, or 办结 requested.
- 超期 (part of 推进中): the current deadline has passed and the units still owe the work (a 办结 request waiting for
  the supervisor is the bureau's move, not overdue — as for the lights).
- 待审批办结 (part of 推进中): the lead unit asked for 办结.
- 已办结: done. 已取消: cancelled, counted nowhere else (not in the total, not in the completion rate).
- 完成率 = 已办结 ÷ (all tasks − 已取消). Lights (红/黄/绿) are counted over 推进中 only.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.i18n import N_

UNASSIGNED_STATES = ("unassigned", "sent_back")
IN_PROGRESS_STATES = ("assigned", "acknowledged", "in_progress", "completion_requested")
OWING_STATES = ("assigned", "acknowledged", "in_progress")


def _in(states: tuple[str, ...], column: str) -> str:
    return f"{column} IN ({', '.join(repr(s) for s in states)})"


def unassigned(t: str = "t") -> str:
    return _in(UNASSIGNED_STATES, f"{t}.state")


def in_progress(t: str = "t") -> str:
    return _in(IN_PROGRESS_STATES, f"{t}.state")


def owing(t: str = "t") -> str:
    """推进中 and the units still owe the work (no 办结 request waiting for the supervisor)."""
    return _in(OWING_STATES, f"{t}.state")


def overdue(t: str = "t", today: str = ":today", deadline: str = "deadline") -> str:
    """Past `deadline` (the current one; `original_deadline` for the count against the first date) and still owed."""
    return f"{owing(t)} AND {t}.{deadline} < CAST({today} AS date)"


# The labels a reader understands without the glossary.
LABELS = {
    "unassigned": N_("待交办（尚未交给单位）"),
    "in_progress": N_("推进中（已交办、未办结）"),
    "overdue": N_("超期（已过时限、仍未办结）"),
    "completion_requested": N_("待审批办结"),
    "done": N_("已办结"),
}


@dataclass(frozen=True)
class StateCounts:
    unassigned: int = 0
    in_progress: int = 0
    overdue: int = 0
    overdue_original: int = 0
    completion_requested: int = 0
    done: int = 0
    cancelled: int = 0
    red: int = 0
    yellow: int = 0
    green: int = 0

    @property
    def total(self) -> int:
        """Every task that counts: all but the cancelled."""
        return self.unassigned + self.in_progress + self.done

    @property
    def completion_rate(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


_COUNTS = f"""
SELECT count(*) FILTER (WHERE {unassigned()}) AS unassigned,
       count(*) FILTER (WHERE {in_progress()}) AS in_progress,
       count(*) FILTER (WHERE {overdue()}) AS overdue,
       count(*) FILTER (WHERE {overdue(deadline="original_deadline")}) AS overdue_original,
       count(*) FILTER (WHERE t.state = 'completion_requested') AS completion_requested,
       count(*) FILTER (WHERE t.state = 'done') AS done,
       count(*) FILTER (WHERE t.state = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE {in_progress()} AND t.light = 'red') AS red,
       count(*) FILTER (WHERE {in_progress()} AND t.light = 'yellow') AS yellow,
       count(*) FILTER (WHERE {in_progress()} AND t.light = 'green') AS green
FROM tasks t
"""


async def count_states(
    session: AsyncSession, *, today: date, year: int | None = None, unit_id: uuid.UUID | None = None,
) -> StateCounts:
    """The counted states of the bureau's tasks (the session's tenant), optionally of one plan year and of the tasks
    one unit leads or is responsible for (co-operating does not make a task the unit's own). One statement."""
    where: list[str] = []
    params: dict[str, object] = {"today": today}
    if year is not None:
        where.append("t.year = :year")
        params["year"] = year
    if unit_id is not None:
        where.append("EXISTS (SELECT 1 FROM task_assignments a WHERE a.task_id = t.id AND a.unit_id = :unit_id "
                     "AND a.kind <> 'cooperating')")
        params["unit_id"] = unit_id
    sql = _COUNTS + (" WHERE " + " AND ".join(where) if where else "")
    row = (await session.execute(text(sql), params)).one()
    return StateCounts(**row._asdict())
