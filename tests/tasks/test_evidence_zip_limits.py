"""Issue 14, finding 16: evidence.zip cost ~9 s and a ~283 MB temporary file per request, with no limit on how often.

Now a member gets one build of a task's archive at a time (a Redis claim shared by every process: 429 with a
message while one is being built or downloaded), the evidence is refused past a total size (413), and the files
are stored in the archive as they are instead of being deflated again on the event loop.
"""

import asyncio
import io
import zipfile

from sqlmodel import select

from backend.config import get_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.evidence import service as evidence
from backend.reports import ledger
from backend.tasks.models import Task
from tests.evidence.samples import jpeg


async def _chunks(data: bytes):
    yield data


async def _task_with_evidence(bureau, tmp_path, monkeypatch, count: int = 3) -> Task:
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "data")
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.title == "深化理论学习"))).one()
        for n in range(count):
            photo = jpeg() + bytes(n + 1) * 200_000  # distinct files of some size
            await evidence.upload_evidence(session, bureau.actors[Role.unit_staff], task.id,
                                           filename=f"现场照片{n}.jpg", chunks=_chunks(photo))
    return task


async def test_two_concurrent_downloads_one_builds_the_other_is_told_to_wait(signed_in, bureau, tmp_path,
                                                                              monkeypatch):
    task = await _task_with_evidence(bureau, tmp_path, monkeypatch)
    supervisor = await signed_in(bureau, Role.supervisor)
    url = f"/tasks/{task.id}/evidence.zip"
    first, second = await asyncio.gather(supervisor.get(url), supervisor.get(url))
    answers = sorted([first, second], key=lambda r: r.status_code)
    assert [r.status_code for r in answers] == [200, 429]
    assert "请等上一次下载完成后再试" in answers[1].text
    with zipfile.ZipFile(io.BytesIO(answers[0].content)) as archive:
        assert len(archive.namelist()) == 4  # three photos and the index
    # The claim ends with the download: the next request builds again.
    assert (await supervisor.get(url)).status_code == 200


async def test_a_build_under_way_elsewhere_makes_the_request_wait(signed_in, bureau, tmp_path, monkeypatch):
    task = await _task_with_evidence(bureau, tmp_path, monkeypatch, count=1)
    supervisor = await signed_in(bureau, Role.supervisor)
    actor = bureau.actors[Role.supervisor]
    async with unit_of_work(bureau.tenant.id) as session:
        data = await ledger.ledger(session, actor, task.id)
    held = await ledger.claim_evidence_zip(actor, data)  # e.g. a build in another web process
    try:
        refused = await supervisor.get(f"/tasks/{task.id}/evidence.zip")
        assert refused.status_code == 429 and "正在为您打包" in refused.text
        other = await signed_in(bureau, Role.leader)  # another member is not held up
        assert (await other.get(f"/tasks/{task.id}/evidence.zip")).status_code == 200
    finally:
        await held.release()
    assert (await supervisor.get(f"/tasks/{task.id}/evidence.zip")).status_code == 200


async def test_evidence_past_the_total_size_is_not_zipped(signed_in, bureau, tmp_path, monkeypatch):
    task = await _task_with_evidence(bureau, tmp_path, monkeypatch, count=1)
    monkeypatch.setattr(get_settings(), "evidence_zip_max_mb", 0)
    supervisor = await signed_in(bureau, Role.supervisor)
    refused = await supervisor.get(f"/tasks/{task.id}/evidence.zip")
    assert refused.status_code == 413 and "超过打包下载的上限" in refused.text
