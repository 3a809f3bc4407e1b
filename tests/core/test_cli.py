"""The administrative commands, run as an operator would, then the token they print used against the API."""

import subprocess
import sys
import uuid

from tests.support.fixtures import make_client


def luoshi(*args: str, env_password: str | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **({"LUOSHI_NEW_PASSWORD": env_password} if env_password else {})}
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


async def test_bureau_person_membership_and_token_from_the_command_line(app):
    code = "cli" + uuid.uuid4().hex[:6]
    created = luoshi("tenant", "create", "--name", f"命令行教育局{code}", "--code", code)
    assert created.returncode == 0, created.stderr
    assert f"命令行教育局{code}" in created.stdout
    user = luoshi("user", "create", "--username", f"wang{code}", "--name", "王某", env_password="Strong-Pass-2026")
    assert user.returncode == 0, user.stderr
    weak = luoshi("user", "create", "--username", f"li{code}", "--name", "李某", env_password="weak")
    assert weak.returncode == 2 and "密码至少需要" in weak.stderr
    member = luoshi("member", "add", "--tenant", code, "--username", f"wang{code}", "--role", "admin")
    assert member.returncode == 0, member.stderr
    needs_unit = luoshi("member", "add", "--tenant", code, "--username", f"wang{code}", "--role", "unit_staff")
    assert needs_unit.returncode == 2
    token = luoshi("token", "create", "--tenant", code, "--username", f"wang{code}", "--name", "同步脚本")
    assert token.returncode == 0, token.stderr
    raw = token.stdout.strip()
    async with make_client(app) as client:
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
        assert me.status_code == 200 and me.json()["role"] == "admin"
        headers = {"Authorization": f"Bearer {raw}"}
        unit = await client.post("/api/v1/units", json={"name": "基础教育科"}, headers=headers)
        assert unit.status_code == 201


def test_unknown_bureau_is_a_clear_message():
    result = luoshi("token", "create", "--tenant", "no-such-bureau", "--username", "x", "--name", "y")
    assert result.returncode != 0 and "找不到简称为 no-such-bureau 的教育局" in result.stderr
