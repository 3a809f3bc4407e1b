"""The delivery API's answers. Addresses and secrets are masked by the schema itself, so no answer shows one whole."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ValidationInfo, field_validator

from backend.core.schemas import FROM_ROW
from backend.delivery.masks import mask_recipient, mask_secret, mask_url


class ChannelPublic(BaseModel):
    model_config = FROM_ROW

    id: uuid.UUID
    kind: str
    url: Annotated[str, AfterValidator(mask_url)]  # a webhook address is itself a key
    secret: Annotated[str, AfterValidator(mask_secret)]
    enabled: bool
    unit_id: uuid.UUID | None


class OutboxCountsPublic(BaseModel):
    model_config = FROM_ROW

    pending: int
    sent_today: int
    dead: int


class DeadMessagePublic(BaseModel):
    model_config = FROM_ROW

    id: uuid.UUID
    channel: str
    recipient: str  # masked for phone numbers and webhook keys
    subject: str
    attempts: int
    last_error: str
    created_at: datetime

    @field_validator("recipient")
    @classmethod
    def _masked(cls, recipient: str, info: ValidationInfo) -> str:
        return mask_recipient(info.data.get("channel", ""), recipient)


class DeadLettersPublic(BaseModel):
    model_config = FROM_ROW

    counts: OutboxCountsPublic
    messages: list[DeadMessagePublic]


class RetryIn(BaseModel):
    ids: list[uuid.UUID]


class RetryOut(BaseModel):
    retried: int
