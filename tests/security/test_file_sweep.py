"""Issue 14: every route marked `@takes_files` meets a decompression bomb and a 13,300 × 13,300 picture inside its
body limit, aimed at objects where the upload is really handled.

The routes are read from the app's route table. Each is called by a member who may use it, on that member's own
objects: an acknowledged task of the sweeping staff's unit, the report form's own version and period taken from the
page, a fresh supersedable evidence for every supersede. The answer must be the outcome for THAT file: the bomb is
refused with its own Chinese message; the picture is either refused as the wrong kind of file (plan documents and
the responsibility table take no pictures) or kept as evidence, and then its thumbnail is skipped, not made, by the
job. A 403/404/409 from aiming at the wrong object fails the test, and every file route must have been reached.
"""

import io
import re
import struct
import time
import uuid
import zipfile
import zlib
from datetime import date, timedelta

import httpx
import pytest
from PIL import Image
from sqlmodel import col, select

from backend.core.bodies import body_limit
from backend.core.roles import Role
from tests.support.routes import all_endpoints, fill_path

CHINESE = re.compile(r"[\u4e00-\u9fff]{4,}")
BOMB = re.compile("压缩炸弹|解压后过大")
NOT_THIS_KIND = re.compile("不是|无法读取|不支持|格式|请上传|Word|Excel")
PLAN_ROUTES = ("/plans/import", "/api/v1/plans/parse", "/api/v1/plan-imports")
TABLE_ROUTES = ("/plans/{plan_id}/responsibilities",)
EVIDENCE_ROUTES = ("/tasks/{task_id}/evidence", "/api/v1/tasks/{task_id}/evidence", "/evidence/{evidence_id}/supersede",
                   "/api/v1/evidence/{evidence_id}/supersede", "/tasks/{task_id}/report")


def _message(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith("application/json"):
        return str(response.json().get("detail") or response.json())
    return response.text


def _bomb(part: str, base: bytes) -> bytes:
    """An OOXML package (`base`) with one more part of zeros that inflates to 64 MB: a few hundred KB on the wire."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for entry in source.infolist():
            bomb.writestr(entry, source.read(entry))
        with bomb.open(part, "w", force_zip64=True) as padding:
            for _ in range(64):
                padding.write(b"\x00" * 2**20)
    return out.getvalue()


def _huge_picture() -> bytes:
    out = io.BytesIO()
    Image.new("P", (13_300, 13_300), 0).save(out, "PNG", optimize=True)
    return out.getvalue()


def _unique(png: bytes) -> bytes:
    """The same picture with a text chunk of its own, so each upload is new content (not a duplicate)."""
    data = b"Comment\x00" + uuid.uuid4().hex.encode()
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return png[:33] + chunk + png[33:]


class _Ids:
    """Path parameters: the sweep's own task and plan, and a fresh supersedable evidence each time one is asked."""

    def __init__(self, task_id, plan_id, fresh_evidence) -> None:
        self.task_id, self.plan_id, self.fresh_evidence = task_id, plan_id, fresh_evidence
        self.evidence_id = None

    def uuid_for(self, name: str):
        known = {"task_id": self.task_id, "plan_id": self.plan_id, "evidence_id": self.evidence_id}
        return known.get(name) or uuid.uuid4()


@pytest.fixture
async def world(tmp_path, monkeypatch):
    """A bureau; a task led by the school, acknowledged by its head; API tokens of the admin and the school's staff."""
    from backend.accounts.service import create_api_token
    from backend.config import get_settings
    from backend.db import unit_of_work
    from backend.plans.models import Plan
    from backend.tasks import lifecycle
    from backend.tasks import service as tasks
    from tests.support.fixtures import create_bureau

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "data")
    bureau = await create_bureau()
    async with unit_of_work(bureau.tenant.id) as session:
        task = await tasks.create_adhoc_task(
            session, bureau.actors[Role.supervisor], title="文件扫描任务", description="", co_unit_ids=[],
            deadline=date.today() + timedelta(60), lead_unit_id=bureau.units["school"].id)
        await lifecycle.acknowledge(session, bureau.actors[Role.unit_head], task.id, version=task.version)
        plan = (await session.exec(select(Plan))).first()
        tokens = {role: (await create_api_token(session, bureau.actors[role], name="扫描"))[1]
                  for role in (Role.admin, Role.unit_staff)}
    return bureau, task.id, plan.id, tokens


async def _fresh_evidence(bureau, task_id) -> uuid.UUID:
    from backend.db import unit_of_work
    from backend.evidence import service as evidence

    out = io.BytesIO()
    Image.new("RGB", (8, 8), tuple(uuid.uuid4().bytes[:3])).save(out, "PNG")

    async def one():
        yield out.getvalue()

    async with unit_of_work(bureau.tenant.id) as session:
        row = await evidence.upload_evidence(session, bureau.actors[Role.unit_staff], task_id, filename="原件.png",
                                             chunks=one())
    return row.id


