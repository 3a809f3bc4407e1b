"""The outbox: decisions queue messages in their own transaction; the sender delivers them with retries.

Delivery claims a batch in one short transaction (pushing each row's next attempt a lease ahead, so that no other
sender takes it), sends outside any transaction, and records the outcome in another. A crash after a hand-off and
before the bookkeeping resends that message once the lease ends, with the same message id.
"""

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.core.actor import Actor
from backend.core.models import utcnow
from backend.db import unit_of_work
from backend.delivery import channels
from backend.delivery.models import Channel, ChannelConfig, ConfigKind, OutboxMessage, OutboxState
from backend.errors import InvalidInput
from backend.i18n import _
from backend.notifications.models import Notification

MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=5)
CONCURRENCY = 20


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: 1, 2, 4, 8 … minutes."""
    return timedelta(minutes=2 ** max(attempts - 1, 0))


async def queue_message(
    session: AsyncSession, tenant_id: uuid.UUID, *, dedupe_key: str, channel: Channel | str, recipient: str,
    subject: str, body_text: str, body_html: str = "",
) -> bool:
    """Writes one outbox row in the caller's transaction; False when this decision was already queued."""
    channel = Channel(channel)
    row_id = uuid.uuid4()
    message_id = f"<{row_id}@luoshi>" if channel == Channel.email else str(row_id)
    now = utcnow()
    statement = insert(OutboxMessage).values(
        id=row_id, tenant_id=tenant_id, dedupe_key=dedupe_key[:300], channel=channel.value,
        recipient=recipient[:500], subject=subject[:300], body_text=body_text, body_html=body_html,
        message_id=message_id, state=OutboxState.pending.value, attempts=0, next_attempt_at=now, last_error="",
        created_at=now,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OutboxMessage.id)
    return (await session.exec(statement)).first() is not None


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def claimed(self) -> int:
        return self.sent + self.failed + self.dead


async def _claim(tenant_id: uuid.UUID, limit: int, now: datetime) -> list[tuple[OutboxMessage, str]]:
    async with unit_of_work(tenant_id) as session:
        due = (select(OutboxMessage)
               .where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.state == OutboxState.pending,
                      col(OutboxMessage.next_attempt_at) <= now)
               .order_by(col(OutboxMessage.next_attempt_at)).limit(limit).with_for_update(skip_locked=True))
        rows = list((await session.exec(due)).all())
        if not rows:
            return []
        await session.exec(update(OutboxMessage).where(col(OutboxMessage.id).in_([r.id for r in rows]))
                           .values(next_attempt_at=now + LEASE, attempts=OutboxMessage.attempts + 1)
                           .execution_options(synchronize_session=False))
        secrets = {(c.kind, c.url): c.secret for c in (await session.exec(
            select(ChannelConfig).where(col(ChannelConfig.enabled),
                                        col(ChannelConfig.kind).in_([ConfigKind.dingtalk, ConfigKind.feishu])))).all()}
        claimed = []
        for row in rows:
            session.expunge(row)
            row.attempts += 1
            claimed.append((row, secrets.get((row.channel, row.recipient), "")))
        return claimed


async def _send(row: OutboxMessage, secret: str, gate: asyncio.Semaphore) -> str | None:
    """None when sent (in-app rows are written when the outcome is recorded), else the error."""
    if row.channel == Channel.inapp:
        return None
    outgoing = channels.Outgoing(id=str(row.id), channel=row.channel, recipient=row.recipient, subject=row.subject,
                                 body_text=row.body_text, body_html=row.body_html, message_id=row.message_id,
                                 secret=secret)
    async with gate:
        try:
            await channels.send(outgoing)
        except Exception as error:  # noqa: BLE001 — any failure of one channel is that message's failure only
            return f"{type(error).__name__}: {error}"[:1000] or "error"
    return None


