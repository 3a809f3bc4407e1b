"""The evidence API's answers (uploads come as multipart forms, not JSON bodies)."""

import uuid
from datetime import date, datetime

from pydantic import BaseModel

from backend.core.schemas import from_view


class EvidencePublic(BaseModel):
    model_config = from_view("evidence")  # an EvidenceRow: the evidence with its file's facts and uploader

    id: uuid.UUID
    task_id: uuid.UUID
    report_id: uuid.UUID | None
    filename: str
    kind: str
    content_type: str
    size: int
    sha256: str
    description: str
    covers_from: date | None
    covers_to: date | None
    supersedes_id: uuid.UUID | None
    superseded_by_id: uuid.UUID | None
    submitted: bool
    uploaded_by: uuid.UUID
    uploader_name: str
    uploaded_at: datetime
    taken_at: datetime | None = None  # a photo's EXIF time taken, by the camera's clock (no zone)
    download_url: str
    thumbnail_url: str | None


class EvidenceUploaded(EvidencePublic):
    duplicate: bool = False
    message: str | None = None
