"""The plans API's bodies and answers (documents come as multipart forms)."""

import uuid
from typing import Any

from pydantic import BaseModel

from backend.core.schemas import FROM_ROW
from backend.core.versions import BodyVersion


class ImportPublic(BaseModel):
    model_config = FROM_ROW

    id: uuid.UUID
    status: str
    version: int
    filename: str
    updates_plan_id: uuid.UUID | None
    plan_id: uuid.UUID | None
    document: dict[str, Any]


class EditIn(BaseModel):
    """One edit of a draft (backend.plans.document.edit): `operation` and its `args`, e.g. `rename_item` {key,
    title}, `merge` {key}, `split` {key, at}, `move` {key, direction | section_key}, `remove` {key}; and a level
    change, `groups_to_items` or `measures_to_items` {section_key: one section, or none for the whole plan}."""

    version: BodyVersion = None
    operation: str
    args: dict[str, str] = {}


class PublishIn(BaseModel):
    version: BodyVersion = None
    confirm_dates: bool = False  # required for a plan of another year or tasks born past their deadline


class PlanPublic(BaseModel):
    model_config = FROM_ROW

    id: uuid.UUID
    title: str
    issuer: str | None
    year: int


class PublishedPublic(BaseModel):
    model_config = FROM_ROW  # a PublishResult

    plan: PlanPublic
    created: int
    updated: int
    removed: int
