"""Hostile input through real HTTP requests, as signed-in members with the roles that may make each change.

The corpus is tests/support/hostile.py. Every free-text field people can save gets script, markup, a javascript:
URL and template syntax, and every page and export where the value shows is read back: the value is shown as
text, never run. Uploads (evidence and plan imports) get SVG with script, HTML in disguise, polyglots, oversized,
empty and truncated files and hostile names. Form posts get bytes that are not UTF-8, control characters, 1 MB
strings, emoji and mixed traditional / simplified text, full-width digits and impossible dates. Whatever is
refused is refused with a Chinese message, leaves what was saved before as it was, and nothing answers 5xx.
"""

import io
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from backend.config import get_settings
from backend.db import unit_of_work
from backend.evidence.models import Evidence
from backend.files.models import StoredFile
from backend.plans.models import PlanImport
from backend.reports.models import ProgressReport, ReportContribution
from backend.tasks.models import ExtensionRequest, Task, TaskAssignment
from backend.tenancy.models import BureauSettings, Invitation, Unit
from tests.evidence import samples
from tests.reports.helpers import Loop, make_loop
from tests.support import hostile
from tests.support.fixtures import PNG, create_bureau, csrf_of, login, unique

EARLY_NOVEMBER = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
DEADLINE = "2026-12-31"
ATTACHMENT_TYPES_NEVER = ("text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml",
                          "text/javascript", "application/javascript")


# --- set-up: one bureau for the whole module, browsers that record every status ------------------------------


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


@dataclass
class Browser:
    client: httpx.AsyncClient
    csrf: str

    async def get(self, path: str, **kwargs) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, data: dict | None = None, **kwargs) -> httpx.Response:
        return await self.client.post(path, data={**(data or {}), "csrf_token": self.csrf}, **kwargs)

    async def post_raw(self, path: str, body: bytes,
                       content_type: str = "application/x-www-form-urlencoded") -> httpx.Response:
        return await self.client.post(path, content=body, headers={"content-type": content_type,
                                                                  "x-csrf-token": self.csrf})


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
        transport = httpx.ASGITransport(app=app, client=("10.66.0.1", 6000), raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver", follow_redirects=False,
                                   event_hooks={"response": [record]}, timeout=60)
        opened.append(client)
        response = await login(client, username)
        assert response.status_code == 303, said(response)
        return Browser(client, await csrf_of(client, "/"))

    yield make
    for client in opened:
        await client.aclose()
    assert not failures, "\n".join(failures)


@dataclass
class People:
    admin: Browser
    supervisor: Browser
    leader: Browser
    staff: Browser  # office: the lead unit of the tasks made here
    co: Browser  # school: the co-operating unit


@pytest.fixture
async def people(world, browsers) -> People:
    u = world.usernames
    return People(*[await browsers(u[name]) for name in ("admin", "supervisor", "leader", "staff", "co_staff")])


# --- helpers ---------------------------------------------------------------------------------------------

ALERT = re.compile(r'(?:role="alert"|class="field-error")[^>]*>(.*?)</', re.DOTALL)


def said(response: httpx.Response) -> str:
    """The messages on a page (for assertion output), or the start of the body."""
    found = ALERT.findall(response.text)
    return " | ".join(m.strip() for m in found) if found else response.text[:300]



def refused(response: httpx.Response, *statuses: int) -> str:
    """The refusal's text, after checking its status and that it says something in Chinese."""
    assert response.status_code in (statuses or (400, 409, 413, 422)), (response.status_code, said(response))
    assert hostile.has_chinese(response.text), said(response)
    return response.text


async def new_task(world: Loop, who: Browser, title: str, description: str = "样例说明") -> uuid.UUID:
    response = await who.post("/tasks/new", {
        "title": title, "description": description, "deadline": DEADLINE, "priority": "normal",
        "lead_unit_id": str(world.bureau.units["office"].id), "co_unit_ids": str(world.bureau.units["school"].id),
    })
    assert response.status_code == 303, said(response)
    return uuid.UUID(response.headers["location"].split("#")[0].rsplit("/", 1)[-1])


async def load(world: Loop, model, *where):
    async with unit_of_work(world.tenant_id) as session:
        return list((await session.exec(select(model).where(*where))).all())


async def one(world: Loop, model, *where):
    [row] = await load(world, model, *where)
    return row


async def report_of_task(world: Loop, task_id: uuid.UUID) -> ProgressReport:
    return await one(world, ProgressReport, ProgressReport.task_id == task_id, ProgressReport.kind == "periodic")


def report_form(**values) -> dict:
    return {"version": "0", "progress": "开展专题学习3次", "problems": "", "next_steps": "", "support_needed": "",
            "percent": "30", "expected_completion": "", "action": "save", **values}


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> dict:
    return {"file": (name, content, content_type)}


def pasted_plan(tag: str, section: str, item: str) -> str:
    return (f"2026年{tag}教育工作要点\n一、加强党的建设{section}\n1.深化理论学习{item}。（责任单位：办公室）\n"
            "二、推进教育现代化\n2.新改扩建中小学26所，6月底前完成规划。\n")


async def paste_plan(admin: Browser, text: str) -> httpx.Response:
    return await admin.post("/plans/import", {"pasted": text}, files=upload("", b""))


