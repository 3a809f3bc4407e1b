"""The plan API with a token, and `luoshi plan parse --json`: the same shape from both."""

import json
import subprocess
import sys

from backend.accounts.service import create_api_token
from backend.core.roles import Role
from backend.db import unit_of_work
from tests.support.samples import SAMPLES

SAMPLE = "004_89347142f8fed752.txt"


async def _headers(bureau, role=Role.supervisor) -> dict[str, str]:
    async with unit_of_work(bureau.tenant.id) as session:
        _token, raw = await create_api_token(session, bureau.actors[role], name="接口")
    return {"Authorization": f"Bearer {raw}"}


async def test_parse_endpoint_matches_the_command_line(client, bureau):
    headers = await _headers(bureau)
    data = (SAMPLES / SAMPLE).read_bytes()
    response = await client.post("/api/v1/plans/parse", files={"file": (SAMPLE, data)}, headers=headers)
    assert response.status_code == 200
    cli = subprocess.run([sys.executable, "-m", "backend.cli", "plan", "parse", str(SAMPLES / SAMPLE), "--json"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(cli.stdout) == response.json()
    body = response.json()
    assert body["year"] == 2022 and body["sections"]
    item = body["sections"][0]["items"][0]
    assert set(item) >= {"number", "title", "text", "measures", "targets", "deadline", "recurrence", "owners", "flags"}


async def test_import_edit_publish_through_the_api(client, bureau, other_bureau):
    headers = await _headers(bureau)
    created = await client.post("/api/v1/plan-imports", files={"file": (SAMPLE, (SAMPLES / SAMPLE).read_bytes())},
                                headers=headers)
    assert created.status_code == 201
    draft = created.json()
    key = draft["document"]["sections"][0]["items"][0]["key"]
    edited = await client.post(f"/api/v1/plan-imports/{draft['id']}/edits", headers=headers, json={
        "version": draft["version"], "operation": "rename_item", "args": {"key": key, "title": "接口改名"}})
    assert edited.status_code == 200 and edited.json()["version"] == draft["version"] + 1
    stale = await client.post(f"/api/v1/plan-imports/{draft['id']}/edits", headers=headers, json={
        "version": draft["version"], "operation": "remove", "args": {"key": key}})
    assert stale.status_code == 409 and "刷新页面" in stale.json()["detail"]
    unknown = await client.post(f"/api/v1/plan-imports/{draft['id']}/edits", headers=headers, json={
        "version": edited.json()["version"], "operation": "drop_table", "args": {}})
    assert unknown.status_code == 422
    other = await _headers(other_bureau, Role.admin)
    assert (await client.get(f"/api/v1/plan-imports/{draft['id']}", headers=other)).status_code == 404
    published = await client.post(f"/api/v1/plan-imports/{draft['id']}/publish", headers=headers,
                                  json={"version": edited.json()["version"], "confirm_dates": True})
    assert published.status_code == 200 and published.json()["created"] > 0
    plans = (await client.get("/api/v1/plans", headers=headers)).json()
    assert published.json()["plan"]["id"] in [p["id"] for p in plans]
    assert published.json()["plan"]["id"] not in [p["id"] for p in (await client.get("/api/v1/plans",
                                                                                      headers=other)).json()]
    staff = await _headers(bureau, Role.unit_staff)
    refused = await client.post("/api/v1/plan-imports", files={"file": (SAMPLE, b"x")}, headers=staff)
    assert refused.status_code == 403
