"""Who may act on a member's account: their API tokens."""

from backend.accounts.models import ApiToken
from backend.core.actor import Actor


def may_revoke_token(actor: Actor, token: ApiToken) -> bool:
    """A member revokes their own tokens; whoever manages members revokes anyone's (someone who left, a leak)."""
    return token.membership_id == actor.membership_id or actor.can("members.manage")
