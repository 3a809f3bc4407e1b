"""Report tests: a bureau whose task 深化理论学习 has the office as lead unit and the school cooperating, with a
staff member and a head in each unit (the clock the tests move is tests/support/fixtures.py's `clock`)."""

from dataclasses import dataclass

import httpx
import pytest

from backend.accounts.service import create_api_token
from backend.core.actor import Actor
from backend.db import unit_of_work
from tests.reports.helpers import Loop, make_loop
from tests.support.fixtures import Bureau, csrf_of, login, make_client


@pytest.fixture
async def loop(bureau) -> Loop:
    return await make_loop(bureau)


@dataclass
class Browser:
    client: httpx.AsyncClient
    csrf: str

    async def get(self, path: str, **kwargs) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, data: dict | None = None) -> httpx.Response:
        return await self.client.post(path, data={**(data or {}), "csrf_token": self.csrf})


@pytest.fixture
async def browser(app):
    """`await browser(username)` gives a signed-in browser (5xx come back as responses, not exceptions)."""
    opened: list[httpx.AsyncClient] = []

    async def make(username: str) -> Browser:
        transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 5555), raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver", follow_redirects=False)
        opened.append(client)
        response = await login(client, username)
        assert response.status_code == 303, response.text[:300]
        return Browser(client, await csrf_of(client, "/"))

    yield make
    for client in opened:
        await client.aclose()


@pytest.fixture
async def api_client(app):
    """`await api_client(bureau, actor)` gives a script client with a bearer token of that member."""
    opened: list[httpx.AsyncClient] = []

    async def make(bureau: Bureau, actor: Actor) -> httpx.AsyncClient:
        async with unit_of_work(bureau.tenant.id) as session:
            _token, raw = await create_api_token(session, actor, name="报告脚本")
        client = make_client(app)
        client.headers["Authorization"] = f"Bearer {raw}"
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()
