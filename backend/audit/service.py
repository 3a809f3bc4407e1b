"""Writing and reading the audit log. Every state change a person makes calls `record` in its transaction."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.models import AuditEvent
from backend.audit.policy import require_read
from backend.core.actor import Actor, Operator
from backend.core.clock import local_midnight

PAGE_SIZE = 50


async def record(
    session: AsyncSession,
    actor: Actor | Operator | None,
    action: str,
    *,
    summary: str,
    tenant_id: uuid.UUID | None = None,
    object_type: str = "",
    object_id: object = "",
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    event = AuditEvent(
        tenant_id=tenant_id or getattr(actor, "tenant_id", None),
        actor_user_id=actor.user_id if actor else None,
        actor_name=actor.display_name if actor else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id else "",
        summary=summary[:500],
        details=details or {},
        ip=ip or (actor.ip if actor else None),
        request_id=actor.request_id if actor else None,
    )
    session.add(event)
    await session.flush()


async def list_events(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str | None = None,
    actor_name: str | None = None,
    since: date | None = None,
    until: date | None = None,
    before: datetime | None = None,
) -> list[AuditEvent]:
    """Newest first, one page; `before` pages further back (keyset, so deep pages stay fast)."""
    require_read(actor)
    query = select(AuditEvent).where(AuditEvent.tenant_id == actor.tenant_id)
    if action:
        query = query.where(col(AuditEvent.action).startswith(action))
    if actor_name:
        query = query.where(col(AuditEvent.actor_name).contains(actor_name))
    if since:
        query = query.where(AuditEvent.occurred_at >= local_midnight(since, actor.timezone))
    if until:
        query = query.where(AuditEvent.occurred_at < local_midnight(until + timedelta(days=1), actor.timezone))
    if before:
        query = query.where(AuditEvent.occurred_at < before)
    query = query.order_by(col(AuditEvent.occurred_at).desc()).limit(PAGE_SIZE)
    return list((await session.exec(query)).all())
