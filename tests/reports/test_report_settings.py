"""The bureau's report rules: the report day, the unit head's approval, and quarterly and one-off tasks."""

from datetime import date

import pytest
from sqlmodel import select

from backend.db import unit_of_work
from backend.errors import Forbidden, InvalidInput
from backend.tasks.models import Task
from backend.tenancy.bureau_settings import get_bureau_settings, update_bureau_settings
from backend.tenancy.models import BureauSettings
from tests.reports.helpers import events, filed, run, save, set_settings

pytestmark = pytest.mark.usefixtures("november")


async def test_bureau_settings_default_and_update(loop):
    async with unit_of_work(loop.tenant_id) as session:
        defaults = await get_bureau_settings(session, loop.tenant_id)
        assert (defaults.report_day, defaults.unit_head_approval) == (25, False)
        assert await session.get(BureauSettings, loop.tenant_id) is None  # defaults are not written
    for who in ("supervisor", "leader", "head"):
        with pytest.raises(Forbidden):
            await run(loop, update_bureau_settings, getattr(loop, who), report_day=20, unit_head_approval=True)
    for bad in (0, 32, "abc", ""):
        with pytest.raises(InvalidInput) as caught:
            await run(loop, update_bureau_settings, loop.admin, report_day=bad, unit_head_approval=False)
        assert caught.value.field == "report_day"
    await set_settings(loop, report_day=20, unit_head_approval=True)
    await set_settings(loop, report_day=15, unit_head_approval=False)
    async with unit_of_work(loop.tenant_id) as session:
        stored = await get_bureau_settings(session, loop.tenant_id)
    assert (stored.report_day, stored.unit_head_approval) == (15, False)
    changes = await events(loop, "bureau_settings.update")
    assert changes[0].details["before"] is None
    assert changes[1].details["before"] == {"report_day": 20, "unit_head_approval": True}
    assert changes[1].details["after"] == {"report_day": 15, "unit_head_approval": False}
    report = await save(loop)
    assert report.due_on == date(2026, 11, 15)


async def test_quarterly_and_one_off_tasks(loop):
    async with unit_of_work(loop.tenant_id) as session:
        task = (await session.exec(select(Task).where(Task.id == loop.task_id))).one()
        task.report_frequency = "quarterly"
        session.add(task)
    quarterly = await save(loop)
    assert quarterly.period == "2026-Q4" and quarterly.due_on == date(2026, 12, 25)
    async with unit_of_work(loop.tenant_id) as session:
        task = (await session.exec(select(Task).where(Task.id == loop.task_id))).one()
        task.report_frequency = "once"
        session.add(task)
    once = await filed(loop)
    assert once.period == "once" and once.due_on == date(2024, 12, 31) and once.late
