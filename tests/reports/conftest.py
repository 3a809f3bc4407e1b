"""Report tests: a bureau whose task 深化理论学习 has the office as lead unit and the school cooperating, with a
staff member and a head in each unit (the clock the tests move is tests/support/fixtures.py's `clock`)."""

import httpx
import pytest

from backend.accounts.service import create_api_token
from backend.core.actor import Actor
from backend.db import unit_of_work
from tests.reports.helpers import EARLY_NOVEMBER, Loop, make_loop
from tests.support.browser import Browser, quiet_client, sign_in
from tests.support.fixtures import Bureau, make_client


@pytest.fixture
async def loop(bureau) -> Loop:
    return await make_loop(bureau)


@pytest.fixture
def november(clock):
    """Early November 2026 (before the default report day); modules take it with `pytestmark`."""
    clock(EARLY_NOVEMBER)


@pytest.fixture
async def browser(app):
    """`await browser(username)` gives a signed-in browser (5xx come back as responses, not exceptions)."""
    opened: list[httpx.AsyncClient] = []

    async def make(username: str) -> Browser:
        client = quiet_client(app, ("10.9.8.7", 5555))
        opened.append(client)
        return await sign_in(client, username)

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
