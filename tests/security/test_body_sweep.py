"""Issue 14: every route that takes a body, read from the app's route table, is sent a body past its limit.

A route added later is swept without touching this file. Each POST/PUT/PATCH route gets a body one byte past the
limit its route has (`backend.core.bodies`): the small cap for routes that take no file, the file limit plus the
form around it for upload routes, and the small cap again for a urlencoded form to an upload route. Each must be
refused with 413 and a Chinese message, quickly, before authentication (the requests are anonymous) and without a
500. The bombs and oversized pictures that upload routes meet inside their limit are swept, route by route, by
tests/security/test_file_sweep.py.
"""

import re
import time

import httpx
import pytest

from backend.core.bodies import FORM_OVERHEAD, body_limit, small_limit
from tests.support.routes import all_endpoints, fill_path

CHINESE = re.compile(r"[\u4e00-\u9fff]{4,}")
BODY_METHODS = {"POST", "PUT", "PATCH"}


class _AnyIds:
    """Path parameters: any well-formed id does (the body is refused before the route looks at it)."""

    def uuid_for(self, _name: str):
        import uuid

        return uuid.uuid4()


def _message(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith("application/json"):
        return str(response.json().get("detail") or "")
    return response.text


@pytest.fixture
def endpoints(app):
    found = [e for e in all_endpoints(app) if e.method in BODY_METHODS]
    assert len(found) > 50  # the route table was read
    return found


async def test_every_body_past_its_routes_limit_is_refused_fast_with_a_message(app, endpoints):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    largest = max(body_limit(app, {"path": fill_path(e.path, e.route, _AnyIds()), "method": e.method})[0]
                  for e in endpoints)
    payload = memoryview(b"x" * (largest + 1))
    uploads = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for endpoint in endpoints:
            path = fill_path(endpoint.path, endpoint.route, _AnyIds())
            limit, upload = body_limit(app, {"path": path, "method": endpoint.method})
            uploads += upload
            cases = [("multipart/form-data; boundary=sweep" if upload else "application/json", limit)]
            if upload:
                cases.append(("application/x-www-form-urlencoded", small_limit()))
            for content_type, cap in cases:
                started = time.monotonic()
                response = await client.request(endpoint.method, path, content=bytes(payload[:cap + 1]),
                                                headers={"content-type": content_type})
                elapsed = time.monotonic() - started
                where = (endpoint.method, endpoint.path, content_type)
                assert response.status_code == 413, (*where, response.status_code, _message(response)[:200])
                assert CHINESE.search(_message(response)), where
                assert elapsed < 2, (*where, f"{elapsed:.1f} s")
    assert uploads >= 9  # evidence (page, API, supersede ×2), plans (page, API ×2, table), the report form
    assert largest > FORM_OVERHEAD + 2**20


# --- the same limits for bodies of undeclared length (chunked, no Content-Length) ------------------------------

MULTIPART_HEAD = (b'--sweep\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
                  b"Content-Type: application/octet-stream\r\n\r\n")


def streamed_body(content_type: str, total: int):
    """A well-formed start of a body of `content_type` (so the route really reads it) and then filler up to `total`
    bytes, streamed in 64 KiB chunks: httpx sends it chunked, without a Content-Length. `sent` says how far it
    was read."""
    head = {"application/json": b'{"x": "', "application/x-www-form-urlencoded": b"x="}.get(
        content_type.partition(";")[0], MULTIPART_HEAD)

    class Body:
        sent = 0

        async def __aiter__(self):
            self.sent = len(head)
            yield head
            while self.sent < total:
                step = min(2**16, total - self.sent)
                self.sent += step
                yield b"x" * step

    return Body()


def streamed_cases(app, endpoint) -> list[tuple[str, str, int]]:
    """(path, content type, limit) of the streamed bodies a route gets: what it takes, and a form for the small cap."""
    path = fill_path(endpoint.path, endpoint.route, _AnyIds())
    limit, upload = body_limit(app, {"path": path, "method": endpoint.method})
    if upload:
        return [(path, "multipart/form-data; boundary=sweep", limit),
                (path, "application/x-www-form-urlencoded", small_limit())]
    return [(path, "application/json" if path.startswith("/api/") else "application/x-www-form-urlencoded", limit)]


async def test_every_streamed_body_past_its_routes_limit_is_refused_with_a_message(app, endpoints):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    swept = refused_for_size = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for endpoint in endpoints:
            for path, content_type, cap in streamed_cases(app, endpoint):
                started = time.monotonic()
                body = streamed_body(content_type, cap + 1)
                response = await client.request(endpoint.method, path, content=body,
                                                headers={"content-type": content_type})
                elapsed = time.monotonic() - started
                where = (endpoint.method, endpoint.path, content_type, response.status_code, _message(response)[:200])
                assert "content-length" not in response.request.headers, where
                # Refused for its size once past the limit, or refused (CSRF, sign-in) before the body was read.
                if response.status_code == 413:
                    refused_for_size += 1
                else:
                    assert response.status_code in (401, 403) and body.sent < cap, (*where, body.sent)
                assert CHINESE.search(_message(response)), where
                assert elapsed < 5, (*where, f"{elapsed:.1f} s")
                swept += 1
    assert swept == len(endpoints) + 9
    assert refused_for_size > len(endpoints) // 2, refused_for_size  # most routes do read their bodies
