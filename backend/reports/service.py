"""Progress reports (进展报送), their review, and the completion request (申请办结 → 办结).

A report belongs to one task, one unit (the lead or a responsible unit) and one period. Its states:

    draft ──submit──▶ awaiting_unit_head ──head approves──▶ submitted ──accept──▶ accepted
      ▲                 │ (bureau setting)                     │
      └──── returned ◀──┴──────── head returns / supervisor returns (always with a comment)

`returned` is editable and can be submitted again. A completion request is a report of kind `completion`: its
submission puts the task in `completion_requested`; approving it is the 办结 (task `done`), refusing it puts the
task back `in_progress`. Every write locks the task row, then the report row, and checks the version the form
was shown with, so two people deciding the same report at once get one decision and one clear refusal.
"""

from backend.reports.attaching import save_with_evidence
from backend.reports.decisions import accept_reports, decide_completion, review, unit_head_decide
from backend.reports.queries import get_report, report_form, reports_for_task, review_queue, settings_to_edit
from backend.reports.writing import (
    AlreadySubmitted,
    contribute,
    no_change_this_month,
    request_completion,
    save_report,
    submit_report,
)
from backend.tasks.periods import current_period, due_on

__all__ = [
    "AlreadySubmitted", "accept_reports", "contribute", "current_period", "decide_completion", "due_on",
    "get_report", "no_change_this_month", "report_form", "reports_for_task",
    "request_completion", "review", "review_queue", "save_report", "save_with_evidence", "settings_to_edit",
    "submit_report",
    "unit_head_decide",
]
