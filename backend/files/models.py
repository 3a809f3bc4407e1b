"""Stored files (plan sources now, evidence later): content lives in storage under its SHA-256."""

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field


class StoredFile(SQLModel, table=True):
    """One row per bureau and content: uploading the same bytes twice finds the same row."""

    __tablename__ = "stored_files"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    sha256: str = Field(max_length=64)
    size: int
    content_type: str = Field(max_length=100)
    filename: str = Field(max_length=255)
    created_at: datetime = timestamp_field()
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
