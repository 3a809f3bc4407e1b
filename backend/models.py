"""The model registry: importing this module registers every table with SQLModel.metadata (Alembic reads it)."""

from sqlmodel import SQLModel

from backend.accounts.models import ApiToken, User, WebSession
from backend.audit.models import AuditEvent
from backend.files.models import StoredFile
from backend.plans.models import Plan, PlanImport, PlanItem, PlanSection
from backend.tasks.models import Task, TaskAssignment, TaskChecklistItem, TaskTarget
from backend.tenancy.models import Invitation, Membership, Tenant, Unit

metadata = SQLModel.metadata


def tenant_tables() -> list[str]:
    """Every table that holds a bureau's rows; each must have row-level security (a test checks)."""
    return sorted(t.name for t in metadata.sorted_tables if "tenant_id" in t.c)


__all__ = [
    "ApiToken", "AuditEvent", "Invitation", "Membership", "Plan", "PlanImport", "PlanItem", "PlanSection",
    "StoredFile", "Task", "TaskAssignment", "TaskChecklistItem", "TaskTarget", "Tenant", "Unit", "User",
    "WebSession", "metadata",
]
