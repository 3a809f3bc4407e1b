"""The 年考核's arithmetic in one set-based statement (whatever the number of units), per unit:

- completion = completion_weight × done / assigned, over the unit's lead and responsible assignments (neither the
  task nor the assignment cancelled) owed in the year, measured against the deadline as extended: the year's tasks
  due in it or done in it, and earlier tasks extended into it; done = 办结 by 31 December, bureau-local. A task
  extended into the next year and not done is counted there, not as unfinished here. None → 0.
- timeliness = timeliness_weight × on_time / due, over the reports due in the year (`unit_report_counts`, the same
  definition the 月通报 uses). None due → 0.
- rating = rating_weight × (average score of the unit's published quarterly ratings of the year) / 100. None → 0.
- adjustment = the sum of the unit's ScoreAdjustment points, held within ±bonus_weight.
- total = the four added; rank by total (to two decimals) from the highest, ties sharing a rank (1, 2, 2, 4).

Each per-unit aggregate is a MATERIALIZED CTE, computed once and hash-joined to the units: inlined, a planner that
misjudges the row counts re-aggregates it for every unit (seen on fresh data: 300 × the work).
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.assessments.models import Assessment
from backend.bulletins.figures import unit_report_counts
from backend.core.clock import local_midnight
from backend.tasks.sql import DONE_AT, not_carried_over


@dataclass(frozen=True)
class Basis:
    """What a unit's terms were computed from, saved on its score row so the page (and a final result) can say it."""

    assigned: int
    done: int
    due: int
    on_time: int
    ratings: int
    average: float | None
    scale: float = 1.0  # the measured terms' factor when a term had nothing to measure (缺项折算)
    extended: int = 0  # the year's tasks extended into the next year and not done: not counted in this one

    @classmethod
    def from_json(cls, values: list) -> "Basis":
        return cls(*values)


