"""The outbox against a real SMTP server and a real HTTP receiver, over real PostgreSQL."""

import base64
import email
import hashlib
import hmac
import time
import uuid
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from backend.audit import service as audit
from backend.core import clock
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.delivery import service as delivery
from backend.delivery.jobs import deliver_outbox
from backend.delivery.models import ChannelConfig, OutboxMessage
from backend.errors import Forbidden
from backend.notifications.models import Notification


async def queue(tenant_id, **kwargs) -> bool:
    values = {"dedupe_key": f"test:{uuid.uuid4()}", "subject": "任务即将到期", "body_text": "请于3日内报送。"} | kwargs
    async with unit_of_work(tenant_id) as session:
        return await delivery.queue_message(session, tenant_id, **values)


async def row_of(tenant_id, dedupe_key) -> OutboxMessage:
    async with unit_of_work(tenant_id) as session:
        return (await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))).one()


async def test_email_arrives_with_text_html_and_message_id(bureau, smtp):
    tenant = bureau.tenant.id
    assert await queue(tenant, dedupe_key="mail-1", channel="email", recipient="head@school.test",
                       body_html="<p>请于<b>3日内</b>报送。</p>")
    result = await delivery.deliver_due(tenant)
    assert (result.sent, result.failed) == (1, 0)
    [(mail_from, rcpts, content)] = smtp.envelopes
    assert (mail_from, rcpts) == ("luoshi@bureau.test", ["head@school.test"])
    message = email.message_from_bytes(content, policy=policy.default)
    row = await row_of(tenant, "mail-1")
    assert message["Message-ID"] == row.message_id
    assert row.message_id.startswith("<") and row.message_id.endswith("@luoshi>")
    assert message["Subject"] == "任务即将到期"
    assert message.get_body(("plain",)).get_content().strip() == "请于3日内报送。"
    assert "<b>3日内</b>" in message.get_body(("html",)).get_content()
    assert (row.state, row.attempts, row.sent_at is not None) == ("sent", 1, True)
    # Sent rows are never sent again.
    assert (await delivery.deliver_due(tenant, now=clock.now() + timedelta(days=1))).claimed == 0
    assert len(smtp.envelopes) == 1


async def test_repeated_decision_makes_no_second_row(bureau):
    tenant = bureau.tenant.id
    key = f"remind:{uuid.uuid4()}"
    assert await queue(tenant, dedupe_key=key, channel="email", recipient="a@b.test")
    assert not await queue(tenant, dedupe_key=key, channel="email", recipient="a@b.test")
    async with unit_of_work(tenant) as session:
        count = (await session.exec(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.dedupe_key == key))).one()
    assert count == 1


async def test_queued_row_commits_or_rolls_back_with_the_decision(bureau):
    tenant = bureau.tenant.id
    with pytest.raises(RuntimeError):
        async with unit_of_work(tenant) as session:
            await delivery.queue_message(session, tenant, dedupe_key="rolled-back", channel="email",
                                         recipient="a@b.test", subject="x", body_text="y")
            raise RuntimeError("the decision failed")
    async with unit_of_work(tenant) as session:
        assert (await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == "rolled-back"))).first() \
            is None


async def test_robot_webhooks_get_their_payloads_and_dingtalk_signs(bureau, receiver):
    tenant = bureau.tenant.id
    secret = "SEC" + uuid.uuid4().hex
    async with unit_of_work(tenant) as session:
        session.add(ChannelConfig(tenant_id=tenant, unit_id=bureau.units["school"].id, kind="dingtalk",
                                  url=receiver.url("dingtalk"), secret=secret))
    for channel in ("wecom", "dingtalk", "feishu"):
        assert await queue(tenant, dedupe_key=f"hook-{channel}", channel=channel, recipient=receiver.url(channel))
    before_ms = int(time.time() * 1000)
    result = await delivery.deliver_due(tenant)
    assert (result.sent, result.failed) == (3, 0)

    [(_, _, wecom)] = receiver.to("wecom")
    wecom_id = (await row_of(tenant, "hook-wecom")).message_id
    assert wecom["msgtype"] == "markdown" and "任务即将到期" in wecom["markdown"]["content"]
    assert wecom_id in wecom["markdown"]["content"]

    [(_, query, ding)] = receiver.to("dingtalk")
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"] == "任务即将到期"
    assert (await row_of(tenant, "hook-dingtalk")).message_id in ding["markdown"]["text"]
    timestamp = int(query["timestamp"])
    assert before_ms - 1000 <= timestamp <= int(time.time() * 1000)
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == expected

    [(_, _, feishu)] = receiver.to("feishu")
    assert feishu["msg_type"] == "text"
    assert (await row_of(tenant, "hook-feishu")).message_id in feishu["content"]["text"]


