"""Issue 14, finding 14: where a sign-in goes next must never break the response headers (reported as a 500).

`next` comes from the sign-in form or the query and ends up in a `Location` or, for htmx, an `HX-Redirect` header.
These requests go over a raw socket to a real uvicorn server, so that what the server itself does with line breaks
and with characters a header cannot carry (header values are Latin-1) is what is tested, not the test client's.
"""

import asyncio
import re
from urllib.parse import quote, urlsplit

import httpx
import pytest

from backend.core.roles import Role
from tests.support.fixtures import CSRF_RE, PASSWORD, create_bureau

HOSTILE_NEXT = [
    "/tasks\r\nSet-Cookie: evil=1",  # a header injected after the redirect
    "/tasks\rX: 1", "/tasks\nX: 1",
    "/tasks?q=中文",  # not Latin-1: a header value cannot carry it as it is
    "/tasks\u2028x", "/tasks\u0085x", "/\u00e9t\u00e9",
    "/tasks?q=%0d%0aSet-Cookie:%20evil=1",  # already percent-encoded: stays as it is, harmless
]


async def _raw(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends `request` as it is and reads the whole answer (the server closes: `Connection: close`)."""
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=20)
    writer.close()
    head, _sep, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return status, headers, body


async def _login_form(base: str) -> tuple[str, str]:
    """A fresh CSRF cookie and the form's token, as a browser has them before signing in."""
    async with httpx.AsyncClient(base_url=base) as browser:
        page = await browser.get("/login")
        cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    return cookie, CSRF_RE.search(page.text).group(1)


def _post(path: str, body: bytes, cookie: str, *, htmx: bool) -> bytes:
    extra = b"HX-Request: true\r\nHX-Current-URL: http://127.0.0.1/login\r\n" if htmx else b""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: {cookie}\r\n".encode()
            + b"Content-Type: application/x-www-form-urlencoded\r\n" + extra
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def _target(headers: dict[str, str]) -> str:
    return headers.get("hx-redirect") or headers.get("location") or ""


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
async def test_a_hostile_next_on_sign_in_never_breaks_the_headers(server, htmx):
    bureau = await create_bureau()
    username = bureau.username(Role.unit_staff)
    for hostile in HOSTILE_NEXT:
        for where in ("form", "query"):
            cookie, token = await _login_form(server)
            fields = {"username": username, "password": PASSWORD, "csrf_token": token}
            if where == "form":
                fields["next"] = hostile
            body = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items()).encode()
            path = "/login" + (f"?next={quote(hostile, safe='')}" if where == "query" else "")
            status, headers, answer = await _raw(server, _post(path, body, cookie, htmx=htmx))
            case = (hostile, where, status, answer[:200])
            assert status < 500, case
            assert status in (204, 303), case  # signed in, whatever `next` was
            assert "evil" not in headers and "x" not in headers, case  # nothing injected
            if status in (204, 303):  # signed in: to a page of ours, as a header that is one line of ASCII
                target = _target(headers)
                assert target.startswith("/") and not target.startswith("//"), case
                assert re.fullmatch(r"[\x21-\x7e]+", target), case


async def test_raw_line_breaks_in_header_positions_are_refused_by_the_server_not_a_500(server):
    cookie, _token = await _login_form(server)
    for header in (b"HX-Current-URL: http://127.0.0.1/a\rb", b"Referer: http://127.0.0.1/a\x00b",
                   b"HX-Current-URL: http://127.0.0.1/\xe4\xb8\xad"):
        request = (b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nHX-Request: true\r\n"
                   + f"Cookie: {cookie}\r\n".encode() + header + b"\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n")
        status, _headers, answer = await _raw(server, request)
        assert status < 500, (header, status, answer[:200])
