"""How report states and decisions are named (periodic reports and completion requests word them differently)."""

from backend.i18n import N_, _
from backend.reports.models import ReportKind, ReportState

REPORT_STATE_LABELS = {
    ReportState.draft: N_("草稿"),
    ReportState.awaiting_unit_head: N_("待单位负责人审核"),
    ReportState.submitted: N_("已报送，待审核"),
    ReportState.accepted: N_("已通过"),
    ReportState.returned: N_("已退回"),
}


COMPLETION_STATE_LABELS = {
    ReportState.draft: N_("草稿"),
    ReportState.awaiting_unit_head: N_("待单位负责人审核"),
    ReportState.submitted: N_("已申请办结，待审批"),
    ReportState.accepted: N_("已批准办结"),
    ReportState.returned: N_("办结申请已退回"),
}


DECISION_LABELS = {
    "unit_head_approve": N_("单位负责人审核通过"),
    "unit_head_return": N_("单位负责人退回"),
    "accept": N_("审核通过"),
    "return": N_("退回"),
}


COMPLETION_DECISION_LABELS = {"accept": N_("批准办结"), "return": N_("退回办结申请")}


def decision_label(decision: str, kind: ReportKind | str = ReportKind.periodic) -> str:
    decision = str(decision)
    if ReportKind(kind) == ReportKind.completion and decision in COMPLETION_DECISION_LABELS:
        return _(COMPLETION_DECISION_LABELS[decision])
    return _(DECISION_LABELS.get(decision, decision))


def report_state_label(state: ReportState | str, kind: ReportKind | str = ReportKind.periodic) -> str:
    labels = COMPLETION_STATE_LABELS if ReportKind(kind) == ReportKind.completion else REPORT_STATE_LABELS
    return _(labels[ReportState(state)])