async def test_failing_webhook_backs_off_dies_and_comes_back(bureau, other_bureau, receiver, smtp):
    tenant = bureau.tenant.id
    receiver.statuses["/broken"] = 500
    await queue(tenant, dedupe_key="bad", channel="wecom", recipient=receiver.url("broken"))
    for n in range(2):
        await queue(tenant, dedupe_key=f"good-{n}", channel="email", recipient=f"u{n}@school.test")
    start = clock.now()
    first = await delivery.deliver_due(tenant, now=start)
    assert (first.sent, first.failed) == (2, 1)  # the failing robot holds back no e-mail
    assert len(smtp.envelopes) == 2
    bad = await row_of(tenant, "bad")
    assert (bad.state, bad.attempts, bad.next_attempt_at) == ("pending", 1, start + timedelta(minutes=1))
    assert "500" in bad.last_error

    at = start
    for attempt, wait in enumerate([1, 2, 4, 8, 16], start=2):
        assert (await delivery.deliver_due(tenant, now=at + timedelta(minutes=wait, seconds=-1))).claimed == 0
        at += timedelta(minutes=wait)
        result = await delivery.deliver_due(tenant, now=at)
        assert result.claimed == 1
        assert (await row_of(tenant, "bad")).attempts == attempt
    assert result.dead == 1
    assert len(receiver.to("broken")) == delivery.MAX_ATTEMPTS == 6
    assert (await row_of(tenant, "bad")).state == "dead"
    assert (await delivery.deliver_due(tenant, now=at + timedelta(days=1))).claimed == 0

    async with unit_of_work(tenant) as session:
        dead = await delivery.list_dead(session, bureau.actors[Role.admin])
    assert [d.dedupe_key for d in dead] == ["bad"]

    # Another bureau's admin sees none of it, not even by id.
    async with unit_of_work(other_bureau.tenant.id) as session:
        assert await delivery.list_dead(session, other_bureau.actors[Role.admin]) == []
        assert await delivery.retry_dead(session, other_bureau.actors[Role.admin], [dead[0].id]) == 0
        seen = (await session.exec(text("SELECT count(*) FROM outbox WHERE id = :i").bindparams(i=dead[0].id))).one()
    assert seen[0] == 0

    # Unit staff may neither list nor retry.
    async with unit_of_work(tenant) as session:
        with pytest.raises(Forbidden):
            await delivery.list_dead(session, bureau.actors[Role.unit_staff])
        with pytest.raises(Forbidden):
            await delivery.retry_dead(session, bureau.actors[Role.unit_staff], [dead[0].id])

    async with unit_of_work(tenant) as session:
        assert await delivery.retry_dead(session, bureau.actors[Role.admin], [dead[0].id]) == 1
        # The audit log says who sent dead messages out again, whichever way (page or API) they asked.
        retries = await audit.list_events(session, bureau.actors[Role.admin], action="outbox.retry")
    assert [e.summary for e in retries] == ["重新发送 1 条发送失败的消息"]
    receiver.statuses.pop("/broken")
    result = await delivery.deliver_due(tenant)
    assert result.sent == 1
    row = await row_of(tenant, "bad")
    assert (row.state, row.attempts) == ("sent", 1)
    sent = receiver.to("broken")
    assert len(sent) == 7 and {r[2]["markdown"]["content"] for r in sent} == {sent[0][2]["markdown"]["content"]}


async def test_inapp_and_sms(bureau):
    tenant = bureau.tenant.id
    membership = bureau.actors[Role.unit_head].membership_id
    await queue(tenant, dedupe_key="bell-1", channel="inapp", recipient=str(membership))
    await queue(tenant, dedupe_key="sms-1", channel="sms", recipient="13800000000")
    assert (await delivery.deliver_due(tenant)).sent == 2
    async with unit_of_work(tenant) as session:
        note = (await session.exec(select(Notification).where(Notification.dedupe_key == "bell-1"))).one()
    assert (note.membership_id, note.title) == (membership, "任务即将到期")


async def test_sender_job_delivers_every_bureau(bureau, other_bureau, smtp):
    """The job goes over every active bureau (other tests' leftovers go to this sink too, so count only ours)."""
    ours = {"a@one.test", "b@two.test"}
    await queue(bureau.tenant.id, dedupe_key=f"job-{uuid.uuid4()}", channel="email", recipient="a@one.test")
    await queue(other_bureau.tenant.id, dedupe_key=f"job-{uuid.uuid4()}", channel="email", recipient="b@two.test")

    def delivered() -> list[str]:
        return sorted(r for _, rcpts, _ in smtp.envelopes for r in rcpts if r in ours)

    await deliver_outbox({"job_id": "test"})
    assert delivered() == sorted(ours)
    await deliver_outbox({"job_id": "test-again"})
    assert delivered() == sorted(ours)


async def test_bureau_sender_address_is_the_from_of_its_mail(bureau, smtp):
    async with unit_of_work(bureau.tenant.id) as session:
        await delivery.add_channel(session, bureau.actors[Role.admin], kind="smtp-sender", url="duban@jyj.example.cn")
    assert await queue(bureau.tenant.id, dedupe_key="from-1", channel="email", recipient="head@school.test")
    assert (await delivery.deliver_due(bureau.tenant.id)).sent == 1
    [(mail_from, _rcpts, content)] = smtp.envelopes
    assert mail_from == "duban@jyj.example.cn"
    assert email.message_from_bytes(content, policy=policy.default)["From"] == "duban@jyj.example.cn"
