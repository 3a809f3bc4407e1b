"""Notifying people of decisions: an in-app notification (the bell) per person and, for whoever wants them, an
e-mail and an SMS through the outbox. Every write to the outbox is delivery's, so this lives here."""

import uuid

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import get_settings
from backend.core.roles import Role
from backend.delivery.service import outbox_insert
from backend.tenancy.models import Membership


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
    decided = ("SELECT m AS membership_id, CAST(:key AS text) AS key, CAST(:title AS text) AS title, "
               "CAST(:body AS text) AS body, CAST(:link AS text) AS link FROM unnest(CAST(:members AS uuid[])) AS m")
    return await notify_decided(session, tenant_id, decided, {
        "key": key, "title": title, "body": body, "link": link, "members": membership_ids}, kind=kind)


# Who gets a copy of each new notification (a CTE over `new`, one row per notification and channel): an e-mail
# unless the person turned e-mail off, an SMS if they asked for one. The bench's bulk seeding uses it too.
COPIES_SQL = """
    SELECT gen_random_uuid() AS id, c.* FROM (
        SELECT 'email' AS channel, u.email AS recipient, n.* FROM new n
        JOIN memberships m ON m.id = n.membership_id JOIN users u ON u.id = m.user_id
        LEFT JOIN notification_preferences p ON p.membership_id = m.id
        WHERE coalesce(p.email, true) AND coalesce(u.email, '') <> '' AND u.is_active
        UNION ALL
        SELECT 'sms', p.phone, n.* FROM new n
        JOIN notification_preferences p ON p.membership_id = n.membership_id
        WHERE p.sms AND p.phone <> ''
    ) c
"""


async def notify_decided(
    session: AsyncSession, tenant_id: uuid.UUID, decided_sql: str, params: dict, *, kind: str,
) -> int:
    """Turns a set of decisions into notifications in one statement: an in-app row per person, and, for the rows
    that are new, an e-mail and an SMS for whoever wants them (their preferences). `decided_sql` is a SELECT of
    (membership_id, key, title, body, link); `key` names the decision, the person is added to it.

    Returns how many people were newly notified; a decision already notified adds nothing, on any channel."""
    queued = outbox_insert(
        "copies", dedupe_key="dedupe_key || ':' || channel", channel="channel", recipient="left(recipient, 500)",
        body_text="body || CASE WHEN link <> '' THEN E'\n\n' || :base_url || link ELSE '' END",
        message_id="CASE WHEN channel = 'email' THEN '<' || id::text || '@luoshi>' ELSE id::text END")
    statement = text(f"""
        WITH decided AS ({decided_sql}),
        new AS (
            INSERT INTO notifications (id, tenant_id, membership_id, dedupe_key, kind, title, body, link, created_at)
            SELECT gen_random_uuid(), CAST(:tenant_id AS uuid), d.membership_id,
                   left(d.key || ':' || d.membership_id::text, 200), :kind, left(d.title, 200), left(d.body, 1000),
                   left(d.link, 300), now()
            FROM decided d
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING membership_id, dedupe_key, title, body, link
        ),
        copies AS ({COPIES_SQL}),
        queued AS ({queued})
        SELECT (SELECT count(*) FROM new), (SELECT count(*) FROM queued)
    """)
    values = {**params, "tenant_id": tenant_id, "kind": kind, "base_url": get_settings().base_url.rstrip("/")}
    notified, _queued = (await session.execute(statement, params=values)).one()
    return notified
