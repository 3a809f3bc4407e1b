"""People, their browser sessions and their API tokens."""

import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from backend.core import clock
from backend.core.models import id_field, tenant_field, timestamp_field


class User(SQLModel, table=True):
    """One account per person across bureaus; global table, reached from a bureau only through Membership."""

    __tablename__ = "users"
    id: uuid.UUID = id_field()
    username: str = Field(max_length=50, unique=True)
    display_name: str = Field(max_length=50)
    email: str | None = Field(default=None, max_length=200)
    password_hash: str | None = Field(default=None, max_length=200)
    oidc_subject: str | None = Field(default=None, max_length=300, unique=True)
    is_operator: bool = False
    is_active: bool = True
    must_change_password: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = timestamp_field(nullable=True)
    password_changed_at: datetime | None = timestamp_field(nullable=True)
    last_login_at: datetime | None = timestamp_field(nullable=True)
    created_at: datetime = timestamp_field()


class WebSession(SQLModel, table=True):
    """A browser session; the cookie holds a random token, the row only its SHA-256."""

    __tablename__ = "web_sessions"
    id: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    current_tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenants.id")
    created_at: datetime = timestamp_field()
    last_seen_at: datetime = timestamp_field()
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    membership_id: uuid.UUID = Field(foreign_key="memberships.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = timestamp_field()
    last_used_at: datetime | None = timestamp_field(nullable=True)
    revoked_at: datetime | None = timestamp_field(nullable=True)
    # Set when the token is made (LUOSHI_API_TOKEN_VALID_DAYS); see tenancy.acting.token_refusal.
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= clock.now()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
