"""The outbox: decisions queue messages in their own transaction; the sender delivers them with retries.

Delivery claims a batch in one short transaction (pushing each row's next attempt a lease ahead, so that no other
sender takes it), sends outside any transaction, and records the outcome in another. A crash after a hand-off and
before the bookkeeping resends that message once the lease ends, with the same message id.
"""

import asyncio
import logging
import os
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.config import get_settings
from backend.core import clock
from backend.core.actor import Actor
from backend.core.clock import local_now
from backend.db import DUE_AT_SQL, unit_of_work
from backend.delivery import channels
from backend.delivery.masks import mask_url
from backend.delivery.models import Channel, ChannelConfig, ConfigKind, OutboxMessage, OutboxState, ReminderPolicy
from backend.delivery.policy import require_manage_channels, require_manage_outbox
from backend.delivery.quiet import in_quiet_hours
from backend.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from backend.i18n import N_, _
from backend.notifications.models import Notification
from backend.tenancy.models import Tenant, Unit
from backend.tenancy.service import UnitNode, list_units

log = logging.getLogger("luoshi.delivery")

MAX_ATTEMPTS = 6
# Overridable so that tests can restart a killed sender without waiting out five minutes.
LEASE = timedelta(seconds=int(os.environ.get("LUOSHI_DELIVERY_LEASE_SECONDS", "300")))
CONCURRENCY = 20
# Test messages a channel takes in a minute: each click is one, but a burst (or a script) must not flood the group.
TEST_BURST = 3


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
    now = clock.now()
    statement = insert(OutboxMessage).values(
        id=row_id, tenant_id=tenant_id, dedupe_key=dedupe_key[:300], channel=channel.value,
        recipient=recipient[:500], subject=subject[:300], body_text=body_text, body_html=body_html,
        message_id=message_id, state=OutboxState.pending.value, attempts=0, next_attempt_at=now, last_error="",
        created_at=now,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(col(OutboxMessage.id))
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


async def _quiet(session: AsyncSession, tenant_id: uuid.UUID, now: datetime) -> bool:
    """Within the bureau's quiet hours (its own clock) nothing leaves; it waits for the morning."""
    policy = await session.get(ReminderPolicy, tenant_id) or ReminderPolicy(tenant_id=tenant_id)
    tenant = await session.get(Tenant, tenant_id)
    local = local_now(tenant.timezone if tenant else None, now)
    return in_quiet_hours(local, policy.quiet_start, policy.quiet_end)


async def _claim(tenant_id: uuid.UUID, limit: int, now: datetime) -> list[tuple[OutboxMessage, str]]:
    async with unit_of_work(tenant_id) as session:
        if await _quiet(session, tenant_id, now):
            return []
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
        # Secrets of disabled robots too: what was queued before an admin switched one off still goes out signed.
        configs = (await session.exec(select(ChannelConfig).where(
            col(ChannelConfig.kind).in_([ConfigKind.dingtalk, ConfigKind.feishu, ConfigKind.smtp_sender])))).all()
        secrets = {(c.kind, c.url): c.secret for c in configs if c.kind != ConfigKind.smtp_sender}
        # The bureau's own From address (its 发件邮箱), when it set one.
        sender = next((c.url for c in configs if c.kind == ConfigKind.smtp_sender and c.enabled and c.unit_id is None),
                      "")
        claimed = []
        for row in rows:
            session.expunge(row)
            row.attempts += 1
            extra = sender if row.channel == Channel.email else secrets.get((row.channel, row.recipient), "")
            claimed.append((row, extra))
        return claimed


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _gate() -> asyncio.Semaphore:
    """One gate per process (per event loop), shared by every deliver_due running in it: at most CONCURRENCY
    messages are between hand-off and bookkeeping at any moment, so a crash repeats at most that many."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(CONCURRENCY)
    return gate


async def _send(row: OutboxMessage, extra: str) -> str | None:
    """None when sent (in-app rows are written when the outcome is recorded), else the error. `extra` is the
    robot's signing secret, or for e-mail the bureau's From address."""
    if row.channel == Channel.inapp:
        return None
    email = row.channel == Channel.email
    outgoing = channels.Outgoing(id=str(row.id), channel=row.channel, recipient=row.recipient, subject=row.subject,
                                 body_text=row.body_text, body_html=row.body_html, message_id=row.message_id,
                                 secret="" if email else extra, sender=extra if email else "")
    try:
        await channels.send(outgoing)
    except channels.ChannelError as error:  # our own words only: a receiver's reply is never stored or shown
        return f"{type(error).__name__}: {error}"[:1000]
    except Exception as error:  # noqa: BLE001 — any failure of one channel is that message's failure only
        log.warning("delivery %s failed", row.id, exc_info=True)
        return f"{type(error).__name__}"
    return None


async def _deliver_one(tenant_id: uuid.UUID, row: OutboxMessage, extra: str, now: datetime,
                       result: DeliveryResult) -> None:
    """Sends one message and records its outcome before giving up its place at the gate."""
    async with _gate():
        error = await _send(row, extra)
        async with unit_of_work(tenant_id) as session:
            pending = (col(OutboxMessage.id) == row.id, col(OutboxMessage.state) == OutboxState.pending)
            if error is None:
                if row.channel == Channel.inapp:
                    await _write_inapp(session, row)
                await session.exec(update(OutboxMessage).where(*pending).values(
                    state=OutboxState.sent, sent_at=clock.now(), last_error=""))
                result.sent += 1
                return
            values: dict[str, object]
            if row.attempts >= MAX_ATTEMPTS:
                values = {"state": OutboxState.dead, "last_error": error}
                result.dead += 1
            else:
                values = {"next_attempt_at": now + backoff(row.attempts), "last_error": error}
                result.failed += 1
            await session.exec(update(OutboxMessage).where(*pending).values(**values))
        result.errors[str(row.id)] = error


async def deliver_due(tenant_id: uuid.UUID, limit: int = 100, *, now: datetime | None = None) -> DeliveryResult:
    """Delivers up to `limit` due messages of one bureau; safe to run concurrently and repeatedly."""
    now = now or clock.now()
    claimed = await _claim(tenant_id, limit, now)
    result = DeliveryResult()
    await asyncio.gather(*(_deliver_one(tenant_id, row, extra, now, result) for row, extra in claimed))
    return result


async def _write_inapp(session: AsyncSession, row: OutboxMessage) -> None:
    statement = insert(Notification).values(
        id=uuid.uuid4(), tenant_id=row.tenant_id, membership_id=uuid.UUID(row.recipient),
        dedupe_key=row.dedupe_key[:200], kind="message", title=row.subject[:200], body=row.body_text[:1000], link="",
        created_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=["dedupe_key"])
    await session.exec(statement)


async def list_dead(session: AsyncSession, actor: Actor) -> list[OutboxMessage]:
    """The dead-letter list: what kept failing, newest first."""
    require_manage_outbox(actor)
    query = (select(OutboxMessage)
             .where(OutboxMessage.tenant_id == actor.tenant_id, OutboxMessage.state == OutboxState.dead)
             .order_by(col(OutboxMessage.created_at).desc()).limit(500))
    return list((await session.exec(query)).all())


async def add_channel(
    session: AsyncSession, actor: Actor, *, kind: str, url: str, secret: str = "", unit_id: uuid.UUID | None = None,
) -> ChannelConfig:
    """A bureau's (or a unit's) group robot or e-mail sender; only the bureau's administrator sets them."""
    require_manage_channels(actor)
    if kind not in {k.value for k in ConfigKind}:
        raise InvalidInput(_("不支持的通知渠道类型。"), field="kind")
    url = url.strip()
    if kind == ConfigKind.smtp_sender:
        if "@" not in url:
            raise InvalidInput(_("请填写发件邮箱地址，例如 duban@example.gov.cn。"), field="url")
    elif not url.startswith(("https://", "http://")) or not _is_web_address(url):
        raise InvalidInput(_("请填写群机器人的 Webhook 地址（以 https:// 开头）。"), field="url")
    if len(url) > 500:
        raise InvalidInput(_("地址太长（不超过 500 个字符），请检查是否多复制了内容。"), field="url")
    if kind != ConfigKind.smtp_sender:
        await _refuse_private_webhook(url)
    # RLS hides the units of other bureaus: a unit that cannot be read is not this bureau's.
    if unit_id is not None and await session.get(Unit, unit_id) is None:
        raise InvalidInput(_("所选单位不存在或不属于本局，请重新选择。"), field="unit_id")
    await _refuse_duplicate_channel(session, kind=kind, url=url, unit_id=unit_id)
    config = ChannelConfig(tenant_id=actor.tenant_id, unit_id=unit_id, kind=kind, url=url[:500],
                           secret=secret.strip()[:200])
    session.add(config)
    await session.flush()
    await record(session, actor, "channel.add", object_type="channel_config", object_id=config.id,
                 summary=_("添加通知渠道（%(kind)s）", kind=kind))
    return config


