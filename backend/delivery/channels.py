"""How a message leaves Luoshi: e-mail over SMTP, group-robot webhooks (WeCom, DingTalk, Feishu), and SMS.

Every channel sends the message's stable id with each copy (the e-mail's Message-ID; in webhook text), so that a
receiver recognises the one resend that a crash between hand-off and bookkeeping can cause.

SMTP is configured from the environment: LUOSHI_SMTP_HOST (default 127.0.0.1), LUOSHI_SMTP_PORT (25),
LUOSHI_SMTP_USER and LUOSHI_SMTP_PASSWORD (both empty: no login), LUOSHI_SMTP_FROM (luoshi@localhost).
"""

import asyncio
import base64
import hashlib
import hmac
import html
import ipaddress
import logging
import os
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib
import httpcore
import httpx

from backend.config import get_settings

log = logging.getLogger("luoshi.delivery")
TIMEOUT = 15.0


class ChannelError(Exception):
    """The channel did not take the message; the sender retries later."""


class PrivateAddress(ChannelError):
    """The webhook's host is this machine or a private network, which robots are not allowed to reach."""


@dataclass(frozen=True)
class Outgoing:
    id: str
    channel: str
    recipient: str
    subject: str
    body_text: str
    body_html: str
    message_id: str
    secret: str = ""
    sender: str = ""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str
    password: str
    sender: str

    @classmethod
    def from_env(cls) -> "SmtpSettings":
        return cls(
            host=os.environ.get("LUOSHI_SMTP_HOST", "127.0.0.1"),
            port=int(os.environ.get("LUOSHI_SMTP_PORT", "25")),
            user=os.environ.get("LUOSHI_SMTP_USER", ""),
            password=os.environ.get("LUOSHI_SMTP_PASSWORD", ""),
            sender=os.environ.get("LUOSHI_SMTP_FROM", "luoshi@localhost"),
        )


