"""Issue 14: every route that takes a body, read from the app's route table, is sent a body past its limit.

A route added later is swept without touching this file. Each POST/PUT/PATCH route gets a body one byte past the
limit its route has (`backend.core.bodies`): the small cap for routes that take no file, the file limit plus the
form around it for upload routes, and the small cap again for a urlencoded form to an upload route. Each must be
refused with 413 and a Chinese message, quickly, before authentication (the requests are anonymous) and without a
500. The bombs and oversized pictures that upload routes meet inside their limit are swept by the tests of the
one helper each goes through: tests/plans/test_docx_bomb.py and tests/evidence/test_image_budget.py
(backend.core.archives, backend.core.images), and tests/evidence/test_filetypes.py for evidence.
"""

import re
import time

import httpx
import pytest

from backend.core.bodies import FORM_OVERHEAD, body_limit, small_limit
from tests.support.routes import all_endpoints, fill_path

CHINESE = re.compile(r"[\u4e00-\u9fff]{4,}")
BODY_METHODS = {"POST", "PUT", "PATCH"}


class _AnyIds:
    """Path parameters: any well-formed id does (the body is refused before the route looks at it)."""

    def uuid_for(self, _name: str):
        import uuid

        return uuid.uuid4()


def _message(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith("application/json"):
        return str(response.json().get("detail") or "")
    return response.text


@pytest.fixture
def endpoints(app):
    found = [e for e in all_endpoints(app) if e.method in BODY_METHODS]
    assert len(found) > 50  # the route table was read
    return found


async def test_every_body_past_its_routes_limit_is_refused_fast_with_a_message(app, endpoints):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    largest = max(body_limit(app, {"path": fill_path(e.path, e.route, _AnyIds()), "method": e.method})[0]
                  for e in endpoints)
    payload = memoryview(b"x" * (largest + 1))
    uploads = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for endpoint in endpoints:
            path = fill_path(endpoint.path, endpoint.route, _AnyIds())
            limit, upload = body_limit(app, {"path": path, "method": endpoint.method})
            uploads += upload
            cases = [("multipart/form-data; boundary=sweep" if upload else "application/json", limit)]
            if upload:
                cases.append(("application/x-www-form-urlencoded", small_limit()))
            for content_type, cap in cases:
                started = time.monotonic()
                response = await client.request(endpoint.method, path, content=bytes(payload[:cap + 1]),
                                                headers={"content-type": content_type})
                elapsed = time.monotonic() - started
                where = (endpoint.method, endpoint.path, content_type)
                assert response.status_code == 413, (*where, response.status_code, _message(response)[:200])
                assert CHINESE.search(_message(response)), where
                assert elapsed < 2, (*where, f"{elapsed:.1f} s")
    assert uploads >= 9  # evidence (page, API, supersede ×2), plans (page, API ×2, table), the report form
    assert largest > FORM_OVERHEAD + 2**20


# --- inside the limit: a decompression bomb and an oversized picture to every route that takes a file ----------


class _OwnIds:
    """Path parameters aimed at the sweeping bureau's own objects, so that the file is really handled."""

    def __init__(self, ids: dict[str, object]) -> None:
        self.ids = ids

    def uuid_for(self, name: str):
        import uuid

        base = name.lower().removesuffix("_id")
        return self.ids.get(base) or uuid.uuid4()


def _hostile_files() -> list[tuple[str, bytes, str]]:
    import io

    from PIL import Image

    from tests.plans.test_docx_bomb import PLAN, docx

    picture = io.BytesIO()
    Image.new("P", (13_300, 13_300), 0).save(picture, "PNG", optimize=True)
    return [("工作要点.docx", docx(PLAN, padding=64 * 2**20),
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            ("巨图.png", picture.getvalue(), "image/png")]


async def test_every_file_route_meets_a_bomb_and_a_huge_picture_without_a_500(app, endpoints, tmp_path, monkeypatch):
    from sqlmodel import select

    from backend.accounts.service import create_api_token
    from backend.config import get_settings
    from backend.core.roles import Role
    from backend.db import unit_of_work
    from backend.evidence import service as evidence
    from backend.plans.models import Plan
    from backend.tasks.models import Task
    from tests.evidence.samples import jpeg
    from tests.support.fixtures import create_bureau, csrf_of, login

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "data")
    bureau = await create_bureau()

    async def one(data: bytes):
        yield data

    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.title == "深化理论学习"))).one()
        plan = (await session.exec(select(Plan))).first()
        row = await evidence.upload_evidence(session, bureau.actors[Role.unit_staff], task.id, filename="照片.jpg",
                                             chunks=one(jpeg()))
        tokens = {role: (await create_api_token(session, bureau.actors[role], name="扫描"))[1]
                  for role in (Role.admin, Role.unit_staff)}
    evidence_id = getattr(row, "id", None) or getattr(getattr(row, "evidence", None), "id", None)
    ids = _OwnIds({"task": task.id, "plan": plan.id, "evidence": evidence_id})
    files = _hostile_files()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    swept = 0
    for role in (Role.admin, Role.unit_staff):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
            assert (await login(browser, bureau.username(role))).status_code == 303
            csrf = await csrf_of(browser, "/")
            for endpoint in endpoints:
                path = fill_path(endpoint.path, endpoint.route, ids)
                if not body_limit(app, {"path": path, "method": endpoint.method})[1]:
                    continue
                api = path.startswith("/api/")
                names = [f.name for f in endpoint.route.dependant.body_params
                         if type(f.field_info).__name__ == "File"] or ["photos", "files"]
                for filename, content, media_type in files:
                    started = time.monotonic()
                    response = await browser.request(
                        endpoint.method, path, files={names[0]: (filename, content, media_type)},
                        data={} if api else {"csrf_token": csrf, "action": "upload"},
                        headers={"authorization": f"Bearer {tokens[role]}"} if api else {})
                    elapsed = time.monotonic() - started
                    where = (role.value, endpoint.method, endpoint.path, filename, response.status_code)
                    swept += 1
                    assert response.status_code < 500, (*where, _message(response)[:300])
                    assert elapsed < 15, (*where, f"{elapsed:.1f} s")
                    if response.status_code >= 400:
                        assert CHINESE.search(_message(response)), where
                    if filename.endswith(".docx") and endpoint.path.startswith(("/plans", "/api/v1/plan")):
                        assert response.status_code >= 400 or "解压后过大" in response.text, where
    assert swept >= 2 * 2 * 9