def xlsx_cells(data: bytes) -> list:
    book = load_workbook(io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_no_live_formula(cells: list) -> None:
    for cell in cells:
        assert cell.data_type != "f", (cell.coordinate, cell.value)
        if isinstance(cell.value, str) and cell.value.startswith(hostile.FORMULA_START):
            assert cell.quotePrefix, (cell.coordinate, cell.value)


# --- stored XSS and template injection: every free-text field, every page it shows on ----------------------


@pytest.mark.parametrize("payload", hostile.XSS, ids=lambda p: p.name)
async def test_script_and_markup_in_every_text_field_are_shown_as_text(world, people, payload):
    n = hostile.XSS.index(payload)
    v = lambda field: payload.value(f"{field}{n}-")  # noqa: E731 — the value saved in `field`
    p, units = people, world.bureau.units
    shown: dict[str, str] = {}  # page → html

    # The admin: a unit, an invitation, an API token, a group robot, a phone number, a pasted plan and its edits.
    assert (await p.admin.post("/admin/units", {"name": v("UNIT"), "kind": "school"})).status_code == 303
    invited = await p.admin.post("/admin/members/invite", {"display_name": v("INV"), "role": "unit_staff",
                                                           "unit_id": str(units["school"].id)})
    assert invited.status_code == 200, said(invited)
    shown["invite result"] = invited.text
    token = await p.admin.post("/account/tokens", {"name": v("TOKEN")})
    assert token.status_code == 200
    robot = await p.admin.post("/admin/channels", {"kind": "wecom", "url": "https://robot.example.cn/send?key="
                                                   + v("CHAN")})
    assert robot.status_code in (303, 422), said(robot)
    shown["channel form"] = robot.text
    phone = await p.admin.post("/account/notifications", {"phone": v("PHONE"), "sms": "1"})
    shown["phone form"] = refused(phone, 422)
    assert refused(await p.admin.post("/admin/channels", {"kind": "wecom", "url": payload.text}), 422)

    imported = await paste_plan(p.admin, pasted_plan(f"P{n}", v("PSEC"), v("PITEM")))
    assert imported.status_code == 303, said(imported)
    draft_id = uuid.UUID(imported.headers["location"].rsplit("/", 1)[-1])
    draft = await one(world, PlanImport, PlanImport.id == draft_id)
    item_key = draft.document["sections"][0]["items"][0]["key"]
    for edit in ({"operation": "meta", "title": v("PMETA"), "issuer": v("PISSUER"), "year": "2026"},
                 {"operation": "rename_item", "key": item_key, "title": v("PEDIT")}):
        version = (await one(world, PlanImport, PlanImport.id == draft_id)).version
        edited = await p.admin.post(f"/plans/imports/{draft_id}/edit", {**edit, "version": str(version)})
        assert edited.status_code == 303, said(edited)
    shown["plan preview"] = (await p.admin.get(f"/plans/imports/{draft_id}")).text
    version = (await one(world, PlanImport, PlanImport.id == draft_id)).version
    published = await p.admin.post(f"/plans/imports/{draft_id}/publish",
                                   {"version": str(version), "confirm_dates": "1"})
    assert published.status_code == 303, said(published)
    plan_url = published.headers["location"].split("?")[0]

    # The supervisor hands out two tasks; the office reports, the school adds its part, and so on round the loop.
    task_id = await new_task(world, p.supervisor, v("TITLE"), v("DESC"))
    other_id = await new_task(world, p.supervisor, v("TWO"))
    saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(
        progress=v("PROG"), problems=v("PROB"), next_steps=v("NEXT"), support_needed=v("SUPP"), action="submit"))
    assert saved.status_code == 303, said(saved)
    report = await report_of_task(world, task_id)
    assert report.progress == v("PROG") and report.support_needed == v("SUPP")
    evidence = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": v("EVDESC")},
                                  files=upload(v("FILE") + ".png", PNG, "image/png"))
    assert evidence.status_code == 303, said(evidence)
    assert (await p.co.post(f"/reports/{report.id}/contribution", {"text": v("CONTRIB")})).status_code == 303
    report = await report_of_task(world, task_id)
    returned = await p.supervisor.post(f"/reports/{report.id}/review", {
        "decision": "return", "comment": v("REVIEW"), "version": str(report.version)})
    assert returned.status_code == 303, said(returned)
    asked = await p.staff.post(f"/tasks/{task_id}/extension", {"requested_deadline": "2027-01-31",
                                                                "reason": v("EXTR")})
    assert asked.status_code == 303, said(asked)
    extension = await one(world, ExtensionRequest, ExtensionRequest.task_id == task_id)
    decided = await p.supervisor.post(f"/tasks/{task_id}/extensions/{extension.id}",
                                      {"decision": "refuse", "comment": v("EXTC")})
    assert decided.status_code == 303, said(decided)
    assert (await p.supervisor.post(f"/tasks/{task_id}/nudge", {"message": v("NUDGE")})).status_code == 303
    task = await one(world, Task, Task.id == task_id)
    sent_back = await p.co.post(f"/tasks/{task_id}/send-back", {"reason": v("SENDB"), "version": str(task.version)})
    assert sent_back.status_code == 303, said(sent_back)
    task = await one(world, Task, Task.id == task_id)
    completion = await p.staff.post(f"/tasks/{task_id}/completion", {"summary": v("DONE"),
                                                                      "version": str(task.version)})
    assert completion.status_code == 303, said(completion)
    other = await one(world, Task, Task.id == other_id)
    cancelled = await p.supervisor.post(f"/tasks/{other_id}/cancel", {"reason": v("CANCEL"),
                                                                       "version": str(other.version)})
    assert cancelled.status_code == 303, said(cancelled)

    # Every page where those values show, as the people who see them.
    pages = [
        (p.admin, "/admin/units"), (p.admin, "/admin/members"), (p.admin, "/account/tokens"),
        (p.admin, "/admin/channels"), (p.admin, "/account/notifications"), (p.admin, "/audit"), (p.admin, "/plans"),
        (p.admin, plan_url), (p.admin, "/"), (p.admin, f"/tasks/{other_id}"),
        (p.supervisor, "/tasks"), (p.supervisor, f"/tasks?q={quote(v('TITLE')[:20])}"),
        (p.supervisor, f"/tasks/{task_id}"), (p.supervisor, f"/tasks/{task_id}/reports"),
        (p.supervisor, "/reviews"), (p.supervisor, "/notifications"), (p.supervisor, f"/tasks/{task_id}/evidence"),
        (p.leader, f"/tasks/{task_id}"), (p.leader, "/notifications"),
        (p.staff, "/tasks"), (p.staff, f"/tasks/{task_id}"), (p.staff, "/notifications"),
        (p.co, f"/tasks/{task_id}/report"), (p.co, "/notifications"), (p.co, f"/tasks/{task_id}"),
    ]
    for who, path in pages:
        response = await who.get(path, headers={"accept": "text/html"})
        assert response.status_code in (200, 303), (path, response.status_code)
        shown[path] = response.text
    for page, html in shown.items():
        for tag in ("UNIT", "INV", "TOKEN", "CHAN", "PHONE", "PSEC", "PITEM", "PMETA", "PISSUER", "PEDIT", "TITLE",
                    "DESC", "TWO", "PROG", "PROB", "NEXT", "SUPP", "EVDESC", "FILE", "CONTRIB", "REVIEW", "EXTR",
                    "EXTC", "NUDGE", "SENDB", "DONE", "CANCEL"):
            assert not hostile.dangers(html, payload, f"{tag}{n}-"), (page, hostile.dangers(html, payload, tag))
    everything = "\n".join(shown.values())
    for tag in ("UNIT", "INV", "TOKEN", "PHONE", "PMETA", "PISSUER", "PEDIT", "TITLE", "DESC", "TWO", "PROG",
                "PROB", "NEXT", "SUPP", "EVDESC", "CONTRIB", "REVIEW", "EXTR", "EXTC", "NUDGE", "SENDB", "DONE"):
        assert payload.shown(f"{tag}{n}-") in everything, f"{tag}: the value is shown nowhere"

    # The exports carry the values as they were typed, as text.
    ledger = await p.supervisor.get(f"/tasks/{task_id}/ledger.xlsx")
    assert ledger.status_code == 200
    cells = xlsx_cells(ledger.content)
    assert_no_live_formula(cells)
    values = {c.value for c in cells if isinstance(c.value, str)}
    assert {v("TITLE"), v("DESC"), v("PROG"), v("PROB"), v("NEXT"), v("SUPP")} <= values
    bundle = await p.supervisor.get(f"/tasks/{task_id}/evidence.zip")
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        names = archive.namelist()
        assert all(".." not in name and not name.startswith("/") and "\\" not in name for name in names)
        index = next(name for name in names if name.endswith(".xlsx"))
        index_cells = xlsx_cells(archive.read(index))
    assert_no_live_formula(index_cells)
    assert v("EVDESC") in {c.value for c in index_cells}


