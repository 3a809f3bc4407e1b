"""年考核: the bureau's rubric, each unit's computed terms, self-scores, audited adjustments, appeals and the lock."""

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import AutoString, Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field


class AssessmentState(enum.StrEnum):
    open = "open"  # units may score themselves; supervisors compute and adjust
    published = "published"  # the appeal window runs
    final = "final"  # locked; only an admin's audited reopen changes it


class Assessment(SQLModel, table=True):
    """One per bureau and year; the weights are copied from the rubric when it opens."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("tenant_id", "year"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    year: int
    state: AssessmentState = Field(default=AssessmentState.open, sa_type=AutoString(20))
    completion_weight: float
    timeliness_weight: float
    rating_weight: float
    bonus_weight: float
    computed_at: datetime | None = timestamp_field(nullable=True)
    published_at: datetime | None = timestamp_field(nullable=True)
    appeal_until: date | None = None
    finalised_at: datetime | None = timestamp_field(nullable=True)
    finalised_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class AssessmentScore(SQLModel, table=True):
    """One unit's line: each computed term in points, the sum of adjustments, the total and the rank."""

    __tablename__ = "assessment_scores"
    __table_args__ = (UniqueConstraint("assessment_id", "unit_id"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    assessment_id: uuid.UUID = Field(foreign_key="assessments.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="units.id", index=True)
    completion: float = 0
    timeliness: float = 0
    rating: float = 0
    adjustment: float = 0
    total: float = 0
    rank: int | None = None
    # What the terms were computed from: [assigned, done, due, on_time, ratings, average] (see compute.Basis).
    basis: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    self_total: float | None = None
    self_note: str = Field(default="", max_length=2000)
    self_scored_at: datetime | None = timestamp_field(nullable=True)
    updated_at: datetime = timestamp_field()


class ScoreAdjustment(SQLModel, table=True):
    """A supervisor's bonus (+) or penalty (−) for a unit, always with its reason."""

    __tablename__ = "score_adjustments"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    assessment_id: uuid.UUID = Field(foreign_key="assessments.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="units.id")
    points: float
    reason: str = Field(max_length=1000)
    author_id: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()


class AppealState(enum.StrEnum):
    pending = "pending"
    upheld = "upheld"
    dismissed = "dismissed"


class AssessmentAppeal(SQLModel, table=True):
    """A unit's objection to its published result, answered by a supervisor before the result is final."""

    __tablename__ = "assessment_appeals"
    __table_args__ = (UniqueConstraint("assessment_id", "unit_id"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    assessment_id: uuid.UUID = Field(foreign_key="assessments.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="units.id")
    text: str = Field(max_length=2000)
    filed_by: uuid.UUID = Field(foreign_key="users.id")
    filed_at: datetime = timestamp_field()
    state: AppealState = Field(default=AppealState.pending, sa_type=AutoString(20))
    response: str = Field(default="", max_length=2000)
    responded_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    responded_at: datetime | None = timestamp_field(nullable=True)