def outbox_insert(source: str, *, dedupe_key: str, channel: str, recipient: str, body_text: str,
                  message_id: str) -> str:
    """The one set-based write of outbox rows (`queue_message` is its one-row form): a pending row, due now or at
    the held clock, per row of `source` (a CTE whose columns include `id` and `title`); the other arguments are SQL
    expressions over its columns. A dedupe key already queued adds nothing. RETURNING 1 per new row."""
    return f"""
            INSERT INTO outbox (id, tenant_id, dedupe_key, channel, recipient, subject, body_text, body_html,
                                message_id, state, attempts, next_attempt_at, last_error, created_at)
            SELECT id, CAST(:tenant_id AS uuid), left({dedupe_key}, 300), {channel}, {recipient},
                   left(title, 300), {body_text}, '',
                   {message_id}, 'pending', 0, {DUE_AT_SQL}, '', now()
            FROM {source}
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING 1
        """


async def queue_robot_messages(session: AsyncSession, tenant_id: uuid.UUID, decided_sql: str, params: dict) -> int:
    """One message per decision to each enabled group robot it concerns: a unit's decisions (unit_id set) to that
    unit's robots, the bureau's (unit_id NULL) to the bureau's. `decided_sql` is a SELECT of
    (unit_id, key, title, body, link). Returns how many were newly queued."""
    queued = outbox_insert("copies", dedupe_key="key || '/robot/' || config_id::text", channel="kind", recipient="url",
                           body_text="body || CASE WHEN link <> '' THEN E'\\n' || :base_url || link ELSE '' END",
                           message_id="id::text")
    statement = text(f"""
        WITH decided AS ({decided_sql}),
        copies AS (
            SELECT gen_random_uuid() AS id, c.id AS config_id, c.kind, c.url, d.* FROM decided d
            JOIN channel_configs c ON c.enabled AND c.kind IN ('wecom', 'dingtalk', 'feishu')
                 AND c.unit_id IS NOT DISTINCT FROM d.unit_id
        ),
        queued AS ({queued})
        SELECT count(*) FROM queued
    """)
    values = {**params, "tenant_id": tenant_id, "base_url": get_settings().base_url.rstrip("/")}
    return (await session.execute(statement, params=values)).one()[0]


