"""What the hostile-input tests share: their constants, the people who make each change, and small helpers that
post the pages' forms and read back what was stored."""

import io
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from openpyxl import load_workbook
from sqlmodel import select

from backend.db import unit_of_work
from backend.plans.models import PlanImport
from backend.reports.models import ProgressReport
from tests.reports.helpers import Loop
from tests.support import hostile
from tests.support.browser import Browser

EARLY_NOVEMBER = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
DEADLINE = "2026-12-31"
ATTACHMENT_TYPES_NEVER = ("text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml",
                          "text/javascript", "application/javascript")


@dataclass
class People:
    """Signed-in browsers of the people who make each change."""

    admin: Browser
    supervisor: Browser
    leader: Browser
    staff: Browser  # office: the lead unit of the tasks made here
    co: Browser  # school: the co-operating unit


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


def assert_served_safely(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    content_type = response.headers["content-type"].split(";")[0].strip().lower()
    assert content_type not in ATTACHMENT_TYPES_NEVER, content_type


def files_on_disk(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


async def draft_of(world: Loop, imported: httpx.Response) -> PlanImport:
    """The plan draft an import's redirect leads to."""
    return await one(world, PlanImport, PlanImport.id == uuid.UUID(imported.headers["location"].rsplit("/", 1)[-1]))


async def publish(world: Loop, admin: Browser, draft_id: uuid.UUID) -> httpx.Response:
    """Publishes a plan draft at its current version, its dates confirmed."""
    version = (await one(world, PlanImport, PlanImport.id == draft_id)).version
    return await admin.post(f"/plans/imports/{draft_id}/publish", {"version": str(version), "confirm_dates": "1"})


async def exports(who: Browser, task_id: uuid.UUID) -> tuple[list, list[str], list]:
    """A task's Excel ledger (its cells), and its evidence bundle: the file names and the index's cells."""
    ledger = await who.get(f"/tasks/{task_id}/ledger.xlsx")
    assert ledger.status_code == 200
    bundle = await who.get(f"/tasks/{task_id}/evidence.zip")
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        names = archive.namelist()
        index_cells = xlsx_cells(archive.read(next(name for name in names if name.endswith(".xlsx"))))
    return xlsx_cells(ledger.content), names, index_cells
