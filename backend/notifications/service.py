"""In-app notifications. Each decision to notify has a dedupe key, so repeating it never notifies twice."""

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.core.models import utcnow
from backend.notifications.models import Notification
from backend.tenancy.models import Membership, Role

PAGE_SIZE = 30


async def notify_unit(
    session: AsyncSession, tenant_id: uuid.UUID, unit_id: uuid.UUID, *, kind: str, key: str, title: str,
    body: str = "", link: str = "", roles: tuple[Role, ...] = (Role.unit_head, Role.unit_staff),
) -> int:
    """Notifies the active members of a unit; `key` identifies the decision (e.g. "assign:<task>:<unit>")."""
    members = select(Membership.id).where(Membership.unit_id == unit_id, col(Membership.is_active),
                                          col(Membership.role).in_(roles))
    return await _notify(session, tenant_id, list((await session.exec(members)).all()), kind=kind, key=key,
                         title=title, body=body, link=link)


async def notify_roles(
    session: AsyncSession, tenant_id: uuid.UUID, roles: tuple[Role, ...], *, kind: str, key: str, title: str,
    body: str = "", link: str = "",
) -> int:
    members = select(Membership.id).where(col(Membership.is_active), col(Membership.role).in_(roles))
    return await _notify(session, tenant_id, list((await session.exec(members)).all()), kind=kind, key=key,
                         title=title, body=body, link=link)


async def _notify(
    session: AsyncSession, tenant_id: uuid.UUID, membership_ids: list[uuid.UUID], *, kind: str, key: str,
    title: str, body: str, link: str,
) -> int:
    if not membership_ids:
        return 0
    rows = [
        {"id": uuid.uuid4(), "tenant_id": tenant_id, "membership_id": m, "dedupe_key": f"{key}:{m}"[:200],
         "kind": kind, "title": title[:200], "body": body[:1000], "link": link[:300], "created_at": utcnow()}
        for m in membership_ids
    ]
    statement = insert(Notification).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.exec(statement)
    return result.rowcount


async def list_for(session: AsyncSession, actor: Actor) -> list[Notification]:
    query = (select(Notification).where(Notification.membership_id == actor.membership_id)
             .order_by(col(Notification.created_at).desc()).limit(PAGE_SIZE))
    return list((await session.exec(query)).all())


async def unread_count(session: AsyncSession, actor: Actor) -> int:
    query = select(func.count()).select_from(Notification).where(
        Notification.membership_id == actor.membership_id, col(Notification.read_at).is_(None))
    return (await session.exec(query)).one()


async def open_notification(session: AsyncSession, actor: Actor, notification_id: uuid.UUID) -> str:
    """Marks one of the actor's notifications read and returns where it points ("" if it is not theirs)."""
    notification = (await session.exec(select(Notification).where(
        Notification.id == notification_id, Notification.membership_id == actor.membership_id))).first()
    if notification is None:
        return ""
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.add(notification)
    return notification.link


async def mark_all_read(session: AsyncSession, actor: Actor) -> None:
    await session.exec(update(Notification).where(
        col(Notification.membership_id) == actor.membership_id, col(Notification.read_at).is_(None)
    ).values(read_at=utcnow()))
