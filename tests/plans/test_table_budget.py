"""Issue 14: the 任务分解表 was read by openpyxl on the event loop; a sheet of many rows stopped the web process.

It is now read in a child process with a time and memory budget (`backend.core.budget.run_bounded`), like plan
parsing. A real .xlsx of 60,000 rows (1 MB on the wire) goes through the upload page while /healthz is
asked over and over: it answers throughout, and the table is refused with a message once its time is up.
"""

import asyncio
import io
import time
import zipfile

import httpx
from openpyxl import Workbook
from sqlmodel import select

from backend.config import get_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.plans.models import Plan
from tests.support.fixtures import csrf_of


def many_rows(rows: int) -> bytes:
    """A real workbook whose one sheet has a header and `rows` task rows, written as XML directly (openpyxl would
    take longer to write it than the test has)."""
    book = Workbook()
    out = io.BytesIO()
    book.save(out)
    cells = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{r}</t></is></c>'
                    f'<c r="B{r}" t="inlineStr"><is><t>第{r}项工作任务</t></is></c>'
                    f'<c r="C{r}" t="inlineStr"><is><t>办公室</t></is></c></row>' for r in range(2, rows + 2))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>序号</t></is></c>'
             '<c r="B1" t="inlineStr"><is><t>工作任务</t></is></c><c r="C1" t="inlineStr"><is><t>牵头单位</t></is>'
             f'</c></row>{cells}</sheetData></worksheet>')
    hostile = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as source, \
            zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = sheet.encode() if entry.filename == "xl/worksheets/sheet1.xml" else source.read(entry)
            target.writestr(entry.filename, data)
    return hostile.getvalue()


async def _upload(client: httpx.AsyncClient, plan_id, content: bytes) -> httpx.Response:
    token = await csrf_of(client, f"/plans/{plan_id}")
    return await client.post(f"/plans/{plan_id}/responsibilities", data={"csrf_token": token},
                             files={"file": ("分解表.xlsx", content, "application/octet-stream")})


async def test_a_table_of_many_rows_is_stopped_at_its_time_and_the_web_process_keeps_answering(
        signed_in, bureau, app, monkeypatch):
    monkeypatch.setattr(get_settings(), "table_parse_seconds", 2)
    client = await signed_in(bureau, Role.supervisor)
    async with unit_of_work(bureau.tenant.id) as session:
        plan_id = (await session.exec(select(Plan.id))).one()
    table = many_rows(60_000)  # ~12 s to read on this machine: on the event loop, that long without an answer
    assert len(table) < 10 * 2**20
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as bystander:
        sent = asyncio.create_task(_upload(client, plan_id, table))
        slowest = 0.0
        started = time.monotonic()
        while not sent.done():
            asked = time.monotonic()
            assert (await bystander.get("/healthz")).status_code == 200
            slowest = max(slowest, time.monotonic() - asked)
            await asyncio.sleep(0.05)
        response = await sent
    assert response.status_code == 422, response.text[:500]
    assert "2 秒内没有读完" in response.text
    assert time.monotonic() - started < 10
    assert slowest < 1.5, f"/healthz waited {slowest:.1f} s behind the table"


async def test_a_table_past_its_memory_budget_is_refused_with_a_message(signed_in, bureau, monkeypatch):
    from tests.plans.test_responsibilities import _table

    monkeypatch.setattr(get_settings(), "table_parse_memory_mb", 32)  # less than the reader needs to start
    client = await signed_in(bureau, Role.supervisor)
    async with unit_of_work(bureau.tenant.id) as session:
        plan_id = (await session.exec(select(Plan.id))).one()
    response = await _upload(client, plan_id, _table())
    assert response.status_code == 422, response.text[:500]
    assert "需要的内存超过了限制" in response.text
