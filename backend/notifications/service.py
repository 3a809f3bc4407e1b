"""In-app notifications. Each decision to notify has a dedupe key, so repeating it never notifies twice."""

import re
import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.audit.service import record
from backend.config import get_settings
from backend.core.actor import Actor
from backend.core.models import utcnow
from backend.core.roles import Role
from backend.db import DUE_AT_SQL
from backend.errors import InvalidInput
from backend.i18n import _
from backend.notifications.models import Notification, NotificationPreference
from backend.tenancy.models import Membership

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
    decided = ("SELECT m AS membership_id, CAST(:key AS text) AS key, CAST(:title AS text) AS title, "
               "CAST(:body AS text) AS body, CAST(:link AS text) AS link FROM unnest(CAST(:members AS uuid[])) AS m")
    return await notify_decided(session, tenant_id, decided, {
        "key": key, "title": title, "body": body, "link": link, "members": membership_ids}, kind=kind)


async def notify_decided(
    session: AsyncSession, tenant_id: uuid.UUID, decided_sql: str, params: dict, *, kind: str,
) -> int:
    """Turns a set of decisions into notifications in one statement: an in-app row per person, and, for the rows
    that are new, an e-mail and an SMS for whoever wants them (their preferences). `decided_sql` is a SELECT of
    (membership_id, key, title, body, link); `key` names the decision, the person is added to it.

    Returns how many people were newly notified; a decision already notified adds nothing, on any channel."""
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
        copies AS (
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
        ),
        queued AS (
            INSERT INTO outbox (id, tenant_id, dedupe_key, channel, recipient, subject, body_text, body_html,
                                message_id, state, attempts, next_attempt_at, last_error, created_at)
            SELECT id, CAST(:tenant_id AS uuid), left(dedupe_key || ':' || channel, 300), channel, left(recipient, 500),
                   left(title, 300), body || CASE WHEN link <> '' THEN E'\n\n' || :base_url || link ELSE '' END, '',
                   CASE WHEN channel = 'email' THEN '<' || id::text || '@luoshi>' ELSE id::text END,
                   'pending', 0, {DUE_AT_SQL}, '', now()
            FROM copies
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM new), (SELECT count(*) FROM queued)
    """)
    values = {**params, "tenant_id": tenant_id, "kind": kind, "base_url": get_settings().base_url.rstrip("/")}
    notified, _queued = (await session.exec(statement, params=values)).one()
    return notified


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


# --- each person's own notification preferences ----------------------------------------------------------

MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")


@dataclass(frozen=True)
class Preferences:
    email: bool
    sms: bool
    phone: str
    daily_digest: bool
    weekly_digest: bool
    address: str  # the person's e-mail address; "" when they have none (then no e-mail can be sent)
    weekly_offered: bool  # the weekly digest goes to leaders only


def normalise_phone(raw: str) -> str:
    """Full-width digits, blanks, dashes and a +86 / 0086 prefix are what people type; 13812345678 is kept."""
    text_ = unicodedata.normalize("NFKC", raw or "")
    text_ = re.sub(r"[\s\-()]", "", text_)
    for prefix in ("+86", "0086"):
        if text_.startswith(prefix):
            text_ = text_[len(prefix):]
    if len(text_) == 13 and text_.startswith("86"):
        text_ = text_[2:]
    return text_


async def get_preferences(session: AsyncSession, actor: Actor) -> Preferences:
    """The actor's own preferences (no row yet: e-mail on, no SMS, both digests on)."""
    row = await session.get(NotificationPreference, actor.membership_id)
    user = await session.get(User, actor.user_id)
    row = row or NotificationPreference(membership_id=actor.membership_id, tenant_id=actor.tenant_id)
    return Preferences(email=row.email, sms=row.sms, phone=row.phone, daily_digest=row.daily_digest,
                       weekly_digest=row.weekly_digest, address=(user.email or "") if user else "",
                       weekly_offered=actor.role == Role.leader)


async def update_preferences(
    session: AsyncSession, actor: Actor, *, email: bool, sms: bool, phone: str, daily_digest: bool,
    weekly_digest: bool,
) -> Preferences:
    """Saves the actor's own preferences (nobody sets another person's). The phone number is stored normalised;
    SMS needs one. Only leaders are offered the weekly digest: for anyone else the stored choice stays."""
    number = normalise_phone(phone)
    if number and not MOBILE_RE.fullmatch(number):
        raise InvalidInput(_("手机号码应为 11 位中国大陆手机号，例如 13812345678。"), field="phone")
    if sms and not number:
        raise InvalidInput(_("开启短信提醒需要填写手机号码。"), field="phone")
    current = await get_preferences(session, actor)
    if not current.weekly_offered:
        weekly_digest = current.weekly_digest
    values = {"email": email, "sms": sms, "phone": number, "daily_digest": daily_digest,
              "weekly_digest": weekly_digest, "updated_at": utcnow()}
    # One statement, so that a form submitted twice at once cannot collide on the primary key.
    await session.exec(insert(NotificationPreference).values(
        membership_id=actor.membership_id, tenant_id=actor.tenant_id, **values,
    ).on_conflict_do_update(index_elements=["membership_id"], set_=values))
    await record(session, actor, "preferences.update", object_type="membership", object_id=actor.membership_id,
                 summary=_("修改本人的通知设置"),
                 details={k: v for k, v in values.items() if k not in ("phone", "updated_at")})
    return Preferences(email=email, sms=sms, phone=number, daily_digest=daily_digest, weekly_digest=weekly_digest,
                       address=current.address, weekly_offered=current.weekly_offered)
