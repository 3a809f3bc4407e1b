"""Route fixtures for the tenancy tests: signed-in (or anonymous) browsers and a bearer-token API caller."""

import httpx
import pytest

from backend.core.roles import Role
from tests.support.browser import Browser, quiet_client, sign_in
from tests.support.fixtures import Bureau, csrf_of


@pytest.fixture
async def browsers(app):
    """`await browsers(bureau, role)` gives a signed-in Browser; None as role gives an anonymous one."""
    opened: list[httpx.AsyncClient] = []

    async def make(bureau: Bureau | None, role: Role | None) -> Browser:
        client = quiet_client(app)
        opened.append(client)
        if role is None:
            return Browser(client, await csrf_of(client, "/login"))
        return await sign_in(client, bureau.username(role))

    yield make
    for client in opened:
        await client.aclose()


@pytest.fixture
async def api(app):
    """`await api(method, path, raw_token, json=...)` calls the API with a bearer token."""
    async with quiet_client(app) as client:

        async def call(method: str, path: str, raw: str | None, json: dict | None = None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {raw}"} if raw else {}
            return await client.request(method, path, json=json, headers=headers)

        yield call
