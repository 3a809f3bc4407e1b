"""Fixtures of the role sweep: a recorder of permission checks and refusals, and the clients to close."""

import sys

import httpx
import pytest

from backend.core.actor import Actor
from backend.errors import Forbidden
from tests.security.role_sweep.harness import DEPS_FILE, Recorder


@pytest.fixture
def recorder(monkeypatch) -> Recorder:
    """Records `Actor.can` (which `require` calls) and every Forbidden. Templates also ask `actor.can` to show
    or hide buttons; those answers are not checks, so only calls from Python source count. The request
    dependencies' refusals (CSRF, operator pages) are not about the bureau's roles and are left out."""
    found = Recorder()
    can, forbidden_init = Actor.can, Forbidden.__init__

    def recording_can(self, permission: str) -> bool:
        granted = can(self, permission)
        if sys._getframe(1).f_code.co_filename.endswith(".py"):
            found.checks.append((permission, granted))
        return granted

    def recording_init(self, message: str, **kwargs) -> None:
        if sys._getframe(1).f_code.co_filename != DEPS_FILE:
            found.refusals.append(message)
        forbidden_init(self, message, **kwargs)

    monkeypatch.setattr(Actor, "can", recording_can)
    monkeypatch.setattr(Forbidden, "__init__", recording_init)
    return found


@pytest.fixture
async def clients():
    opened: list[httpx.AsyncClient] = []
    yield opened
    for client in opened:
        await client.aclose()
