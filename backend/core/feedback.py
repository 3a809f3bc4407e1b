"""What happened, said once beside where the person acted: a one-shot message carried across Post/Redirect/Get.

A route that changed something answers with `done(request, url, message, place=...)`: the redirect carries the
message in a short-lived signed cookie, and the next full page shows it once — in the `feedback(place)` macro
beside the form the person used, or, on a page without that place, at the top of the page. The URL gets
`#feedback`, so the browser scrolls to the message (and to the form under it) on a phone.

A cookie rather than a `?notice=` query: a reload, a bookmark or a link shared from the address bar does not say
"已催办" again, and the message can name what was done (the unit, the new deadline) without a key per sentence.
"""

import base64
import json
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from backend.config import get_settings
from backend.core.security import sign

FLASH_COOKIE = "luoshi_flash"
ANCHOR = "feedback"


@dataclass
class Flash:
    message: str
    place: str = ""
    tone: str = "ok"
    shown: bool = False

    def here(self, place: str | None = None) -> bool:
        """True once: at its own place (`place` given) or, when that place is not on the page, anywhere (None)."""
        if self.shown or (place is not None and place != self.place):
            return False
        self.shown = True
        return True


def _encode(flash: Flash) -> str:
    body = base64.urlsafe_b64encode(json.dumps([flash.message, flash.place, flash.tone]).encode()).decode()
    return body + "." + sign("flash:" + body)[:32]


def _decode(raw: str) -> Flash | None:
    body, _sep, mac = raw.rpartition(".")
    if not body or mac != sign("flash:" + body)[:32]:
        return None
    try:
        message, place, tone = json.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, TypeError):
        return None
    return Flash(str(message), str(place), "warn" if tone == "warn" else "ok")


def set_flash(response: Response, message: str, *, place: str = "", tone: str = "ok") -> Response:
    response.set_cookie(FLASH_COOKIE, _encode(Flash(message, place, tone)), max_age=300, httponly=True,
                        samesite="lax", secure=get_settings().cookie_secure, path="/")
    return response


def take_flash(request: Request) -> Flash | None:
    """The waiting message for a full page (htmx fragments leave it for the page the browser goes to next)."""
    if request.headers.get("hx-request"):
        return None
    raw = request.cookies.get(FLASH_COOKIE)
    return _decode(raw) if raw else None


def with_anchor(url: str) -> str:
    return url if "#" in url else url + "#" + ANCHOR


def done(request: Request, url: str, message: str, *, place: str = "", tone: str = "ok") -> Response:
    """Post/Redirect/Get that says what happened, also for htmx (HX-Redirect: the next page shows it)."""
    target = with_anchor(url)
    if request.headers.get("hx-request"):
        response: Response = htmx_redirect(target)
    else:
        response = RedirectResponse(target, status_code=303)
    return set_flash(response, message, place=place, tone=tone)


def htmx_redirect(url: str) -> Response:
    """htmx's Post/Redirect/Get: 204 with `HX-Redirect`, the address percent-encoded as Starlette does for
    `Location` (a header is Latin-1: "/tasks?q=中文" could not be sent at all, "/été" reached htmx garbled)."""
    return Response(status_code=204, headers={"HX-Redirect": quote(url, safe=":/%#?=@[]!$&'()*+,;")})


def same_site_page(request: Request) -> str | None:
    """The page a form was posted from (path and query), when the browser says it and it is this site's own.

    Browsers send Referer on same-origin posts (Referrer-Policy: same-origin); htmx also sends HX-Current-URL.
    Ours: the host the request came to, or the configured public address (behind a proxy that rewrites Host)."""
    ours = {request.headers.get("host", request.url.netloc), urlsplit(get_settings().base_url).netloc}
    for header in ("hx-current-url", "referer"):
        value = request.headers.get(header)
        if not value:
            continue
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.netloc in ours:
            page = parts.path + ("?" + parts.query if parts.query else "")
            return page if is_safe_path(page) else None
    return None


def is_safe_path(url: str) -> bool:
    """A path on this site: starts with one "/", no backslash, no control or white-space character (browsers drop
    tabs and line breaks from URLs, so "/\\t/evil.example" would become "//evil.example"), no scheme or host."""
    if not url.startswith("/") or url.startswith("//") or len(url) > 2000:
        return False
    if any(c == "\\" or c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc
