"""The reports API's bodies and answers. A report's answer is read from its ReportView."""

import uuid
from datetime import date, datetime

from pydantic import AliasPath, BaseModel, Field

from backend.core.schemas import FROM_ROW, from_view
from backend.core.versions import BodyVersion


class ContributionPublic(BaseModel):
    model_config = from_view("contribution")

    unit_id: uuid.UUID
    unit: str
    text: str
    updated_at: datetime


class ActualPublic(BaseModel):
    model_config = from_view("target")

    target_id: uuid.UUID = Field(validation_alias=AliasPath("target", "id"))
    target: str = Field(validation_alias=AliasPath("target", "text"))
    unit: str
    actual: float


class ReviewPublic(BaseModel):
    model_config = from_view("review")

    decision: str
    comment: str
    reviewer: str
    decided_at: datetime
    unfinished: list[str] = []  # a 办结 approved with work unfinished: what was unfinished, and why it closed
    override_reason: str = ""


class ReportPublic(BaseModel):
    model_config = from_view("report")

    id: uuid.UUID
    task_id: uuid.UUID
    task_number: str | None = Field(default=None, validation_alias=AliasPath("task", "number"))
    task_title: str | None = Field(default=None, validation_alias=AliasPath("task", "title"))
    unit_id: uuid.UUID
    unit: str
    period: str
    kind: str
    state: str
    progress: str
    problems: str
    next_steps: str
    support_needed: str
    percent: int
    expected_completion: date | None
    no_change: bool
    no_change_reason: str
    due_on: date
    late: bool
    submitted_at: datetime | None
    version: int
    contributions: list[ContributionPublic] = []
    actuals: list[ActualPublic] = []
    reviews: list[ReviewPublic] = []


class ReportIn(BaseModel):
    """A draft of the unit's report for `period` (the current period when left out). `version` is the report's
    version as last read (0 for a new report); a stale one is refused with 409."""

    period: str | None = Field(default=None, max_length=20)
    progress: str = ""
    problems: str = ""
    next_steps: str = ""
    support_needed: str = ""
    percent: int | str | None = 0
    expected_completion: str | None = None
    target_actuals: dict[str, str | float | None] = {}
    version: BodyVersion = None  # 0 for a new report; missing is refused (core/versions.py)


class VersionIn(BaseModel):
    version: BodyVersion = None


class NoChangeIn(BaseModel):
    reason: str
    version: BodyVersion = None


class ContributionIn(BaseModel):
    text: str


class ReviewIn(BaseModel):
    accept: bool
    comment: str = ""
    version: BodyVersion = None


class DecisionIn(BaseModel):
    approve: bool
    comment: str = ""
    version: BodyVersion = None


class CompletionDecisionIn(DecisionIn):
    override_reason: str = ""  # required to approve while work is unfinished


class CompletionIn(BaseModel):
    summary: str
    version: BodyVersion = None


class BatchItem(BaseModel):
    id: uuid.UUID
    version: BodyVersion = None


class BatchIn(BaseModel):
    items: list[BatchItem]
    comment: str = ""


class BatchItemPublic(BaseModel):
    model_config = FROM_ROW

    id: uuid.UUID
    state: str
    version: int
