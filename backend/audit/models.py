"""The append-only audit log: the database refuses UPDATE and DELETE on it."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from backend.core.models import id_field, timestamp_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    id: uuid.UUID = id_field()
    # Null only for platform events (an unknown login name, a bureau created by the operator before it exists).
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenants.id", index=True)
    occurred_at: datetime = timestamp_field(index=True)
    actor_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    actor_name: str = Field(default="", max_length=50)
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(default="", max_length=40)
    object_id: str = Field(default="", max_length=64)
    summary: str = Field(default="", max_length=500)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    ip: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
