"""The tenancy API's bodies and answers: units, members, invitations and (for the operator) bureaus."""

import uuid

from pydantic import BaseModel

from backend.core.roles import Role
from backend.core.schemas import FROM_ROW, from_view
from backend.tenancy.models import UnitKind


class UnitIn(BaseModel):
    name: str
    kind: UnitKind = UnitKind.office
    parent_id: uuid.UUID | None = None


class UnitPublic(UnitIn):
    model_config = from_view("unit")  # a unit of the tree, or a unit just made (depth and count 0)

    id: uuid.UUID
    depth: int = 0
    member_count: int = 0


class MemberPublic(BaseModel):
    model_config = from_view("membership", "user")

    id: uuid.UUID
    user_id: uuid.UUID
    username: str
    display_name: str
    role: Role
    unit_id: uuid.UUID | None
    is_active: bool


class MemberUpdate(BaseModel):
    role: Role
    unit_id: uuid.UUID | None = None


class InvitationIn(BaseModel):
    display_name: str
    role: Role
    unit_id: uuid.UUID | None = None


class InvitationPublic(BaseModel):
    id: uuid.UUID
    link: str


class TenantIn(BaseModel):
    name: str
    code: str
    admin_name: str
    admin_username: str


class TenantPublic(BaseModel):
    model_config = FROM_ROW

    id: uuid.UUID
    name: str
    code: str
    is_active: bool


class TenantCreated(TenantPublic):
    admin_username: str
    admin_password: str