# Only constants are formatted in; every value is a bound parameter.
_COMPUTE = f"""
WITH owed AS MATERIALIZED (
    -- Measured against each unit's deadline as it stands (an approved extension included): the year's tasks that
    -- were due in it or done in it, and earlier years' tasks extended into it and not done before it.
    SELECT a.unit_id, a.deadline, t.year, coalesce({DONE_AT} < :year_end, false) AS done_in_year,
           coalesce({DONE_AT} < :year_start, false) AS done_before
    FROM task_assignments a JOIN tasks t ON t.id = a.task_id
    WHERE t.year <= :year AND a.kind IN ('lead', 'responsible') AND a.state NOT IN ('cancelled', 'sent_back')
      AND t.state <> 'cancelled'
      AND (t.year = :year OR (a.deadline >= :first_day AND a.deadline <= :last_day AND {not_carried_over()}))
),
comp AS MATERIALIZED (
    SELECT unit_id,
           count(*) FILTER (WHERE (year = :year AND (deadline <= :last_day OR done_in_year))
                                  OR (year < :year AND NOT done_before)) AS assigned,
           count(*) FILTER (WHERE done_in_year AND NOT done_before) AS done,
           count(*) FILTER (WHERE year = :year AND deadline > :last_day AND NOT done_in_year) AS extended
    FROM owed GROUP BY unit_id
),
timely AS MATERIALIZED (
    SELECT * FROM unnest(CAST(:t_units AS uuid[]), CAST(:t_due AS int[]), CAST(:t_on_time AS int[]))
        AS x(unit_id, due, on_time)
),
rated AS MATERIALIZED (
    SELECT r.unit_id, avg(r.score) AS average, count(*) AS n
    FROM quarterly_ratings r JOIN quarterly_reviews q ON q.id = r.review_id
    WHERE q.year = :year AND q.state = 'published'
    GROUP BY r.unit_id
),
adj AS MATERIALIZED (
    SELECT unit_id, sum(points) AS points FROM score_adjustments
    WHERE assessment_id = CAST(:assessment_id AS uuid) GROUP BY unit_id
),
terms AS (
    SELECT u.id AS unit_id,
           CASE WHEN c.assigned > 0 THEN :cw * CAST(c.done AS float) / c.assigned ELSE 0 END AS completion,
           CASE WHEN tm.due > 0 THEN :tw * CAST(tm.on_time AS float) / tm.due ELSE 0 END AS timeliness,
           coalesce(:rw * r.average / 100, 0) AS rating,
           greatest(-CAST(:bw AS float), least(CAST(:bw AS float), coalesce(j.points, 0))) AS adjustment,
           coalesce(c.assigned, 0) AS assigned, coalesce(c.done, 0) AS done, coalesce(tm.due, 0) AS due,
           coalesce(tm.on_time, 0) AS on_time, coalesce(r.n, 0) AS ratings, r.average,
           coalesce(c.extended, 0) AS extended,
           -- The weight of the terms this unit has something to be measured on (缺项): the others are not zero
           -- marks but missing, and its measured terms are scaled up to the full weight of the three.
           CASE WHEN c.assigned > 0 THEN :cw ELSE 0 END + CASE WHEN tm.due > 0 THEN :tw ELSE 0 END
             + CASE WHEN r.n > 0 THEN :rw ELSE 0 END AS applicable,
           coalesce(c.assigned, 0) + coalesce(tm.due, 0) + coalesce(r.n, 0) > 0 AS measured
    FROM units u
    LEFT JOIN comp c ON c.unit_id = u.id
    LEFT JOIN timely tm ON tm.unit_id = u.id
    LEFT JOIN rated r ON r.unit_id = u.id
    LEFT JOIN adj j ON j.unit_id = u.id
    WHERE u.tenant_id = CAST(:tenant_id AS uuid)
),
scaled AS (
    SELECT *, CASE WHEN applicable > 0 THEN (:cw + :tw + :rw) / applicable ELSE 1 END AS scale FROM terms
),
totalled AS (
    SELECT *, (completion + timeliness + rating) * scale + adjustment AS total FROM scaled
),
ranked AS (
    -- A unit with nothing at all to be measured on is listed but not ranked (不参评).
    SELECT *, CASE WHEN measured THEN rank() OVER (PARTITION BY measured
                                                   ORDER BY round(CAST(total AS numeric), 2) DESC) END AS rank
    FROM totalled
),
saved AS (
    INSERT INTO assessment_scores (id, tenant_id, assessment_id, unit_id, completion, timeliness, rating, adjustment,
                                   total, rank, basis, self_note, updated_at)
    SELECT gen_random_uuid(), CAST(:tenant_id AS uuid), CAST(:assessment_id AS uuid), unit_id, completion,
           timeliness, rating, adjustment, total, rank,
           jsonb_build_array(assigned, done, due, on_time, ratings, average, scale, extended), '', now()
    FROM ranked
    ON CONFLICT (assessment_id, unit_id) DO UPDATE SET
        completion = EXCLUDED.completion, timeliness = EXCLUDED.timeliness, rating = EXCLUDED.rating,
        adjustment = EXCLUDED.adjustment, total = EXCLUDED.total, rank = EXCLUDED.rank, basis = EXCLUDED.basis,
        updated_at = now()
    RETURNING 1
)
SELECT unit_id, assigned, done, due, on_time, ratings, average, scale, extended, (SELECT count(*) FROM saved) AS saved
FROM ranked
"""  # noqa: S608


async def compute_scores(session: AsyncSession, assessment: Assessment, timezone: str | None) -> dict[str, Basis]:
    """Writes every unit's terms, total and rank for the assessment; returns each unit's basis. Two statements."""
    year = assessment.year
    counts = await unit_report_counts(session, assessment.tenant_id, date(year, 1, 1), date(year, 12, 31))
    year_start, year_end = local_midnight(date(year, 1, 1), timezone), local_midnight(date(year + 1, 1, 1), timezone)
    units = list(counts)
    rows = (await session.execute(text(_COMPUTE), params={
        "tenant_id": assessment.tenant_id, "assessment_id": assessment.id, "year": year, "year_start": year_start,
        "year_end": year_end, "first_day": date(year, 1, 1), "last_day": date(year, 12, 31),
        "cw": assessment.completion_weight, "tw": assessment.timeliness_weight, "rw": assessment.rating_weight,
        "bw": assessment.bonus_weight, "t_units": units, "t_due": [counts[u].due for u in units],
        "t_on_time": [counts[u].on_time for u in units],
    })).all()
    return {str(unit_id): Basis(assigned, done, due, on_time, ratings, float(average) if average is not None else None,
                                float(scale), extended)
            for unit_id, assigned, done, due, on_time, ratings, average, scale, extended, _saved in rows}
