"""Who may see, run, score, appeal, reopen and set the rules of the year's assessment (年考核)."""

from backend.assessments.models import Assessment, AssessmentState
from backend.core.actor import Actor


def sees_whole_bureau(actor: Actor) -> bool:
    """Supervisors, leaders and the administrator see every unit's scores, adjustments and appeals at any time."""
    return actor.can("cycle.read_drafts")


def may_see(actor: Actor, assessment: Assessment) -> bool:
    """The bureau's roles from its opening; unit heads too (they score themselves first); unit staff once it is
    published."""
    return sees_whole_bureau(actor) or actor.can("assessments.self_score") or assessment.state != AssessmentState.open


def may_manage(actor: Actor) -> bool:
    return actor.can("assessments.manage")


def require_manage(actor: Actor) -> None:
    actor.require("assessments.manage")


def require_self_score(actor: Actor) -> None:
    actor.require("assessments.self_score")


def require_appeal(actor: Actor) -> None:
    actor.require("assessments.appeal")


def require_reopen(actor: Actor) -> None:
    actor.require("assessments.reopen")


def require_set_rubric(actor: Actor) -> None:
    actor.require("assessments.rubric")
