"""Luoshi (and the bare app) as real subprocesses: a free port, start with a log file, wait for /healthz, stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def luoshi_command() -> list[str]:
    """The `luoshi` console script beside this interpreter, or the module when it is not installed."""
    script = Path(sys.executable).with_name("luoshi")
    return [str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]


def start(command: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    """Starts `command` from the repository root, stdout and stderr to `log_path`, in a process group of its own so
    that `stop` reaches uvicorn's and arq's children too."""
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                start_new_session=True)


def stop(process: subprocess.Popen | None, grace: float = 20.0) -> None:
    """SIGINT to the process's group, SIGKILL after `grace` seconds, then to anything of the group left."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, 0)  # anything of the group left (an orphaned worker)?
        os.killpg(process.pid, signal.SIGKILL)


async def wait_ready(base_url: str, server: subprocess.Popen, within: float = 30.0,
                     log: str = "bench/results/server.log") -> None:
    """Until the server answers /healthz; stops the benchmark, pointing at its log, if it exits or never answers."""
    import httpx

    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}; see {log}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"the server did not become ready; see {log}")
