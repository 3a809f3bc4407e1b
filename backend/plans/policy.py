"""Who may import, publish and read the annual plans (工作要点) and hand their tasks to units."""

from backend.core.actor import Actor
from backend.tasks.policy import may_assign, require_assign
from backend.tenancy.policy import may_manage_units

__all__ = ["may_assign", "may_create_units", "may_manage_plans", "require_assign", "require_manage_plans",
           "require_read_plans"]


def require_manage_plans(actor: Actor) -> None:
    actor.require("plans.manage")


def may_manage_plans(actor: Actor) -> bool:
    return actor.can("plans.manage")


def require_read_plans(actor: Actor) -> None:
    actor.require("plans.read")


def may_create_units(actor: Actor) -> bool:
    """A responsibility table may name a unit the bureau lacks; only whoever manages units creates it there."""
    return may_manage_units(actor)
