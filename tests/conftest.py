"""Test set-up: a real PostgreSQL database built by `luoshi migrate`, real Redis, and bureaus made by services.

On CI's machine PostgreSQL and Redis listen on 127.0.0.1; LUOSHI_TEST_DATABASE_URL / LUOSHI_TEST_REDIS_URL
point elsewhere. Each test makes its own bureaus with unique names, so tests never see each other's rows.
"""

import os
import tempfile
import uuid

import psycopg
import pytest

from tests.support.cluster import app_role_turn

# pytest-xdist names each worker gw0, gw1, …; a serial run has no worker (index 0).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_INDEX = int(WORKER.removeprefix("gw") or 0)


def _worker_redis_url(base: str) -> str:
    """Worker i uses Redis DB (base + i) mod 16, so each has its own arq queue and login counters to clear."""
    head, _, number = base.rpartition("/")
    if not number.isdigit():
        head, number = base.rstrip("/"), "0"
    return f"{head}/{(int(number) + WORKER_INDEX) % 16}"


# One database per test process (each xdist worker is one), so that parallel runs on one server never disturb each
# other; a database named by LUOSHI_TEST_DATABASE_URL gets the worker's id as a suffix.
_NAMED = os.environ.get("LUOSHI_TEST_DATABASE_URL")
ADMIN_URL = (f"{_NAMED}_{WORKER}" if WORKER else _NAMED) if _NAMED else (
    f"postgresql://postgres@127.0.0.1:5432/luoshi_test_{os.getpid()}")
REDIS_URL = _worker_redis_url(os.environ.get("LUOSHI_TEST_REDIS_URL", "redis://127.0.0.1:6379/9"))


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
    # xdist's workers inherit the controller's environment: each takes its own folder inside the run's data dir.
    data_dir = os.environ.get("LUOSHI_DATA_DIR") or tempfile.mkdtemp(prefix="luoshi-test-")
    os.environ["LUOSHI_DATA_DIR"] = os.path.join(data_dir, WORKER) if WORKER else data_dir
    os.makedirs(os.environ["LUOSHI_DATA_DIR"], exist_ok=True)
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
    with app_role_turn():
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


def pytest_collection_modifyitems(items):
    """The files marked `slow(seconds)` run first, longest first. pytest-xdist hands whole files to its workers in
    this order (pyproject: `--no-loadscope-reorder`; its default puts the files with most tests first, which leaves
    a long file of one test to run alone at the end while the other workers wait)."""
    def cost(item) -> float:
        marker = item.get_closest_marker("slow")
        return -marker.args[0] if marker else 0.0

    items.sort(key=cost)  # stable: files and tests otherwise keep their order


pytest_plugins = ["tests.support.fixtures"]
