"""The bell: a person's in-app notifications and their preferences. Notifying (delivery/notify.py) writes the rows."""

import re
import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.core.roles import Role
from backend.errors import InvalidInput
from backend.i18n import _
from backend.notifications.models import Notification, NotificationPreference

PAGE_SIZE = 30


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
        notification.read_at = clock.now()
        session.add(notification)
    return notification.link


async def mark_all_read(session: AsyncSession, actor: Actor) -> None:
    await session.exec(update(Notification).where(
        col(Notification.membership_id) == actor.membership_id, col(Notification.read_at).is_(None)
    ).values(read_at=clock.now()))


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
              "weekly_digest": weekly_digest, "updated_at": clock.now()}
    # One statement, so that a form submitted twice at once cannot collide on the primary key.
    await session.exec(insert(NotificationPreference).values(
        membership_id=actor.membership_id, tenant_id=actor.tenant_id, **values,
    ).on_conflict_do_update(index_elements=["membership_id"], set_=values))
    await record(session, actor, "preferences.update", object_type="membership", object_id=actor.membership_id,
                 summary=_("修改本人的通知设置"),
                 details={k: v for k, v in values.items() if k not in ("phone", "updated_at")})
    return Preferences(email=email, sms=sms, phone=number, daily_digest=daily_digest, weekly_digest=weekly_digest,
                       address=current.address, weekly_offered=current.weekly_offered)
