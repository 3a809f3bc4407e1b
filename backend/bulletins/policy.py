"""Who may read a bulletin (月通报) while it is a draft, and who writes and publishes it."""

from backend.core.actor import Actor


def may_read_drafts(actor: Actor) -> bool:
    return actor.can("cycle.read_drafts")


def require_edit(actor: Actor) -> None:
    actor.require("bulletins.edit")
