"""季点评: supervisors rate each unit's tasks for the quarter; leaders add remarks; the ratings feed the 年考核."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field


class RatingScale(enum.StrEnum):
    grade = "grade"  # 优 / 良 / 中 / 差
    score = "score"  # 0–100


class Grade(enum.StrEnum):
    excellent = "excellent"  # 优
    good = "good"  # 良
    fair = "fair"  # 中
    poor = "poor"  # 差


class ReviewState(enum.StrEnum):
    draft = "draft"
    published = "published"


class QuarterlyReview(SQLModel, table=True):
    """One per bureau and quarter; the scale is fixed when it opens so a change of setting cannot mix scales."""

    __tablename__ = "quarterly_reviews"
    __table_args__ = (UniqueConstraint("tenant_id", "year", "quarter"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    year: int
    quarter: int
    scale: RatingScale = Field(default=RatingScale.grade, sa_type=AutoString(10))
    state: ReviewState = Field(default=ReviewState.draft, sa_type=AutoString(20))
    summary: str = ""
    published_at: datetime | None = timestamp_field(nullable=True)
    published_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class QuarterlyRating(SQLModel, table=True):
    """A supervisor's rating of one unit's part in one task for the quarter. `score` is always set (a grade maps
    to its score) so the assessment averages one kind of number."""

    __tablename__ = "quarterly_ratings"
    __table_args__ = (UniqueConstraint("review_id", "task_id", "unit_id"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    review_id: uuid.UUID = Field(foreign_key="quarterly_reviews.id", index=True)
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="units.id", index=True)
    grade: Grade | None = Field(default=None, sa_type=AutoString(10))
    score: float
    comment: str = Field(default="", max_length=2000)
    rated_by: uuid.UUID = Field(foreign_key="users.id")
    rated_at: datetime = timestamp_field()


class QuarterlyRemark(SQLModel, table=True):
    """A leader's remark on the quarter, on the whole or on one unit."""

    __tablename__ = "quarterly_remarks"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    review_id: uuid.UUID = Field(foreign_key="quarterly_reviews.id", index=True)
    unit_id: uuid.UUID | None = Field(default=None, foreign_key="units.id")
    text: str = Field(max_length=2000)
    author_id: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()


class AssessmentRubric(SQLModel, table=True):
    """The 年考核's rubric, kept here because 季点评 rate on its scale and reviews sit below assessments. One per
    bureau: the weights (points) of each term, how quarterly ratings are given, and the appeal window. A bureau
    without one runs on these defaults."""

    __tablename__ = "assessment_rubrics"
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    completion_weight: float = 40
    timeliness_weight: float = 20
    rating_weight: float = 30
    bonus_weight: float = 10  # the cap, either way, of the bonus/penalty term
    rating_scale: RatingScale = Field(default=RatingScale.grade, sa_type=AutoString(10))
    self_scoring: bool = True
    appeal_days: int = 5
    updated_at: datetime = timestamp_field()
