"""Benchmark databases: settings from the environment, rebuilding, copying and querying them as the owner.
Only databases whose name starts with the script's prefix (luoshi_bench…, luoshi_soak…) are ever dropped."""

from __future__ import annotations

import os


def bench_environment(database_url: str, redis_url: str) -> None:
    """Settings come from the environment; this must run before anything reads them. Then the services are wired
    as in the app (tasks announce their changes to the lights: backend/wiring.py)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("LUOSHI_ENVIRONMENT", "test")
    os.environ.setdefault("LUOSHI_SECRET_KEY", "bench-secret-not-for-production")
    os.environ.setdefault("LUOSHI_LOG_LEVEL", "WARNING")
    os.environ.setdefault("LUOSHI_ARGON2_TIME_COST", "1")
    os.environ.setdefault("LUOSHI_ARGON2_MEMORY_KIB", "8192")
    import backend.wiring  # noqa: F401


def _refuse_unless(name: str, prefix: str) -> None:
    if not name.startswith(prefix):
        raise SystemExit(f"refusing to drop {name!r}: the benchmark only drops databases named {prefix}*")


def recreate_database(database_url: str, prefix: str = "luoshi_bench", template: str | None = None) -> None:
    """Drops and creates the database (empty, or a copy of `template`)."""
    import psycopg

    base, _, name = database_url.rpartition("/")
    _refuse_unless(name, prefix)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def copy_database(source_url: str, target_url: str) -> None:
    """A run writes (reviews, photos, the sweep's reminders): each run starts from a copy of the seeded state."""
    recreate_database(target_url, template=source_url.rpartition("/")[2])


def database_exists(database_url: str) -> bool:
    import psycopg

    base, _, name = database_url.rpartition("/")
    with psycopg.connect(base + "/postgres") as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def owner_query(database_url: str, statement: str, params: dict | tuple | None = None) -> list[tuple]:
    """A query as the database's owner (past row-level security), in its own connection."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()  # type: ignore[arg-type]


def flush_redis(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def redis_version(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return client.info("server").get("redis_version", "")
    finally:
        client.close()
