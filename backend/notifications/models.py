"""In-app notifications; the reminders issue adds e-mail and robot channels through the same decisions."""

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    membership_id: uuid.UUID = Field(foreign_key="memberships.id", index=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=1000)
    link: str = Field(default="", max_length=300)
    created_at: datetime = timestamp_field()
    read_at: datetime | None = timestamp_field(nullable=True)


class NotificationPreference(SQLModel, table=True):
    """How one person wants to hear from Luoshi; without a row: e-mail on (when they have an address), no SMS,
    both digests on. The in-app bell always gets everything."""

    __tablename__ = "notification_preferences"
    membership_id: uuid.UUID = Field(foreign_key="memberships.id", primary_key=True)
    tenant_id: uuid.UUID = tenant_field()
    email: bool = True
    sms: bool = False
    phone: str = Field(default="", max_length=20)
    daily_digest: bool = True
    weekly_digest: bool = True
    updated_at: datetime = timestamp_field()
