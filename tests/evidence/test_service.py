"""Uploading evidence through the service: every allowed type, every refusal, duplicates, versions, who may."""

import hashlib
import tracemalloc
from datetime import date

import pytest
from sqlalchemy import event
from sqlmodel import select

from backend.audit.models import AuditEvent
from backend.config import get_settings
from backend.core.roles import Role
from backend.db import get_engine, unit_of_work
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.evidence import service as evidence
from backend.evidence.models import Evidence
from backend.files import storage
from backend.files.models import StoredFile
from backend.reports import attaching
from backend.tasks.models import Task, TaskState
from tests.evidence import samples
from tests.evidence.conftest import chunks_of, school_task, unassigned_task


async def upload(bureau, role, task_id, name, data, **kwargs) -> Evidence:
    async with unit_of_work(bureau.tenant.id) as session:
        return await evidence.upload_evidence(session, bureau.actors[role], task_id, filename=name,
                                              chunks=chunks_of(data), **kwargs)


@pytest.mark.parametrize("name, make, kind, content_type", [
    ("现场照片.jpg", samples.jpeg, "image", "image/jpeg"),
    ("截图.png", samples.png, "image", "image/png"),
    ("动图.gif", samples.gif, "image", "image/gif"),
    ("照片.webp", samples.webp, "image", "image/webp"),
    ("IMG_0001.HEIC", samples.heic, "image", "image/heic"),
    ("会议纪要.pdf", samples.pdf, "pdf", "application/pdf"),
    ("总结.docx", samples.docx, "document",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("统计表.xlsx", samples.xlsx, "spreadsheet", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("汇报.pptx", samples.pptx_like, "presentation",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("旧文档.doc", samples.ole, "document", "application/msword"),
    ("旧表格.xls", lambda: samples.ole("Workbook"), "spreadsheet", "application/vnd.ms-excel"),
    ("金山表格.et", lambda: samples.ole("Book"), "spreadsheet", "application/vnd.ms-excel"),
    ("金山文字.wps", lambda: samples.ole("WordDocument", size=5000), "document", "application/vnd.ms-works"),
    ("视频.mp4", samples.mp4, "video", "video/mp4"),
    ("视频.mov", samples.mov, "video", "video/quicktime"),
])
async def test_each_allowed_type_is_stored_by_its_hash(bureau, name, make, kind, content_type):
    task = await school_task(bureau)
    data = make()
    made = await upload(bureau, Role.unit_staff, task.id, name, data, description="第一次上传",
                        covers_from=date(2024, 3, 1), covers_to=date(2024, 3, 31))
    assert made.kind == kind and made.filename == name and not made.submitted
    async with unit_of_work(bureau.tenant.id) as session:
        stored = await session.get(StoredFile, made.file_id)
        audit = (await session.exec(select(AuditEvent).where(AuditEvent.object_id == str(made.id)))).one()
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert stored.content_type == content_type
    assert storage.content_path(bureau.tenant.id, stored.sha256).read_bytes() == data
    assert audit.action == "evidence.upload" and audit.details["sha256"] == stored.sha256


async def test_type_comes_from_the_bytes_not_the_name(bureau):
    task = await school_task(bureau)
    photo = await upload(bureau, Role.unit_staff, task.id, "scan.pdf", samples.jpeg())
    assert photo.kind == "image" and photo.filename == "scan.jpg"
    renamed = await upload(bureau, Role.unit_staff, task.id, "说明", samples.pdf())
    assert renamed.filename == "说明.pdf"


@pytest.mark.parametrize("name, data, words", [
    ("页面.html", samples.HTML, "网页文件（HTML）"),
    ("伪装.png", samples.SVG, "SVG 矢量图"),
    ("setup.exe", samples.EXE, "可执行程序"),
    ("照片.jpg", samples.EXE, "可执行程序"),
    ("run.sh", samples.SCRIPT, "脚本程序"),
    ("说明.txt", samples.TEXT, "纯文本文件"),
    ("照片.zip", samples.plain_zip(), "压缩包"),
    ("宏.docm", samples.macro_docx(), "含有宏"),
    ("安装.doc", samples.ole("\x05SummaryInformation", clsid=bytes.fromhex("84100c0000000000c000000000000046")),
     "可执行程序"),  # an MSI installer is an OLE file too
    ("炸弹.docx", samples.zip_bomb_docx(300), "压缩炸弹"),
    ("坏的.docx", b"PK\x03\x04" + b"\x00" * 100, "已损坏"),
    ("随机.bin", bytes(range(256)) * 4, "无法识别"),
])
async def test_hostile_and_wrong_files_are_refused_with_what_to_do(bureau, name, data, words):
    task = await school_task(bureau)
    with pytest.raises(InvalidInput) as refused:
        await upload(bureau, Role.unit_staff, task.id, name, data)
    assert words in refused.value.message and refused.value.field == "file"
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await session.exec(select(Evidence).where(Evidence.task_id == task.id))).all() == []


async def test_empty_and_oversize_files_are_refused_and_nothing_is_left_behind(bureau, monkeypatch, data_dir):
    task = await school_task(bureau)
    with pytest.raises(InvalidInput, match="空文件"):
        await upload(bureau, Role.unit_staff, task.id, "空.jpg", b"")
    monkeypatch.setattr(get_settings(), "evidence_max_mb", 1)
    with pytest.raises(InvalidInput, match="超过 1 MB 的上限"):
        await upload(bureau, Role.unit_staff, task.id, "大视频.mp4", samples.mp4(2 * 2**20))
    assert not list((data_dir / "files").rglob(".upload-*")), "staged files must be removed"


async def test_the_name_is_cleaned_but_chinese_kept(bureau):
    task = await school_task(bureau)
    made = await upload(bureau, Role.unit_staff, task.id, "..\\..\\windows/../../etc/第\u202e三季度\x07..总结.pdf",
                        samples.pdf())
    assert made.filename == "第三季度.总结.pdf"
    assert "/" not in made.filename and ".." not in made.filename


async def test_the_same_file_twice_on_a_task_is_recognised(bureau):
    task = await school_task(bureau)
    data = samples.jpeg()
    first = await upload(bureau, Role.unit_staff, task.id, "现场.jpg", data)
    again = await upload(bureau, Role.unit_head, task.id, "另一个名字.jpg", data)
    assert again.id == first.id
    message = evidence.duplicate_message(again)
    assert message.startswith("这份材料已经上传过：“现场.jpg”")
    assert bureau.users[Role.unit_staff].display_name in message
    async with unit_of_work(bureau.tenant.id) as session:
        assert len((await session.exec(select(Evidence).where(Evidence.task_id == task.id))).all()) == 1
        assert evidence.duplicate_message(await session.get(Evidence, first.id)) is None
    # The same bytes on another task are evidence there too, sharing one stored file.
    other = await unassigned_task(bureau)
    elsewhere = await upload(bureau, Role.supervisor, other.id, "现场.jpg", data)
    assert elsewhere.id != first.id and elsewhere.file_id == first.file_id
    assert evidence.duplicate_message(elsewhere) is None


async def test_submitted_evidence_is_immutable_and_a_new_version_keeps_both(bureau):
    task = await school_task(bureau)
    old = await upload(bureau, Role.unit_staff, task.id, "总结.docx", samples.docx("初稿"), description="三月总结",
                       covers_from=date(2024, 3, 1), covers_to=date(2024, 3, 31))
    async with unit_of_work(bureau.tenant.id) as session:
        row = await session.get(Evidence, old.id)
        row.submitted = True  # what the reports service does when the report goes up
        session.add(row)
    staff = bureau.actors[Role.unit_staff]
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Conflict, match="已随报告提交"):
            await evidence.update_evidence(session, staff, old.id, description="改", covers_from=None, covers_to=None)
        with pytest.raises(Conflict, match="已随报告提交"):
            await evidence.delete_evidence(session, staff, old.id)
    async with unit_of_work(bureau.tenant.id) as session:
        new = await evidence.supersede(session, staff, old.id, filename="总结（修订）.docx",
                                       chunks=chunks_of(samples.docx("修订稿")))
    assert new.supersedes_id == old.id and new.id != old.id and not new.submitted
    assert new.description == "三月总结" and new.covers_from == date(2024, 3, 1)  # carried over
    async with unit_of_work(bureau.tenant.id) as session:
        rows = await evidence.list_evidence(session, staff, task.id)
        audit = (await session.exec(select(AuditEvent).where(AuditEvent.object_id == str(new.id)))).one()
        with pytest.raises(Conflict, match="已经有新版本"):
            await evidence.supersede(session, staff, old.id, filename="再改.docx", chunks=chunks_of(samples.docx("3")))
    by_id = {r.evidence.id: r for r in rows}
    assert by_id[old.id].superseded and by_id[old.id].superseded_by_id == new.id
    assert not by_id[new.id].superseded and audit.action == "evidence.supersede"


async def test_unsubmitted_evidence_can_be_corrected_or_removed(bureau):
    task = await school_task(bureau)
    made = await upload(bureau, Role.unit_staff, task.id, "照片.jpg", samples.jpeg())
    staff, head, leader = (bureau.actors[r] for r in (Role.unit_staff, Role.unit_head, Role.leader))
    async with unit_of_work(bureau.tenant.id) as session:
        changed = await evidence.update_evidence(session, head, made.id, description="升旗仪式",
                                                 covers_from=date(2024, 4, 1), covers_to=date(2024, 4, 1))
        assert changed.description == "升旗仪式"
        with pytest.raises(InvalidInput, match="结束日期不能早于开始日期"):
            await evidence.update_evidence(session, staff, made.id, description="", covers_from=date(2024, 5, 2),
                                           covers_to=date(2024, 5, 1))
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Forbidden):
            await evidence.delete_evidence(session, leader, made.id)
    async with unit_of_work(bureau.tenant.id) as session:
        assert await evidence.delete_evidence(session, staff, made.id) == task.id
    async with unit_of_work(bureau.tenant.id) as session:
        assert await session.get(Evidence, made.id) is None


