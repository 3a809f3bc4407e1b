"""The delivery outbox and each bureau's (and unit's) channel settings.

An outbox row is written in the same transaction as the decision it announces; the sender job delivers it later.
"""

import enum
import uuid
from datetime import datetime, time

from sqlalchemy import ARRAY, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field


class Channel(enum.StrEnum):
    inapp = "inapp"
    email = "email"
    wecom = "wecom"
    dingtalk = "dingtalk"
    feishu = "feishu"
    sms = "sms"


class OutboxState(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    dead = "dead"


class ConfigKind(enum.StrEnum):
    wecom = "wecom"
    dingtalk = "dingtalk"
    feishu = "feishu"
    smtp_sender = "smtp-sender"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "tenant_id", "state", "next_attempt_at"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    dedupe_key: str = Field(max_length=300, unique=True)
    channel: str = Field(max_length=20)
    # An e-mail address, a webhook URL, a phone number or (in-app) a membership id.
    recipient: str = Field(max_length=500)
    subject: str = Field(default="", max_length=300)
    body_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False))
    # Sent with every copy, so that a receiver recognises a resend: the e-mail's Message-ID, a webhook's key.
    message_id: str = Field(max_length=200, unique=True)
    state: str = Field(default=OutboxState.pending, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = timestamp_field()
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = timestamp_field()
    sent_at: datetime | None = timestamp_field(nullable=True)


class ChannelConfig(SQLModel, table=True):
    """A group robot (or the bureau's e-mail sender) of a bureau, or of one of its units (unit_id set)."""

    __tablename__ = "channel_configs"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    unit_id: uuid.UUID | None = Field(default=None, foreign_key="units.id", index=True)
    kind: str = Field(max_length=20)
    # The webhook URL, or for smtp-sender the From address.
    url: str = Field(max_length=500)
    # DingTalk's (or Feishu's) signing secret; empty when the robot is not signed.
    secret: str = Field(default="", max_length=200)
    enabled: bool = True
    created_at: datetime = timestamp_field()


DEFAULT_DEADLINE_WORKDAYS = (7, 3, 1)
DEFAULT_REPORT_DAY_WORKDAYS = (3, 0)


class ReminderPolicy(SQLModel, table=True):
    """One row per bureau; a bureau without one runs on the defaults below. The reminder sweep reads its rules and
    the outbox its quiet hours, so it sits with delivery, the lower of the two."""

    __tablename__ = "reminder_policies"
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    enabled: bool = True
    # Working days before a deadline on which its units are reminded.
    deadline_workdays: list[int] = Field(
        default_factory=lambda: list(DEFAULT_DEADLINE_WORKDAYS), sa_column=Column(ARRAY(Integer), nullable=False))
    # Working days before the report day (0: the day itself) on which units with no report yet are reminded.
    report_day_workdays: list[int] = Field(
        default_factory=lambda: list(DEFAULT_REPORT_DAY_WORKDAYS), sa_column=Column(ARRAY(Integer), nullable=False))
    escalate_unit_head_after: int = 1  # working days overdue → the unit head, with a yellow 督办单
    escalate_leaders_after: int = 5  # working days overdue → supervisors and leaders, with a red 督办单
    quiet_start: time = time(22, 0)
    quiet_end: time = time(7, 0)
    nudge_interval_hours: int = 24
    daily_digest_at: time = time(7, 30)
    weekly_digest_weekday: int = 1  # ISO weekday of the leaders' overview (1 = Monday)
    updated_at: datetime = timestamp_field()
