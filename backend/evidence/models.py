"""Evidence (佐证材料): immutable once submitted; a new version supersedes, both stay in the 台账."""

import uuid
from datetime import date, datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    report_id: uuid.UUID | None = Field(default=None, foreign_key="progress_reports.id", index=True)
    file_id: uuid.UUID = Field(foreign_key="stored_files.id")
    thumbnail_file_id: uuid.UUID | None = Field(default=None, foreign_key="stored_files.id")
    filename: str = Field(max_length=255)
    kind: str = Field(max_length=20)  # image / pdf / document / spreadsheet / presentation / video
    description: str = Field(default="", max_length=500)
    covers_from: date | None = None
    covers_to: date | None = None
    supersedes_id: uuid.UUID | None = Field(default=None, foreign_key="evidence.id")
    submitted: bool = False
    uploaded_by: uuid.UUID = Field(foreign_key="users.id")
    uploaded_at: datetime = timestamp_field()
    # When a photo was taken, by the camera's clock (EXIF DateTimeOriginal, no zone); None when it does not say.
    taken_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=False))
