# ruff: noqa: S608 — the SQL is composed of this module's constants; every value is a bound parameter.
"""The numbers of a 月通报, computed from the data with set-based SQL (one GROUP BY per figure, never per unit).

Definitions (written out in docs/CYCLE.md as well; the annual assessment imports `unit_report_counts`):

- A report is DUE for a (task, unit) assignment of kind lead or responsible (not cooperating), on a task that is
  not cancelled, for each report period of the task's report frequency (monthly `YYYY-MM`, quarterly `YYYY-Qn`,
  once = the assignment's deadline) whose due date (`backend.tasks.periods.due_on` with the bureau's report day,
  default 25) falls in [first_day, last_day], provided the assignment existed by then (its created_at, as a date in
  the bureau's time zone, is on or before the due date) and was not already done before the due date (a done_at
  whose local date is before the due date means nothing is due). An assignment's done_at is its own, or, when the
  task was done (办结 closes the lead unit's assignment only), the task's. An assignment the unit sent back (not
  theirs) owes nothing: the unit cannot file on it. A task carried into the next year owes nothing from the day
  it was carried (its copy does).
- FILED: a periodic ProgressReport of that task, unit and period with submitted_at set (even if later returned).
- ON TIME: filed and not `late`. LATE: filed and `late`. MISSING: due − filed.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.tasks import states
from backend.tasks.sql import DONE_AT, not_carried_over


@dataclass(frozen=True)
class ReportCounts:
    due: int
    filed: int
    on_time: int
    late: int
    missing: int


# The bureau's clock and report day, then every due report slot in the window with its filed report (if any).
# The month series starts at the window's first month; a monthly period is due in its own month and a quarterly
# one in the quarter's last month, on the report day clamped to the month's end, exactly as periods.due_on does.
_SLOTS = f"""
WITH cfg AS (
    SELECT t.timezone AS tz, greatest(coalesce(b.report_day, 25), 1) AS report_day
    FROM tenants t LEFT JOIN bureau_settings b ON b.tenant_id = t.id
    WHERE t.id = CAST(:tenant_id AS uuid)
),
months AS (
    SELECT CAST(m AS date) AS m,
           make_date(CAST(extract(year FROM m) AS int), CAST(extract(month FROM m) AS int),
                     least(cfg.report_day,
                           CAST(extract(day FROM m + interval '1 month' - interval '1 day') AS int))) AS due
    FROM cfg, generate_series(date_trunc('month', CAST(:first_day AS date)), CAST(:last_day AS date),
                              interval '1 month') AS m
),
slots AS (
    SELECT a.unit_id, a.task_id, a.created_at, {DONE_AT} AS done_at, d.due,
           CASE WHEN t.report_frequency = 'monthly' THEN to_char(d.m, 'YYYY-MM')
                ELSE to_char(d.m, 'YYYY') || '-Q' || to_char(d.m, 'Q') END AS period
    FROM task_assignments a
    JOIN tasks t ON t.id = a.task_id
    JOIN months d ON t.report_frequency = 'monthly'
                  OR (t.report_frequency = 'quarterly' AND CAST(extract(month FROM d.m) AS int) % 3 = 0)
    WHERE a.tenant_id = CAST(:tenant_id AS uuid) AND a.kind IN ('lead', 'responsible') AND t.state <> 'cancelled'
      AND a.state NOT IN ('sent_back', 'cancelled')
    UNION ALL
    SELECT a.unit_id, a.task_id, a.created_at, {DONE_AT}, a.deadline, 'once'
    FROM task_assignments a
    JOIN tasks t ON t.id = a.task_id
    WHERE a.tenant_id = CAST(:tenant_id AS uuid) AND a.kind IN ('lead', 'responsible') AND t.state <> 'cancelled'
      AND a.state NOT IN ('sent_back', 'cancelled')
      AND t.report_frequency = 'once' AND a.deadline BETWEEN CAST(:first_day AS date) AND CAST(:last_day AS date)
),
due AS (
    SELECT s.unit_id, s.due, r.id AS report_id, r.late
    FROM slots s CROSS JOIN cfg
    LEFT JOIN progress_reports r ON r.task_id = s.task_id AND r.unit_id = s.unit_id AND r.period = s.period
                                AND r.kind = 'periodic' AND r.submitted_at IS NOT NULL
    WHERE s.due BETWEEN CAST(:first_day AS date) AND CAST(:last_day AS date)
      AND CAST(s.created_at AT TIME ZONE cfg.tz AS date) <= s.due
      AND (s.done_at IS NULL OR CAST(s.done_at AT TIME ZONE cfg.tz AS date) >= s.due)
      AND {not_carried_over("s.task_id", "CAST(carried.created_at AT TIME ZONE cfg.tz AS date) <= s.due")}
)
"""

_COUNTS = """count(*) AS due, count(report_id) AS filed,
             count(report_id) FILTER (WHERE NOT late) AS on_time, count(report_id) FILTER (WHERE late) AS late"""


def _counts(row) -> ReportCounts:
    return ReportCounts(due=row.due, filed=row.filed, on_time=row.on_time, late=row.late,
                        missing=row.due - row.filed)


async def unit_report_counts(
    session: AsyncSession, tenant_id: uuid.UUID, first_day: date, last_day: date
) -> dict[uuid.UUID, ReportCounts]:
    """Reports due, filed, on time, late and missing per unit, for the reports due in [first_day, last_day] (see
    the module's docstring). Units with nothing due are absent. One statement."""
    rows = await session.execute(
        text(_SLOTS + f"SELECT unit_id, {_COUNTS} FROM due GROUP BY unit_id"),
        {"tenant_id": str(tenant_id), "first_day": first_day, "last_day": last_day})
    return {row.unit_id: _counts(row) for row in rows}


async def monthly_report_counts(
    session: AsyncSession, tenant_id: uuid.UUID, first_day: date, last_day: date
) -> dict[tuple[int, int], ReportCounts]:
    """The same counts for the whole bureau, per (year, month) of the due date. One statement."""
    rows = await session.execute(
        text(_SLOTS + f"""SELECT CAST(extract(year FROM due) AS int) AS y, CAST(extract(month FROM due) AS int) AS m,
                                {_COUNTS} FROM due GROUP BY 1, 2"""),
        {"tenant_id": str(tenant_id), "first_day": first_day, "last_day": last_day})
    return {(row.y, row.m): _counts(row) for row in rows}


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def _rate(part: int, whole: int) -> float | None:
    """A percentage with one decimal, or None when there is nothing to divide by (shown as “—”)."""
    return round(100 * part / whole, 1) if whole else None


# The bureau's time zone, inlined so that no statement needs a round trip of its own.
_TZ = "(SELECT timezone FROM tenants WHERE id = CAST(:tenant_id AS uuid))"
# An assignment still to be carried out: not done, not sent back, on a task 推进中 (backend/tasks/states.py) and not
# carried into the next year.
_OPEN = ("a.done_at IS NULL AND a.state NOT IN ('done', 'cancelled', 'sent_back') "
         f"AND {states.in_progress()} AND {not_carried_over()}")

_UNITS = f"""
SELECT u.id, u.name, coalesce(c.completed, 0) AS completed, coalesce(r.reds, 0) AS reds
FROM units u
LEFT JOIN (SELECT a.unit_id, count(*) AS completed FROM task_assignments a JOIN tasks t ON t.id = a.task_id
           WHERE a.tenant_id = CAST(:tenant_id AS uuid) AND a.kind IN ('lead', 'responsible')
             AND a.state NOT IN ('sent_back', 'cancelled') AND t.state <> 'cancelled'
             AND CAST({DONE_AT} AT TIME ZONE {_TZ} AS date) BETWEEN CAST(:first_day AS date) AND CAST(:last_day AS date)
           GROUP BY a.unit_id) c ON c.unit_id = u.id
LEFT JOIN (SELECT a.unit_id, count(*) AS reds FROM task_assignments a JOIN tasks t ON t.id = a.task_id
           WHERE a.tenant_id = CAST(:tenant_id AS uuid) AND t.light = 'red' AND {_OPEN}
           GROUP BY a.unit_id) r ON r.unit_id = u.id
WHERE u.tenant_id = CAST(:tenant_id AS uuid)
ORDER BY u.sort_order, u.name
"""

_BUREAU = f"""
SELECT count(*) FILTER (WHERE state <> 'cancelled') AS tasks,
       count(*) FILTER (WHERE state = 'done') AS done,
       count(*) FILTER (WHERE {states.unassigned()}) AS unassigned,
       count(*) FILTER (WHERE {states.in_progress()}) AS in_progress,
       count(*) FILTER (WHERE {states.in_progress()} AND light = 'green') AS green,
       count(*) FILTER (WHERE {states.in_progress()} AND light = 'yellow') AS yellow,
       count(*) FILTER (WHERE {states.in_progress()} AND light = 'red') AS red,
       array_agg(CAST(extract(month FROM done_at AT TIME ZONE {_TZ}) AS int)
                 ORDER BY done_at) FILTER (WHERE state = 'done' AND done_at IS NOT NULL
                 AND CAST(done_at AT TIME ZONE {_TZ} AS date) <= CAST(:last_day AS date)
                 AND CAST(done_at AT TIME ZONE {_TZ} AS date) >= CAST(:year_start AS date)) AS done_months,
       count(*) FILTER (WHERE state = 'done' AND CAST(done_at AT TIME ZONE {_TZ} AS date)
                        < CAST(:year_start AS date)) AS done_before
FROM tasks t WHERE tenant_id = CAST(:tenant_id AS uuid) AND year = :year
"""

_EXEMPLARY = """
SELECT r.id AS report_id, t.id AS task_id, t.number, t.title, u.name AS unit, left(r.progress, 120) AS excerpt,
       r.period
FROM progress_reports r JOIN tasks t ON t.id = r.task_id JOIN units u ON u.id = r.unit_id
WHERE r.tenant_id = CAST(:tenant_id AS uuid) AND r.exemplary AND r.kind = 'periodic'
  AND r.due_on BETWEEN CAST(:first_day AS date) AND CAST(:last_day AS date)
ORDER BY t.number, u.name
"""

OVERDUE_LIMIT = 100
_OVERDUE = f"""
SELECT t.id AS task_id, t.number, t.title, u.name AS unit, a.deadline,
       CAST(:today AS date) - a.deadline AS days, count(*) OVER () AS total
FROM task_assignments a JOIN tasks t ON t.id = a.task_id JOIN units u ON u.id = a.unit_id
WHERE a.tenant_id = CAST(:tenant_id AS uuid) AND a.kind IN ('lead', 'responsible') AND {_OPEN}
  AND {states.owing()} AND a.deadline < CAST(:today AS date)
ORDER BY a.deadline, t.number, u.name
LIMIT {OVERDUE_LIMIT}
"""


async def compute_figures(session: AsyncSession, tenant_id: uuid.UUID, year: int, month: int, today: date) -> dict:
    """The snapshot a bulletin shows for `year`-`month`, as JSON-ready data; `today` is the drafting date (the
    lights, reds and overdue work are as of then). Six statements, whatever the bureau's size."""
    first_day, last_day = month_bounds(year, month)
    params = {"tenant_id": str(tenant_id), "first_day": first_day, "last_day": last_day, "year": year,
              "year_start": date(year, 1, 1), "today": today}
    counts = await unit_report_counts(session, tenant_id, first_day, last_day)
    zero = ReportCounts(0, 0, 0, 0, 0)
    units = []
    for row in await session.execute(text(_UNITS), params):
        c = counts.get(row.id, zero)
        units.append({"id": str(row.id), "name": row.name, "due": c.due, "filed": c.filed, "on_time": c.on_time,
                      "late": c.late, "missing": c.missing, "completed": row.completed, "reds": row.reds,
                      "on_time_rate": _rate(c.on_time, c.due)})
    totals = {key: sum(u[key] for u in units) for key in ("due", "filed", "on_time", "late", "missing", "completed",
                                                          "reds")}
    totals["on_time_rate"] = _rate(totals["on_time"], totals["due"])
    bureau = (await session.execute(text(_BUREAU), params)).one()
    monthly = await monthly_report_counts(session, tenant_id, date(year, 1, 1), last_day)
    done_months = list(bureau.done_months or [])
    trend = []
    for m in range(1, month + 1):
        c = monthly.get((year, m), zero)
        trend.append({"month": m, "due": c.due, "on_time": c.on_time, "on_time_rate": _rate(c.on_time, c.due),
                      "done_cumulative": bureau.done_before + sum(1 for d in done_months if d <= m)})
    exemplary = [{"report_id": str(r.report_id), "task_id": str(r.task_id), "number": r.number, "title": r.title,
                  "unit": r.unit, "excerpt": r.excerpt, "period": r.period}
                 for r in await session.execute(text(_EXEMPLARY), params)]
    overdue_rows = list(await session.execute(text(_OVERDUE), params))
    overdue = [{"task_id": str(r.task_id), "number": r.number, "title": r.title, "unit": r.unit,
                "deadline": r.deadline.isoformat(), "days": r.days} for r in overdue_rows]
    return {
        "year": year, "month": month, "first_day": first_day.isoformat(), "last_day": last_day.isoformat(),
        "today": today.isoformat(), "plan_year": year,
        "units": units, "totals": totals,
        "bureau": {"tasks": bureau.tasks, "done": bureau.done, "completion_rate": _rate(bureau.done, bureau.tasks),
                   "unassigned": bureau.unassigned, "in_progress": bureau.in_progress,
                   "lights": {"green": bureau.green, "yellow": bureau.yellow, "red": bureau.red}},
        "trend": trend, "exemplary": exemplary, "overdue": overdue,
        "overdue_total": overdue_rows[0].total if overdue_rows else 0,
    }
