"""Who may set up the bureau's channels (group robots, e-mail) and look after its outbox."""

from backend.core.actor import Actor


def require_manage_channels(actor: Actor) -> None:
    actor.require("delivery.manage")


def require_manage_outbox(actor: Actor) -> None:
    """The outbox shows what was sent to whom and can send it again: the administrator's, as the channels are."""
    actor.require("outbox.manage")
