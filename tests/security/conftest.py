"""The app under a real uvicorn server, for the security tests where the network and the event loop matter."""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest


@pytest.fixture
async def server(database) -> AsyncIterator[str]:
    """The app under uvicorn in a process of its own on a free port of 127.0.0.1: a stalled event loop there
    shows as a slow /healthz here."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.web:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--lifespan", "off", "--log-level", "warning", "--no-access-log"],
        env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            for _attempt in range(300):
                assert process.poll() is None, "uvicorn stopped before answering /healthz"
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)