async def _report_fields(browser: httpx.AsyncClient, task_id) -> dict[str, str]:
    """The report form's own version and period, as the browser would send them back."""
    page = (await browser.get(f"/tasks/{task_id}/report")).text
    fields = {}
    for name in ("version", "period"):
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
            rf'value="([^"]*)"[^>]*name="{name}"', page)
        assert match, f"no {name} on the report form"
        fields[name] = match.group(1)
    return fields


async def _thumbnail_outcome(bureau, task_id, filename: str) -> str:
    """Runs the thumbnail job's work for the newest evidence called `filename` on the task."""
    from backend.db import unit_of_work
    from backend.evidence.models import Evidence
    from backend.evidence.thumbnails import make_thumbnail

    async with unit_of_work(bureau.tenant.id) as session:
        newest = (await session.exec(
            select(Evidence.id).where(Evidence.task_id == task_id, Evidence.filename == filename)
            .order_by(col(Evidence.uploaded_at).desc()))).first()
        assert newest is not None, "the picture was said to be kept but is not on the task"
        return await make_thumbnail(session, newest)


async def test_every_file_route_handles_a_bomb_and_a_huge_picture_as_that_file(app, world):
    from tests.evidence.samples import xlsx
    from tests.plans.test_docx_bomb import PLAN, docx
    from tests.support.fixtures import csrf_of, login

    bureau, task_id, plan_id, tokens = world
    ids = _Ids(task_id, plan_id, None)
    docx_bomb = _bomb("word/media/padding.bin", docx(PLAN))
    xlsx_bomb = _bomb("xl/media/padding.bin", xlsx())
    picture = _huge_picture()
    file_routes = [e for e in all_endpoints(app) if e.method in {"POST", "PUT", "PATCH"}
                   and body_limit(app, {"path": fill_path(e.path, e.route, ids), "method": e.method})[1]]
    assert {e.path for e in file_routes} == {*PLAN_ROUTES, *TABLE_ROUTES, *EVIDENCE_ROUTES}, \
        "a file route was added or removed: aim this sweep at it"
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    reached: set[tuple[str, str]] = set()
    browsers = {}
    scripts = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    for role in (Role.admin, Role.unit_staff):
        browsers[role] = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        assert (await login(browsers[role], bureau.username(role))).status_code == 303
    try:
        for endpoint in file_routes:
            role = Role.unit_staff if endpoint.path in EVIDENCE_ROUTES else Role.admin
            api = endpoint.path.startswith("/api/")
            browser = scripts if api else browsers[role]  # a script sends its token and no session cookie
            bomb, bomb_name = (xlsx_bomb, "分解表.xlsx") if endpoint.path in TABLE_ROUTES else (docx_bomb, "要点.docx")
            for name, content in ((bomb_name, bomb), ("巨图.png", _unique(picture))):
                ids.evidence_id = await _fresh_evidence(bureau, task_id) if "{evidence_id}" in endpoint.path else None
                path = fill_path(endpoint.path, endpoint.route, ids)
                field = "photos" if endpoint.path.endswith("/report") else "file"
                data = {} if api else {"csrf_token": await csrf_of(browser, "/"), "action": "upload"}
                if endpoint.path.endswith("/report"):
                    data |= await _report_fields(browser, task_id)
                started = time.monotonic()
                response = await browser.request(
                    endpoint.method, path, files={field: (name, content, "application/octet-stream")}, data=data,
                    headers={"authorization": f"Bearer {tokens[role]}"} if api else {})
                elapsed = time.monotonic() - started
                message = _message(response)
                where = (role.value, endpoint.method, endpoint.path, name, response.status_code, message[:300])
                assert response.status_code not in (401, 403, 404, 409) and response.status_code < 500, where
                assert elapsed < 15, (*where, f"{elapsed:.1f} s")
                if content is bomb:
                    assert response.status_code in (400, 413, 422) and BOMB.search(message), where
                elif endpoint.path in EVIDENCE_ROUTES:  # kept as evidence; its thumbnail is skipped, not made
                    assert response.status_code in (200, 201, 303), where
                    assert await _thumbnail_outcome(bureau, task_id, name) == "unreadable", where
                else:  # a plan document or a table: a picture is the wrong kind of file
                    assert response.status_code in (400, 422) and NOT_THIS_KIND.search(message), where
                    assert CHINESE.search(message), where
                reached.add((endpoint.path, name))
    finally:
        for browser in (*browsers.values(), scripts):
            await browser.aclose()
    assert len(reached) == 2 * len(file_routes) and len(file_routes) == 9, sorted(reached)
