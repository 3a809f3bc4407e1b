"""Who may set the reminder rules, nudge units and read a 督办单."""

from backend.core.actor import Actor
from backend.reminders.models import SupervisionNotice


def require_manage_rules(actor: Actor) -> None:
    actor.require("settings.reminders")


def require_nudge(actor: Actor) -> None:
    actor.require("tasks.nudge")


def sees_own_unit_notices_only(actor: Actor) -> bool:
    """A unit reads the 督办单 issued to it; the bureau's roles read every one of a task they see."""
    return actor.role.needs_unit


def may_read_notice(actor: Actor, notice: SupervisionNotice) -> bool:
    return not sees_own_unit_notices_only(actor) or notice.unit_id == actor.unit_id
