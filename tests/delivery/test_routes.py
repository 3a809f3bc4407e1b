"""The administrator's channel page and dead-letter list, through the browser: who may use them, what they
show (never a whole secret), bad input, and that another bureau's admin reaches nothing of this bureau."""

import base64
import hashlib
import hmac
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select, update

from backend.audit.models import AuditEvent
from backend.core import clock
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.delivery import service as delivery
from backend.delivery.models import ChannelConfig, OutboxMessage
from tests.support.fixtures import post_form

ROLE_DENIED = "您的角色无权进行此操作。如需权限，请联系本局系统管理员。"


def daytime() -> datetime:
    """A moment after now outside any bureau's quiet hours (noon in China), so that the sender sends."""
    zone = ZoneInfo("Asia/Shanghai")
    local = clock.now().astimezone(zone)
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if noon > local else noon + timedelta(days=1)


async def channels_of(bureau) -> list[ChannelConfig]:
    async with unit_of_work(bureau.tenant.id) as session:
        return list((await session.exec(select(ChannelConfig).where(
            ChannelConfig.tenant_id == bureau.tenant.id).order_by(col(ChannelConfig.created_at)))).all())


async def outbox_of(bureau, **where) -> list[OutboxMessage]:
    async with unit_of_work(bureau.tenant.id) as session:
        query = select(OutboxMessage).where(OutboxMessage.tenant_id == bureau.tenant.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list((await session.exec(query)).all())


async def make_dead(bureau, *, channel: str, recipient: str, subject: str) -> OutboxMessage:
    """A message that kept failing: queued, then given up on after the last attempt."""
    key = f"dead:{uuid.uuid4()}"
    async with unit_of_work(bureau.tenant.id) as session:
        assert await delivery.queue_message(session, bureau.tenant.id, dedupe_key=key, channel=channel,
                                            recipient=recipient, subject=subject, body_text="正文")
        await session.exec(update(OutboxMessage).where(col(OutboxMessage.dedupe_key) == key).values(
            state="dead", attempts=delivery.MAX_ATTEMPTS, last_error="ChannelError: webhook answered 500"))
    [row] = await outbox_of(bureau, dedupe_key=key)
    return row


async def test_admin_adds_a_signed_dingtalk_robot_for_a_unit_sees_it_masked_disables_and_deletes(
    signed_in, bureau,
):
    admin = await signed_in(bureau, Role.admin)
    page = await admin.get("/admin/channels")
    assert page.status_code == 200
    assert "钉钉群机器人" in page.text and "全局" in page.text
    assert 'href="/admin/channels"' in (await admin.get("/")).text  # the nav link, for admins

    token = "a1b2c3d4e5f6a7b8c9d0" + uuid.uuid4().hex
    secret = "SEC" + uuid.uuid4().hex
    url = f"https://oapi.dingtalk.com/robot/send?access_token={token}"
    school = bureau.units["school"]
    added = await post_form(admin, "/admin/channels", {"kind": "dingtalk", "url": f"  {url} ", "secret": secret,
                                                       "unit_id": str(school.id)}, page="/admin/channels")
    assert added.status_code == 303 and added.headers["location"] == "/admin/channels#feedback"
    [config] = await channels_of(bureau)
    assert (config.kind, config.url, config.secret, config.unit_id, config.enabled) == (
        "dingtalk", url, secret, school.id, True)

    page = await admin.get("/admin/channels")
    assert "已添加" in page.text
    assert secret not in page.text and token not in page.text  # neither key is ever shown whole
    assert "••••" + secret[-4:] in page.text and "••••" + token[-4:] in page.text
    assert f"<h2 id=\"g-2\">{school.name}</h2>" in page.text  # grouped under its unit

    # A second click of the same form adds nothing and says so.
    again = await post_form(admin, "/admin/channels", {"kind": "dingtalk", "url": url, "secret": secret,
                                                       "unit_id": str(school.id)}, page="/admin/channels")
    assert again.status_code == 409 and "已经添加过了" in again.text
    assert len(await channels_of(bureau)) == 1

    disabled = await post_form(admin, f"/admin/channels/{config.id}/disable", {}, page="/admin/channels")
    assert disabled.status_code == 303
    assert (await channels_of(bureau))[0].enabled is False
    page = await admin.get("/admin/channels")
    assert "已停用" in page.text and f"/admin/channels/{config.id}/enable" in page.text
    # A disabled robot cannot be tested; the page says why instead of queueing into nowhere.
    refused = await post_form(admin, f"/admin/channels/{config.id}/test", {}, page="/admin/channels")
    assert refused.status_code == 409 and "请先启用" in refused.text
    assert await outbox_of(bureau, recipient=url) == []
    assert (await post_form(admin, f"/admin/channels/{config.id}/enable", {}, page="/admin/channels")
            ).status_code == 303
    assert (await channels_of(bureau))[0].enabled is True

    deleted = await post_form(admin, f"/admin/channels/{config.id}/delete", {}, page="/admin/channels")
    assert deleted.status_code == 303
    assert await channels_of(bureau) == []
    # Deleting it again (a stale page): a clear "not found", no error page.
    gone = await post_form(admin, f"/admin/channels/{config.id}/delete", {}, page="/admin/channels")
    assert gone.status_code == 404 and "找不到该通知渠道" in gone.text

    async with unit_of_work(bureau.tenant.id) as session:
        actions = [e.action for e in (await session.exec(select(AuditEvent).where(
            AuditEvent.object_id == str(config.id)).order_by(col(AuditEvent.occurred_at)))).all()]
    assert actions == ["channel.add", "channel.disable", "channel.enable", "channel.delete"]


async def test_bad_input_is_refused_beside_its_field_and_nothing_is_saved(signed_in, bureau, other_bureau):
    admin = await signed_in(bureau, Role.admin)
    for url in ("oapi.dingtalk.com/robot/send", "https://", "https://oapi.dingtalk.com/robot send", ""):
        response = await post_form(admin, "/admin/channels", {"kind": "dingtalk", "url": url, "secret": "SECx",
                                                              "unit_id": ""}, page="/admin/channels")
        assert response.status_code == 422, url
        assert 'id="e-url"' in response.text and "Webhook 地址" in response.text
        assert 'aria-invalid="true" aria-describedby="e-url"' in response.text
        assert 'value="SECx"' in response.text  # what was typed is still there
    mail = await post_form(admin, "/admin/channels", {"kind": "smtp-sender", "url": "duban"}, page="/admin/channels")
    assert mail.status_code == 422 and "发件邮箱地址" in mail.text
    kind = await post_form(admin, "/admin/channels", {"kind": "telegram", "url": "https://t.example/x"},
                           page="/admin/channels")
    assert kind.status_code == 422 and 'id="e-kind"' in kind.text and "不支持的通知渠道类型" in kind.text

    # Another bureau's unit is not one of this bureau's: refused beside the scope field.
    foreign = await post_form(admin, "/admin/channels", {
        "kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
        "unit_id": str(other_bureau.units["school"].id)}, page="/admin/channels")
    assert foreign.status_code == 422 and 'id="e-unit_id"' in foreign.text and "不属于本局" in foreign.text
    garbled = await post_form(admin, "/admin/channels", {
        "kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", "unit_id": "not-a-uuid"},
        page="/admin/channels")
    assert garbled.status_code == 422 and 'id="e-unit_id"' in garbled.text
    assert await channels_of(bureau) == [] and await channels_of(other_bureau) == []

    # A malformed id in the address is "not found", not an error page.
    bad_path = await post_form(admin, "/admin/channels/not-a-uuid/delete", {}, page="/admin/channels")
    assert bad_path.status_code == 404 and "找不到" in bad_path.text


async def test_test_message_goes_through_the_outbox_and_arrives_signed(signed_in, bureau, receiver):
    admin = await signed_in(bureau, Role.admin)
    secret = "SEC" + uuid.uuid4().hex
    url = receiver.url("ding")
    assert (await post_form(admin, "/admin/channels", {"kind": "dingtalk", "url": url, "secret": secret},
                            page="/admin/channels")).status_code == 303
    [config] = await channels_of(bureau)
    assert config.unit_id is None
    for _ in range(2):  # each click is a message of its own
        sent = await post_form(admin, f"/admin/channels/{config.id}/test", {}, page="/admin/channels")
        assert sent.status_code == 303 and sent.headers["location"] == "/admin/channels#feedback"
    assert "测试消息已排队" in (await admin.get("/admin/channels")).text
    queued = await outbox_of(bureau, recipient=url)
    assert len(queued) == 2 and {(m.channel, m.state, m.subject) for m in queued} == {
        ("dingtalk", "pending", "落实平台测试消息")}

    before_ms = int(time.time() * 1000)
    result = await delivery.deliver_due(bureau.tenant.id, now=daytime())
    assert not {str(m.id) for m in queued} & set(result.errors)  # (the bureau's other mail may fail: no SMTP here)
    arrived = receiver.to("ding")
    assert len(arrived) == 2
    for _path, query, body in arrived:
        assert body["markdown"]["title"] == "落实平台测试消息" and bureau.tenant.name in body["markdown"]["text"]
        timestamp = int(query["timestamp"])
        assert before_ms - 1000 <= timestamp <= int(time.time() * 1000)
        expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                             hashlib.sha256).digest()).decode()
        assert query["sign"] == expected
    assert {m.state for m in await outbox_of(bureau, recipient=url)} == {"sent"}
    sent_today = len(await outbox_of(bureau, state="sent"))
    async with unit_of_work(bureau.tenant.id) as session:
        counts = await delivery.outbox_counts(session, bureau.actors[Role.admin])
    assert counts.sent_today == sent_today >= 2 and counts.dead == 0


