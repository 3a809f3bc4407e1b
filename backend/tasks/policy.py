"""Who may see, assign, tick, own, extend and roll over tasks: the decisions, named, in one place."""

from backend.core.actor import Actor
from backend.core.roles import Role
from backend.errors import Forbidden
from backend.i18n import _
from backend.tasks.models import AssignmentKind, TaskAssignment


def sees_all_tasks(actor: Actor) -> bool:
    """Bureau-level roles see every task; unit roles see the tasks their unit is assigned to."""
    return not actor.role.needs_unit


def may_assign(actor: Actor) -> bool:
    return actor.can("tasks.assign")


def require_assign(actor: Actor) -> None:
    actor.require("tasks.assign")


def may_set_evidence_rule(actor: Actor) -> bool:
    """Whether a task asks for evidence is the supervisors' decision (and the administrator's), never a unit's."""
    return may_assign(actor)


def require_set_evidence_rule(actor: Actor) -> None:
    if not may_set_evidence_rule(actor):
        raise Forbidden(_("佐证材料要求由督查督办人员设定。"))


def require_roll_over(actor: Actor) -> None:
    actor.require("plans.roll_over")


def may_tick(actor: Actor, mine: TaskAssignment | None) -> bool:
    """The checklist is ticked by supervisors and by the lead and responsible units, not by cooperating ones."""
    return may_assign(actor) or (mine is not None and mine.kind != AssignmentKind.cooperating)


def require_tick(actor: Actor, mine: TaskAssignment | None) -> None:
    if not may_tick(actor, mine):
        raise Forbidden(_("工作措施由牵头单位勾选。"))


def may_name_owners(actor: Actor, mine: TaskAssignment | None) -> bool:
    """责任人: supervisors name anyone; the head of a unit on the task names people of their own unit."""
    return may_assign(actor) or (actor.role == Role.unit_head and mine is not None)


def require_unit_member(actor: Actor) -> None:
    """Acknowledging, asking for more time and sending a task back are for the people of an assigned unit."""
    if not actor.role.needs_unit:
        raise Forbidden(_("只有承办单位的人员可以这样做。"))


def require_extension_decider(actor: Actor) -> None:
    if actor.role.needs_unit:
        raise Forbidden(_("延期申请由督查督办人员或局领导审批。"))