async def deliver_due(tenant_id: uuid.UUID, limit: int = 100, *, now: datetime | None = None) -> DeliveryResult:
    """Delivers up to `limit` due messages of one bureau; safe to run concurrently and repeatedly."""
    now = now or utcnow()
    claimed = await _claim(tenant_id, limit, now)
    result = DeliveryResult()
    if not claimed:
        return result
    gate = asyncio.Semaphore(CONCURRENCY)
    errors = await asyncio.gather(*(_send(row, secret, gate) for row, secret in claimed))
    async with unit_of_work(tenant_id) as session:
        for (row, _secret), error in zip(claimed, errors, strict=True):
            pending = (col(OutboxMessage.id) == row.id, col(OutboxMessage.state) == OutboxState.pending)
            if error is None:
                if row.channel == Channel.inapp:
                    await _write_inapp(session, row)
                await session.exec(update(OutboxMessage).where(*pending).values(
                    state=OutboxState.sent, sent_at=utcnow(), last_error=""))
                result.sent += 1
                continue
            result.errors[str(row.id)] = error
            if row.attempts >= MAX_ATTEMPTS:
                values = {"state": OutboxState.dead, "last_error": error}
                result.dead += 1
            else:
                values = {"next_attempt_at": now + backoff(row.attempts), "last_error": error}
                result.failed += 1
            await session.exec(update(OutboxMessage).where(*pending).values(**values))
    return result


async def _write_inapp(session: AsyncSession, row: OutboxMessage) -> None:
    statement = insert(Notification).values(
        id=uuid.uuid4(), tenant_id=row.tenant_id, membership_id=uuid.UUID(row.recipient),
        dedupe_key=row.dedupe_key[:200], kind="message", title=row.subject[:200], body=row.body_text[:1000], link="",
        created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["dedupe_key"])
    await session.exec(statement)


async def list_dead(session: AsyncSession, actor: Actor) -> list[OutboxMessage]:
    """The dead-letter list: what kept failing, newest first."""
    actor.require("members.manage")
    query = (select(OutboxMessage)
             .where(OutboxMessage.tenant_id == actor.tenant_id, OutboxMessage.state == OutboxState.dead)
             .order_by(col(OutboxMessage.created_at).desc()).limit(500))
    return list((await session.exec(query)).all())


async def retry_dead(session: AsyncSession, actor: Actor, ids: list[uuid.UUID]) -> int:
    """Gives dead messages a fresh set of attempts, due now; returns how many came back."""
    actor.require("members.manage")
    if not ids:
        return 0
    statement = (update(OutboxMessage)
                 .where(col(OutboxMessage.tenant_id) == actor.tenant_id, col(OutboxMessage.id).in_(ids),
                        col(OutboxMessage.state) == OutboxState.dead)
                 .values(state=OutboxState.pending, attempts=0, next_attempt_at=utcnow()))
    return (await session.exec(statement)).rowcount


async def add_channel(
    session: AsyncSession, actor: Actor, *, kind: str, url: str, secret: str = "", unit_id: uuid.UUID | None = None,
) -> ChannelConfig:
    """A bureau's (or a unit's) group robot or e-mail sender; only the bureau's administrator sets them."""
    actor.require("units.manage")
    if kind not in {k.value for k in ConfigKind}:
        raise InvalidInput(_("不支持的通知渠道类型。"), field="kind")
    url = url.strip()
    if kind == ConfigKind.smtp_sender:
        if "@" not in url:
            raise InvalidInput(_("请填写发件邮箱地址，例如 duban@example.gov.cn。"), field="url")
    elif not url.startswith(("https://", "http://")):
        raise InvalidInput(_("请填写群机器人的 Webhook 地址（以 https:// 开头）。"), field="url")
    config = ChannelConfig(tenant_id=actor.tenant_id, unit_id=unit_id, kind=kind, url=url[:500],
                           secret=secret.strip()[:200])
    session.add(config)
    await session.flush()
    await record(session, actor, "channel.add", object_type="channel_config", object_id=config.id,
                 summary=_("添加通知渠道（%(kind)s）", kind=kind))
    return config