async def test_dead_letters_are_listed_masked_and_come_back_when_retried(signed_in, bureau):
    subject = f"到期提醒{uuid.uuid4().hex[:6]}"
    sms = await make_dead(bureau, channel="sms", recipient="13812345678", subject=subject + "短信")
    robot = await make_dead(bureau, channel="wecom", subject=subject + "群",
                            recipient="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdefwxyz")
    admin = await signed_in(bureau, Role.admin)
    page = await admin.get("/admin/outbox/dead")
    assert page.status_code == 200
    assert subject + "短信" in page.text and subject + "群" in page.text
    assert "13812345678" not in page.text and "138****5678" in page.text
    assert "0123456789abcdefwxyz" not in page.text and "••••wxyz" in page.text
    assert "webhook answered 500" in page.text and "短信" in page.text
    created = sms.created_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert created in page.text  # on the bureau's clock
    pending = len(await outbox_of(bureau, state="pending"))
    assert f'<div class="stat">{pending}</div>' in page.text and '<div class="stat danger-text">2</div>' in page.text

    api = await admin.get("/api/v1/admin/outbox/dead")
    assert api.status_code == 200 and api.json()["counts"]["dead"] == 2
    assert {m["recipient"] for m in api.json()["messages"]} >= {"138****5678"}

    # Nothing ticked: said beside the list; a garbled id: the same, nothing changes.
    none = await post_form(admin, "/admin/outbox/dead/retry", {}, page="/admin/outbox/dead")
    assert none.status_code == 422 and "请先勾选" in none.text and 'id="e-ids"' in none.text
    garbled = await post_form(admin, "/admin/outbox/dead/retry", {"ids": "x"}, page="/admin/outbox/dead")
    assert garbled.status_code == 422 and "所选消息无效" in garbled.text
    assert {m.state for m in await outbox_of(bureau, state="dead")} == {"dead"}

    retried = await post_form(admin, "/admin/outbox/dead/retry", {"ids": [str(sms.id)]}, page="/admin/outbox/dead")
    assert retried.status_code == 303 and retried.headers["location"] == "/admin/outbox/dead#feedback"
    [row] = await outbox_of(bureau, id=sms.id)
    assert (row.state, row.attempts) == ("pending", 0)
    [still] = await outbox_of(bureau, id=robot.id)
    assert still.state == "dead"
    # The same form again (a stale page): nothing to do, and it says so.
    stale = await post_form(admin, "/admin/outbox/dead/retry", {"ids": [str(sms.id)]}, page="/admin/outbox/dead")
    assert stale.headers["location"] == "/admin/outbox/dead#feedback"
    assert "已不在失败列表中" in (await admin.get("/admin/outbox/dead")).text

    page = await admin.get("/admin/outbox/dead")
    assert subject + "短信" not in page.text and subject + "群" in page.text
    everything = await post_form(admin, "/admin/outbox/dead/retry-all", {}, page="/admin/outbox/dead")
    assert everything.headers["location"] == "/admin/outbox/dead#feedback"
    assert await outbox_of(bureau, state="dead") == []
    page = await admin.get("/admin/outbox/dead")
    assert "没有发送失败的消息" in page.text and f'<div class="stat">{pending + 2}</div>' in page.text  # both back


