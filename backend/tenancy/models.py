"""Bureaus (tenants), their units and who belongs to them."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from backend.config import get_settings
from backend.core.models import id_field, tenant_field, timestamp_field
from backend.core.roles import Role
from backend.i18n import N_, _


class UnitKind(enum.StrEnum):
    office = "office"
    school = "school"
    kindergarten = "kindergarten"
    sub_bureau = "sub_bureau"
    other = "other"


class Tenant(SQLModel, table=True):
    """A bureau: the customer. Global table (no RLS): it is the key every other row is scoped by."""

    __tablename__ = "tenants"
    id: uuid.UUID = id_field()
    name: str = Field(max_length=100, unique=True)
    code: str = Field(max_length=40, unique=True)
    timezone: str = Field(default_factory=lambda: get_settings().default_timezone, max_length=64)
    is_active: bool = True
    created_at: datetime = timestamp_field()


class Unit(SQLModel, table=True):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="units.id", index=True)
    name: str = Field(max_length=100)
    kind: UnitKind = Field(default=UnitKind.office, sa_type=AutoString(20))
    sort_order: int = 0
    created_at: datetime = timestamp_field()


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        CheckConstraint(
            "role NOT IN ('unit_head', 'unit_staff') OR unit_id IS NOT NULL", name="unit_role_has_unit"
        ),
    )
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    role: Role = Field(sa_type=AutoString(20))
    unit_id: uuid.UUID | None = Field(default=None, foreign_key="units.id", index=True)
    is_active: bool = True
    created_at: datetime = timestamp_field()


class Invitation(SQLModel, table=True):
    """An invite link: the raw token exists only in the link; we keep its hash."""

    __tablename__ = "invitations"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    token_hash: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=50)
    role: Role = Field(sa_type=AutoString(20))
    unit_id: uuid.UUID | None = Field(default=None, foreign_key="units.id")
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()
    accepted_at: datetime | None = timestamp_field(nullable=True)
    accepted_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")


UNIT_KIND_LABELS = {
    UnitKind.office: N_("科室"),
    UnitKind.school: N_("学校"),
    UnitKind.kindergarten: N_("幼儿园"),
    UnitKind.sub_bureau: N_("下级教育局"),
    UnitKind.other: N_("其他"),
}


def unit_kind_label(kind: UnitKind | str) -> str:
    return _(UNIT_KIND_LABELS[UnitKind(kind)])


class BureauSettings(SQLModel, table=True):
    """A bureau's own rules for the monthly loop."""

    __tablename__ = "bureau_settings"
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    report_day: int = 25
    unit_head_approval: bool = False