async def test_formulas_typed_into_reports_and_tasks_stay_text_in_the_excel_exports(world, people):
    p = people
    formulas = hostile.FORMULAS
    task_id = await new_task(world, p.supervisor, formulas[0], formulas[1])
    saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(
        progress=formulas[2], problems=formulas[3], next_steps=formulas[4], support_needed=formulas[5],
        action="submit"))
    assert saved.status_code == 303, said(saved)
    report = await report_of_task(world, task_id)
    assert (report.progress, report.support_needed) == (formulas[2], formulas[5])  # stored exactly as typed
    uploaded = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": formulas[0]},
                                  files=upload("=1+1.png", PNG, "image/png"))
    assert uploaded.status_code == 303
    returned = await p.supervisor.post(f"/reports/{report.id}/review", {
        "decision": "return", "comment": "=SUM(1,1)", "version": str(report.version)})
    assert returned.status_code == 303

    ledger = await p.supervisor.get(f"/tasks/{task_id}/ledger.xlsx")
    cells = xlsx_cells(ledger.content)
    assert_no_live_formula(cells)
    values = {c.value for c in cells if isinstance(c.value, str)}
    assert set(formulas) <= values, set(formulas) - values  # nothing altered or lost on the way
    bundle = await p.supervisor.get(f"/tasks/{task_id}/evidence.zip")
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        index = next(name for name in archive.namelist() if name.endswith(".xlsx"))
        index_cells = xlsx_cells(archive.read(index))
    assert_no_live_formula(index_cells)
    assert formulas[0] in {c.value for c in index_cells}


# --- uploads ---------------------------------------------------------------------------------------------