async def test_other_bureau_and_other_roles_reach_nothing(signed_in, bureau, other_bureau):
    subject = f"别人的提醒{uuid.uuid4().hex[:6]}"
    dead = await make_dead(bureau, channel="email", recipient="head@school.test", subject=subject)
    admin = await signed_in(bureau, Role.admin)
    assert (await post_form(admin, "/admin/channels", {
        "kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=mine"},
        page="/admin/channels")).status_code == 303
    [config] = await channels_of(bureau)

    stranger = await signed_in(other_bureau, Role.admin)
    assert subject not in (await stranger.get("/admin/outbox/dead")).text
    assert subject not in (await stranger.get("/api/v1/admin/outbox/dead")).text
    assert "key=mine" not in (await stranger.get("/admin/channels")).text
    retry = await post_form(stranger, "/admin/outbox/dead/retry", {"ids": [str(dead.id)]}, page="/admin/outbox/dead")
    assert retry.headers["location"] == "/admin/outbox/dead#feedback"
    await post_form(stranger, "/admin/outbox/dead/retry-all", {}, page="/admin/outbox/dead")
    for action in ("disable", "test", "delete"):
        response = await post_form(stranger, f"/admin/channels/{config.id}/{action}", {}, page="/admin/channels")
        assert response.status_code == 404 and "找不到该通知渠道" in response.text
    assert [m.state for m in await outbox_of(bureau, id=dead.id)] == ["dead"]
    assert [(c.id, c.enabled) for c in await channels_of(bureau)] == [(config.id, True)]
    assert await outbox_of(bureau, recipient=config.url) == []

    for role in (Role.supervisor, Role.unit_staff, Role.leader):
        member = await signed_in(bureau, role)
        assert 'href="/admin/channels"' not in (await member.get("/")).text
        for path in ("/admin/channels", "/admin/outbox/dead"):
            page = await member.get(path)
            assert page.status_code == 403 and ROLE_DENIED in page.text, (role, path)
        for path, data in (("/admin/outbox/dead/retry", {"ids": [str(dead.id)]}), ("/admin/outbox/dead/retry-all", {}),
                           (f"/admin/channels/{config.id}/test", {}), (f"/admin/channels/{config.id}/delete", {}),
                           ("/admin/channels", {"kind": "wecom", "url": "https://example.test/hook"})):
            response = await post_form(member, path, data)
            assert response.status_code == 403 and ROLE_DENIED in response.text, (role, path)
        assert (await member.get("/api/v1/admin/outbox/dead")).status_code == 403
    assert [m.state for m in await outbox_of(bureau, id=dead.id)] == ["dead"]
    assert [(c.id, c.enabled) for c in await channels_of(bureau)] == [(config.id, True)]


