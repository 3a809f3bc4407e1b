"""The model registry: importing this module registers every table with SQLModel.metadata (Alembic reads it)."""

from sqlmodel import SQLModel

from backend.accounts.models import ApiToken, User, WebSession
from backend.assessments.models import Assessment, AssessmentAppeal, AssessmentScore, ScoreAdjustment
from backend.audit.models import AuditEvent
from backend.bulletins.models import Bulletin
from backend.core.once import FormSubmission
from backend.delivery.models import ChannelConfig, OutboxMessage, ReminderPolicy
from backend.evidence.models import Evidence
from backend.files.models import StoredFile
from backend.holidays.models import HolidayYear
from backend.notifications.models import Notification, NotificationPreference
from backend.plans.models import Plan, PlanImport, PlanItem, PlanSection
from backend.reminders.models import Nudge, SupervisionNotice
from backend.reports.models import ProgressReport, ReportContribution, ReportReview, TargetActual
from backend.reviews.models import AssessmentRubric, QuarterlyRating, QuarterlyRemark, QuarterlyReview
from backend.tasks.models import (
    ExtensionRequest,
    LightChange,
    Task,
    TaskAssignment,
    TaskChecklistItem,
    TaskOwner,
    TaskTarget,
)
from backend.tenancy.models import BureauSettings, Invitation, Membership, Tenant, Unit

metadata = SQLModel.metadata


def tenant_tables() -> list[str]:
    """Every table that holds a bureau's rows; each must have row-level security (a test checks)."""
    return sorted(t.name for t in metadata.sorted_tables if "tenant_id" in t.c)


__all__ = [
    "ApiToken", "Assessment", "AssessmentAppeal", "AssessmentRubric", "AssessmentScore", "AuditEvent", "Bulletin",
    "BureauSettings", "ChannelConfig", "Evidence", "ExtensionRequest", "FormSubmission", "HolidayYear", "Invitation",
    "LightChange", "Membership", "Notification", "NotificationPreference", "Nudge", "OutboxMessage", "Plan",
    "PlanImport", "PlanItem", "PlanSection", "ProgressReport", "QuarterlyRating", "QuarterlyRemark",
    "QuarterlyReview", "ReminderPolicy", "ReportContribution", "ReportReview",
    "ScoreAdjustment", "StoredFile", "SupervisionNotice", "TargetActual", "Task", "TaskAssignment",
    "TaskChecklistItem", "TaskOwner", "TaskTarget", "Tenant", "Unit", "User", "WebSession", "metadata",
]
