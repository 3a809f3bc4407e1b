"""Evidence tests: the bureau's task 深化理论学习 (office leads, the school co-operates, so the school's head and
staff may upload), files kept under a temporary data directory, """

import pytest
from sqlmodel import col, select

from backend.config import get_settings
from backend.db import unit_of_work
from backend.tasks.models import Task, TaskAssignment


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Stored files go to this test's own folder (and local storage, whatever the environment says)."""
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "data")
    monkeypatch.setattr(get_settings(), "storage", "local")
    return tmp_path / "data"


@pytest.fixture
def no_jobs(monkeypatch):
    """The thumbnail jobs routes would enqueue, recorded instead of sent (tests/evidence/test_jobs.py runs them)."""
    sent: list[tuple] = []

    async def record(name, *args, **kwargs):
        sent.append((name, *args))

    monkeypatch.setattr("backend.core.jobs.enqueue", record)
    return sent


async def school_task(bureau) -> Task:
    """The task the school is assigned to (as co-unit), so its head and staff may upload."""
    async with unit_of_work(bureau.tenant.id) as session:
        return (await session.exec(
            select(Task).join(TaskAssignment, col(TaskAssignment.task_id) == Task.id)
            .where(TaskAssignment.unit_id == bureau.units["school"].id, Task.title == "深化理论学习")
        )).first()


async def unassigned_task(bureau) -> Task:
    """A task the school is not assigned to: its members cannot even see it."""
    async with unit_of_work(bureau.tenant.id) as session:
        mine = select(TaskAssignment.task_id).where(TaskAssignment.unit_id == bureau.units["school"].id)
        return (await session.exec(select(Task).where(col(Task.id).not_in(mine)))).first()


async def chunks_of(data: bytes, size: int = 64 * 1024):
    for start in range(0, len(data), size):
        yield data[start:start + size]
