"""The audit API's answer: one event of the log."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from backend.core.schemas import FROM_ROW


class AuditEventPublic(BaseModel):
    model_config = FROM_ROW

    occurred_at: datetime
    actor_name: str
    action: str
    object_type: str
    object_id: str
    summary: str
    details: dict[str, Any]
    ip: str | None
