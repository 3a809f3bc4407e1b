"""Stored files' rows: one per bureau and content (SHA-256), whatever uploaded it."""

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core import clock
from backend.files import storage
from backend.files.models import StoredFile


async def stored_file_for(session: AsyncSession, tenant_id: uuid.UUID, staged: storage.StagedContent, *,
                          filename: str, content_type: str, created_by: uuid.UUID | None) -> StoredFile:
    """The bureau's row for this content, made if new (concurrent uploads of the same bytes share one row)."""
    await session.exec(insert(StoredFile).values(
        id=uuid.uuid4(), tenant_id=tenant_id, sha256=staged.sha256, size=staged.size, content_type=content_type,
        filename=filename[:255], created_at=clock.now(), created_by=created_by,
    ).on_conflict_do_nothing(index_elements=["tenant_id", "sha256"]))
    stored = (await session.exec(select(StoredFile).where(
        StoredFile.tenant_id == tenant_id, StoredFile.sha256 == staged.sha256
    ))).one()
    return stored
