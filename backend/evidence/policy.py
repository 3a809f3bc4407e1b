"""Who may upload, attach and replace evidence (佐证材料): the decisions, named, in one place."""

from backend.core.actor import Actor
from backend.core.roles import Role
from backend.errors import Forbidden
from backend.i18n import _
from backend.tasks.models import EvidenceRule, Task, TaskState

# Leaders read evidence; the units that do the work and the supervisors who follow it upload.
UPLOADER_ROLES = (Role.admin, Role.supervisor, Role.unit_head, Role.unit_staff)


def may_upload(actor: Actor, task: Task) -> bool:
    """Whether the upload form is offered (the service checks again, including the unit's assignment)."""
    return (actor.role in UPLOADER_ROLES and task.state not in (TaskState.cancelled, TaskState.done)
            and task.evidence_rule != EvidenceRule.none)


def require_uploader(actor: Actor) -> None:
    if actor.role == Role.leader:
        raise Forbidden(_("局领导可以查看佐证材料，但不能上传。请由责任单位的经办人上传。"))
    if actor.role not in UPLOADER_ROLES:
        raise Forbidden(_("您的角色无权上传佐证材料。"))


def needs_own_assignment(actor: Actor) -> bool:
    """A unit uploads only to the tasks it is assigned to; the bureau's roles to any."""
    return actor.role.needs_unit


def replaces_any(actor: Actor) -> bool:
    """Supervisors (and the administrator) may replace any evidence; others their own or their unit's."""
    return actor.role in (Role.admin, Role.supervisor)


def replaces_own_unit(actor: Actor) -> bool:
    """A unit head may replace what the people of their unit uploaded."""
    return actor.role == Role.unit_head and actor.unit_id is not None