@pytest.mark.parametrize("role", [Role.admin, Role.supervisor, Role.unit_head, Role.unit_staff])
async def test_who_may_upload(bureau, role):
    task = await school_task(bureau)
    made = await upload(bureau, role, task.id, "照片.jpg", samples.jpeg(color=(len(role.value) * 9, 0, 0)))
    assert made.uploaded_by == bureau.users[role].id


async def test_leaders_read_but_do_not_upload(bureau):
    task = await school_task(bureau)
    with pytest.raises(Forbidden, match="局领导可以查看佐证材料，但不能上传"):
        await upload(bureau, Role.leader, task.id, "照片.jpg", samples.jpeg())
    await upload(bureau, Role.unit_staff, task.id, "照片.jpg", samples.jpeg())
    async with unit_of_work(bureau.tenant.id) as session:
        assert len(await evidence.list_evidence(session, bureau.actors[Role.leader], task.id)) == 1


async def test_units_not_on_the_task_and_other_bureaus_find_nothing(bureau, other_bureau):
    theirs = await unassigned_task(bureau)
    with pytest.raises(NotFound):
        await upload(bureau, Role.unit_staff, theirs.id, "照片.jpg", samples.jpeg())
    task = await school_task(bureau)
    made = await upload(bureau, Role.unit_staff, task.id, "照片.jpg", samples.jpeg())
    for role in (Role.admin, Role.unit_staff):
        actor = other_bureau.actors[role]
        async with unit_of_work(other_bureau.tenant.id) as session:
            with pytest.raises(NotFound):
                await evidence.list_evidence(session, actor, task.id)
            with pytest.raises(NotFound):
                await evidence.evidence_file(session, actor, made.id)
            with pytest.raises(NotFound):
                await evidence.supersede(session, actor, made.id, filename="x.jpg", chunks=chunks_of(samples.jpeg()))
        with pytest.raises(NotFound):
            await upload(other_bureau, role, task.id, "照片.jpg", samples.jpeg())


