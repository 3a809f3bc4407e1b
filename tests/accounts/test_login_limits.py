"""Issue 14 findings 5 and 12: lockout and throttling hold under concurrency, trusted proxies are configured (not
assumed), and a failed login tells nothing about whether the account exists."""

import asyncio
import re
import socket

import httpx
import pytest
import uvicorn

from backend.accounts import service as accounts_service
from backend.config import get_settings
from backend.core.roles import Role
from tests.support.fixtures import PASSWORD, csrf_of, make_client, unique


@pytest.fixture
def checks(monkeypatch) -> list[str | None]:
    """Every password actually verified (the hash it was verified against: None = the dummy)."""
    seen: list[str | None] = []
    real = accounts_service.verify_password

    async def counting(password_hash, password):
        seen.append(password_hash)
        return await real(password_hash, password)

    monkeypatch.setattr(accounts_service, "verify_password", counting)
    return seen


async def _attempt(app, username: str, password: str, **headers: str) -> httpx.Response:
    async with make_client(app) as client:
        token = await csrf_of(client)
        return await client.post("/login", headers=headers,
                                 data={"username": username, "password": password, "csrf_token": token})


async def test_concurrent_wrong_passwords_check_at_most_the_limit_then_lock(app, bureau, checks):
    limit = get_settings().login_max_failures
    username = bureau.username(Role.unit_staff)
    answers = await asyncio.gather(*(_attempt(app, username, f"Wrong-password-{i}") for i in range(25)))
    assert {a.status_code for a in answers} <= {401, 429}
    real_checks = [h for h in checks if h is not None]  # the others verify the dummy hash (finding 12)
    assert len(real_checks) <= limit, f"{len(real_checks)} passwords checked, limit {limit}"
    right = await _attempt(app, username, PASSWORD)
    assert right.status_code == 429 and "分钟后再试" in right.text  # locked: even the right password


async def test_concurrent_attempts_from_one_address_check_at_most_the_limit(app, bureau, checks):
    limit = get_settings().login_ip_max_failures
    names = [unique("nobody-") for _ in range(60)]
    answers = await asyncio.gather(*(_attempt(app, name, "Wrong-password-1") for name in names))
    assert {a.status_code for a in answers} <= {401, 429}
    assert len(checks) <= limit, f"{len(checks)} passwords checked from one address, limit {limit}"
    refused = await _attempt(app, bureau.username(Role.admin), PASSWORD)
    assert refused.status_code == 429 and "此地址登录失败次数过多" in refused.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("trusted", [None, "127.0.0.1"])
async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(bureau, monkeypatch, checks, trusted):
    """A real uvicorn listener configured as `luoshi serve` configures it. Without LUOSHI_TRUSTED_PROXIES the
    header is the client's own word and changing it per attempt gains nothing; from a trusted proxy it names the
    client, so two clients behind the proxy are counted apart."""
    from backend.cli import server_config

    if trusted:
        monkeypatch.setenv("LUOSHI_TRUSTED_PROXIES", trusted)
    else:
        monkeypatch.delenv("LUOSHI_TRUSTED_PROXIES", raising=False)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    get_settings.cache_clear()
    monkeypatch.setattr(get_settings(), "login_ip_max_failures", 3)
    port = _free_port()
    server = uvicorn.Server(server_config(host="127.0.0.1", port=port, workers=1))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=30) as client:
            answers = []
            for i in range(6):
                token = await csrf_of(client)
                answers.append(await client.post(
                    "/login", headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
                    data={"username": unique("nobody-"), "password": "Wrong-password-1", "csrf_token": token}))
    finally:
        server.should_exit = True
        await serving
        get_settings.cache_clear()
    statuses = [a.status_code for a in answers]
    if trusted:
        assert statuses == [401] * 6 and len(checks) == 6
    else:
        assert statuses == [401, 401, 401, 429, 429, 429] and len(checks) == 3


# --- finding 12: a failed sign-in says nothing about whether the account exists ------------------------------

ALERT_RE = re.compile(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', re.S)


def _alert(response: httpx.Response) -> str:
    found = ALERT_RE.search(response.text)
    assert found, response.text[:2000]
    return " ".join(found.group(1).split())


async def test_the_fifth_wrong_password_answers_the_same_for_real_and_unknown_accounts(app, bureau):
    real, unknown = bureau.username(Role.leader), unique("nobody-")
    answers = {}
    for name in (real, unknown):
        for _attempt_number in range(get_settings().login_max_failures):
            answers[name] = await _attempt(app, name, "Wrong-password-1")
    assert answers[real].status_code == answers[unknown].status_code == 429
    assert _alert(answers[real]) == _alert(answers[unknown])
    sixth = {name: await _attempt(app, name, "Wrong-password-1") for name in (real, unknown)}
    assert sixth[real].status_code == sixth[unknown].status_code == 429
    assert _alert(sixth[real]) == _alert(sixth[unknown])


async def test_a_locked_or_unknown_account_costs_a_full_password_check(app, bureau, checks):
    """Never timings: the answer for a locked account must still verify against the dummy argon2 hash, as an
    unknown login name does, so both cost what a real check costs."""
    username = bureau.username(Role.unit_head)
    for _attempt_number in range(get_settings().login_max_failures):
        await _attempt(app, username, "Wrong-password-1")
    checks.clear()
    locked = await _attempt(app, username, PASSWORD)
    assert locked.status_code == 429
    assert checks == [None], "a locked account must be answered after a verify against the dummy hash"
    checks.clear()
    unknown = await _attempt(app, unique("nobody-"), "Wrong-password-1")
    assert unknown.status_code == 401 and checks == [None]
