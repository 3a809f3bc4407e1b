"""Finding 3 of issue 14: the webhook client connects to exactly the address it checked (no DNS rebinding), IPv6
forms that embed a private IPv4 count as private, and a receiver's error text is never echoed back."""

import asyncio
import socket

import pytest
from sqlmodel import col, update

from backend.config import get_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.delivery import channels
from backend.delivery import service as delivery
from backend.delivery.models import OutboxMessage
from tests.delivery.test_routes import daytime, outbox_of
from tests.support.fixtures import post_form

PUBLIC = "93.184.216.34"


@pytest.fixture
def private_networks_refused(monkeypatch):
    monkeypatch.setenv("LUOSHI_WEBHOOK_PRIVATE_NETWORKS", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_rebinding_name_never_reaches_a_local_listener(bureau, receiver, private_networks_refused,
                                                             monkeypatch):
    """'rebind.test' answers a public address to the first lookup and 127.0.0.1 to every later one (the resolver
    of the event loop is patched, not the network). Checking one answer and connecting to another would post to
    the real local receiver; the pinned client connects to the public address it checked, and only to it."""
    port = int(receiver.base.rsplit(":", 1)[1])
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    lookups: list[str] = []

    async def rebinding(host, port_, *args, **kwargs):
        if host not in ("rebind.test", b"rebind.test"):
            return await real(host, port_, *args, **kwargs)
        lookups.append(host if isinstance(host, str) else host.decode())
        address = PUBLIC if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port_ or port))]

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    monkeypatch.setattr(channels, "TIMEOUT", 1.0)
    connected: list[str] = []
    inner = channels.PinnedBackend.connect_address

    async def spy(self, address, port_, **kwargs):
        connected.append(address)
        return await inner(self, address, port_, **kwargs)

    monkeypatch.setattr(channels.PinnedBackend, "connect_address", spy, raising=False)
    url = f"http://rebind.test:{port}/robot"
    message = channels.Outgoing(id="1", channel="wecom", recipient=url, subject="s", body_text="b", body_html="",
                                message_id="<1>")
    with pytest.raises(channels.ChannelError):
        await channels.send(message)
    assert receiver.to("robot") == []
    assert lookups == ["rebind.test"] and connected == [PUBLIC]


@pytest.mark.parametrize("address", [
    "::ffff:7f00:1", "::ffff:127.0.0.1", "::7f00:1", "::127.0.0.1", "::ffff:a00:1",
    "64:ff9b::7f00:1", "64:ff9b::10.0.0.1", "64:ff9b::c0a8:101",
    "2002:7f00:1::1", "2002:c0a8:101::", "2002:a00:1::5",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo whose client is 127.0.0.1 (obfuscated)
    "2001:0:7f00:1:8000:63bf:3fff:fdd2",  # Teredo whose server is 127.0.0.1
])
def test_ipv6_forms_embedding_private_ipv4_are_private(address):
    assert not channels.is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:5db8:d822",
                                     "64:ff9b::5db8:d822"])
def test_public_addresses_stay_public(address):
    assert channels.is_public_address(address)


async def test_ipv6_literals_are_refused_when_saved(signed_in, bureau, private_networks_refused):
    admin = await signed_in(bureau, Role.admin)
    for host in ("[::ffff:7f00:1]", "[::7f00:1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]"):
        response = await post_form(admin, "/admin/channels", {"kind": "wecom", "url": f"http://{host}/x"},
                                   page="/admin/channels")
        assert response.status_code == 422, host
        assert "不能指向本机或内网地址" in response.text


async def test_receiver_error_text_is_not_echoed(signed_in, bureau, receiver):
    """Real local receivers: one answers 500 with a body, one 200 with a refusal code and a message. The outbox rows
    and the dead-letter page name the status (or refusal) code only, in Chinese, never the receiver's words."""
    receiver.statuses["/broken"] = 500
    receiver.errcodes["/refuse"] = 93000
    receiver.errmsg = "INTERNAL-SECRET token=abc123"
    urls = {"broken": receiver.url("broken"), "refuse": receiver.url("refuse")}
    async with unit_of_work(bureau.tenant.id) as session:
        for url in urls.values():
            saved = await delivery.add_channel(session, bureau.actors[Role.admin], kind="wecom", url=url)
            await delivery.send_test_message(session, bureau.actors[Role.admin], saved.id)
    await delivery.deliver_due(bureau.tenant.id, now=daytime())
    [broken] = await outbox_of(bureau, recipient=urls["broken"])
    [refused] = await outbox_of(bureau, recipient=urls["refuse"])
    assert receiver.to("broken") and receiver.to("refuse")
    assert broken.state != "sent" and refused.state != "sent"
    assert "INTERNAL-SECRET" not in broken.last_error + refused.last_error
    assert "状态码 500" in broken.last_error and "状态码 200" in refused.last_error
    assert "93000" not in refused.last_error  # not even the receiver's own code: it could carry data back
    async with unit_of_work(bureau.tenant.id) as session:
        await session.exec(update(OutboxMessage).where(col(OutboxMessage.id).in_([broken.id, refused.id]))
                           .values(state="dead"))
    admin = await signed_in(bureau, Role.admin)
    page = await admin.get("/admin/outbox/dead")
    assert page.status_code == 200 and "状态码 500" in page.text
    assert "INTERNAL-SECRET" not in page.text


async def test_webhook_url_with_a_bad_port_is_a_validation_message(signed_in, bureau):
    """Issue 14 finding 14: a port out of range (or not a number) was a 500 when the address was saved."""
    admin = await signed_in(bureau, Role.admin)
    for url in ("https://qyapi.weixin.qq.com:99999/cgi-bin/webhook/send?key=abc", "http://example.com:0/x",
                "http://example.com:abc/x", "http://[::1/x", "ftp://example.com/x", "http:///x"):
        response = await post_form(admin, "/admin/channels", {"kind": "wecom", "url": url}, page="/admin/channels")
        assert response.status_code == 422, (url, response.status_code)
        assert 'id="e-url"' in response.text, url
    with pytest.raises(channels.ChannelError):
        channels.webhook_target("https://example.com:99999/x")
