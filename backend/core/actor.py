"""The acting member: who is doing this, in which bureau, with which role. Services take it explicitly."""

import uuid
from dataclasses import dataclass

from backend.core.roles import Role
from backend.errors import Forbidden
from backend.i18n import _

# What each role may do; a key names what it guards. Each domain's policy.py asks `actor.require(...)` or
# `actor.can(...)` and names the decision; services call their policy; routes never check roles themselves.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "units.manage": frozenset({Role.admin}),
    "members.manage": frozenset({Role.admin}),
    "settings.reports": frozenset({Role.admin}),
    "settings.reminders": frozenset({Role.admin}),
    "delivery.manage": frozenset({Role.admin}),
    "outbox.manage": frozenset({Role.admin}),
    "audit.read": frozenset({Role.admin, Role.supervisor, Role.leader}),
    "units.read": frozenset(Role),
    "members.read": frozenset({Role.admin, Role.supervisor, Role.leader, Role.unit_head}),
    "plans.manage": frozenset({Role.admin, Role.supervisor}),
    "plans.read": frozenset(Role),
    "tasks.assign": frozenset({Role.admin, Role.supervisor}),
    "tasks.nudge": frozenset({Role.supervisor, Role.leader}),
    "reports.review": frozenset({Role.admin, Role.supervisor}),
    # The year's cycle (月通报, 季点评, 年考核). Everyone reads what is published; drafts are the supervisors'.
    "cycle.read_drafts": frozenset({Role.admin, Role.supervisor, Role.leader}),
    "bulletins.edit": frozenset({Role.supervisor}),
    "reviews.rate": frozenset({Role.supervisor}),
    "reviews.remark": frozenset({Role.leader}),
    "assessments.manage": frozenset({Role.supervisor}),
    "assessments.self_score": frozenset({Role.unit_head}),
    "assessments.appeal": frozenset({Role.unit_head}),
    "assessments.reopen": frozenset({Role.admin}),
    "assessments.rubric": frozenset({Role.admin}),
    "plans.roll_over": frozenset({Role.admin, Role.supervisor}),
}


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    display_name: str
    tenant_id: uuid.UUID
    membership_id: uuid.UUID
    role: Role
    unit_id: uuid.UUID | None = None
    tenant_name: str = ""
    timezone: str | None = None  # the bureau's; backend.core.clock falls back to the platform's
    ip: str | None = None
    request_id: str | None = None

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(_("您的角色无权进行此操作。如需权限，请联系本局系统管理员。"))


@dataclass(frozen=True)
class Operator:
    """The platform operator: manages bureaus, never reads their content."""

    user_id: uuid.UUID
    display_name: str
    ip: str | None = None
    request_id: str | None = None
