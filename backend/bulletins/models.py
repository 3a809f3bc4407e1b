"""月通报: the monthly bulletin, drafted from the data on the 1st and published by a supervisor."""

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import AutoString, Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field


class BulletinState(enum.StrEnum):
    draft = "draft"
    published = "published"


class Bulletin(SQLModel, table=True):
    """One per bureau and month. `figures` is the snapshot of the numbers the bulletin was drafted from, so a
    published bulletin says forever what it said on the day (later edits to reports do not rewrite history)."""

    __tablename__ = "bulletins"
    __table_args__ = (UniqueConstraint("tenant_id", "year", "month"), UniqueConstraint("tenant_id", "year", "issue_no"))
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    year: int
    month: int
    # 〔2026〕11 期: numbered per bureau and year in order of publication.
    issue_no: int | None = None
    state: BulletinState = Field(default=BulletinState.draft, sa_type=AutoString(20))
    title: str = Field(default="", max_length=200)
    foreword: str = ""
    remarks: str = ""
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    computed_at: datetime = timestamp_field()
    published_at: datetime | None = timestamp_field(nullable=True)
    published_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