def assert_served_safely(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    content_type = response.headers["content-type"].split(";")[0].strip().lower()
    assert content_type not in ATTACHMENT_TYPES_NEVER, content_type


def files_on_disk(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


async def test_dangerous_evidence_files_are_refused_with_a_message_and_nothing_else_is_lost(world, people, tmp_path):
    p = people
    task_id = await new_task(world, p.supervisor, unique("佐证材料上传"))
    kept = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": "原有材料"},
                              files=upload("原有照片.jpg", samples.jpeg(), "image/jpeg"))
    assert kept.status_code == 303
    for case, (name, content, content_type) in hostile.REFUSED_EVIDENCE.items():
        response = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": case},
                                      files=upload(name, content, content_type))
        text = refused(response, 422)
        assert "<script>" not in text, case
    [only] = await load(world, Evidence, Evidence.task_id == task_id)
    assert only.filename == "原有照片.jpg" and only.description == "原有材料"
    assert (await p.staff.get(f"/evidence/{only.id}/download")).content == samples.jpeg()

    # Polyglots that are really images or PDFs may be kept, but are only ever served as downloads of their type.
    for name, content in (("动图.gif", hostile.GIF_POLYGLOT), ("纪要.pdf", hostile.PDF_POLYGLOT),
                          ("网页.html", hostile.GIF_POLYGLOT)):
        response = await p.staff.post(f"/tasks/{task_id}/evidence", {}, files=upload(name, content, "text/html"))
        assert response.status_code in (200, 303, 422), (name, response.status_code, said(response))
        if response.status_code == 422:
            refused(response, 422)
    for row in await load(world, Evidence, Evidence.task_id == task_id):
        assert not row.filename.lower().endswith((".html", ".htm", ".svg")), row.filename
        download = await p.staff.get(f"/evidence/{row.id}/download")
        assert_served_safely(download)
        assert row.filename.rsplit(".", 1)[-1] in download.headers["content-disposition"]


async def test_hostile_file_names_are_made_safe_and_never_leave_the_data_folder(world, people, tmp_path):
    p = people
    data = get_settings().data_dir.resolve()
    task_id = await new_task(world, p.supervisor, unique("文件名"))
    for number, (case, name) in enumerate(hostile.HOSTILE_FILENAMES.items()):
        image = samples.png(8 + number, 8)  # a different file each time, so none is a duplicate
        response = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": case},
                                      files=upload(name, image, "image/png"))
        assert response.status_code == 303, (case, response.status_code, said(response))
        row = await one(world, Evidence, Evidence.task_id == task_id, Evidence.description == case)
        for bad in ("/", "\\", "\x00", "\u202e", "..", "<", ">"):
            assert bad not in row.filename, (case, row.filename)
        assert 0 < len(row.filename) <= 255 and row.filename.endswith(".png"), (case, row.filename)
        download = await p.staff.get(f"/evidence/{row.id}/download")
        assert_served_safely(download)
        assert download.content == image
    # Plan imports keep a safe name too (a plan is a text file here).
    for case, name in hostile.HOSTILE_FILENAMES.items():
        text = pasted_plan(unique("文件名计划"), "加强党的建设", f"开展{case}专题学习")
        response = await p.admin.post("/plans/import", {}, files=upload(name.replace(".png", ".txt"),
                                                                        text.encode(), "text/plain"))
        assert response.status_code == 303, (case, response.status_code, said(response))
        draft = await one(world, PlanImport, PlanImport.id == uuid.UUID(response.headers["location"].rsplit("/")[-1]))
        for bad in ("/", "\\", "\x00", "\u202e", "<", ">"):
            assert bad not in draft.filename, (case, draft.filename)
        assert 0 < len(draft.filename) <= 255, (case, draft.filename)
        preview = await p.admin.get(f"/plans/imports/{draft.id}")
        assert preview.status_code == 200 and "<img src=x" not in preview.text
    # Everything stored is under the data folder, by content hash; nothing was written where a name pointed.
    stored = files_on_disk(data)
    assert stored and all(path.resolve().is_relative_to(data) for path in stored)
    assert not any(path.name in ("passwd", "win.ini", "evil.png") for path in files_on_disk(tmp_path))
    async with unit_of_work(world.tenant_id) as session:
        hashes = (await session.exec(select(StoredFile.sha256))).all()
    assert all(len(h) == 64 and all(c in "0123456789abcdef" for c in h) for h in hashes)


async def test_oversized_uploads_are_refused_before_they_are_read_with_a_message(world, people, monkeypatch):
    monkeypatch.setattr(get_settings(), "evidence_max_mb", 1)
    monkeypatch.setattr("backend.plans.service.MAX_PLAN_BYTES", 64 * 1024)
    p = people
    task_id = await new_task(world, p.supervisor, unique("大文件"))
    over_file_limit = samples.jpeg() + b"\x00" * (3 * 2**19)  # 1.5 MB: past the file limit, within the body limit
    message = refused(await p.staff.post(f"/tasks/{task_id}/evidence", {},
                                         files=upload("大照片.jpg", over_file_limit, "image/jpeg")), 422)
    assert "1 MB" in message
    past_body_limit = b"\xff\xd8\xff" + b"\x00" * (4 * 2**20)  # 4 MB: refused before the app reads it
    assert "1 MB" in refused(await p.staff.post(f"/tasks/{task_id}/evidence", {},
                                                files=upload("巨大.jpg", past_body_limit, "image/jpeg")), 413)
    assert not await load(world, Evidence, Evidence.task_id == task_id)
    big_plan = (pasted_plan("大计划", "加强党的建设", "开展专题学习") * 2000).encode()
    refused(await p.admin.post("/plans/import", {}, files=upload("工作要点.txt", big_plan, "text/plain")), 422)
    refused(await p.admin.post("/plans/import", {}, files=upload("工作要点.txt", past_body_limit, "text/plain")), 413)


@pytest.mark.parametrize("case", list(hostile.REFUSED_PLANS))
async def test_bad_plan_files_are_refused_with_a_message(world, people, case):
    name, content = hostile.REFUSED_PLANS[case]
    before = len(await load(world, PlanImport))
    text = refused(await people.admin.post("/plans/import", {}, files=upload(name, content)), 422)
    assert "<script>" not in text
    assert len(await load(world, PlanImport)) == before


