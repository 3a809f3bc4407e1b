"""Where file contents live, addressed by bureau and SHA-256: local disk under LUOSHI_DATA_DIR (the default), or
an S3-compatible object store (`LUOSHI_STORAGE=s3`).

Contents are always staged first by streaming to a local temporary file while hashing and counting, so an upload
is never held whole in memory and an oversize one is stopped as soon as it passes the limit. `keep`/`store` then
move the staged file into place (local) or upload it under `<tenant>/<sha[:2]>/<sha>` (S3); identical content is
stored once. Reading streams back in chunks (`stream`), or gives a local file (`local_copy`, `content_path`).

The S3 settings are read from the environment (LUOSHI_STORAGE, LUOSHI_S3_ENDPOINT, LUOSHI_S3_BUCKET,
LUOSHI_S3_ACCESS_KEY, LUOSHI_S3_SECRET_KEY, LUOSHI_S3_REGION) each time a backend is chosen.
"""

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import anyio

from backend.config import get_settings
from backend.errors import InvalidInput
from backend.i18n import _

CHUNK = 256 * 1024


@dataclass
class StagedContent:
    path: Path
    sha256: str
    size: int
    head: bytes


async def upload_chunks(upload) -> AsyncIterator[bytes]:
    """A form's uploaded file (anything with an async `read(size)`), read in chunks for `stage`."""
    while chunk := await upload.read(CHUNK):
        yield chunk


def root() -> Path:
    path = get_settings().data_dir.resolve() / "files"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _relative(tenant_id: uuid.UUID, sha256: str) -> str:
    return f"{tenant_id}/{sha256[:2]}/{sha256}"