def build_email(message: Outgoing, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message.message_id
    email.set_content(message.body_text)
    email.add_alternative(message.body_html or text_as_html(message.subject, message.body_text), subtype="html")
    return email


_URL = re.compile(r"(https?://[^\s<>\"']+)")


def text_as_html(subject: str, body: str) -> str:
    """The HTML part of a message written as text: escaped, its lines kept, its links clickable."""
    link = r'<a href="\1">\1</a>'
    lines = [_URL.sub(link, html.escape(line)) for line in body.splitlines() if line.strip()]
    paragraphs = "".join(f'<p style="margin:0 0 8px">{line}</p>' for line in lines)
    return ('<!doctype html><html lang="zh-CN"><body style="font-family:sans-serif;font-size:15px;line-height:1.6">'
            f'<h2 style="font-size:17px">{html.escape(subject)}</h2>{paragraphs}</body></html>')


async def send_email(message: Outgoing) -> None:
    settings = SmtpSettings.from_env()
    email = build_email(message, message.sender or settings.sender)
    try:
        await aiosmtplib.send(email, hostname=settings.host, port=settings.port, username=settings.user or None,
                              password=settings.password or None, timeout=TIMEOUT)
    except (aiosmtplib.SMTPException, OSError) as error:
        raise ChannelError(f"SMTP: {error}") from error


def _with_id(text: str, message: Outgoing) -> str:
    return f"{text}\n\n消息编号：{message.message_id}"


def wecom_payload(message: Outgoing) -> dict:
    return {"msgtype": "markdown",
            "markdown": {"content": _with_id(f"**{message.subject}**\n{message.body_text}", message)}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot signing: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")), URL-encoded by the caller."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    timestamp_ms = timestamp_ms or int(time.time() * 1000)
    query = urllib.parse.urlencode({"timestamp": timestamp_ms, "sign": dingtalk_sign(secret, timestamp_ms)})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def dingtalk_payload(message: Outgoing) -> dict:
    return {"msgtype": "markdown",
            "markdown": {"title": message.subject,
                         "text": _with_id(f"### {message.subject}\n{message.body_text}", message)}}


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu robot signing: base64(HMAC-SHA256(key="<timestamp>\\n<secret>", message=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_payload(message: Outgoing, timestamp_s: int | None = None) -> dict:
    payload: dict = {"msg_type": "text",
                     "content": {"text": _with_id(f"{message.subject}\n{message.body_text}", message)}}
    if message.secret:
        timestamp_s = timestamp_s or int(time.time())
        payload |= {"timestamp": str(timestamp_s), "sign": feishu_sign(message.secret, timestamp_s)}
    return payload


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and that a router or the kernel may end up talking to:
    IPv4-mapped (::ffff:a.b.c.d) and -compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::)
    and Teredo (its server and its obfuscated client)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.packed[:12] == bytes(12) and int(ip) > 1:
        found.append(ipaddress.IPv4Address(ip.packed[12:]))
    if any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(ip.packed[12:]))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def is_public_address(address: str) -> bool:
    """A global unicast address, and for IPv6 every IPv4 address it embeds is one too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded:
            return all(is_public_address(str(v4)) for v4 in embedded)
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class WebhookTarget:
    scheme: str
    host: str
    port: int


def webhook_target(url: str) -> WebhookTarget:
    """The one reading of a webhook address (used when it is saved and at each send): http(s), a host, a port in
    1..65535, no blanks; anything else is a ChannelError (its message is ours, in Chinese)."""
    if any(c.isspace() for c in url):
        raise ChannelError("Webhook 地址含有空白字符")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
        host = parts.hostname or ""
    except ValueError as error:
        raise ChannelError("Webhook 地址无法识别（主机名或端口有误）") from error
    if parts.scheme not in ("http", "https") or not host:
        raise ChannelError("Webhook 地址须以 http:// 或 https:// 开头并带有主机名")
    if port == 0:
        raise ChannelError("Webhook 地址的端口有误")
    return WebhookTarget(parts.scheme, host, port or (443 if parts.scheme == "https" else 80))


async def resolve_host(host: str, port: int, *, resolve_timeout: float = 5.0) -> list[str]:
    """Every address a webhook's host resolves to (an IP literal is its own answer)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), resolve_timeout)
    except (OSError, TimeoutError, UnicodeError) as error:
        raise ChannelError(f"Webhook 地址的主机名无法解析（{type(error).__name__}）") from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ChannelError("Webhook 地址的主机名无法解析")
    return addresses


async def checked_addresses(host: str, port: int, *, resolve_timeout: float = 5.0) -> list[str]:
    """Resolves once and refuses the host if any of its addresses is not public (unless the deployment allows
    private networks). The caller connects only to what this returned, so a DNS answer that changes between the
    check and the connect (rebinding) cannot lead anywhere unchecked."""
    addresses = await resolve_host(host, port, resolve_timeout=resolve_timeout)
    if not get_settings().webhook_private_networks:
        private = sorted(a for a in addresses if not is_public_address(a))
        if private:
            raise PrivateAddress(f"Webhook 地址指向本机或内网地址（{host} → {', '.join(private)}），已拒绝发送")
    return addresses


async def refuse_private_host(url: str, *, resolve_timeout: float = 5.0) -> None:
    """A webhook must not reach the bureau's own network or this machine (SSRF). Used when an address is saved;
    at each send the pinned client below checks again and connects to exactly the checked address."""
    target = webhook_target(url)
    await checked_addresses(target.host, target.port, resolve_timeout=resolve_timeout)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer for outbound requests: a TCP connection goes only to an address that
    `checked_addresses` returned for the name, resolved once here. TLS (SNI and certificate check) and the Host
    header still use the name, since httpcore takes those from the URL, not from the socket."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_address(self, address: str, port: int, **kwargs) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_tcp(address, port, **kwargs)

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 — httpcore's
                          local_address: str | None = None, socket_options=None) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port, resolve_timeout=timeout or TIMEOUT)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.connect_address(address, port, timeout=timeout, local_address=local_address,
                                                  socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        raise httpcore.ConnectError(f"{type(last).__name__}")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options=None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not outbound addresses")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__(retries=0)
        self._pool = httpcore.AsyncConnectionPool(ssl_context=self._pool._ssl_context,  # noqa: SLF001
                                                  network_backend=PinnedBackend())


def outbound_client(timeout: float | None = None) -> httpx.AsyncClient:
    """The one HTTP client for requests to addresses an administrator typed in: connects only to checked
    addresses, ignores proxy variables (a proxy would resolve the name itself) and follows no redirects."""
    return httpx.AsyncClient(transport=PinnedTransport(), timeout=timeout or TIMEOUT, trust_env=False,
                             follow_redirects=False)


async def post_webhook(url: str, payload: dict, message_id: str) -> None:
    """The message id also travels as an idempotency key header, for receivers (or proxies) that de-duplicate.
    A receiver's own words are never kept (they would be shown on the dead-letter page): only its status or
    refusal code."""
    webhook_target(url)
    try:
        async with outbound_client() as client:
            response = await client.post(url, json=payload, headers={"Idempotency-Key": message_id})
    except httpx.HTTPError as error:
        raise ChannelError(f"Webhook 连接失败（{type(error).__name__}）") from error
    if response.status_code >= 300:
        raise ChannelError(f"Webhook 返回错误，状态码 {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        return
    # WeCom and DingTalk answer {"errcode": 0}; Feishu {"code": 0} (older robots {"StatusCode": 0}).
    if isinstance(body, dict):
        for key in ("errcode", "code", "StatusCode"):
            if body.get(key) not in (None, 0):
                raise ChannelError(f"Webhook 拒绝了消息（状态码 {response.status_code}，返回了非零的 {key}），"
                                   "请在机器人平台核对地址、密钥和安全设置")


class SmsProvider(Protocol):
    async def send(self, phone: str, text: str, message_id: str) -> None: ...


class LoggingSmsProvider:
    """Sends nothing: logs what would be sent. A real provider (Aliyun, Tencent Cloud) implements SmsProvider."""

    async def send(self, phone: str, text: str, message_id: str) -> None:
        log.info("sms (logged only)", extra={"phone": phone, "message_id": message_id, "text": text})


sms_provider: SmsProvider = LoggingSmsProvider()


async def send(message: Outgoing) -> None:
    """Hands one message to its channel; raises ChannelError (or anything) when it was not taken."""
    match message.channel:
        case "email":
            await send_email(message)
        case "wecom":
            await post_webhook(message.recipient, wecom_payload(message), message.message_id)
        case "dingtalk":
            await post_webhook(dingtalk_url(message.recipient, message.secret), dingtalk_payload(message),
                               message.message_id)
        case "feishu":
            await post_webhook(message.recipient, feishu_payload(message), message.message_id)
        case "sms":
            await sms_provider.send(message.recipient, _with_id(message.body_text, message), message.message_id)
        case _:
            raise ChannelError(f"unknown channel {message.channel}")
