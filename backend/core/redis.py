"""The shared Redis client (throttling, arq's queue)."""

from redis.asyncio import Redis

from backend.config import get_settings

_client: Redis | None = None


def get_redis() -> Redis:
    global _client
    if _client is None:
        url = get_settings().redis_url or "redis://127.0.0.1:6379/0"
        _client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    return _client


async def close_redis() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
    _client = None