async def test_robots_cannot_reach_this_machine_or_private_networks(signed_in, bureau, receiver, monkeypatch):
    """SSRF: an administrator's webhook address may not point into the bureau's network or at Luoshi's own host,
    neither when saved nor later (an address saved while allowed, or whose DNS changed, is refused at send)."""
    from backend.config import get_settings

    allowed_url = receiver.url("robot")
    async with unit_of_work(bureau.tenant.id) as session:
        saved = await delivery.add_channel(session, bureau.actors[Role.admin], kind="wecom", url=allowed_url)
        await delivery.send_test_message(session, bureau.actors[Role.admin], saved.id)
    monkeypatch.setenv("LUOSHI_WEBHOOK_PRIVATE_NETWORKS", "0")
    get_settings.cache_clear()
    try:
        admin = await signed_in(bureau, Role.admin)
        for url in ("http://127.0.0.1:8000/admin", "http://10.1.2.3/hook", "http://[::1]/x", "http://localhost/x",
                    "http://169.254.169.254/latest/meta-data", "http://[::ffff:192.168.1.1]/x"):
            response = await post_form(admin, "/admin/channels", {"kind": "wecom", "url": url},
                                       page="/admin/channels")
            assert response.status_code == 422, url
            assert "不能指向本机或内网地址" in response.text and 'id="e-url"' in response.text
        assert [c.url for c in await channels_of(bureau)] == [allowed_url]

        result = await delivery.deliver_due(bureau.tenant.id, now=daytime())
        [message] = await outbox_of(bureau, recipient=allowed_url)
        assert str(message.id) in result.errors and message.state != "sent"
        assert "本机或内网地址" in message.last_error and "127.0.0.1" in message.last_error
        assert receiver.to("robot") == []
    finally:
        get_settings.cache_clear()
