"""What every Luoshi middleware shares: pure ASGI (cheap: no request objects of its own), for HTTP requests only."""

from typing import Any


class HttpMiddleware:
    """Lifespan and any other scope go straight to the app; `http` sees each HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope, receive, send) -> None:
        raise NotImplementedError