# --- the administrator's pages: channel settings, test messages, the dead-letter list --------------------

CONFIG_KIND_LABELS = {
    ConfigKind.wecom.value: N_("企业微信群机器人"),
    ConfigKind.dingtalk.value: N_("钉钉群机器人"),
    ConfigKind.feishu.value: N_("飞书群机器人"),
    ConfigKind.smtp_sender.value: N_("发件邮箱"),
}
CHANNEL_LABELS = {
    Channel.inapp.value: N_("站内通知"),
    Channel.email.value: N_("邮件"),
    Channel.wecom.value: N_("企业微信群"),
    Channel.dingtalk.value: N_("钉钉群"),
    Channel.feishu.value: N_("飞书群"),
    Channel.sms.value: N_("短信"),
}


def config_kind_label(kind: str) -> str:
    return _(CONFIG_KIND_LABELS[kind]) if kind in CONFIG_KIND_LABELS else kind


def channel_label(channel: str) -> str:
    return _(CHANNEL_LABELS[channel]) if channel in CHANNEL_LABELS else channel


async def _refuse_private_webhook(url: str) -> None:
    """Refused when saved if its host is already known to be private; a host that does not resolve yet (an offline
    set-up) is accepted and checked again at each send."""
    try:
        await channels.refuse_private_host(url, resolve_timeout=2.0)
    except channels.PrivateAddress as error:
        raise InvalidInput(_("Webhook 地址不能指向本机或内网地址，请填写机器人平台提供的公网地址。"),
                           field="url") from error
    except channels.ChannelError:
        return