async def test_a_published_plans_source_is_served_as_a_download(world, people):
    p = people
    html_plan = ("<html><body><script>alert(1)</script><p>2026年源文件工作要点</p><p>一、加强党的建设</p>"
                 "<p>1.开展专题学习。（责任单位：办公室）</p><p>二、推进教育现代化</p>"
                 "<p>2.新改扩建中小学26所，6月底前完成规划。</p></body></html>").encode()
    imported = await p.admin.post("/plans/import", {}, files=upload(unique("源文件") + ".html", html_plan, "text/html"))
    assert imported.status_code == 303, said(imported)
    draft_id = imported.headers["location"].rsplit("/", 1)[-1]
    preview = await p.admin.get(f"/plans/imports/{draft_id}")
    assert "<script>alert(1)</script>" not in preview.text
    draft = await one(world, PlanImport, PlanImport.id == uuid.UUID(draft_id))
    published = await p.admin.post(f"/plans/imports/{draft_id}/publish",
                                   {"version": str(draft.version), "confirm_dates": "1"})
    assert published.status_code == 303, said(published)
    source = await p.admin.get(published.headers["location"].split("?")[0] + "/source")
    assert_served_safely(source)
    assert source.content == html_plan


# --- bad text --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", hostile.INVALID_UTF8, ids=lambda b: b.hex())
async def test_form_bytes_that_are_not_utf8_are_refused_with_a_message(world, people, raw):
    name = unique("编码").encode()
    for body in (b"name=" + quote(name + raw).encode() + b"&kind=office",  # percent-encoded
                 b"name=" + name + raw + b"&kind=office"):  # sent as they are
        for content_type in ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"):
            response = await people.admin.post_raw("/admin/units", body, content_type)
            assert "UTF-8" in refused(response, 400)
    assert not await load(world, Unit, col(Unit.name).startswith(name.decode()))


async def test_form_text_in_other_encodings_arrives_intact(world, people):
    for encoding in ("utf-8", "gb18030", "big5"):
        name = unique("繁體學校" if encoding == "big5" else "编码学校")
        for body in (b"kind=school&name=" + quote(name.encode(encoding)).encode(),
                     b"kind=school&name=" + name.encode(encoding)):
            await people.admin.post_raw("/admin/units", body,
                                        f"application/x-www-form-urlencoded; charset={encoding}")
            [unit] = await load(world, Unit, Unit.name == name)
            async with unit_of_work(world.tenant_id) as session:
                await session.delete(await session.get(Unit, unit.id))
    response = await people.admin.post_raw("/admin/units", b"name=x", "application/x-www-form-urlencoded; charset=no")
    refused(response, 400)


async def test_control_characters_are_taken_out_and_the_rest_is_kept(world, people):
    p = people
    for case, (typed, kept) in hostile.CONTROLS.items():
        name = unique(case)
        assert (await p.admin.post("/admin/units", {"name": name + typed, "kind": "office"})).status_code == 303
        [unit] = await load(world, Unit, Unit.name == name + kept)
        task_id = await new_task(world, p.supervisor, typed + name, "说明" + typed)
        task = await one(world, Task, Task.id == task_id)
        assert (task.title, task.description) == (kept + name, "说明" + kept)
        saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(progress=typed, problems=typed))
        assert saved.status_code == 303, said(saved)
        report = await report_of_task(world, task_id)
        assert (report.progress, report.problems) == (kept, kept)
        assert (await p.supervisor.post(f"/tasks/{task_id}/nudge", {"message": typed})).status_code == 303
        uploaded = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": typed},
                                      files=upload(f"照片{typed}.png", PNG, "image/png"))
        assert uploaded.status_code == 303, said(uploaded)
        [evidence] = await load(world, Evidence, Evidence.task_id == task_id)
        assert evidence.description == kept and "\x00" not in evidence.filename and "\u202e" not in evidence.filename
        imported = await paste_plan(p.admin, pasted_plan(unique("控制"), "加强" + typed, "开展学习" + typed))
        assert imported.status_code == 303, said(imported)
        for path in (f"/tasks/{task_id}", f"/tasks/{task_id}/reports", imported.headers["location"]):
            assert (await p.supervisor.get(path)).status_code == 200
        ledger = await p.supervisor.get(f"/tasks/{task_id}/ledger.xlsx")
        assert ledger.status_code == 200
        assert {kept + name, "说明" + kept} <= {c.value for c in xlsx_cells(ledger.content)}


async def test_emoji_and_mixed_scripts_are_stored_and_shown_back_unchanged(world, people):
    p = people
    for case, text in hostile.UNICODE.items():
        assert (await p.admin.post("/admin/units", {"name": text + case, "kind": "office"})).status_code == 303
        assert await load(world, Unit, Unit.name == text + case)
        task_id = await new_task(world, p.supervisor, text, text)
        saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(progress=text, next_steps=text))
        assert saved.status_code == 303
        assert (await report_of_task(world, task_id)).progress == text
        assert (await p.supervisor.post(f"/tasks/{task_id}/nudge", {"message": text})).status_code == 303
        name = text.replace("/", "、") + ".png"  # (a "/" in a file name is a folder: taken out)
        uploaded = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": text},
                                      files=upload(name, PNG, "image/png"))
        assert uploaded.status_code == 303
        [evidence] = await load(world, Evidence, Evidence.task_id == task_id)
        assert evidence.description == text and evidence.filename == name
        page = (await p.supervisor.get(f"/tasks/{task_id}")).text
        assert page.count(text) >= 3, case  # title, description, report, nudge, evidence
        assert text + case in (await p.admin.get("/admin/units")).text
        ledger = await p.supervisor.get(f"/tasks/{task_id}/ledger.xlsx")
        assert text in {c.value for c in xlsx_cells(ledger.content)}
        download = await p.staff.get(f"/evidence/{evidence.id}/download")
        assert quote(name, safe="") in download.headers["content-disposition"]


