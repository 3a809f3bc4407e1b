"""The tasks API's bodies and answers."""

import uuid
from datetime import date

from pydantic import BaseModel

from backend.core.schemas import from_view
from backend.core.versions import BodyVersion
from backend.tasks.models import EvidenceRule


class TaskPublic(BaseModel):
    model_config = from_view("task")  # a task with the names of its lead and co-units

    id: uuid.UUID
    number: str
    title: str
    state: str
    light: str
    light_reason: str
    deadline: date
    original_deadline: date
    progress: int
    lead_units: list[str]
    co_units: list[str]
    evidence_rule: str  # none / optional / required (佐证材料：不需要 / 可选 / 必须)
    evidence_reason: str  # why evidence is required, as the units read it; empty otherwise
    version: int


class ReasonIn(BaseModel):
    reason: str
    version: BodyVersion = None


class VersionIn(BaseModel):
    version: BodyVersion = None


class ExtensionIn(BaseModel):
    requested_deadline: date
    reason: str


class AssignIn(BaseModel):
    lead_unit_ids: list[uuid.UUID]
    co_unit_ids: list[uuid.UUID] = []
    deadline: date | None = None
    version: BodyVersion = None


class EvidenceRuleIn(BaseModel):
    rule: EvidenceRule  # none (不需要) / optional (可选) / required (必须)
    reason: str = ""  # needed with "required"
    version: BodyVersion = None
