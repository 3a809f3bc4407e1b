"""A bureau's reminder rules, the 督办单 its escalations issue, and supervisors' manual nudges (催办)."""

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field
from backend.i18n import N_, _


class NoticeLevel(enum.StrEnum):
    yellow = "yellow"
    red = "red"


class SupervisionNotice(SQLModel, table=True):
    """督办单: a formal notice issued when a unit's overdue work climbs a level; its .docx is a stored file.

    One per task, unit, level and deadline: an extension (a new deadline) can earn a new one."""

    __tablename__ = "supervision_notices"
    __table_args__ = (
        UniqueConstraint("task_id", "unit_id", "level", "deadline"),
        UniqueConstraint("tenant_id", "year", "seq"),
    )
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="units.id", index=True)
    level: NoticeLevel = Field(sa_type=AutoString(10))
    deadline: date
    workdays_overdue: int
    year: int
    seq: int
    file_id: uuid.UUID | None = Field(default=None, foreign_key="stored_files.id")
    issued_at: datetime = timestamp_field()

    @property
    def number(self) -> str:
        """督〔2026〕006号, as in the .docx, the notifications and the task page."""
        return _(NOTICE_NUMBER, year=self.year, seq=f"{self.seq:03d}")


# The one format of a 督办单's number; the reminder sweep's SQL fills the same (translated) template.
NOTICE_NUMBER = N_("督〔%(year)s〕%(seq)s号")
NOTICE_NUMBER_COLUMNS = {"year": "s.year::text", "seq": "lpad(s.seq::text, 3, '0')"}


class Nudge(SQLModel, table=True):
    """催办: a supervisor's push on a task's open units (or one of them); at most one per task (and unit) within the
    bureau's interval."""

    __tablename__ = "nudges"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    # The unit a batch nudge (催所有未报单位) was for; none when the whole task's open units were nudged.
    unit_id: uuid.UUID | None = Field(default=None, foreign_key="units.id")
    membership_id: uuid.UUID = Field(foreign_key="memberships.id")
    message: str = Field(default="", max_length=500)
    created_at: datetime = timestamp_field()
