"""Secrets, hashes and the password rules a 等保2.0 level-3 system must enforce."""

import functools
import hashlib
import hmac
import re
import secrets

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.config import get_settings
from backend.errors import InvalidInput
from backend.i18n import _


@functools.cache
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the login name is unknown, so both paths take the same time."""
    return _hasher().hash("luoshi-dummy-password")


# Argon2 takes ~0.5 s of CPU and 64 MiB by design: it runs in worker threads, two at a time, so that a wave of
# logins neither stalls every other request on the event loop nor multiplies the memory it needs.
_ARGON2_SLOTS = anyio.CapacityLimiter(2)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher().hash, password, limiter=_ARGON2_SLOTS)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, password_hash, password, limiter=_ARGON2_SLOTS)


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(value: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def check_password_rules(password: str, *, username: str = "", field: str = "password") -> None:
    """Length, three of four character classes, and not the login name — the usual 等保 reading."""
    settings = get_settings()
    if len(password) < settings.password_min_length:
        raise InvalidInput(_("密码至少需要 %(n)s 位。", n=settings.password_min_length), field=field)
    classes = sum(
        bool(re.search(pattern, password)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")
    )
    if classes < 3:
        raise InvalidInput(
            _("密码需包含大写字母、小写字母、数字、符号中的至少三类。"), field="password"
        )
    if username and username.lower() in password.lower():
        raise InvalidInput(_("密码不能包含登录名。"), field=field)


def temporary_password() -> str:
    """A one-time password that satisfies the rules; the person must change it at first login."""
    return "Ls-" + secrets.token_urlsafe(9) + "7a"
