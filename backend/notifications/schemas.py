"""The notifications API's bodies and answers: the notification centre and each person's preferences."""

import uuid
from datetime import datetime

from pydantic import BaseModel

from backend.core.schemas import FROM_ROW


class NotificationPublic(BaseModel):
    model_config = FROM_ROW

    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class PreferencesIn(BaseModel):
    email: bool = True
    sms: bool = False
    phone: str = ""
    daily_digest: bool = True
    weekly_digest: bool = True


class PreferencesPublic(PreferencesIn):
    model_config = FROM_ROW

    address: str
    weekly_offered: bool