async def stage(chunks: AsyncIterator[bytes], *, max_bytes: int, label: str) -> StagedContent:
    """Streams the chunks to a temporary file, hashing as it goes; refuses empty and oversize content."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    handle, name = tempfile.mkstemp(dir=root(), prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise InvalidInput(
                        _("“%(name)s”超过 %(mb)s MB 的上限，请压缩或拆分后再上传。", name=label, mb=max_bytes // 2**20),
                        field="file",
                    )
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidInput(_("“%(name)s”是空文件，请选择有内容的文件。", name=label), field="file")
    except BaseException:
        Path(name).unlink(missing_ok=True)  # noqa: ASYNC240 — a local unlink, not worth a thread
        raise
    return StagedContent(Path(name), digest.hexdigest(), size, head)


def discard(staged: StagedContent) -> None:
    staged.path.unlink(missing_ok=True)


# --- backends --------------------------------------------------------------------------------------------


class Backend(Protocol):
    name: str

    def put(self, tenant_id: uuid.UUID, staged: StagedContent) -> None:
        """Takes the staged file over (it is gone afterwards); content already stored is not written again."""

    def exists(self, tenant_id: uuid.UUID, sha256: str) -> bool: ...

    def open(self, tenant_id: uuid.UUID, sha256: str) -> BinaryIO:
        """A readable binary stream of the content (FileNotFoundError if there is none)."""

    def local_path(self, tenant_id: uuid.UUID, sha256: str) -> Path:
        """A local file with the content, fetched into a cache first if the backend is remote."""


class LocalBackend:
    name = "local"

    def path(self, tenant_id: uuid.UUID, sha256: str) -> Path:
        return root() / str(tenant_id) / sha256[:2] / sha256

    def put(self, tenant_id: uuid.UUID, staged: StagedContent) -> None:
        target = self.path(tenant_id, staged.sha256)
        if target.exists():
            staged.path.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged.path, target)

    def exists(self, tenant_id: uuid.UUID, sha256: str) -> bool:
        return self.path(tenant_id, sha256).is_file()

    def open(self, tenant_id: uuid.UUID, sha256: str) -> BinaryIO:
        return self.path(tenant_id, sha256).open("rb")

    def local_path(self, tenant_id: uuid.UUID, sha256: str) -> Path:
        return self.path(tenant_id, sha256)


@dataclass(frozen=True)
class S3Config:
    endpoint: str | None
    bucket: str
    access_key: str | None
    secret_key: str | None
    region: str


class S3Backend:
    """An S3-compatible store (MinIO, Ceph, OSS/COS in S3 mode, AWS). Path-style addressing, so any endpoint works."""

    name = "s3"

    def __init__(self, config: S3Config) -> None:
        import boto3
        from botocore.config import Config

        self.config = config
        self.bucket = config.bucket
        self.client = boto3.client(
            "s3", endpoint_url=config.endpoint or None, aws_access_key_id=config.access_key,
            aws_secret_access_key=config.secret_key, region_name=config.region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def key(self, tenant_id: uuid.UUID, sha256: str) -> str:
        return _relative(tenant_id, sha256)

    def cache_path(self, tenant_id: uuid.UUID, sha256: str) -> Path:
        """Local copies for code that needs a file (the plan importer); safe to delete at any time."""
        return root() / ".s3-cache" / str(tenant_id) / sha256[:2] / sha256

    def put(self, tenant_id: uuid.UUID, staged: StagedContent) -> None:
        try:
            if not self.exists(tenant_id, staged.sha256):
                # upload_file streams from disk in parts (multipart above 8 MB), never the whole file in memory.
                self.client.upload_file(str(staged.path), self.bucket, self.key(tenant_id, staged.sha256))
        finally:
            staged.path.unlink(missing_ok=True)

    def exists(self, tenant_id: uuid.UUID, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(tenant_id, sha256))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def open(self, tenant_id: uuid.UUID, sha256: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(tenant_id, sha256))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(self.key(tenant_id, sha256)) from error
            raise
        return response["Body"]

    def download_to(self, tenant_id: uuid.UUID, sha256: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out, self.open(tenant_id, sha256) as body:
                shutil.copyfileobj(body, out, CHUNK)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise

    def local_path(self, tenant_id: uuid.UUID, sha256: str) -> Path:
        target = self.cache_path(tenant_id, sha256)
        if not target.exists():
            # With no such content the caller sees a path that does not exist, as with local storage.
            with contextlib.suppress(FileNotFoundError):
                self.download_to(tenant_id, sha256, target)
        return target


_backends: dict[object, Backend] = {}
_lock = threading.Lock()


def _s3_config() -> S3Config:
    settings = get_settings()
    if not settings.s3_bucket:
        raise RuntimeError("LUOSHI_STORAGE=s3 needs LUOSHI_S3_BUCKET (and LUOSHI_S3_ENDPOINT for a non-AWS store)")
    return S3Config(
        endpoint=settings.s3_endpoint or None, bucket=settings.s3_bucket, access_key=settings.s3_access_key or None,
        secret_key=settings.s3_secret_key or None, region=settings.s3_region or "us-east-1",
    )


def backend() -> Backend:
    """The configured backend (one client per configuration, made on first use)."""
    kind = get_settings().storage.strip().lower() or "local"
    if kind == "local":
        key: object = "local"
    elif kind == "s3":
        key = _s3_config()
    else:
        raise RuntimeError(f"LUOSHI_STORAGE must be 'local' or 's3', not {kind!r}")
    with _lock:
        found = _backends.get(key)
        if found is None:
            found = _backends[key] = LocalBackend() if key == "local" else S3Backend(key)  # type: ignore[arg-type]
    return found


# --- the interface the domains use -----------------------------------------------------------------------


def content_path(tenant_id: uuid.UUID, sha256: str) -> Path:
    """A local file with the content (with S3, a cached copy fetched on first use; it may not exist)."""
    return backend().local_path(tenant_id, sha256)


def keep(tenant_id: uuid.UUID, staged: StagedContent) -> Path:
    """Puts staged content in its place; identical content is stored once. (Blocking; async code may prefer
    `store`.) With S3 the staged file also becomes the local cached copy, so `content_path` needs no download."""
    store_with = backend()
    if isinstance(store_with, S3Backend):
        cached = store_with.cache_path(tenant_id, staged.sha256)
        cached.parent.mkdir(parents=True, exist_ok=True)
        if not store_with.exists(tenant_id, staged.sha256):
            store_with.client.upload_file(str(staged.path), store_with.bucket, store_with.key(tenant_id, staged.sha256))
        os.replace(staged.path, cached)
        return cached
    store_with.put(tenant_id, staged)
    return store_with.local_path(tenant_id, staged.sha256)


async def store(tenant_id: uuid.UUID, staged: StagedContent) -> None:
    """Puts staged content in its place without blocking the event loop (an S3 upload runs in a thread)."""
    chosen = backend()
    if isinstance(chosen, LocalBackend):
        chosen.put(tenant_id, staged)  # a rename
    else:
        await anyio.to_thread.run_sync(chosen.put, tenant_id, staged)


async def exists(tenant_id: uuid.UUID, sha256: str) -> bool:
    return await anyio.to_thread.run_sync(backend().exists, tenant_id, sha256)


async def open_stream(tenant_id: uuid.UUID, sha256: str, *, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
    """Opens the content now (FileNotFoundError if there is none, before any response has started) and returns its
    chunks, each read in a worker thread: never the whole file in memory."""
    body = await anyio.to_thread.run_sync(backend().open, tenant_id, sha256)
    return _chunks_of(body, chunk_size)


async def _chunks_of(body: BinaryIO, chunk_size: int) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(body.read, chunk_size):
            yield chunk
    finally:
        await anyio.to_thread.run_sync(body.close)


async def stream(tenant_id: uuid.UUID, sha256: str, *, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
    """The content in chunks (see `open_stream`)."""
    async for chunk in await open_stream(tenant_id, sha256, chunk_size=chunk_size):
        yield chunk


@asynccontextmanager
async def local_copy(tenant_id: uuid.UUID, sha256: str) -> AsyncIterator[Path]:
    """A local file with the content for as long as the block runs (with S3 a temporary download, removed after)."""
    chosen = backend()
    if isinstance(chosen, LocalBackend):
        path = chosen.path(tenant_id, sha256)
        if not path.exists():
            raise FileNotFoundError(str(path))
        yield path
        return
    assert isinstance(chosen, S3Backend)
    handle, name = tempfile.mkstemp(dir=root(), prefix=".fetch-")
    os.close(handle)
    target = Path(name)
    try:
        await anyio.to_thread.run_sync(chosen.download_to, tenant_id, sha256, target)
        yield target
    finally:
        target.unlink(missing_ok=True)  # noqa: ASYNC240 — a local unlink
