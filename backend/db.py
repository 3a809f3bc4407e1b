"""Engines and tenant-scoped transactions.

The app connects as a role that row-level security applies to; migrations run as the owner. Every unit of
work (request or job) is one transaction that sets `app.tenant_id` with SET LOCAL semantics, so a pooled
connection never carries one tenant's context into another's work.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import get_settings

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def owner_url() -> URL:
    """The URL migrations and role management use (the schema owner)."""
    settings = get_settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set (luoshi demo starts an embedded PostgreSQL for you)")
    return make_url(settings.database_url).set(drivername="postgresql+psycopg")


def app_url() -> URL:
    """The URL the app runs with: the owner's server and database, as the RLS-bound application role."""
    settings = get_settings()
    if settings.app_database_url:
        return make_url(settings.app_database_url).set(drivername="postgresql+psycopg")
    return owner_url().set(username=settings.app_db_role, password=settings.app_db_password)


def get_engine() -> AsyncEngine:
    global _engine, _sessionmaker
    if _engine is None:
        _engine = create_async_engine(app_url(), pool_pre_ping=True, pool_size=10, max_overflow=10)
        _sessionmaker = async_sessionmaker(_engine, class_=AsyncSession, expire_on_commit=False)
    return _engine


async def dispose_engine() -> None:
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = _sessionmaker = None


async def set_context(session: AsyncSession, tenant_id: uuid.UUID | None) -> None:
    await session.execute(
        text("SELECT set_config('app.tenant_id', :t, true)").bindparams(t=str(tenant_id) if tenant_id else "")
    )


# When the outbox rows a transaction writes are due: now, or the earlier moment a sweep decided them as of.
DUE_AT_SQL = "least(now(), coalesce(nullif(current_setting('luoshi.due_at', true), '')::timestamptz, now()))"


async def set_due_at(session: AsyncSession, at: datetime) -> None:
    """Messages decided as of a past moment (`luoshi remind --at`) are due at that moment, so a delivery run as of
    the same moment sends them; the real-clock worker finds them due at once too. Transaction-local."""
    await session.execute(text("SELECT set_config('luoshi.due_at', :at, true)").bindparams(at=at.isoformat()))


@asynccontextmanager
async def unit_of_work(tenant_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
    """One transaction, committed on success and rolled back on error, scoped to one tenant (or none)."""
    get_engine()
    assert _sessionmaker is not None
    async with _sessionmaker() as session, session.begin():
        await set_context(session, tenant_id)
        yield session
