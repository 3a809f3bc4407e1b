"""The 台账 exported: the workbook and the evidence archive hold what the task's page shows."""

import io
import zipfile

from openpyxl import load_workbook
from sqlmodel import select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.evidence import service as evidence
from backend.tasks.models import Task
from tests.evidence.samples import jpeg


async def _chunks(data: bytes):
    yield data


async def test_ledger_workbook_and_evidence_zip(signed_in, bureau, other_bureau, tmp_path, monkeypatch):
    from backend.config import get_settings

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "data")
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.title == "深化理论学习"))).one()
        photo = jpeg()
        await evidence.upload_evidence(session, bureau.actors[Role.unit_staff], task.id, filename="现场照片.jpg",
                                       chunks=_chunks(photo), description="专题学习现场")
    supervisor = await signed_in(bureau, Role.supervisor)
    workbook = await supervisor.get(f"/tasks/{task.id}/ledger.xlsx")
    assert workbook.status_code == 200 and "attachment" in workbook.headers["content-disposition"]
    book = load_workbook(io.BytesIO(workbook.content))
    assert book.sheetnames == ["概况", "进展报送", "佐证材料", "办理记录"]
    assert book["概况"]["B2"].value == task.number
    assert book["佐证材料"]["A2"].value == "现场照片.jpg"
    archive = await supervisor.get(f"/tasks/{task.id}/evidence.zip")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        names = z.namelist()
        assert f"{task.number}/001_现场照片.jpg" in names
        assert z.read(f"{task.number}/001_现场照片.jpg") == photo
        index = load_workbook(io.BytesIO(z.read(f"{task.number}/材料清单.xlsx")))
        assert index.active["B2"].value == "现场照片.jpg"
    stranger = await signed_in(other_bureau, Role.supervisor)
    assert (await stranger.get(f"/tasks/{task.id}/ledger.xlsx")).status_code == 404
    assert (await stranger.get(f"/tasks/{task.id}/evidence.zip")).status_code == 404
