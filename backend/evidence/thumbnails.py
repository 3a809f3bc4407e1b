"""Thumbnails of photo evidence: upright (EXIF orientation applied), at most 480 px, JPEG, stored as their own file."""

import io
import logging
import uuid
from pathlib import Path

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import get_settings
from backend.core.budget import BudgetExceeded, run_bounded
from backend.core.images import ImageTooLarge, open_image
from backend.evidence.models import Evidence
from backend.files import storage
from backend.files.models import StoredFile
from backend.files.service import stored_file_for

log = logging.getLogger("luoshi.evidence")
THUMBNAIL_PX = 480
MAX_THUMBNAIL_BYTES = 4 * 2**20


def render_thumbnail(path: Path, size: int = THUMBNAIL_PX) -> bytes | None:
    """The picture turned upright and shrunk to fit size × size, as JPEG bytes; None if it cannot be read or is
    past the pixel budget (backend.core.images, checked from the header before decoding)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with open_image(path, fit=(size * 2, size * 2)) as original:
            image = ImageOps.exif_transpose(original)
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
            if image.mode in ("RGBA", "LA", "P", "PA"):
                image = image.convert("RGBA")
                background = Image.new("RGB", image.size, (255, 255, 255))
                background.paste(image, mask=image.getchannel("A"))
                image = background
            elif image.mode != "RGB":
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, "JPEG", quality=82, optimize=True, progressive=True)
            return out.getvalue()
    except (ImageTooLarge, UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError) as error:
        log.warning("thumbnail not made: %s", error)
        return None


async def _one(data: bytes):
    yield data


async def make_thumbnail(session: AsyncSession, evidence_id: uuid.UUID) -> str:
    """Makes the evidence's thumbnail once; says what happened ("made", "exists", "unreadable", "over-budget", …).
    Idempotent."""
    evidence = (await session.exec(select(Evidence).where(Evidence.id == evidence_id).with_for_update())).first()
    if evidence is None:
        return "missing"
    if evidence.thumbnail_file_id is not None:
        return "exists"
    if evidence.kind != "image":
        return "not-an-image"
    stored = await session.get(StoredFile, evidence.file_id)
    if stored is None:
        return "missing"
    settings = get_settings()
    try:
        async with storage.local_copy(evidence.tenant_id, stored.sha256) as path:
            # In a child process with an address-space limit: the pixel budget is read from a header that may lie
            # (or a decoder may need more than it says), and a worker that runs out of memory stops every job.
            data = await run_bounded(render_thumbnail, path, seconds=settings.thumbnail_seconds,
                                     memory_bytes=settings.thumbnail_memory_mb * 2**20)
    except FileNotFoundError:
        log.warning("evidence content missing", extra={"evidence_id": str(evidence.id)})
        return "no-content"
    except BudgetExceeded as error:
        log.warning("thumbnail not made: over its %s budget", error.reason, extra={"evidence_id": str(evidence.id)})
        return "over-budget"
    if data is None:
        return "unreadable"
    staged = await storage.stage(_one(data), max_bytes=MAX_THUMBNAIL_BYTES, label="thumbnail.jpg")
    try:
        await set_thumbnail(session, evidence, staged)
    except BaseException:
        storage.discard(staged)
        raise
    return "made"


async def set_thumbnail(session: AsyncSession, evidence: Evidence, staged: storage.StagedContent) -> StoredFile:
    stored = await stored_file_for(session, evidence.tenant_id, staged, filename=f"thumb-{evidence.id}.jpg",
                                   content_type="image/jpeg", created_by=None)
    await storage.store(evidence.tenant_id, staged)
    evidence.thumbnail_file_id = stored.id
    session.add(evidence)
    await session.flush()
    return stored
