"""Small wrongs in the task's exports and pages (issue 13, point 9), each reproduced first."""

import io
from datetime import date

from openpyxl import load_workbook
from sqlmodel import select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.evidence import service as evidence
from backend.tasks.models import Task
from tests.evidence.samples import jpeg, png


async def _chunks(data: bytes):
    yield data


async def test_ledger_workbook_speaks_chinese_and_leaves_an_unstated_period_empty(signed_in, bureau, tmp_path,
                                                                                    monkeypatch):
    """It showed `实验小学（cooperating）`, 类型 `image` and 覆盖期间 ` ~ ` for a photo with no period."""
    from backend.config import get_settings

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "data")
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.title == "深化理论学习"))).one()
        staff = bureau.actors[Role.unit_staff]
        await evidence.upload_evidence(session, staff, task.id, filename="现场照片.jpg", chunks=_chunks(jpeg()))
        await evidence.upload_evidence(session, staff, task.id, filename="签到表.png", chunks=_chunks(png()),
                                       covers_from=date(2026, 11, 1), covers_to=date(2026, 11, 30))
    supervisor = await signed_in(bureau, Role.supervisor)
    book = load_workbook(io.BytesIO((await supervisor.get(f"/tasks/{task.id}/ledger.xlsx")).content))
    overview = {row[0]: row[1] for row in book["概况"].iter_rows(values_only=True)}
    assert "实验小学（配合单位）" in overview["承办单位"] and "cooperating" not in overview["承办单位"]
    rows = {row[0]: row for row in book["佐证材料"].iter_rows(min_row=2, values_only=True)}
    assert rows["现场照片.jpg"][1:3] == ("图片", None)  # no period given: an empty cell, not " ~ "
    assert rows["签到表.png"][1:3] == ("图片", "2026-11-01 ~ 2026-11-30")
