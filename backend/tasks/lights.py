"""The traffic light of a task (红黄绿灯). The rules are written out in docs/LIGHTS.md; keep the two in step."""

from dataclasses import dataclass
from datetime import date

from backend.core.calendar import add_workdays, weekends_only_note, workdays_between
from backend.i18n import _
from backend.tasks.models import Light, TaskState

WARN_WORKDAYS = 3  # yellow this many working days before the deadline
LAG_POINTS = 25  # yellow when progress trails the time elapsed by more than this many percentage points
SILENT_RED_WORKDAYS = 10  # red when a report due this long ago has still not come


@dataclass(frozen=True)
class LightInput:
    state: TaskState
    start: date
    deadline: date
    progress: int
    report_due: date | None  # the due date of the current period's report, if it is still missing
    returned: bool  # the latest report was returned and not yet filed again


def compute_light(facts: LightInput, today: date) -> tuple[Light, str]:
    """The light and the reason shown beside it; the first rule that applies wins."""
    if facts.state in (TaskState.done, TaskState.cancelled):
        return Light.green, _("已办结") if facts.state == TaskState.done else _("已取消")
    # 待交办 (never handed out, or sent back by its lead unit): no unit's clock runs yet, so no red light.
    if facts.state == TaskState.unassigned:
        return Light.green, _("待交办，交办后开始计时")
    if facts.state == TaskState.sent_back:
        return Light.yellow, _("被单位退回，待重新交办")
    if today > facts.deadline and facts.state != TaskState.completion_requested:
        return Light.red, _counted(_("已超过时限 %(n)s 个工作日", n=max(1, workdays_between(facts.deadline, today))),
                                   facts.deadline, today)
    if facts.report_due and today > add_workdays(facts.report_due, SILENT_RED_WORKDAYS):
        return Light.red, _("进展报送逾期超过 %(n)s 个工作日", n=SILENT_RED_WORKDAYS)
    if facts.returned:
        return Light.yellow, _("报送被退回，待修改后重新报送")
    if facts.report_due and today > facts.report_due:
        return Light.yellow, _("本期进展未按时报送")
    if facts.state != TaskState.completion_requested and workdays_between(today, facts.deadline) <= WARN_WORKDAYS:
        return Light.yellow, _counted(_("距时限不足 %(n)s 个工作日", n=WARN_WORKDAYS), today, facts.deadline)
    expected = _expected_progress(facts, today)
    if expected - facts.progress > LAG_POINTS:
        return Light.yellow, _("进度 %(p)s%%，落后于时间进度 %(e)s%%", p=facts.progress, e=expected)
    return Light.green, _("正常推进")


def _counted(reason: str, start: date, end: date) -> str:
    """A working-day reason, with the caveat when its span reaches a year whose holidays are not entered."""
    note = weekends_only_note(start, end)
    return _("%(reason)s（%(note)s）", reason=reason, note=note) if note else reason


def _expected_progress(facts: LightInput, today: date) -> int:
    """The share of the task's time that has passed, as the progress one would expect by now."""
    total = (facts.deadline - facts.start).days
    if total <= 0:
        return 100
    return max(0, min(100, round(100 * (today - facts.start).days / total)))