def _is_web_address(url: str) -> bool:
    """A webhook address as channels.webhook_target reads it (http(s), a host, a valid port, no blanks)."""
    try:
        channels.webhook_target(url)
    except channels.ChannelError:
        return False
    return True


async def _refuse_duplicate_channel(
    session: AsyncSession, *, kind: str, url: str, unit_id: uuid.UUID | None,
) -> None:
    """The same robot twice would post every message twice (also what a double-clicked form would do)."""
    existing = (await session.exec(select(ChannelConfig.id).where(
        ChannelConfig.kind == kind, ChannelConfig.url == url,
        col(ChannelConfig.unit_id).is_(None) if unit_id is None else col(ChannelConfig.unit_id) == unit_id,
    ))).first()
    if existing is not None:
        raise Conflict(_("这个地址已经添加过了（同一范围内），无需重复添加。"), field="url")


@dataclass
class ChannelGroup:
    unit: Unit | None  # None: the whole bureau (全局)
    configs: list[ChannelConfig]


@dataclass
class ChannelOverview:
    groups: list[ChannelGroup]  # the bureau's own first, then each unit that has any, in the unit tree's order
    nodes: list[UnitNode]  # every unit, for the form's scope choice


async def list_channels(session: AsyncSession, actor: Actor) -> ChannelOverview:
    require_manage_channels(actor)
    configs = (await session.exec(select(ChannelConfig).where(ChannelConfig.tenant_id == actor.tenant_id)
                                  .order_by(col(ChannelConfig.created_at), col(ChannelConfig.id)))).all()
    nodes = await list_units(session, actor)
    by_unit: dict[uuid.UUID | None, list[ChannelConfig]] = {}
    for config in configs:
        by_unit.setdefault(config.unit_id, []).append(config)
    groups = [ChannelGroup(None, by_unit.get(None, []))]
    groups += [ChannelGroup(node.unit, by_unit[node.unit.id]) for node in nodes if node.unit.id in by_unit]
    return ChannelOverview(groups=groups, nodes=nodes)


async def get_channel(session: AsyncSession, actor: Actor, config_id: uuid.UUID) -> ChannelConfig:
    require_manage_channels(actor)
    config = await session.get(ChannelConfig, config_id)
    if config is None or config.tenant_id != actor.tenant_id:
        raise NotFound(_("找不到该通知渠道，它可能已被删除。"))
    return config


async def set_channel_enabled(
    session: AsyncSession, actor: Actor, config_id: uuid.UUID, *, enabled: bool,
) -> ChannelConfig:
    """Idempotent: enabling an enabled channel (a second click) changes and records nothing."""
    config = await get_channel(session, actor, config_id)
    if config.enabled == enabled:
        return config
    config.enabled = enabled
    session.add(config)
    await session.flush()
    label = config_kind_label(config.kind)
    await record(session, actor, "channel.enable" if enabled else "channel.disable", object_type="channel_config",
                 object_id=config.id,
                 summary=_("启用通知渠道（%(kind)s）", kind=label) if enabled
                 else _("停用通知渠道（%(kind)s）", kind=label))
    return config


async def delete_channel(session: AsyncSession, actor: Actor, config_id: uuid.UUID) -> None:
    config = await get_channel(session, actor, config_id)
    label, masked = config_kind_label(config.kind), mask_url(config.url)
    await session.delete(config)
    await session.flush()
    await record(session, actor, "channel.delete", object_type="channel_config", object_id=config_id,
                 summary=_("删除通知渠道（%(kind)s）", kind=label), details={"url": masked})


