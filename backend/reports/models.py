"""Progress reports (进展报送) with co-units' contributions, target actuals and reviews."""

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import AutoString, Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field


class ReportKind(enum.StrEnum):
    periodic = "periodic"
    completion = "completion"


class ReportState(enum.StrEnum):
    draft = "draft"
    awaiting_unit_head = "awaiting_unit_head"
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"


class ProgressReport(SQLModel, table=True):
    """One report per task, unit and period (`2026-11`, `2026-Q4`, `once`); a completion request is a report of
    kind `completion` whose acceptance is the 办结."""

    __tablename__ = "progress_reports"
    __table_args__ = (UniqueConstraint("task_id", "unit_id", "period", "kind"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="units.id", index=True)
    period: str = Field(max_length=10)
    kind: ReportKind = Field(default=ReportKind.periodic, sa_type=AutoString(20))
    progress: str = ""
    problems: str = ""
    next_steps: str = ""
    support_needed: str = ""
    percent: int = 0
    expected_completion: date | None = None
    no_change: bool = False
    no_change_reason: str = ""
    state: ReportState = Field(default=ReportState.draft, sa_type=AutoString(30))
    due_on: date
    late: bool = False
    exemplary: bool = False
    submitted_at: datetime | None = timestamp_field(nullable=True)
    submitted_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class ReportContribution(SQLModel, table=True):
    """A co-unit's part of the lead unit's report."""

    __tablename__ = "report_contributions"
    __table_args__ = (UniqueConstraint("report_id", "unit_id"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    report_id: uuid.UUID = Field(foreign_key="progress_reports.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="units.id")
    text: str
    author_id: uuid.UUID = Field(foreign_key="users.id")
    updated_at: datetime = timestamp_field()


class TargetActual(SQLModel, table=True):
    __tablename__ = "target_actuals"
    __table_args__ = (UniqueConstraint("report_id", "target_id"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    report_id: uuid.UUID = Field(foreign_key="progress_reports.id", index=True)
    target_id: uuid.UUID = Field(foreign_key="task_targets.id")
    actual: float


class ReviewDecision(enum.StrEnum):
    unit_head_approve = "unit_head_approve"
    unit_head_return = "unit_head_return"
    accept = "accept"
    return_ = "return"


class ReportReview(SQLModel, table=True):
    """A decision on a report; a return always carries a comment."""

    __tablename__ = "report_reviews"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    report_id: uuid.UUID = Field(foreign_key="progress_reports.id", index=True)
    decision: ReviewDecision = Field(sa_type=AutoString(30))
    comment: str = ""
    reviewer_id: uuid.UUID = Field(foreign_key="users.id")
    decided_at: datetime = timestamp_field()
    # 办结 approved although work was unfinished: what was unfinished then, and the supervisor's reason for closing.
    unfinished: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    override_reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