def huge_fields(big: str, world: Loop, task, draft_report, report, extension_id, draft, item_key,
                unit_id) -> list:
    """(who, path, form, field) for every free-text field, with `big` in `field`: `task` has a draft report,
    `report` is submitted (for the co-unit's part and the review), `extension_id` is (task, pending request)."""
    task_id, task_version = task.id, str(task.version)
    report_id, version = report.id, str(report.version)
    at = str(draft_report.version)
    office, school = str(world.bureau.units["office"].id), str(world.bureau.units["school"].id)
    edit = f"/plans/imports/{draft.id}/edit"
    meta = {"version": str(draft.version), "operation": "meta", "title": "标题", "issuer": "", "year": "2026"}
    target = {"version": str(draft.version), "operation": "target", "key": item_key, "index": "0", "value": "12",
              "unit": "次", "comparator": ""}
    return [
        ("admin", "/admin/units", {"name": big, "kind": "office"}, "name"),
        ("admin", f"/admin/units/{unit_id}", {"name": big, "kind": "office"}, "name"),
        ("admin", "/admin/members/invite", {"display_name": big, "role": "unit_staff", "unit_id": school},
         "display_name"),
        ("admin", "/account/tokens", {"name": big}, "name"),
        ("admin", "/admin/channels", {"kind": "wecom", "url": "https://robot.example.cn/" + big}, "url"),
        ("admin", "/admin/channels", {"kind": "wecom", "url": "https://robot.example.cn/s", "secret": big}, "secret"),
        ("admin", "/account/notifications", {"phone": big, "sms": "1"}, "phone"),
        ("admin", "/admin/report-settings", {"report_day": big}, "report_day"),
        ("admin", edit, {**meta, "title": big}, "title"),
        ("admin", edit, {**meta, "issuer": big}, "issuer"),
        ("admin", edit, {**meta, "operation": "rename_item", "key": item_key, "title": big}, "title"),
        ("admin", edit, {**target, "value": big}, "value"),
        ("admin", edit, {**target, "unit": big}, "unit"),
        ("admin", edit, {**target, "comparator": big}, "comparator"),
        ("supervisor", "/tasks/new", {"title": big, "description": "", "deadline": DEADLINE, "lead_unit_id": office},
         "title"),
        ("supervisor", "/tasks/new", {"title": "标题", "description": big, "deadline": DEADLINE,
                                      "lead_unit_id": office}, "description"),
        ("staff", f"/tasks/{task_id}/report", report_form(progress=big, version=at), "progress"),
        ("staff", f"/tasks/{task_id}/report", report_form(problems=big, version=at), "problems"),
        ("staff", f"/tasks/{task_id}/report", report_form(next_steps=big, version=at), "next_steps"),
        ("staff", f"/tasks/{task_id}/report", report_form(support_needed=big, version=at), "support_needed"),
        ("staff", f"/tasks/{task_id}/report", report_form(percent=big, version=at), "percent"),
        ("staff", f"/tasks/{task_id}/report", report_form(expected_completion=big, version=at), "expected_completion"),
        ("staff", f"/tasks/{task_id}/report/no-change", {"reason": big, "version": at}, "reason"),
        ("staff", f"/tasks/{task_id}/completion", {"summary": big, "version": task_version}, "summary"),
        ("staff", f"/tasks/{task_id}/extension", {"requested_deadline": "2027-01-31", "reason": big}, "reason"),
        ("staff", f"/tasks/{task_id}/extension", {"requested_deadline": big, "reason": "理由"}, "requested_deadline"),
        ("co", f"/reports/{report_id}/contribution", {"text": big}, "text"),
        ("co", f"/tasks/{task_id}/send-back", {"reason": big, "version": task_version}, "reason"),
        ("supervisor", f"/reports/{report_id}/review", {"decision": "return", "comment": big, "version": version},
         "comment"),
        ("supervisor", "/reviews/batch", {"report": f"{report_id}:{version}", "comment": big}, "comment"),
        ("supervisor", f"/tasks/{extension_id[0]}/extensions/{extension_id[1]}", {"decision": "refuse",
                                                                                  "comment": big}, "comment"),
        ("supervisor", f"/tasks/{task_id}/nudge", {"message": big}, "message"),
        ("supervisor", f"/tasks/{task_id}/cancel", {"reason": big, "version": task_version}, "reason"),
    ]


