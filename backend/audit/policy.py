"""Who may read the bureau's audit trail (操作日志)."""

from backend.core.actor import Actor


def require_read(actor: Actor) -> None:
    actor.require("audit.read")
