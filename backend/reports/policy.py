"""Who may write, contribute to, approve and review progress reports."""

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.core.roles import Role
from backend.errors import Conflict, Forbidden
from backend.i18n import _
from backend.reports.models import ProgressReport
from backend.tasks.models import AssignmentKind, Task, TaskAssignment, TaskState, state_label
from backend.tasks.service import assignment_of

WRITING_KINDS = (AssignmentKind.lead, AssignmentKind.responsible)


def is_reviewer(actor: Actor) -> bool:
    """Supervisors (and the administrator) review reports and decide completion; leaders only read them."""
    return actor.can("reports.review")


def require_reviewer(actor: Actor) -> None:
    if not is_reviewer(actor):
        raise Forbidden(_("只有督查督办人员（或系统管理员）可以审核报告和审批办结；局领导可以查阅，不参与审核。"))


def is_unit_head(actor: Actor) -> bool:
    """A unit head approves their unit's reports, so what they submit themselves needs no second approval."""
    return actor.role == Role.unit_head and actor.unit_id is not None


def require_unit_head_of(actor: Actor, report: ProgressReport) -> None:
    if not is_unit_head(actor) or actor.unit_id != report.unit_id:
        raise Forbidden(_("只有本单位的单位负责人可以审核本单位的报告。"))


def require_own_report(actor: Actor, report: ProgressReport) -> None:
    """Evidence is attached to a report of the uploader's own unit; the bureau's roles may attach to any."""
    if actor.role.needs_unit and report.unit_id != actor.unit_id:
        raise Forbidden(_("只能给本单位的报告附加佐证材料。"))


def writes_for_a_unit(actor: Actor) -> bool:
    """Reports are written by a unit's staff and head; the bureau's roles read and review them."""
    return actor.role.needs_unit


async def writing_assignment(session: AsyncSession, actor: Actor, task: Task) -> TaskAssignment:
    """The actor's unit's assignment if it writes the task's reports (lead or responsible unit, staff or head)."""
    if not writes_for_a_unit(actor):
        raise Forbidden(_("进展报告由牵头（责任）单位的经办人或单位负责人填报；您的角色只能查阅和审核。"))
    assignment = await assignment_of(session, actor, task)
    if assignment is None:
        raise Forbidden(_("您所在的单位不是该任务的承办单位，不能填报进展。"))
    if assignment.kind not in WRITING_KINDS:
        raise Forbidden(_("贵单位是该任务的配合单位：请在牵头单位的报告中填写本单位的配合情况，报告由牵头单位填报。"))
    if assignment.state in (TaskState.sent_back, TaskState.cancelled, TaskState.done):
        raise Conflict(_("贵单位在该任务上的状态为“%(state)s”，不能再报送进展。", state=state_label(assignment.state)))
    return assignment


async def require_contributor(session: AsyncSession, actor: Actor, task: Task) -> None:
    """Only a unit that cooperates on the task adds its part to the lead unit's report."""
    if not writes_for_a_unit(actor):
        raise Forbidden(_("配合情况由配合单位的经办人或单位负责人填写。"))
    assignment = await assignment_of(session, actor, task)
    if assignment is None or assignment.kind != AssignmentKind.cooperating:
        raise Forbidden(_("只有该任务的配合单位可以补充配合情况；牵头单位请直接修改报告。"))


def form_mode(actor: Actor, assignment: TaskAssignment | None) -> str:
    """What the report page offers: "write" to a lead or responsible unit, "contribute" to a cooperating one,
    "read" to everyone else."""
    if not writes_for_a_unit(actor) or assignment is None:
        return "read"
    return "write" if assignment.kind in WRITING_KINDS else "contribute"
