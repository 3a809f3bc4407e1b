"""Storage backends: local disk, and an S3-compatible store — a real one, moto's server on a free local port."""

import hashlib
import socket
import uuid

import boto3
import pytest
from botocore.config import Config

from backend.config import get_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.evidence import service as evidence
from backend.evidence.thumbnails import make_thumbnail
from backend.files import storage
from tests.evidence import samples
from tests.evidence.conftest import chunks_of, school_task
from tests.support.fixtures import csrf_of

BUCKET = "luoshi-evidence"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(moto_server, monkeypatch):
    """LUOSHI_STORAGE=s3 against the server, with a fresh bucket; yields a boto3 client to look inside."""
    bucket = f"{BUCKET}-{uuid.uuid4().hex[:8]}"
    env = {"storage": "s3", "s3_endpoint": moto_server, "s3_bucket": bucket, "s3_access_key": "test-access",
           "s3_secret_key": "test-secret"}
    for key, value in env.items():
        monkeypatch.setattr(get_settings(), key, value)
    client = boto3.client("s3", endpoint_url=moto_server, aws_access_key_id="test-access",
                          aws_secret_access_key="test-secret", region_name="us-east-1",
                          config=Config(s3={"addressing_style": "path"}))
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket  # type: ignore[attr-defined]
    return client


def test_the_backend_follows_the_environment(s3, monkeypatch):
    assert isinstance(storage.backend(), storage.S3Backend)
    monkeypatch.setattr(get_settings(), "storage", "local")
    assert isinstance(storage.backend(), storage.LocalBackend)
    monkeypatch.setattr(get_settings(), "storage", "ftp")
    with pytest.raises(RuntimeError, match="LUOSHI_STORAGE"):
        storage.backend()


async def test_evidence_round_trip_through_s3(bureau, s3, signed_in, data_dir, no_jobs):
    task = await school_task(bureau)
    photo = samples.jpeg(900, 300, orientation=6)
    async with unit_of_work(bureau.tenant.id) as session:
        made = await evidence.upload_evidence(session, bureau.actors[Role.unit_staff], task.id, filename="现场.jpg",
                                              chunks=chunks_of(photo))
    sha = hashlib.sha256(photo).hexdigest()
    key = f"{bureau.tenant.id}/{sha[:2]}/{sha}"
    assert s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read() == photo
    assert not list((data_dir / "files").rglob(sha))  # nothing kept on the web server's disk
    assert not list((data_dir / "files").glob(".upload-*"))
    async with unit_of_work(bureau.tenant.id) as session:  # the thumbnail job reads from S3 and writes to it
        assert await make_thumbnail(session, made.id) == "made"
    assert not list((data_dir / "files").glob(".fetch-*"))
    staff = await signed_in(bureau, Role.unit_staff)
    download = await staff.get(f"/evidence/{made.id}/download")
    assert download.status_code == 200 and download.content == photo
    thumb = await staff.get(f"/evidence/{made.id}/thumbnail")
    assert thumb.status_code == 200 and thumb.content.startswith(b"\xff\xd8\xff")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=s3.bucket)["Contents"]}
    assert len(keys) == 2 and key in keys
    # An upload through the form lands in S3 as well; the same bytes again are recognised, not stored twice.
    token = await csrf_of(staff, "/")
    response = await staff.post(f"/tasks/{task.id}/evidence", data={"csrf_token": token},
                                files={"file": ("纪要.pdf", samples.pdf(), "application/pdf")})
    assert response.status_code == 303
    assert len(s3.list_objects_v2(Bucket=s3.bucket)["Contents"]) == 3
    async with unit_of_work(bureau.tenant.id) as session:
        again = await evidence.upload_evidence(session, bureau.actors[Role.unit_head], task.id, filename="x.jpg",
                                               chunks=chunks_of(photo))
    assert evidence.duplicate_message(again)


async def test_a_large_file_goes_up_in_parts_and_streams_back(bureau, s3):
    data = samples.mp4(12 * 2**20)  # above boto3's 8 MB multipart threshold
    staged = await storage.stage(chunks_of(data, 2**20), max_bytes=50 * 2**20, label="视频.mp4")
    await storage.store(bureau.tenant.id, staged)
    assert not staged.path.exists()
    digest, size = hashlib.sha256(), 0
    async for chunk in storage.stream(bureau.tenant.id, staged.sha256):
        assert len(chunk) <= storage.CHUNK
        digest.update(chunk)
        size += len(chunk)
    assert size == len(data) and digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert await storage.exists(bureau.tenant.id, staged.sha256)
    with pytest.raises(FileNotFoundError):
        await storage.open_stream(bureau.tenant.id, "0" * 64)


async def test_the_plan_importer_interface_keeps_working_with_s3(bureau, s3, data_dir):
    """keep / content_path (used by plan intake) give a local file whatever the backend."""
    text = "2025年工作要点\n一、总体要求\n1.抓好落实。\n".encode()
    staged = await storage.stage(chunks_of(text), max_bytes=2**20, label="plan.txt")
    storage.keep(bureau.tenant.id, staged)
    key = f"{bureau.tenant.id}/{staged.sha256[:2]}/{staged.sha256}"
    assert s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read() == text
    path = storage.content_path(bureau.tenant.id, staged.sha256)
    assert path.read_bytes() == text
    path.unlink()  # the cache may be emptied at any time: the content comes back from S3
    assert storage.content_path(bureau.tenant.id, staged.sha256).read_bytes() == text
    assert not storage.content_path(bureau.tenant.id, "f" * 64).exists()


async def test_local_storage_stores_once_and_streams(bureau, data_dir):
    data = samples.pdf()
    for _ in range(2):
        staged = await storage.stage(chunks_of(data), max_bytes=2**20, label="a.pdf")
        await storage.store(bureau.tenant.id, staged)
    path = data_dir / "files" / str(bureau.tenant.id) / staged.sha256[:2] / staged.sha256
    assert path.read_bytes() == data and not list((data_dir / "files").glob(".upload-*"))
    assert b"".join([c async for c in storage.stream(bureau.tenant.id, staged.sha256)]) == data
    async with storage.local_copy(bureau.tenant.id, staged.sha256) as copy:
        assert copy == path
