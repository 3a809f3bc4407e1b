"""How delivery addresses and secrets are shown: on the pages and in the API's answers, never whole."""

import urllib.parse

from backend.delivery.models import Channel

MASK = "••••"


def mask_secret(secret: str) -> str:
    """Only the last four characters of a signing secret are ever shown, and only of a long one."""
    if not secret:
        return ""
    return MASK + secret[-4:] if len(secret) > 8 else MASK


def mask_url(url: str) -> str:
    """A robot's webhook address is itself a key (whoever has it can post to the group): its token, in the
    query (WeCom key=, DingTalk access_token=) or as a long last path segment (Feishu hook/<id>), is masked."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return mask_secret(url)
    if not parts.scheme.startswith("http"):
        return url
    segments = [mask_secret(s) if len(s) >= 20 else s for s in parts.path.split("/")]
    query = "&".join(f"{k}={mask_secret(v) if len(v) > 8 else v}"
                     for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/".join(segments), query, ""))


def mask_recipient(channel: str, recipient: str) -> str:
    """How a recipient shows on the dead-letter list: phone numbers as 138****5678, webhook keys masked."""
    if channel == Channel.sms:
        return recipient[:3] + "****" + recipient[-4:] if len(recipient) >= 11 else "****"
    if channel in (Channel.wecom, Channel.dingtalk, Channel.feishu):
        return mask_url(recipient)
    return recipient
