"""Health, metrics, security headers, error pages and the language switch."""

import httpx

from backend.config import get_settings
from tests.support.fixtures import csrf_of, login


async def test_healthz_reports_each_part(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "ok", "redis": "ok"}


async def test_healthz_names_redis_when_it_is_down(app, monkeypatch):
    from redis.asyncio import Redis

    from backend.core import redis as redis_module

    monkeypatch.setattr(redis_module, "_client", Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "db": "ok", "redis": "down"}


async def test_metrics_only_from_allowed_addresses(app, monkeypatch):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 1)),
                                 base_url="http://testserver") as local:
        await local.get("/healthz")
        metrics = await local.get("/metrics")
    assert metrics.status_code == 200 and "luoshi_http_requests_total" in metrics.text
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 1)),
                                 base_url="http://testserver") as remote:
        assert (await remote.get("/metrics")).status_code == 404
    monkeypatch.setattr(get_settings(), "metrics_allow", "203.0.113.0/24")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 1)),
                                 base_url="http://testserver") as allowed:
        assert (await allowed.get("/metrics")).status_code == 200


async def test_security_headers_on_pages(client):
    response = await client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in response.text  # no inline script anywhere on the page
    assert response.headers["x-request-id"]


async def test_request_id_is_echoed(client):
    response = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"


async def test_unknown_page_and_bad_id_are_chinese_pages_not_500(client, bureau):
    missing = await client.get("/no-such-page")
    assert missing.status_code == 404 and "找不到您要的页面" in missing.text
    await login(client, bureau.username("admin"))
    bad_id = await client.get("/admin/units/not-a-uuid")
    assert bad_id.status_code == 404 and "找不到" in bad_id.text


async def test_language_switch_to_english(client, bureau):
    token = await csrf_of(client)
    response = await client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": token})
    assert response.status_code == 303
    page = await client.get("/login")
    assert 'lang="en"' in page.text and "Log in" in page.text and "登录名" not in page.text


async def test_static_assets_are_served_locally(client):
    htmx = await client.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:2000]
    page = await client.get("/login")
    assert "http://" not in page.text.replace('http://testserver', '') or "cdn" not in page.text.lower()
    assert "//cdn" not in page.text and "https://" not in page.text


async def test_an_oversized_body_is_refused_before_it_is_read(bureau, monkeypatch):
    from backend.web import create_app
    from tests.support.fixtures import login, make_client

    monkeypatch.setattr(get_settings(), "evidence_max_mb", 1)
    async with make_client(create_app()) as client:
        await login(client, bureau.username("unit_staff"))
        token = await csrf_of(client, "/tasks")
        response = await client.post("/tasks/00000000-0000-0000-0000-000000000000/evidence",
                                     data={"csrf_token": token}, files={"file": ("big.jpg", b"x" * (4 * 2**20))})
    assert response.status_code == 413 and "上传的内容太大" in response.text
