"""The assessments API's answers."""

import uuid
from datetime import date

from pydantic import BaseModel

from backend.core.schemas import from_view


class ScorePublic(BaseModel):
    model_config = from_view("score")  # a ScoreLine: its self_total is hidden from other units

    unit_id: uuid.UUID
    unit_name: str
    rank: int | None
    completion: float
    timeliness: float
    rating: float
    adjustment: float
    total: float
    self_total: float | None


class AssessmentPublic(BaseModel):
    """The year's results as the page shows them to the caller (units see them once published)."""

    model_config = from_view("assessment")

    id: uuid.UUID
    year: int
    state: str
    completion_weight: float
    timeliness_weight: float
    rating_weight: float
    bonus_weight: float
    appeal_until: date | None
    scores: list[ScorePublic]
