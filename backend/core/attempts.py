"""Counters that limit attempts (sign-in per account and per address): one atomic helper.

A slot is taken (checked and counted in one Redis script) BEFORE the expensive or sensitive work, so concurrent
requests can never all read "under the limit" and then all go ahead (issue 14, finding 5). Redis being down must
not lock anyone out or turn into a 500: the caller learns it (`None`) and falls back to its own durable check.
"""

import hashlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS[1] counter; ARGV[1] limit, ARGV[2] window in seconds.
# Returns the slot taken (1..limit), or -(seconds left) when the limit is already reached (no slot taken).
_TAKE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 1 then ttl = 1 end
  return -ttl
end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return n
"""

# KEYS[1] counter: one slot given back (the attempt succeeded or was never made), never below zero.
_GIVE_BACK = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return n
"""


def key(kind: str, name: str) -> str:
    """The counter's key; the name (a login name, an address) is hashed so that no user input shapes a key."""
    return f"luoshi:attempts:{kind}:{hashlib.sha256(name.encode()).hexdigest()[:40]}"


class Taken:
    """The outcome of `take`: `slot` when one was taken, else `retry_after` seconds; `unavailable` if Redis is down."""

    def __init__(self, slot: int = 0, retry_after: int = 0, unavailable: bool = False) -> None:
        self.slot, self.retry_after, self.unavailable = slot, retry_after, unavailable

    @property
    def refused(self) -> bool:
        return not self.unavailable and self.slot == 0


async def take(redis: Redis | None, counter: str, *, limit: int, window_seconds: int) -> Taken:
    if redis is None:
        return Taken(unavailable=True)
    try:
        # redis-py types eval for its sync and async clients alike (an awaitable or a str)
        answer = int(await redis.eval(_TAKE, 1, counter, str(limit), str(window_seconds)))  # type: ignore[misc]
    except RedisError:
        log.warning("attempt counter unavailable: redis error")
        return Taken(unavailable=True)
    return Taken(slot=answer) if answer > 0 else Taken(retry_after=-answer)


async def reached(redis: Redis | None, counter: str, *, limit: int) -> bool:
    """Whether the limit is already reached, without taking a slot (False if Redis is down)."""
    if redis is None:
        return False
    try:
        return int(await redis.get(counter) or 0) >= limit
    except RedisError:
        log.warning("attempt counter unavailable: redis error")
        return False


async def give_back(redis: Redis | None, counter: str) -> None:
    if redis is None:
        return
    try:
        # redis-py types eval for its sync and async clients alike (an awaitable or a str)
        await redis.eval(_GIVE_BACK, 1, counter)  # type: ignore[misc]
    except RedisError:
        log.warning("attempt counter unavailable: redis error")


async def hold(redis: Redis | None, counter: str, *, seconds: int) -> None:
    """Keeps a counter that reached its limit at the limit for `seconds` (a lockout)."""
    if redis is None:
        return
    try:
        await redis.expire(counter, seconds)
    except RedisError:
        log.warning("attempt counter unavailable: redis error")


async def clear(redis: Redis | None, counter: str) -> None:
    if redis is None:
        return
    try:
        await redis.delete(counter)
    except RedisError:
        log.warning("attempt counter unavailable: redis error")