async def send_test_message(session: AsyncSession, actor: Actor, config_id: uuid.UUID) -> None:
    """Queues a test message to the robot (or, for the e-mail sender, to its own address) through the outbox,
    so it travels exactly as real reminders do; every click is a new message, up to TEST_BURST a minute (the
    channel's row is locked while counting, so clicks at once cannot all pass)."""
    config = await get_channel(session, actor, config_id)
    if not config.enabled:
        raise Conflict(_("该渠道已停用，请先启用再发送测试消息。"))
    await session.exec(select(ChannelConfig.id).where(ChannelConfig.id == config.id).with_for_update())
    prefix = f"channel-test:{config.id}:"
    recent = (await session.exec(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.tenant_id == actor.tenant_id, col(OutboxMessage.dedupe_key).startswith(prefix, autoescape=True),
        OutboxMessage.created_at >= clock.now() - timedelta(minutes=1)))).one()
    if recent >= TEST_BURST:
        raise TooManyAttempts(_("一分钟内最多向同一渠道发送 %(n)s 条测试消息，请稍后再试。", n=TEST_BURST))
    channel = Channel.email if config.kind == ConfigKind.smtp_sender else Channel(config.kind)
    label = config_kind_label(config.kind)
    sent_at = clock.localtime(clock.now(), timezone=actor.timezone)
    await queue_message(
        session, actor.tenant_id, dedupe_key=prefix + uuid.uuid4().hex, channel=channel,
        recipient=config.url, subject=_("落实平台测试消息"),
        body_text=_("这是%(name)s于 %(time)s 从“%(bureau)s”落实平台发送的测试消息。收到即说明%(kind)s配置正确。",
                    name=actor.display_name, time=sent_at, bureau=actor.tenant_name, kind=label),
    )
    await record(session, actor, "channel.test", object_type="channel_config", object_id=config.id,
                 summary=_("向通知渠道（%(kind)s）发送测试消息", kind=label))


@dataclass
class OutboxCounts:
    pending: int
    sent_today: int
    dead: int


async def outbox_counts(session: AsyncSession, actor: Actor) -> OutboxCounts:
    """Waiting, sent since midnight (the bureau's clock) and dead messages, in one query."""
    require_manage_outbox(actor)
    midnight = clock.local_midnight(clock.local_today(actor.timezone), actor.timezone)
    state, sent_at = col(OutboxMessage.state), col(OutboxMessage.sent_at)
    row = (await session.exec(
        select(func.count().filter(state == OutboxState.pending),
               func.count().filter(and_(state == OutboxState.sent, sent_at >= midnight)),
               func.count().filter(state == OutboxState.dead))
        .where(OutboxMessage.tenant_id == actor.tenant_id,
               or_(state.in_([OutboxState.pending, OutboxState.dead]),
                   and_(state == OutboxState.sent, sent_at >= midnight)))
    )).one()
    return OutboxCounts(pending=row[0], sent_today=row[1], dead=row[2])


@dataclass
class DeadLetters:
    messages: list[OutboxMessage]
    counts: OutboxCounts


async def dead_letters(session: AsyncSession, actor: Actor) -> DeadLetters:
    return DeadLetters(messages=await list_dead(session, actor), counts=await outbox_counts(session, actor))


async def retry_dead(session: AsyncSession, actor: Actor, ids: list[uuid.UUID]) -> int:
    """The selected dead messages go out again (page and API alike, audited); ones already retried (a stale page)
    or of another bureau are simply not counted."""
    require_manage_outbox(actor)
    if not ids:
        raise InvalidInput(_("请先勾选要重新发送的消息。"), field="ids")
    retried = await _revive(session, actor, col(OutboxMessage.id).in_(ids))
    if retried:
        await record(session, actor, "outbox.retry", object_type="outbox",
                     summary=_("重新发送 %(n)s 条发送失败的消息", n=retried))
    return retried


async def retry_all_dead(session: AsyncSession, actor: Actor) -> int:
    require_manage_outbox(actor)
    retried = await _revive(session, actor)
    if retried:
        await record(session, actor, "outbox.retry", object_type="outbox",
                     summary=_("重新发送全部 %(n)s 条发送失败的消息", n=retried))
    return retried


async def _revive(session: AsyncSession, actor: Actor, *only) -> int:
    """The bureau's dead messages (those matching `only`) get a fresh set of attempts, due now; how many came back."""
    statement = (update(OutboxMessage)
                 .where(col(OutboxMessage.tenant_id) == actor.tenant_id, col(OutboxMessage.state) == OutboxState.dead,
                        *only)
                 .values(state=OutboxState.pending, attempts=0, next_attempt_at=clock.now()))
    return (await session.exec(statement)).rowcount
