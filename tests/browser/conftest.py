"""Browser tests: the real app under uvicorn on 127.0.0.1, driven by Debian's Chromium through Playwright.

The server runs as a task on pytest's session event loop rather than in a thread of its own: the app keeps one
SQLAlchemy engine and one Redis client per process (backend.db, backend.core.redis), and the tests use those same
objects (create_bureau, the _fresh_redis fixture). Connections made on one event loop cannot be used on another,
so a server thread with its own loop shares pooled connections across loops (tried: "got Future attached to a
different loop"). On one loop, the server answers whenever a test awaits Playwright. lifespan="off": the app's
shutdown would close that shared engine and Redis client under the rest of the session.

No browser is downloaded: Playwright launches /usr/bin/chromium. No request leaves the machine.
"""

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from backend.core.roles import Role
from tests.support.fixtures import PASSWORD, Bureau

CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
AXE_JS = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3,
         "locale": "zh-CN"}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"}

SHOTS = os.environ.get("LUOSHI_SCREENSHOTS")  # a folder: pages are saved there for people to look at


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Saves the page as <name>.png in $LUOSHI_SCREENSHOTS when it is set; tests never compare pictures."""
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/{name}.png", full_page=full_page)


class _Server(uvicorn.Server):
    """pytest owns SIGINT/SIGTERM; the server only stops when told to."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def live_server(database) -> AsyncIterator[str]:
    """Base URL of the app served by uvicorn (factory backend.web:create_app) on a free 127.0.0.1 port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config("backend.web:create_app", factory=True, host="127.0.0.1", port=port,
                            log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        for _attempt in range(200):
            if task.done():
                task.result()  # raises the server's start-up error
                raise RuntimeError("uvicorn stopped before answering /healthz")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("the live server did not answer /healthz within 10 s")
    yield base_url
    server.should_exit = True
    await asyncio.wait_for(task, timeout=15)
    sock.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def _context(browser: Browser, live_server: str, **options) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(base_url=live_server, **options)
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        await context.close()


@pytest_asyncio.fixture
async def phone(browser, live_server) -> AsyncIterator[BrowserContext]:
    """A 390×844 phone (is_mobile, touch, 3× pixels), Chinese locale."""
    async for context in _context(browser, live_server, **PHONE):
        yield context


@pytest_asyncio.fixture
async def desktop(browser, live_server) -> AsyncIterator[BrowserContext]:
    async for context in _context(browser, live_server, **DESKTOP):
        yield context


@pytest_asyncio.fixture
async def phone_page(phone) -> Page:
    return await phone.new_page()


@pytest_asyncio.fixture
async def axe_phone(browser, live_server) -> AsyncIterator[BrowserContext]:
    """The phone, for the axe run only, with the page's CSP bypassed.

    Playwright's add_script_tag(path=...) inserts axe as an inline <script>, which the app's CSP
    (script-src 'self') refuses; bypass_csp lets that one inline script run. Other tests keep the CSP."""
    async for context in _context(browser, live_server, bypass_csp=True, **PHONE):
        yield context


async def sign_in(page: Page, bureau: Bureau, role: Role, password: str = PASSWORD) -> None:
    """Logs in through the form, the way a person does: open /, get sent to /login, fill in by label, submit."""
    await page.goto("/")
    await page.wait_for_url("**/login")
    await page.get_by_label("登录名").fill(bureau.username(role))
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录", exact=True).click()
