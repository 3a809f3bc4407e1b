"""A bureau's reminder rules, supervisors' nudges (催办) and the 督办单 of a task."""

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import TypedDict

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.delivery.models import ReminderPolicy
from backend.delivery.notify import notify_decided
from backend.delivery.service import queue_robot_messages
from backend.errors import Conflict, InvalidInput, NotFound
from backend.i18n import _
from backend.reminders.models import Nudge, SupervisionNotice
from backend.reminders.policy import may_read_notice, require_manage_rules, require_nudge, sees_own_unit_notices_only
from backend.reminders.sql import OPEN_ASSIGNMENT, OPEN_TASK
from backend.tasks.models import Task
from backend.tasks.periods import period_label
from backend.tasks.service import get_task
from backend.tenancy.models import Unit

MAX_OFFSET = 30
NUDGE_MAX_TEXT = 500


async def get_policy(session: AsyncSession, tenant_id: uuid.UUID) -> ReminderPolicy:
    """The bureau's rules; a bureau that never saved them runs on the defaults."""
    found = await session.get(ReminderPolicy, tenant_id)
    return found if found is not None else ReminderPolicy(tenant_id=tenant_id)


@dataclass(frozen=True)
class PolicyForm:
    enabled: bool
    deadline_workdays: str
    report_day_workdays: str
    escalate_unit_head_after: str
    escalate_leaders_after: str
    quiet_start: str
    quiet_end: str
    nudge_interval_hours: str
    daily_digest_at: str
    weekly_digest_weekday: str


class _PolicyValues(TypedDict):
    """The form once checked, each field as ReminderPolicy holds it."""
    enabled: bool
    deadline_workdays: list[int]
    report_day_workdays: list[int]
    escalate_unit_head_after: int
    escalate_leaders_after: int
    quiet_start: time
    quiet_end: time
    nudge_interval_hours: int
    daily_digest_at: time
    weekly_digest_weekday: int


def _offsets(raw: str, field: str, label: str, *, allow_zero: bool) -> list[int]:
    parts = [p for p in re.split(r"[\s,，、;；]+", unicodedata.normalize("NFKC", raw).strip()) if p]
    try:
        values = sorted({int(p) for p in parts}, reverse=True)
    except ValueError:
        raise InvalidInput(_("%(label)s请填写工作日数，用逗号分隔，例如 7,3,1。", label=label), field=field) from None
    low = 0 if allow_zero else 1
    if any(v < low or v > MAX_OFFSET for v in values):
        raise InvalidInput(_("%(label)s的每个数须在 %(low)s 到 %(high)s 之间。", label=label, low=low, high=MAX_OFFSET),
                           field=field)
    return values


