"""The year 2030 of tests/assessments/world.py, built on the shared `clock` fixture."""


import httpx
import pytest

from tests.assessments.world import World, build_year
from tests.support.fixtures import login


@pytest.fixture
async def world(bureau, clock) -> World:
    return await build_year(bureau, clock)


@pytest.fixture
async def login_as(app):
    """`await login_as(username)` gives a signed-in browser client (a 500 comes back as a response)."""
    opened: list[httpx.AsyncClient] = []

    async def make(username: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("10.6.5.4", 5555), raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver", follow_redirects=False)
        opened.append(client)
        response = await login(client, username)
        assert response.status_code == 303, response.text[:300]
        return client

    yield make
    for client in opened:
        await client.aclose()
