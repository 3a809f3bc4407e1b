"""Test set-up: a real PostgreSQL database built by `luoshi migrate`, real Redis, and bureaus made by services.

On CI's machine PostgreSQL and Redis listen on 127.0.0.1; LUOSHI_TEST_DATABASE_URL / LUOSHI_TEST_REDIS_URL
point elsewhere. Each test makes its own bureaus with unique names, so tests never see each other's rows.
"""

import os
import tempfile
import uuid

import psycopg
import pytest

# One database per test run, so that parallel runs on one server never disturb each other.
ADMIN_URL = os.environ.get(
    "LUOSHI_TEST_DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/luoshi_test_{os.getpid()}"
)
REDIS_URL = os.environ.get("LUOSHI_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def _drop_database(url: str, *, create: bool) -> None:
    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def pytest_configure(config):
    os.environ["DATABASE_URL"] = ADMIN_URL
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ.setdefault("LUOSHI_ENVIRONMENT", "test")
    os.environ.setdefault("LUOSHI_SECRET_KEY", "test-secret-" + uuid.uuid4().hex)
    os.environ.setdefault("LUOSHI_BASE_URL", "http://testserver")
    os.environ.setdefault("LUOSHI_DATA_DIR", tempfile.mkdtemp(prefix="luoshi-test-"))
    # Still argon2id, at a cost that keeps hundreds of test logins quick.
    os.environ.setdefault("LUOSHI_ARGON2_TIME_COST", "1")
    os.environ.setdefault("LUOSHI_ARGON2_MEMORY_KIB", "8192")
    # The webhook receivers of the tests listen on 127.0.0.1 (tests/delivery checks the refusal with it unset).
    os.environ.setdefault("LUOSHI_WEBHOOK_PRIVATE_NETWORKS", "1")


@pytest.fixture(scope="session", autouse=True)
def database():
    from backend.config import get_settings
    from backend.core.migrate import migrate

    get_settings.cache_clear()
    _drop_database(ADMIN_URL, create=True)
    migrate()
    yield ADMIN_URL
    _drop_database(ADMIN_URL, create=False)


@pytest.fixture(autouse=True)
async def _fresh_redis():
    """Login throttling counts failures per address, and requests leave jobs (thumbnails) in arq's queue:
    every test starts from none of either."""
    from backend.core.redis import get_redis

    redis = get_redis()
    keys = [key async for key in redis.scan_iter("luoshi:attempts:*")]
    keys += [key async for key in redis.scan_iter("arq:*")]
    if keys:
        await redis.delete(*keys)
    yield


pytest_plugins = ["tests.support.fixtures"]