def _number(raw: str, field: str, label: str, low: int, high: int) -> int:
    try:
        value = int(unicodedata.normalize("NFKC", raw).strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidInput(_("%(label)s请填写 %(low)s 到 %(high)s 之间的整数。", label=label, low=low, high=high),
                           field=field)
    return value


def _clock(raw: str, field: str, label: str) -> time:
    try:
        return time.fromisoformat(unicodedata.normalize("NFKC", raw).strip())
    except ValueError:
        raise InvalidInput(_("%(label)s请按“时:分”填写，例如 22:00。", label=label), field=field) from None


async def rules_to_edit(session: AsyncSession, actor: Actor) -> ReminderPolicy:
    """The rules as the administrator's form shows them."""
    require_manage_rules(actor)
    return await get_policy(session, actor.tenant_id)


async def nudge_interval_hours(session: AsyncSession, actor: Actor) -> int:
    """How soon a unit may be nudged again, as the nudge form says it."""
    require_nudge(actor)
    return (await get_policy(session, actor.tenant_id)).nudge_interval_hours


async def update_policy(session: AsyncSession, actor: Actor, form: PolicyForm) -> ReminderPolicy:
    """The administrator sets the rules; every field is checked before anything is saved."""
    require_manage_rules(actor)
    values: _PolicyValues = {
        "enabled": form.enabled,
        "deadline_workdays": _offsets(form.deadline_workdays, "deadline_workdays", _("到期提醒"), allow_zero=False),
        "report_day_workdays": _offsets(form.report_day_workdays, "report_day_workdays", _("报送日提醒"),
                                        allow_zero=True),
        "escalate_unit_head_after": _number(form.escalate_unit_head_after, "escalate_unit_head_after",
                                            _("黄色督办"), 1, MAX_OFFSET),
        "escalate_leaders_after": _number(form.escalate_leaders_after, "escalate_leaders_after", _("红色督办"), 1,
                                          MAX_OFFSET),
        "quiet_start": _clock(form.quiet_start, "quiet_start", _("免打扰开始时间")),
        "quiet_end": _clock(form.quiet_end, "quiet_end", _("免打扰结束时间")),
        "nudge_interval_hours": _number(form.nudge_interval_hours, "nudge_interval_hours", _("催办间隔"), 1, 168),
        "daily_digest_at": _clock(form.daily_digest_at, "daily_digest_at", _("每日摘要时间")),
        "weekly_digest_weekday": _number(form.weekly_digest_weekday, "weekly_digest_weekday", _("每周概览"), 1, 7),
    }
    if values["escalate_leaders_after"] <= values["escalate_unit_head_after"]:
        raise InvalidInput(_("红色督办的超期天数须大于黄色督办。"), field="escalate_leaders_after")
    policy = await session.get(ReminderPolicy, actor.tenant_id, with_for_update=True)
    if policy is None:
        policy = ReminderPolicy(tenant_id=actor.tenant_id)
    for name, value in values.items():
        setattr(policy, name, value)
    policy.updated_at = clock.now()
    session.add(policy)
    await session.flush()
    await record(session, actor, "reminders.policy", object_type="reminder_policy", object_id=actor.tenant_id,
                 summary=_("修改提醒与督办规则"), details={k: str(v) for k, v in values.items()})
    return policy


async def nudge(session: AsyncSession, actor: Actor, task_id: uuid.UUID, *, message: str) -> Nudge:
    """催办: tells the task's open units now, on every channel; at most once per task within the bureau's interval,
    so a double click or a second supervisor does not ring twice."""
    require_nudge(actor)
    task = await get_task(session, actor, task_id, for_update=True)
    if task.state in ("done", "cancelled", "unassigned"):
        raise Conflict(_("该任务当前没有待办的承办单位，无需催办。"))
    message = unicodedata.normalize("NFC", message or "").strip()
    if len(message) > NUDGE_MAX_TEXT:
        raise InvalidInput(_("催办说明最多 %(n)s 字。", n=NUDGE_MAX_TEXT), field="message")
    policy = await get_policy(session, actor.tenant_id)
    since = clock.now() - timedelta(hours=policy.nudge_interval_hours)
    last = (await session.exec(select(Nudge).where(Nudge.task_id == task.id, col(Nudge.created_at) > since)
                               .order_by(col(Nudge.created_at).desc()))).first()
    if last is not None:
        ready = last.created_at + timedelta(hours=policy.nudge_interval_hours)
        when = clock.localtime(ready, "%m-%d %H:%M", actor.timezone)
        raise Conflict(_("该任务刚催办过（每 %(h)s 小时最多一次），%(when)s 后可再次催办。",
                         h=policy.nudge_interval_hours, when=when))
    row = Nudge(tenant_id=actor.tenant_id, task_id=task.id, membership_id=actor.membership_id, message=message)
    title = _("【催办】%(number)s %(title)s", number=task.number, title=task.title)
    body = _("%(name)s 催办：%(text)s", name=actor.display_name, text=message or _("请抓紧办理并及时报送进展。"))
    params = {"task_id": task.id, "key": f"nudge:{row.id}", "title": title, "body": body, "link": f"/tasks/{task.id}"}
    units = ("SELECT a.unit_id, CAST(:key AS text) AS key, CAST(:title AS text) AS title, "
             "CAST(:body AS text) AS body, CAST(:link AS text) AS link FROM task_assignments a "
             f"WHERE a.task_id = CAST(:task_id AS uuid) AND {OPEN_ASSIGNMENT}")
    # A refused nudge writes nothing: the person and robot messages are only written when someone can hear them.
    if not any(await notify_units(session, actor.tenant_id, units, params, kind="nudge")):
        raise Conflict(_("该任务的承办单位都已办结或尚未配备人员，无人可催办。"))
    session.add(row)
    await session.flush()
    await record(session, actor, "task.nudge", object_type="task", object_id=task.id,
                 summary=_("催办 %(number)s", number=task.number), details={"message": message})
    return row


@dataclass(frozen=True)
class BatchNudge:
    """What 催所有未报单位 did: nudges sent (one per task and unit), and those skipped because the task or unit was
    nudged within the bureau's interval, or the unit has nobody to tell."""

    period: str
    sent: int
    skipped_recent: int
    skipped_unstaffed: int


# The (task, unit) pairs that owe a report for the month :month (a monthly task) or, in a quarter's last month, for
# the quarter :quarter (a quarterly task) and have not filed it: lead and responsible units still working on a task
# still open to them, given the task by the end of the period.
_MISSING = f"""
SELECT a.task_id, a.unit_id, t.number, t.title,
       CASE WHEN t.report_frequency = 'monthly' THEN CAST(:month AS text) ELSE CAST(:quarter AS text) END AS period,
       EXISTS (SELECT 1 FROM nudges n WHERE n.task_id = a.task_id AND (n.unit_id IS NULL OR n.unit_id = a.unit_id)
               AND n.created_at > :since) AS recent,
       EXISTS (SELECT 1 FROM memberships m WHERE m.unit_id = a.unit_id AND m.is_active
               AND m.role IN ('unit_head', 'unit_staff')) AS staffed
FROM task_assignments a JOIN tasks t ON t.id = a.task_id
WHERE a.kind IN ('lead', 'responsible') AND {OPEN_ASSIGNMENT} AND {OPEN_TASK}
  AND (t.report_frequency = 'monthly' OR (t.report_frequency = 'quarterly' AND CAST(:quarter AS text) <> ''))
  AND a.created_at < :period_end
  AND NOT EXISTS (SELECT 1 FROM progress_reports r WHERE r.task_id = a.task_id AND r.unit_id = a.unit_id
                  AND r.kind = 'periodic' AND r.submitted_at IS NOT NULL
                  AND r.period = CASE WHEN t.report_frequency = 'monthly' THEN CAST(:month AS text)
                                      ELSE CAST(:quarter AS text) END)
ORDER BY t.year, t.seq, a.unit_id
"""
_BATCH_ROWS = ("SELECT d.unit_id, d.key, d.title, d.body, d.link FROM unnest(CAST(:units AS uuid[]), "
               "CAST(:keys AS text[]), CAST(:titles AS text[]), CAST(:bodies AS text[]), CAST(:links AS text[])) "
               "AS d(unit_id, key, title, body, link)")


def _month(period: str, today: date) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", (period or "").strip())
    year, month = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not 1 <= month <= 12 or (year, month) > (today.year, today.month) or year < today.year - 1:
        raise InvalidInput(_("请选择要催报的月份（去年以来、不晚于本月），例如 %(example)s。",
                             example=f"{today.year}-{today.month:02d}"), field="period")
    return year, month


async def nudge_missing(session: AsyncSession, actor: Actor, *, period: str, message: str = "") -> BatchNudge:
    """催所有未报单位: for the month `period` (YYYY-MM; in a quarter's last month also the quarter's reports), nudges
    every lead or responsible unit that has not filed its report yet — one nudge per task and unit, each under the
    same interval rule as a nudge by hand (a task or unit nudged within it is skipped, and counted)."""
    require_nudge(actor)
    today = clock.local_today(actor.timezone)
    year, month = _month(period, today)
    message = unicodedata.normalize("NFC", message or "").strip()
    if len(message) > NUDGE_MAX_TEXT:
        raise InvalidInput(_("催办说明最多 %(n)s 字。", n=NUDGE_MAX_TEXT), field="message")
    # Two supervisors (or a double click) at the same moment: the second waits and then finds the first's nudges.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))").bindparams(
        key=f"nudge-missing:{actor.tenant_id}"))
    policy = await get_policy(session, actor.tenant_id)
    month_period = f"{year}-{month:02d}"
    quarter_period = f"{year}-Q{month // 3}" if month % 3 == 0 else ""
    next_month = date(year + month // 12, month % 12 + 1, 1)
    rows = (await session.execute(text(_MISSING), {
        "month": month_period, "quarter": quarter_period,
        "since": clock.now() - timedelta(hours=policy.nudge_interval_hours),
        "period_end": clock.local_midnight(next_month, actor.timezone)})).all()
    due = [r for r in rows if not r.recent and r.staffed]
    if due:
        nudges = [Nudge(tenant_id=actor.tenant_id, task_id=r.task_id, unit_id=r.unit_id,
                        membership_id=actor.membership_id, message=message) for r in due]
        session.add_all(nudges)
        await session.flush()
        params = {
            "units": [r.unit_id for r in due], "keys": [f"nudge:{n.id}" for n in nudges],
            "titles": [_("【催报】%(number)s %(title)s", number=r.number, title=r.title) for r in due],
            "bodies": [_("%(name)s 催报：%(period)s的进展尚未报送。%(text)s", name=actor.display_name,
                         period=period_label(r.period), text=message or _("请抓紧报送。")) for r in due],
            "links": [f"/tasks/{r.task_id}/report?period={r.period}" for r in due],
        }
        await notify_units(session, actor.tenant_id, _BATCH_ROWS, params, kind="nudge")
    result = BatchNudge(month_period, len(due), sum(1 for r in rows if r.recent),
                        sum(1 for r in rows if not r.recent and not r.staffed))
    await record(session, actor, "task.nudge_missing", object_type="nudge_batch", object_id=month_period,
                 summary=_("催所有未报单位（%(period)s）：发出 %(sent)s 条，跳过 %(skipped)s 条",
                           period=period_label(month_period), sent=result.sent,
                           skipped=result.skipped_recent + result.skipped_unstaffed),
                 details={"period": month_period, "message": message, "sent": result.sent,
                          "skipped_recent": result.skipped_recent, "skipped_unstaffed": result.skipped_unstaffed,
                          "nudged": [[str(r.task_id), str(r.unit_id)] for r in due]})
    return result


async def notify_units(
    session: AsyncSession, tenant_id: uuid.UUID, rows_sql: str, params: dict, *, kind: str,
) -> tuple[int, int]:
    """`rows_sql` selects (unit_id, key, title, body, link): each unit's head and staff hear it on their channels,
    and the unit's group robots once. Returns (people newly notified, robot messages queued)."""
    people = (f"SELECT m.id AS membership_id, r.key, r.title, r.body, r.link FROM ({rows_sql}) r "
              "JOIN memberships m ON m.unit_id = r.unit_id AND m.is_active AND m.role IN ('unit_head', 'unit_staff')")
    notified = await notify_decided(session, tenant_id, people, params, kind=kind)
    return notified, await queue_robot_messages(session, tenant_id, rows_sql, params)


@dataclass(frozen=True)
class NoticeView:
    notice: SupervisionNotice
    unit_name: str


async def notices_of_task(session: AsyncSession, actor: Actor, task: Task) -> list[NoticeView]:
    """The 督办单 of a task the actor can see (a unit sees its own), oldest first. One query."""
    query = (select(SupervisionNotice, Unit.name).join(Unit, col(Unit.id) == SupervisionNotice.unit_id)
             .where(SupervisionNotice.task_id == task.id).order_by(col(SupervisionNotice.issued_at),
                                                                    col(SupervisionNotice.seq)))
    if sees_own_unit_notices_only(actor):
        query = query.where(SupervisionNotice.unit_id == actor.unit_id)
    return [NoticeView(notice, name) for notice, name in (await session.exec(query)).all()]


async def nudges_of_task(session: AsyncSession, task: Task) -> list[Nudge]:
    return list((await session.exec(select(Nudge).where(Nudge.task_id == task.id)
                                    .order_by(col(Nudge.created_at).desc()))).all())


async def get_notice(session: AsyncSession, actor: Actor, notice_id: uuid.UUID) -> tuple[SupervisionNotice, Task, str]:
    """A 督办单 with its task and unit name, if the actor may see it; otherwise "not found"."""
    notice = await session.get(SupervisionNotice, notice_id)
    if notice is None or not may_read_notice(actor, notice):
        raise NotFound(_("找不到该督办单。"))
    task = await get_task(session, actor, notice.task_id)
    unit = await session.get(Unit, notice.unit_id)
    return notice, task, unit.name if unit else ""
