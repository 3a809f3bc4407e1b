"""Set-up for the hostile-input tests: one bureau per module, browsers that record every status, and the
reports' clock in November 2026."""

import httpx
import pytest

from backend.config import get_settings
from tests.reports.helpers import Loop, make_loop
from tests.security.hostile_input.helpers import EARLY_NOVEMBER, People
from tests.support.browser import Browser, quiet_client, sign_in
from tests.support.fixtures import create_bureau


@pytest.fixture(scope="module")
def app(database):
    from backend.web import create_app

    return create_app()


@pytest.fixture(scope="module")
async def world(database) -> Loop:
    """A bureau whose office leads 深化理论学习 (office staff and head added) and whose school cooperates."""
    return await make_loop(await create_bureau("恶意输入测试局"))


@pytest.fixture(autouse=True)
def _clock_and_files(monkeypatch, tmp_path, clock):
    """Reports in November 2026, and stored files in this test's own folder."""
    clock(EARLY_NOVEMBER)
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "data")
    monkeypatch.setattr(get_settings(), "storage", "local")

    async def no_job(*args, **kwargs):
        return None

    monkeypatch.setattr("backend.core.jobs.enqueue", no_job)


@pytest.fixture
async def browsers(app):
    """`await browsers(username)`; after the test, no request of any of them may have answered 5xx."""
    opened: list[httpx.AsyncClient] = []
    failures: list[str] = []

    async def record(response: httpx.Response) -> None:
        if response.status_code >= 500:
            await response.aread()
            failures.append(f"{response.request.method} {response.request.url.path} → {response.status_code}: "
                            f"{response.text[:300]}")

    async def make(username: str) -> Browser:
        client = quiet_client(app, ("10.66.0.1", 6000), event_hooks={"response": [record]}, timeout=60)
        opened.append(client)
        return await sign_in(client, username)

    yield make
    for client in opened:
        await client.aclose()
    assert not failures, "\n".join(failures)


@pytest.fixture
async def people(world, browsers) -> People:
    u = world.usernames
    return People(*[await browsers(u[name]) for name in ("admin", "supervisor", "leader", "staff", "co_staff")])