async def test_no_uploads_to_cancelled_or_done_tasks(bureau):
    task = await school_task(bureau)
    async with unit_of_work(bureau.tenant.id) as session:
        row = await session.get(Task, task.id)
        row.state = TaskState.done
        session.add(row)
    with pytest.raises(Conflict, match="已办结"):
        await upload(bureau, Role.unit_staff, task.id, "照片.jpg", samples.jpeg())


async def test_bad_details_are_refused_before_the_file_is_read(bureau):
    task = await school_task(bureau)

    async def never():
        raise AssertionError("the upload must not be read")
        yield b""  # pragma: no cover

    async with unit_of_work(bureau.tenant.id) as session:
        actor = bureau.actors[Role.unit_staff]
        with pytest.raises(InvalidInput) as refused:
            await evidence.upload_evidence(session, actor, task.id, filename="a.jpg", chunks=never(),
                                           description="很长" * 300)
        assert refused.value.field == "description"
        with pytest.raises(InvalidInput) as refused:
            await evidence.upload_evidence(session, actor, task.id, filename="a.jpg", chunks=never(),
                                           covers_from=date(2024, 6, 30), covers_to=date(2024, 6, 1))
        assert refused.value.field == "covers_to"
        with pytest.raises(InvalidInput) as refused:
            await attaching.upload(session, actor, task.id, filename="a.jpg", chunks=never(), report_id=task.id)
        assert refused.value.field == "report_id"


