"""The one place that says what a grade is worth: 优 95, 良 85, 中 75, 差 60, and which grade a 0–100 score
falls in when a summary counts grades. The rubric page shows this table, the rating forms and the assessment use it."""

import math
import re
import unicodedata
from datetime import date

from backend.errors import InvalidInput
from backend.i18n import N_, _
from backend.reviews.models import Grade, RatingScale

GRADE_SCORES: dict[Grade, float] = {Grade.excellent: 95, Grade.good: 85, Grade.fair: 75, Grade.poor: 60}
GRADE_LABELS: dict[Grade, str] = {Grade.excellent: N_("优"), Grade.good: N_("良"), Grade.fair: N_("中"),
                                  Grade.poor: N_("差")}
# A score counts as the best grade whose floor it reaches (a 0–100 review's summary counts grades this way).
GRADE_FLOORS: list[tuple[Grade, float]] = [(Grade.excellent, 90), (Grade.good, 80), (Grade.fair, 70),
                                           (Grade.poor, 0)]
SCALE_LABELS = {RatingScale.grade: N_("优 / 良 / 中 / 差"), RatingScale.score: N_("0–100 分")}
SCORE_RE = re.compile(r"\d{1,3}(\.\d{1,2})?")


def grade_label(grade: Grade | str | None) -> str:
    return _(GRADE_LABELS[Grade(grade)]) if grade else ""


def scale_label(scale: RatingScale | str) -> str:
    return _(SCALE_LABELS[RatingScale(scale)])


def grade_table() -> list[tuple[str, float, float]]:
    """(label, score given for the grade, lowest 0–100 score counted as that grade), best first."""
    floors = dict(GRADE_FLOORS)
    return [(grade_label(grade), GRADE_SCORES[grade], floors[grade]) for grade in GRADE_SCORES]


def parse_rating(scale: RatingScale | str, raw: str, *, field: str, label: str) -> tuple[Grade | None, float] | None:
    """What a supervisor typed or picked → (grade, score); blank → None (not rated). Full-width digits are fine."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return None
    if RatingScale(scale) == RatingScale.grade:
        by_label = {_(GRADE_LABELS[g]): g for g in Grade}
        grade = by_label.get(text) or (Grade(text) if text in Grade.__members__ else None)
        if grade is None:
            raise InvalidInput(_("%(label)s：请选择 优、良、中 或 差。", label=label), field=field)
        return grade, GRADE_SCORES[grade]
    message = _("%(label)s：请填写 0 到 100 之间的分数（最多两位小数），例如 88 或 92.5。", label=label)
    if not SCORE_RE.fullmatch(text):
        raise InvalidInput(message, field=field)
    score = float(text)
    if not math.isfinite(score) or not 0 <= score <= 100:
        raise InvalidInput(message, field=field)
    return None, score


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """The first and last day of the quarter."""
    first = date(year, 3 * quarter - 2, 1)
    last = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


def previous_quarter(today: date) -> tuple[int, int]:
    """The quarter that ended before the one `today` is in."""
    quarter = (today.month - 1) // 3 + 1
    return (today.year - 1, 4) if quarter == 1 else (today.year, quarter - 1)


def quarter_label(year: int, quarter: int) -> str:
    return _("%(y)s年第%(q)s季度", y=year, q=quarter)
