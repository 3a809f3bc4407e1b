"""Test set-up: a real PostgreSQL database built by `luoshi migrate`, real Redis, and bureaus made by services.

On CI's machine PostgreSQL and Redis listen on 127.0.0.1; LUOSHI_TEST_DATABASE_URL / LUOSHI_TEST_REDIS_URL
point elsewhere. Each test makes its own bureaus with unique names, so tests never see each other's rows.
"""

import os
import uuid

import psycopg
import pytest

ADMIN_URL = os.environ.get("LUOSHI_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/luoshi_test")
REDIS_URL = os.environ.get("LUOSHI_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def _recreate_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def pytest_configure(config):
    os.environ["DATABASE_URL"] = ADMIN_URL
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ.setdefault("LUOSHI_ENVIRONMENT", "test")
    os.environ.setdefault("LUOSHI_SECRET_KEY", "test-secret-" + uuid.uuid4().hex)
    os.environ.setdefault("LUOSHI_BASE_URL", "http://testserver")


@pytest.fixture(scope="session", autouse=True)
def database():
    from backend.config import get_settings
    from backend.core.migrate import migrate

    get_settings.cache_clear()
    _recreate_database(ADMIN_URL)
    migrate()
    yield ADMIN_URL


@pytest.fixture(autouse=True)
async def _fresh_redis():
    """Login throttling counts failures per address; every test starts from none."""
    from backend.core.redis import get_redis

    redis = get_redis()
    keys = [key async for key in redis.scan_iter("luoshi:login-fail:*")]
    if keys:
        await redis.delete(*keys)
    yield


pytest_plugins = ["tests.support.fixtures"]
