"""A signed-in browser for page tests: it sends the page's CSRF token with every form, as the pages do."""

from dataclasses import dataclass

import httpx

from tests.support.fixtures import csrf_of, login


@dataclass
class Browser:
    client: httpx.AsyncClient
    csrf: str

    async def get(self, path: str, **kwargs) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, data: dict | None = None, **kwargs) -> httpx.Response:
        return await self.client.post(path, data={**(data or {}), "csrf_token": self.csrf}, **kwargs)

    async def post_raw(self, path: str, body: bytes,
                       content_type: str = "application/x-www-form-urlencoded") -> httpx.Response:
        return await self.client.post(path, content=body, headers={"content-type": content_type,
                                                                  "x-csrf-token": self.csrf})


def quiet_client(app, address: tuple[str, int] = ("10.1.2.3", 5555), **kwargs) -> httpx.AsyncClient:
    """Like the fixtures' client, but an unhandled error comes back as the 500 a browser would see."""
    transport = httpx.ASGITransport(app=app, client=address, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", follow_redirects=False, **kwargs)


async def sign_in(client: httpx.AsyncClient, username: str) -> Browser:
    """Signs `username` in on `client` and returns it as a Browser holding the signed-in page's CSRF token."""
    response = await login(client, username)
    assert response.status_code == 303, response.text[:300]
    return Browser(client, await csrf_of(client, "/"))
