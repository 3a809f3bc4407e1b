"""Where file contents live: local disk under LUOSHI_DATA_DIR by default, addressed by bureau and SHA-256.

Contents are written by streaming to a temporary file while hashing and counting, so an upload is never held
whole in memory and an oversize one is stopped as soon as it passes the limit.
"""

import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

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


def root() -> Path:
    path = get_settings().data_dir.resolve() / "files"
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_path(tenant_id: uuid.UUID, sha256: str) -> Path:
    return root() / str(tenant_id) / sha256[:2] / sha256


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


def keep(tenant_id: uuid.UUID, staged: StagedContent) -> Path:
    """Moves staged content to its place; identical content is stored once."""
    target = content_path(tenant_id, staged.sha256)
    if target.exists():
        staged.path.unlink(missing_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
    return target


def discard(staged: StagedContent) -> None:
    staged.path.unlink(missing_ok=True)
