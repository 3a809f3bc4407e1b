"""Plans (工作要点) as published, and the import drafts they are published from."""

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import AutoString, Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field


class ImportStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    discarded = "discarded"


class PlanImport(SQLModel, table=True):
    """A parsed document being reviewed before publishing. `document` is the editable parse; `version` guards
    against two people editing the same draft (a stale form is refused)."""

    __tablename__ = "plan_imports"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    source_file_id: uuid.UUID | None = Field(default=None, foreign_key="stored_files.id")
    source_sha256: str = Field(max_length=64, index=True)
    filename: str = Field(max_length=255)
    document: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    status: ImportStatus = Field(default=ImportStatus.draft, sa_type=AutoString(20))
    updates_plan_id: uuid.UUID | None = Field(default=None, foreign_key="plans.id")
    plan_id: uuid.UUID | None = Field(default=None, foreign_key="plans.id")
    version: int = 1
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class Plan(SQLModel, table=True):
    """`import_id` is the draft that created the plan: unique, so one import can never make a second plan, however
    many requests publish it at once (the draft's row lock in `publish` tells the losers; this is the floor)."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("import_id"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    title: str = Field(max_length=300)
    issuer: str | None = Field(default=None, max_length=200)
    year: int = Field(index=True)
    source_file_id: uuid.UUID | None = Field(default=None, foreign_key="stored_files.id")
    source_sha256: str = Field(max_length=64)
    import_id: uuid.UUID | None = None
    published_at: datetime = timestamp_field()
    published_by: uuid.UUID = Field(foreign_key="users.id")
    updated_at: datetime = timestamp_field()


class PlanSection(SQLModel, table=True):
    __tablename__ = "plan_sections"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    plan_id: uuid.UUID = Field(foreign_key="plans.id", index=True)
    label: str = Field(max_length=20)
    title: str = Field(max_length=500)
    position: int


class PlanItem(SQLModel, table=True):
    """A numbered item as published; measures and targets keep the parse's shape (label/text, value/unit/…).
    `group_label`/`group_title` are the heading it sits under below its section (（一）…), if any."""

    __tablename__ = "plan_items"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    plan_id: uuid.UUID = Field(foreign_key="plans.id", index=True)
    section_id: uuid.UUID = Field(foreign_key="plan_sections.id", index=True)
    number: int | None = None
    title: str = Field(max_length=500)
    text: str
    measures: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    targets: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    deadline: date | None = None
    recurrence: str | None = Field(default=None, max_length=20)
    owners: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    position: int
    removed_in_update: bool = False
    group_label: str | None = Field(default=None, max_length=20)
    group_title: str | None = Field(default=None, max_length=500)
