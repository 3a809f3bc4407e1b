"""The thumbnail job, run by a real arq worker on real Redis: upright (EXIF orientation), small, once."""

import io
import uuid

from arq import Worker
from PIL import Image
from sqlmodel import select

from backend.core.jobs import enqueue, redis_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.evidence import service as evidence
from backend.evidence.models import Evidence
from backend.evidence.thumbnails import make_thumbnail, render_thumbnail
from backend.files import storage
from backend.files.models import StoredFile
from tests.evidence import samples
from tests.evidence.conftest import chunks_of, school_task
from workers.settings import WorkerSettings


async def upload(bureau, name: str, data: bytes) -> Evidence:
    async with unit_of_work(bureau.tenant.id) as session:
        return await evidence.upload_evidence(session, bureau.actors[Role.unit_staff], (await school_task(bureau)).id,
                                              filename=name, chunks=chunks_of(data))


async def run_worker(queue: str) -> Worker:
    worker = Worker(functions=WorkerSettings.functions, redis_settings=redis_settings(), burst=True,
                    handle_signals=False, poll_delay=0.05, queue_name=queue)
    await worker.main()
    await worker.close()
    return worker


async def thumbnail_of(bureau, evidence_id) -> tuple[Evidence, bytes | None]:
    async with unit_of_work(bureau.tenant.id) as session:
        row = await session.get(Evidence, evidence_id)
        if row.thumbnail_file_id is None:
            return row, None
        stored = await session.get(StoredFile, row.thumbnail_file_id)
    return row, storage.content_path(bureau.tenant.id, stored.sha256).read_bytes()


def test_the_job_is_registered_with_the_worker():
    names = {getattr(f, "__name__", getattr(f, "name", "")) for f in WorkerSettings.functions}
    assert "make_evidence_thumbnail" in names


async def test_a_worker_makes_an_upright_thumbnail_once(bureau):
    # A 640×320 photo, red on the left, taken with the phone turned: EXIF orientation 6 (rotate 90° clockwise).
    photo = await upload(bureau, "竖拍.jpg", samples.jpeg(640, 320, orientation=6))
    queue = f"arq:test-evidence-{uuid.uuid4().hex}"
    await enqueue("make_evidence_thumbnail", str(bureau.tenant.id), str(photo.id), _queue_name=queue)
    await enqueue("make_evidence_thumbnail", str(bureau.tenant.id), str(photo.id), _queue_name=queue)
    worker = await run_worker(queue)
    assert worker.jobs_complete == 2 and worker.jobs_failed == 0
    row, data = await thumbnail_of(bureau, photo.id)
    assert data is not None and data.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 480
        assert thumb.size == (240, 480)  # upright: now taller than wide
        top, bottom = thumb.getpixel((120, 20)), thumb.getpixel((120, 460))
    assert top[0] > 150 and top[2] < 100  # the red half is on top after turning clockwise
    assert bottom[2] > 150 and bottom[0] < 100
    async with unit_of_work(bureau.tenant.id) as session:  # run twice: one thumbnail, not two
        named = StoredFile.filename == f"thumb-{photo.id}.jpg"
        thumbnails = (await session.exec(select(StoredFile).where(named))).all()
        assert len(thumbnails) == 1
        assert await make_thumbnail(session, photo.id) == "exists"
    assert (await thumbnail_of(bureau, photo.id))[0].thumbnail_file_id == row.thumbnail_file_id


async def test_transparent_pictures_and_non_images(bureau):
    picture = await upload(bureau, "透明.png", samples.png(1000, 500))
    document = await upload(bureau, "纪要.pdf", samples.pdf())
    async with unit_of_work(bureau.tenant.id) as session:
        assert await make_thumbnail(session, picture.id) == "made"
        assert await make_thumbnail(session, document.id) == "not-an-image"
        assert await make_thumbnail(session, uuid.uuid4()) == "missing"
    _row, data = await thumbnail_of(bureau, picture.id)
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.size == (480, 240) and thumb.mode == "RGB"


async def test_unreadable_images_give_no_thumbnail_and_no_error(bureau, tmp_path):
    heic = await upload(bureau, "苹果.heic", samples.heic())  # Pillow cannot open HEIC without a plugin
    async with unit_of_work(bureau.tenant.id) as session:
        assert await make_thumbnail(session, heic.id) == "unreadable"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(samples.jpeg()[:100])
    assert render_thumbnail(broken) is None


async def test_a_job_for_evidence_deleted_before_it_ran_ends_quietly_at_once(bureau):
    queue = f"arq:test-evidence-{uuid.uuid4().hex}"
    await enqueue("make_evidence_thumbnail", str(bureau.tenant.id), str(uuid.uuid4()), _queue_name=queue)
    worker = await run_worker(queue)
    assert worker.jobs_retried == 0 and worker.jobs_failed == 0 and worker.jobs_complete == 1


async def test_a_picture_whose_decoding_passes_the_memory_budget_is_skipped_and_the_worker_goes_on(
        bureau, monkeypatch):
    """The decode runs in a child process with an address-space limit (`LUOSHI_THUMBNAIL_MEMORY_MB`). A real
    6000 × 6000 PNG (36 MP, within the pixel budget) needs ~110 MB decoded: under a 160 MB limit it is skipped with
    its reason, and the worker goes on to the next picture; under the default limit it gets its thumbnail."""
    from backend.config import get_settings

    out = io.BytesIO()
    Image.new("RGB", (6000, 6000), (30, 120, 200)).save(out, "PNG")
    big = await upload(bureau, "大图.png", out.getvalue())
    small = await upload(bureau, "小图.jpg", samples.jpeg(640, 320))
    monkeypatch.setattr(get_settings(), "thumbnail_memory_mb", 160)
    queue = f"arq:test-evidence-{uuid.uuid4().hex}"
    for photo in (big, small):
        await enqueue("make_evidence_thumbnail", str(bureau.tenant.id), str(photo.id), _queue_name=queue)
    worker = await run_worker(queue)
    assert worker.jobs_complete == 2 and worker.jobs_failed == 0
    assert (await thumbnail_of(bureau, big.id))[1] is None
    assert (await thumbnail_of(bureau, small.id))[1] is not None
    async with unit_of_work(bureau.tenant.id) as session:
        assert await make_thumbnail(session, big.id) == "over-budget"
    monkeypatch.setattr(get_settings(), "thumbnail_memory_mb", 512)
    async with unit_of_work(bureau.tenant.id) as session:
        assert await make_thumbnail(session, big.id) == "made"
