"""What is still unfinished on a task when its 办结 is asked for: targets short of their value, measures not ticked,
progress last reported under 100%, and other units that never signed for the task or never reported on it. The
supervisor sees this before deciding; approving anyway needs a reason, kept with the decision (台账) and in the audit
log. Four queries for any number of tasks, so the review queue lists it for every completion request at once."""

import uuid
from collections import defaultdict

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.i18n import _
from backend.tasks.models import TaskChecklistItem, TaskTarget

# Comparators of a ceiling (控制在…以内): the target is met while the actual stays at or under the value.
CEILINGS = {"不超过", "不高于", "不多于", "不大于", "低于", "以下", "以内", "控制在"}
MAX_MEASURES_NAMED = 6


def _number(value: float) -> str:
    return f"{value:g}"


def _short(text_: str, limit: int = 16) -> str:
    return text_ if len(text_) <= limit else text_[:limit] + "…"


def target_short(target: TaskTarget) -> bool:
    if target.actual is None:
        return True
    if target.comparator == "区间":
        return False
    if target.comparator in CEILINGS:
        return target.actual > target.value
    return target.actual < target.value


# The task's other units (not the lead, whose reports and request speak for it) still on it, whether each signed and
# whether it ever reported: its own submitted report, or its part added to another unit's report.
_OTHER_UNITS = """
SELECT a.task_id, u.name, a.kind, a.acknowledged_at IS NOT NULL AS signed,
       EXISTS (SELECT 1 FROM progress_reports r WHERE r.task_id = a.task_id AND r.unit_id = a.unit_id
                 AND r.submitted_at IS NOT NULL)
       OR EXISTS (SELECT 1 FROM report_contributions c JOIN progress_reports r ON r.id = c.report_id
                  WHERE r.task_id = a.task_id AND c.unit_id = a.unit_id) AS reported
FROM task_assignments a JOIN units u ON u.id = a.unit_id
WHERE a.task_id = ANY(CAST(:ids AS uuid[])) AND a.kind <> 'lead' AND a.state NOT IN ('sent_back', 'cancelled', 'done')
ORDER BY a.task_id, u.sort_order, u.name
"""

# The progress a task's last submitted periodic report gave (the completion request itself states no percentage).
_LAST_PERCENT = """
SELECT DISTINCT ON (r.task_id) r.task_id, r.percent
FROM progress_reports r
WHERE r.task_id = ANY(CAST(:ids AS uuid[])) AND r.kind = 'periodic' AND r.submitted_at IS NOT NULL
ORDER BY r.task_id, r.submitted_at DESC
"""


async def unfinished_work(session: AsyncSession, task_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """For each task, one line per unfinished thing, in words a supervisor reads at a glance; no entry when
    nothing is unfinished."""
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    if not task_ids:
        return found
    targets = (await session.exec(select(TaskTarget).where(col(TaskTarget.task_id).in_(task_ids))
                                  .order_by(col(TaskTarget.position)))).all()
    for target in targets:
        if target_short(target):
            actual = _("未填报") if target.actual is None else f"{_number(target.actual)}{target.unit}"
            found[target.task_id].append(_("目标“%(text)s”：目前 %(actual)s，目标 %(value)s%(unit)s",
                                           text=target.text, actual=actual, value=_number(target.value),
                                           unit=target.unit))
    measures: dict[uuid.UUID, list[TaskChecklistItem]] = defaultdict(list)
    for item in (await session.exec(select(TaskChecklistItem).where(col(TaskChecklistItem.task_id).in_(task_ids))
                                    .order_by(col(TaskChecklistItem.position)))).all():
        measures[item.task_id].append(item)
    for task_id, items in measures.items():
        open_items = [i for i in items if not i.done]
        if open_items:
            named = "、".join(_short(i.text) for i in open_items[:MAX_MEASURES_NAMED])
            more = "…" if len(open_items) > MAX_MEASURES_NAMED else ""
            found[task_id].append(_("工作措施 %(n)s 项中已勾选 %(done)s 项；未勾选：%(names)s%(more)s",
                                    n=len(items), done=len(items) - len(open_items), names=named, more=more))
    ids = {"ids": [str(i) for i in task_ids]}
    for task_id, percent in await session.execute(text(_LAST_PERCENT), ids):
        if percent < 100:
            found[task_id].append(_("最近一次报送的完成进度为 %(p)s%%", p=percent))
    rows = await session.execute(text(_OTHER_UNITS), ids)
    for task_id, name, kind, signed, reported in rows:
        role = _("配合单位") if kind == "cooperating" else _("责任单位")
        if not signed and not reported:
            found[task_id].append(_("%(role)s %(unit)s：未签收，也未报送任何进展", role=role, unit=name))
        elif not signed:
            found[task_id].append(_("%(role)s %(unit)s：未签收", role=role, unit=name))
        elif not reported:
            found[task_id].append(_("%(role)s %(unit)s：未报送任何进展", role=role, unit=name))
    return found