async def test_plan_draft_edits_refuse_what_publishing_could_not_store(world, people):
    """The draft is JSON and takes anything; the plan's columns do not. Each edit is refused when it would not fit
    (or is no number), with a message, and the draft stays as it was; the draft still publishes afterwards."""
    p = people
    imported = await paste_plan(p.admin, pasted_plan(unique("草稿"), "加强党的建设", "开展专题学习不少于12次"))
    assert imported.status_code == 303
    draft_id = uuid.UUID(imported.headers["location"].rsplit("/", 1)[-1])
    draft = await one(world, PlanImport, PlanImport.id == draft_id)
    key = draft.document["sections"][0]["items"][0]["key"]
    target = {"operation": "target", "key": key, "index": "0", "value": "12", "unit": "次", "comparator": "不少于"}
    for form in (
        {"operation": "meta", "title": "标" * 301, "issuer": "", "year": "2026"},
        {"operation": "meta", "title": "标题", "issuer": "局" * 201, "year": "2026"},
        {"operation": "meta", "title": "标题", "issuer": "", "year": "２０２６年"},
        *({**target, "value": value} for value in ("inf", "nan", "1e400", "-1e13", "十二")),
        {**target, "unit": "次" * 21}, {**target, "comparator": "不少于" * 4},
        {"operation": "deadline", "key": key, "deadline": "2026-02-30"},
        {"operation": "deadline", "key": key, "deadline": "二〇二六年六月三十日"},
    ):
        response = await p.admin.post(f"/plans/imports/{draft_id}/edit", {**form, "version": str(draft.version)})
        refused(response, 422)
    assert (await one(world, PlanImport, PlanImport.id == draft_id)).document == draft.document
    full_width = await p.admin.post(f"/plans/imports/{draft_id}/edit", {**target, "value": "１２",
                                                                         "version": str(draft.version)})
    assert full_width.status_code == 303, said(full_width)
    draft = await one(world, PlanImport, PlanImport.id == draft_id)
    assert draft.document["sections"][0]["items"][0]["targets"][0]["value"] == 12
    published = await p.admin.post(f"/plans/imports/{draft_id}/publish",
                                   {"version": str(draft.version), "confirm_dates": "1"})
    assert published.status_code == 303, said(published)


@pytest.mark.parametrize("big", [hostile.LONG, hostile.MEGABYTE], ids=["long", "megabyte"])
async def test_too_long_text_in_any_field_is_refused_with_a_message_and_nothing_changes(world, people, big):
    p = people
    by_role = {"admin": p.admin, "supervisor": p.supervisor, "staff": p.staff, "co": p.co}
    unit_name = unique("原名单位")
    assert (await p.admin.post("/admin/units", {"name": unit_name, "kind": "office"})).status_code == 303
    [unit] = await load(world, Unit, Unit.name == unit_name)
    task_id = await new_task(world, p.supervisor, unique("超长输入"))
    extension_task = await new_task(world, p.supervisor, unique("超长延期"))
    assert (await p.staff.post(f"/tasks/{extension_task}/extension", {"requested_deadline": "2027-01-31",
                                                                       "reason": "原因"})).status_code == 303
    extension = await one(world, ExtensionRequest, ExtensionRequest.task_id == extension_task)
    saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(progress="原来的进展"))
    assert saved.status_code == 303
    filed = await p.staff.post(f"/tasks/{extension_task}/report", report_form(progress="已报送", action="submit"))
    assert filed.status_code == 303
    report = await report_of_task(world, extension_task)
    task = await one(world, Task, Task.id == task_id)
    imported = await paste_plan(p.admin, pasted_plan(unique("超长"), "加强党的建设", "开展专题学习不少于12次"))
    draft_id = uuid.UUID(imported.headers["location"].rsplit("/", 1)[-1])
    draft = await one(world, PlanImport, PlanImport.id == draft_id)
    item_key = draft.document["sections"][0]["items"][0]["key"]

    async def state():
        return (
            [(u.id, u.name) for u in await load(world, Unit)],
            [(i.id, i.display_name) for i in await load(world, Invitation)],
            [(t.id, t.title, t.description, t.state, t.version) for t in await load(world, Task)],
            [(r.id, r.progress, r.problems, r.state, r.version, r.percent) for r in await load(world, ProgressReport)],
            [(c.id, c.text) for c in await load(world, ReportContribution)],
            [(e.id, e.reason, e.state, e.decision_comment) for e in await load(world, ExtensionRequest)],
            [(a.id, a.state, a.sent_back_reason) for a in await load(world, TaskAssignment)],
            [(d.id, d.version, d.document) for d in await load(world, PlanImport)],
            [(s.report_day,) for s in await load(world, BureauSettings)],
        )

    before = await state()
    draft_report = await report_of_task(world, task_id)
    fields = huge_fields(big, world, task, draft_report, report, (extension_task, extension.id), draft, item_key,
                         unit.id)
    for role, path, form, field in fields:
        response = await by_role[role].post(path, form)
        # A megabyte is refused before it is read (the body limit, 413), a long paste by the field's own limit.
        expected = 422 if big == hostile.LONG else 413
        assert response.status_code == expected, (path, field, response.status_code, said(response))
        assert hostile.has_chinese(said(response)), (path, field, said(response))
    assert await state() == before
    # The tokens, channels and preferences were not made either.
    tokens = await p.admin.get("/account/tokens")
    assert big[:300] not in tokens.text and big[:300] not in (await p.admin.get("/admin/channels")).text
    # Multipart forms: the evidence's description and a pasted plan.
    big_description = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": big},
                                         files=upload("照片.png", PNG, "image/png"))
    refused(big_description, 400, 422)
    assert not await load(world, Evidence, Evidence.task_id == task_id)
    pasted = await paste_plan(p.admin, big)
    refused(pasted, 400, 422)
    # Sign-in and searches with a megabyte are answered, not crashed.
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=p.admin.client._transport.app),  # type: ignore[attr-defined]
                                  base_url="http://testserver")
    async with anonymous:
        token = await csrf_of(anonymous)
        response = await anonymous.post("/login", data={"username": hostile.MEGABYTE, "password": hostile.MEGABYTE,
                                                        "csrf_token": token})
        assert response.status_code < 500 and hostile.has_chinese(response.text)
    for path in (f"/tasks?q={'长' * 5000}", f"/audit?who={'长' * 5000}", f"/plans/{uuid.uuid4()}?q={'长' * 5000}"):
        assert (await p.admin.get(path)).status_code < 500


