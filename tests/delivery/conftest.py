"""A real SMTP sink (aiosmtpd) and a real local HTTP receiver for the robot webhooks."""

import asyncio
import socket
from dataclasses import dataclass, field

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 — aiosmtpd's hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("LUOSHI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LUOSHI_SMTP_PORT", str(port))
    monkeypatch.setenv("LUOSHI_SMTP_FROM", "luoshi@bureau.test")
    yield sink
    controller.stop()


@dataclass
class Receiver:
    base: str
    requests: list[tuple[str, dict, dict]] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errcodes: dict[str, int] = field(default_factory=dict)
    errmsg: str = "ok"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def to(self, name: str) -> list[tuple[str, dict, dict]]:
        return [r for r in self.requests if r[0] == f"/{name}"]


@pytest.fixture
async def receiver():
    state = Receiver(base="")

    async def hook(request: Request) -> JSONResponse:
        state.requests.append((request.url.path, dict(request.query_params), await request.json()))
        status = state.statuses.get(request.url.path, 200)
        errcode = state.errcodes.get(request.url.path, 0 if status == 200 else 500)
        return JSONResponse({"errcode": errcode, "errmsg": state.errmsg}, status_code=status)

    app = Starlette(routes=[Route("/{name}", hook, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    state.base = f"http://127.0.0.1:{port}"
    yield state
    server.should_exit = True
    await task
