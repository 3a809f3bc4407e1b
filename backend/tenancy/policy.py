"""Who may do what with the bureau's units, people and roles: the decisions, named, in one place."""

from backend.core.actor import Actor
from backend.core.roles import Role


def require_read_units(actor: Actor) -> None:
    actor.require("units.read")


def require_manage_units(actor: Actor) -> None:
    actor.require("units.manage")


def may_manage_units(actor: Actor) -> bool:
    return actor.can("units.manage")


def require_manage_report_settings(actor: Actor) -> None:
    """The bureau's report rules (report day, unit head approval) are the administrator's."""
    actor.require("settings.reports")


def require_read_members(actor: Actor) -> None:
    actor.require("members.read")


def require_manage_members(actor: Actor) -> None:
    actor.require("members.manage")


def may_manage_members(actor: Actor) -> bool:
    return actor.can("members.manage")


def sees_own_unit_members_only(actor: Actor) -> bool:
    """A unit head reads the people of their own unit; the bureau's roles read everyone."""
    return actor.role == Role.unit_head