async def test_the_list_is_one_query_with_uploader_names(bureau):
    task = await school_task(bureau)
    for n in range(5):
        await upload(bureau, Role.unit_staff, task.id, f"照片{n}.jpg", samples.jpeg(color=(n * 40, 10, 10)))
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    async with unit_of_work(bureau.tenant.id) as session:
        actor = bureau.actors[Role.supervisor]
        await evidence.list_evidence(session, actor, task.id)  # warm up
        engine = get_engine().sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            rows = await evidence.list_evidence(session, actor, task.id)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(rows) == 5 and {r.uploader_name for r in rows} == {bureau.users[Role.unit_staff].display_name}
    assert len(statements) == 2  # the task (visibility), then the evidence with names, sizes and versions


async def test_a_large_upload_is_streamed_not_held(bureau):
    """30 MB through the service: the process never holds more than a few chunks of it."""
    task = await school_task(bureau)
    block = samples.mp4(2**20)

    async def thirty_megabytes():
        yield block
        filler = bytes(range(256)) * 1024  # 256 KB
        for _ in range(29 * 4):
            yield filler

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        async with unit_of_work(bureau.tenant.id) as session:
            made = await evidence.upload_evidence(session, bureau.actors[Role.unit_staff], task.id,
                                                  filename="长视频.mp4", chunks=thirty_megabytes())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    async with unit_of_work(bureau.tenant.id) as session:
        stored = await session.get(StoredFile, made.file_id)
    assert stored.size == 30 * 2**20
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MB while uploading 30 MB"


async def test_the_same_file_sent_twice_at_once_is_stored_once(bureau):
    import asyncio

    task = await school_task(bureau)
    data = samples.pdf("double tap")
    first, second = await asyncio.gather(upload(bureau, Role.unit_staff, task.id, "a.pdf", data),
                                         upload(bureau, Role.unit_head, task.id, "b.pdf", data))
    assert first.id == second.id
    assert [evidence.duplicate_message(e) is None for e in (first, second)].count(True) == 1
