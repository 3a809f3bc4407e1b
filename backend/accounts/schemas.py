"""The accounts API's bodies and answers."""

import uuid
from datetime import datetime

from pydantic import BaseModel

from backend.core.schemas import FROM_ROW


class MePublic(BaseModel):
    model_config = FROM_ROW  # read from the acting member

    user_id: uuid.UUID
    display_name: str
    tenant_id: uuid.UUID
    role: str
    unit_id: uuid.UUID | None


class TokenCreate(BaseModel):
    name: str


class TokenPublic(BaseModel):
    model_config = FROM_ROW

    id: uuid.UUID
    name: str
    prefix: str
    revoked: bool
    expires_at: datetime


class TokenCreated(TokenPublic):
    token: str
