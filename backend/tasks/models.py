"""Tasks (督办事项): what someone answers for, with its units, checklist and targets."""

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from backend.core.models import id_field, tenant_field, timestamp_field
from backend.i18n import N_, _


class TaskState(enum.StrEnum):
    unassigned = "unassigned"
    assigned = "assigned"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    completion_requested = "completion_requested"
    done = "done"
    sent_back = "sent_back"
    cancelled = "cancelled"


class Light(enum.StrEnum):
    green = "green"
    yellow = "yellow"
    red = "red"


class ReportFrequency(enum.StrEnum):
    monthly = "monthly"
    quarterly = "quarterly"
    once = "once"


class EvidenceRule(enum.StrEnum):
    """Whether a task asks for evidence (减负): none is collected, it may be given (the default), or it must be
    given — the last only with a reason the supervisor writes for the units to read."""

    none = "none"
    optional = "optional"
    required = "required"


class ExtensionState(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"


class AssignmentKind(enum.StrEnum):
    lead = "lead"
    responsible = "responsible"
    cooperating = "cooperating"


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        # "Required" is never without the reason the units read.
        CheckConstraint("evidence_rule IN ('none', 'optional', 'required')"
                        " AND (evidence_rule <> 'required' OR evidence_reason <> '')", name="evidence_rule"),
    )
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    number: str = Field(max_length=30)
    year: int
    seq: int
    title: str = Field(max_length=500)
    description: str = ""
    plan_item_id: uuid.UUID | None = Field(default=None, foreign_key="plan_items.id", index=True)
    # The year-end roll-over copies unfinished work into next year's plan; the copy points back to its history.
    # Unique: a task is carried over at most once.
    carried_from_id: uuid.UUID | None = Field(default=None, foreign_key="tasks.id", index=True, unique=True)
    deadline: date
    original_deadline: date
    recurrence: str | None = Field(default=None, max_length=20)
    priority: str = Field(default="normal", max_length=10)
    state: TaskState = Field(default=TaskState.unassigned, sa_type=AutoString(30))
    light: Light = Field(default=Light.green, sa_type=AutoString(10))
    light_reason: str = Field(default="", max_length=200)
    report_frequency: ReportFrequency = Field(default=ReportFrequency.monthly, sa_type=AutoString(20))
    evidence_rule: EvidenceRule = Field(default=EvidenceRule.optional, sa_type=AutoString(10))
    evidence_reason: str = Field(default="", max_length=500)  # why evidence is required; empty otherwise
    progress: int = 0
    last_report_at: datetime | None = timestamp_field(nullable=True)
    done_at: datetime | None = timestamp_field(nullable=True)
    version: int = 1
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class TaskAssignment(SQLModel, table=True):
    """One per unit of a task, each with its own deadline and state; the task's state rolls up from them."""

    __tablename__ = "task_assignments"
    # The reminder sweep picks a bureau's assignments by deadline.
    __table_args__ = (UniqueConstraint("task_id", "unit_id"), Index("ix_task_assignments_due", "tenant_id", "deadline"))
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="units.id", index=True)
    kind: AssignmentKind = Field(sa_type=AutoString(20))
    deadline: date
    original_deadline: date | None = None
    state: TaskState = Field(default=TaskState.assigned, sa_type=AutoString(30))
    acknowledged_at: datetime | None = timestamp_field(nullable=True)
    acknowledged_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    sent_back_reason: str = Field(default="", max_length=500)
    done_at: datetime | None = timestamp_field(nullable=True)
    created_at: datetime = timestamp_field()


class TaskChecklistItem(SQLModel, table=True):
    """A measure (一是…二是…) of the task's plan item, ticked off as the work is done."""

    __tablename__ = "task_checklist_items"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    label: str = Field(max_length=20)
    text: str
    position: int
    done: bool = False


class TaskTarget(SQLModel, table=True):
    """A quantitative target (新改扩建中小学26所) with the actual reported so far."""

    __tablename__ = "task_targets"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    value: float
    unit: str = Field(max_length=20)
    comparator: str | None = Field(default=None, max_length=10)
    text: str = Field(max_length=300)
    actual: float | None = None
    position: int


class TaskOwner(SQLModel, table=True):
    """A person who answers for the task inside their unit (责任人)."""

    __tablename__ = "task_owners"
    __table_args__ = (UniqueConstraint("task_id", "membership_id"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    membership_id: uuid.UUID = Field(foreign_key="memberships.id", index=True)


class ExtensionRequest(SQLModel, table=True):
    """延期申请: both dates are kept; statistics say whether they count against the original or the new one."""

    __tablename__ = "extension_requests"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="units.id")
    reason: str
    current_deadline: date
    requested_deadline: date
    state: ExtensionState = Field(default=ExtensionState.pending, sa_type=AutoString(20))
    requested_by: uuid.UUID = Field(foreign_key="users.id")
    requested_at: datetime = timestamp_field()
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = timestamp_field(nullable=True)
    decision_comment: str = ""


class LightChange(SQLModel, table=True):
    """Every change of a task's traffic light, with what triggered it."""

    __tablename__ = "light_changes"
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    task_id: uuid.UUID = Field(foreign_key="tasks.id", index=True)
    from_light: Light | None = Field(default=None, sa_type=AutoString(10))
    to_light: Light = Field(sa_type=AutoString(10))
    trigger: str = Field(max_length=200)
    changed_at: datetime = timestamp_field()


STATE_LABELS = {
    TaskState.unassigned: N_("待交办"),
    TaskState.assigned: N_("已交办"),
    TaskState.acknowledged: N_("已签收"),
    TaskState.in_progress: N_("推进中"),
    TaskState.completion_requested: N_("申请办结"),
    TaskState.done: N_("已办结"),
    TaskState.sent_back: N_("已退回"),
    TaskState.cancelled: N_("已取消"),
}


def state_label(state: TaskState | str) -> str:
    return _(STATE_LABELS[TaskState(state)])


EVIDENCE_RULE_LABELS = {
    EvidenceRule.none: N_("不需要"),
    EvidenceRule.optional: N_("可选"),
    EvidenceRule.required: N_("必须"),
}


def evidence_rule_label(rule: EvidenceRule | str) -> str:
    return _(EVIDENCE_RULE_LABELS[EvidenceRule(rule)])


ASSIGNMENT_KIND_LABELS = {
    AssignmentKind.lead: N_("牵头单位"),
    AssignmentKind.responsible: N_("责任单位"),
    AssignmentKind.cooperating: N_("配合单位"),
}


def assignment_kind_label(kind: AssignmentKind | str) -> str:
    return _(ASSIGNMENT_KIND_LABELS[AssignmentKind(kind)])
