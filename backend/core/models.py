"""Column helpers shared by every domain's tables."""

import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from backend.core import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Every table module imports this one first, so every constraint gets a stable name.
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def id_field() -> uuid.UUID:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def timestamp_field(nullable: bool = False, **kwargs) -> datetime:
    factory = None if nullable else (lambda: clock.now())  # the clock as moved at the time
    return Field(default_factory=factory, sa_column=Column(DateTime(timezone=True), nullable=nullable, **kwargs))


def tenant_field() -> uuid.UUID:
    return Field(foreign_key="tenants.id", index=True, nullable=False)
