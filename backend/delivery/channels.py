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
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib
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


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def refuse_private_host(url: str, *, resolve_timeout: float = 5.0) -> None:
    """A webhook must not reach the bureau's own network or this machine (SSRF): every address its host resolves
    to must be public, unless the deployment allows private networks. Checked again at each send, since DNS can
    change after the address was saved."""
    if get_settings().webhook_private_networks:
        return
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, parts.port or 443), resolve_timeout)
    except (OSError, TimeoutError) as error:
        raise ChannelError(f"webhook host {host!r} does not resolve: {error!r}") from error
    private = sorted({info[4][0] for info in infos if not is_public_address(info[4][0])})
    if private:
        raise PrivateAddress(f"webhook host {host!r} resolves to non-public {', '.join(private)}")


async def post_webhook(url: str, payload: dict, message_id: str) -> None:
    """The message id also travels as an idempotency key header, for receivers (or proxies) that de-duplicate."""
    await refuse_private_host(url)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.post(url, json=payload, headers={"Idempotency-Key": message_id})
    except httpx.HTTPError as error:
        raise ChannelError(f"webhook: {error!r}") from error
    if response.status_code >= 300:
        raise ChannelError(f"webhook answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        return
    # WeCom and DingTalk answer {"errcode": 0}; Feishu {"code": 0} (older robots {"StatusCode": 0}).
    if isinstance(body, dict):
        for key in ("errcode", "code", "StatusCode"):
            if body.get(key) not in (None, 0):
                raise ChannelError(f"webhook refused: {key}={body.get(key)} {body.get('errmsg') or body.get('msg')}")


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
