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


_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class Claim:
    """One holder of a named piece of work across every process (`claim`); `release` frees it (only if still ours)."""

    def __init__(self, key: str, token: str) -> None:
        self.key, self.token = key, token

    async def release(self) -> None:
        # redis-py types eval for its sync and async clients alike (an awaitable or a str)
        await get_redis().eval(_RELEASE, 1, self.key, self.token)  # type: ignore[misc]


async def claim(key: str, *, seconds: int) -> Claim | None:
    """The claim on `key` for at most `seconds` (it lapses by itself if its holder dies), or None when another
    request holds it: an atomic SET NX, so of any number of concurrent requests exactly one gets it."""
    import secrets

    token = secrets.token_hex(16)
    if await get_redis().set(key, token, nx=True, ex=seconds):
        return Claim(key, token)
    return None