async def test_full_width_digits_count_as_numbers(world, people):
    p = people
    task_id = await new_task(world, p.supervisor, unique("全角数字"))
    for typed, number in hostile.FULL_WIDTH_DIGITS.items():
        if number > 31:
            continue
        assert (await p.admin.post("/admin/report-settings", {"report_day": typed})).status_code == 303
        [settings] = await load(world, BureauSettings, BureauSettings.tenant_id == world.tenant_id)
        assert settings.report_day == number
    assert (await p.admin.post("/admin/report-settings", {"report_day": "25"})).status_code == 303
    version = 0
    for typed, number in hostile.FULL_WIDTH_DIGITS.items():
        saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(percent=typed, version=str(version)))
        assert saved.status_code == 303, (typed, said(saved))
        report = await report_of_task(world, task_id)
        assert report.percent == number
        version = report.version
    created = await p.supervisor.post("/tasks/new", {"title": unique("全角日期"), "deadline": "２０２６-１２-３１",
                                                     "lead_unit_id": str(world.bureau.units["office"].id)})
    assert created.status_code == 303 or "日期" in refused(created, 422)


@pytest.mark.parametrize("typed", hostile.BAD_DATES)
async def test_impossible_dates_are_refused_with_a_message_and_nothing_changes(world, people, typed):
    p = people
    office = str(world.bureau.units["office"].id)
    title = unique("坏日期")
    refused(await p.supervisor.post("/tasks/new", {"title": title, "deadline": typed, "lead_unit_id": office}), 422)
    assert not await load(world, Task, Task.title == title)
    task_id = await new_task(world, p.supervisor, unique("坏日期任务"))
    saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(progress="原来的进展", percent="40"))
    assert saved.status_code == 303
    draft = await report_of_task(world, task_id)
    typed_text = "这次改了进展"
    page = await p.staff.post(f"/tasks/{task_id}/report", report_form(
        progress=typed_text, expected_completion=typed, version=str(draft.version)))
    assert typed_text in refused(page, 422)  # what was typed is still in the form …
    after = await report_of_task(world, task_id)
    assert (after.progress, after.percent, after.version) == ("原来的进展", 40, draft.version)  # … and the draft kept
    refused(await p.staff.post(f"/tasks/{task_id}/extension", {"requested_deadline": typed, "reason": "理由"}), 422)
    refused(await p.staff.post(f"/tasks/{task_id}/evidence", {"covers_from": typed},
                               files=upload("照片.png", PNG, "image/png")), 422)
    assert not await load(world, ExtensionRequest, ExtensionRequest.task_id == task_id)
    assert not await load(world, Evidence, Evidence.task_id == task_id)
    empty = await p.supervisor.post("/tasks/new", {"title": title, "deadline": "", "lead_unit_id": office})
    assert "时限" in refused(empty, 422)


async def test_a_refused_submit_leaves_the_saved_draft_as_it_was(world, people):
    p = people
    task_id = await new_task(world, p.supervisor, unique("草稿不丢"))
    saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(
        progress="已开展两次专题学习", problems="场地紧张", next_steps="继续推进", percent="40"))
    assert saved.status_code == 303
    draft = await report_of_task(world, task_id)
    uploaded = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": "第一份", "report_id": str(draft.id)},
                                  files=upload("第一份.png", PNG, "image/png"))
    assert uploaded.status_code == 303
    draft = await report_of_task(world, task_id)
    hostile_submits = [
        report_form(progress=hostile.MEGABYTE, action="submit", version=str(draft.version)),
        report_form(progress="改了", percent="百分之六十", action="submit", version=str(draft.version)),
        report_form(progress="改了", percent="150", action="submit", version=str(draft.version)),
        report_form(progress="改了", expected_completion="2026-02-30", action="submit", version=str(draft.version)),
        report_form(progress="改了", action="submit", version="not-a-number", **{f"actual-{uuid.uuid4()}": "3"}),
    ]
    for form in hostile_submits:
        response = await p.staff.post(f"/tasks/{task_id}/report", form)
        refused(response, 400, 409, 413, 422)
    invalid = (b"action=submit&version=" + str(draft.version).encode() + b"&progress=%FF%FE&percent=50")
    refused(await p.staff.post_raw(f"/tasks/{task_id}/report", invalid), 400)
    after = await report_of_task(world, task_id)
    assert (after.progress, after.problems, after.next_steps, after.percent, after.state, after.version) == (
        "已开展两次专题学习", "场地紧张", "继续推进", 40, "draft", draft.version)
    [evidence] = await load(world, Evidence, Evidence.task_id == task_id)
    assert evidence.description == "第一份"
    page = await p.staff.get(f"/tasks/{task_id}/report")
    assert "已开展两次专题学习" in page.text and "场地紧张" in page.text


async def test_lone_surrogates_and_nul_in_json_are_refused_not_crashed(world, people):
    p = people
    for name in ("\\ud800坏字", "空\\u0000字", "\\udfff"):  # JSON escapes: no client would encode them as text
        body = ('{"kind": "office", "name": "' + name + '"}').encode()
        response = await p.admin.client.post("/api/v1/units", content=body, headers={
            "x-csrf-token": p.admin.csrf, "accept": "application/json", "content-type": "application/json"})
        assert response.status_code in (201, 422), (response.status_code, said(response))
        if response.status_code == 422:
            assert hostile.has_chinese(response.json()["detail"])
        else:
            assert "\x00" not in response.json()["name"] and "\ud800" not in response.json()["name"]
