"""Who may read, rate, remark on and publish a quarter's review (季点评)."""

from backend.core.actor import Actor


def may_read_drafts(actor: Actor) -> bool:
    """The bureau's supervisors, leaders and administrator see a review while it is drafted; units once published."""
    return actor.can("cycle.read_drafts")


def require_read_drafts(actor: Actor) -> None:
    actor.require("cycle.read_drafts")


def require_rate(actor: Actor) -> None:
    actor.require("reviews.rate")


def require_remark(actor: Actor) -> None:
    actor.require("reviews.remark")
