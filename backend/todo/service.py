# ruff: noqa: S608 — the SQL is composed of module constants; every value is a bound parameter.
"""The to-do home (待办): for each role, the lists of what waits for the person, each entry one tap from the page
where it is done, and the year's counters.

It reads across tasks, reports and extension requests, so it sits above those domains (tasks must not import
reports). Every list is one query with a window count (the first few rows and how many there are in all), so the
home costs a fixed number of queries whatever the size of the bureau.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta

from sqlalchemy import text
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.core.clock import local_midnight, local_today
from backend.core.roles import Role
from backend.i18n import _
from backend.reminders.sql import OPEN_ASSIGNMENT, OPEN_TASK
from backend.tasks.models import ReportFrequency, Task, TaskAssignment
from backend.tasks.periods import current_period, due_on, period_label
from backend.tenancy.bureau_settings import get_bureau_settings
from backend.tenancy.models import Unit
from backend.todo.summary import TaskSummary
from backend.todo.summary import summary as summary_of

SHOWN = 5  # entries per list on the home page; the list says how many there are in all
FILED = "('awaiting_unit_head', 'submitted', 'accepted')"  # a report the unit has sent up


@dataclass
class Entry:
    number: str
    title: str
    href: str
    note: str = ""
    urgent: bool = False


@dataclass
class TodoList:
    key: str
    heading: str
    empty: str  # what is fine when nothing waits, e.g. 本期已全部报送
    entries: list[Entry] = field(default_factory=list)
    total: int = 0
    more_href: str = ""


@dataclass
class Home:
    year: int
    years: list[int]
    summary: TaskSummary
    lists: list[TodoList]
    unit_name: str | None = None
    unit_count: int = 0
    unit_has_tasks: bool = False  # any task of the member's unit, of any year, led or co-operated

    @property
    def waiting(self) -> list[TodoList]:
        return [todo for todo in self.lists if todo.total]

    @property
    def fine(self) -> list[TodoList]:
        return [todo for todo in self.lists if not todo.total]


def days_left_note(due: date, today: date) -> tuple[str, bool]:
    """还剩 N 天 / 今天截止 / 已过 N 天, and whether it is pressing (three days or fewer)."""
    days = (due - today).days
    if days > 0:
        return _("还剩 %(n)s 天（%(due)s 截止）", n=days, due=due.isoformat()), days <= 3
    if days == 0:
        return _("今天截止"), True
    return _("已过报送日 %(n)s 天", n=-days), True


def _previous_period(frequency: ReportFrequency, today: date) -> str:
    """The period before today's (January's previous month is last December)."""
    if frequency == ReportFrequency.monthly:
        first = today.replace(day=1) - timedelta(days=1)
        return current_period(frequency, first)
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return current_period(frequency, quarter_start - timedelta(days=1))


def _last_due_period(frequency: ReportFrequency, today: date, report_day: int) -> tuple[str, date]:
    """The latest period whose report day is already past: this period's if today is after its day, else the
    previous one's."""
    period = current_period(frequency, today)
    due = due_on(period, report_day)
    if due < today:
        return period, due
    period = _previous_period(frequency, today)
    return period, due_on(period, report_day)


def _periods_sql(prefix: str) -> str:
    """The task's period and report day, from the frequency and the parameters `<prefix>pm/pq/dm/dq`."""
    return (f"CROSS JOIN LATERAL (SELECT "
            f"CASE t.report_frequency WHEN 'monthly' THEN :{prefix}pm WHEN 'quarterly' THEN :{prefix}pq "
            f"ELSE 'once' END AS period, "
            f"CASE t.report_frequency WHEN 'monthly' THEN CAST(:{prefix}dm AS date) "
            f"WHEN 'quarterly' THEN CAST(:{prefix}dq AS date) ELSE t.deadline END AS due) p")


async def _rows(session: AsyncSession, sql: str, params: dict) -> tuple[list, int]:
    rows = (await session.execute(text(sql), params={**params, "n": SHOWN})).all()
    return list(rows), (rows[0][-1] if rows else 0)


# --- the unit's lists (经办人, 单位负责人) -------------------------------------------------------------------


async def _to_acknowledge(session: AsyncSession, unit_id: uuid.UUID) -> TodoList:
    rows, total = await _rows(session, """
        SELECT t.id, t.number, t.title, a.deadline, count(*) OVER ()
        FROM task_assignments a JOIN tasks t ON t.id = a.task_id
        WHERE a.unit_id = :unit AND a.state = 'assigned' AND t.state NOT IN ('done', 'cancelled')
        ORDER BY a.deadline, t.number LIMIT :n""", {"unit": unit_id})
    entries = [Entry(number, title, f"/tasks/{task_id}", _("时限 %(d)s", d=deadline.isoformat()))
               for task_id, number, title, deadline, _total in rows]
    return TodoList("to_acknowledge", _("待签收"), _("没有待签收的任务"), entries, total, "/tasks")


async def _returned(session: AsyncSession, unit_id: uuid.UUID) -> TodoList:
    rows, total = await _rows(session, """
        SELECT t.id, t.number, t.title, r.period, r.kind,
               (SELECT v.comment FROM report_reviews v WHERE v.report_id = r.id ORDER BY v.decided_at DESC LIMIT 1),
               count(*) OVER ()
        FROM progress_reports r JOIN tasks t ON t.id = r.task_id
        WHERE r.unit_id = :unit AND r.state = 'returned' AND t.state NOT IN ('done', 'cancelled')
        ORDER BY r.updated_at LIMIT :n""", {"unit": unit_id})
    entries = []
    for task_id, number, title, period, kind, comment, _total in rows:
        what = _("办结申请") if kind == "completion" else period_label(period)
        href = f"/tasks/{task_id}/report" + ("" if kind == "completion" else f"?period={period}")
        entries.append(Entry(number, title, href, _("%(what)s：%(comment)s", what=what, comment=comment or _("被退回")),
                             urgent=True))
    return TodoList("returned", _("被退回"), _("没有被退回的报告"), entries, total)


async def _due_this_period(session: AsyncSession, unit_id: uuid.UUID, today: date, report_day: int) -> TodoList:
    """Tasks the unit writes whose report for today's period is not yet sent up (none, or a draft), soonest report
    day first. A returned one is listed under 被退回, with the reviewer's comment."""
    params = _period_params("", today, report_day, current_period)
    rows, total = await _rows(session, f"""
        SELECT t.id, t.number, t.title, p.period, p.due, r.state, count(*) OVER ()
        FROM task_assignments a JOIN tasks t ON t.id = a.task_id {_periods_sql("")}
        LEFT JOIN progress_reports r ON r.task_id = t.id AND r.unit_id = a.unit_id AND r.period = p.period
                                     AND r.kind = 'periodic'
        WHERE a.unit_id = :unit AND a.kind <> 'cooperating' AND {OPEN_ASSIGNMENT} AND {OPEN_TASK}
          AND t.state NOT IN ('unassigned', 'sent_back') AND (r.id IS NULL OR r.state = 'draft')
        ORDER BY p.due, t.number LIMIT :n""", {"unit": unit_id, **params})
    entries = []
    for task_id, number, title, period, due, state, _total in rows:
        note, urgent = days_left_note(due, today)
        if state == "draft":
            note = _("已存草稿，未提交 · %(note)s", note=note)
        entries.append(Entry(number, title, f"/tasks/{task_id}/report?period={period}",
                             f"{period_label(period)} · {note}", urgent))
    return TodoList("due", _("本期待填报"), _("本期已全部报送"), entries, total, "/tasks")


async def _drafts(session: AsyncSession, unit_id: uuid.UUID, today: date, report_day: int) -> TodoList:
    """Drafts not listed under 本期待填报: late reports of past periods and completion requests."""
    params = _period_params("", today, report_day, current_period)
    rows, total = await _rows(session, f"""
        SELECT t.id, t.number, t.title, r.period, r.kind, r.due_on, count(*) OVER ()
        FROM progress_reports r JOIN tasks t ON t.id = r.task_id {_periods_sql("")}
        WHERE r.unit_id = :unit AND r.state = 'draft' AND t.state NOT IN ('done', 'cancelled')
          AND NOT (r.kind = 'periodic' AND r.period = p.period)
        ORDER BY r.due_on, t.number LIMIT :n""", {"unit": unit_id, **params})
    entries = []
    for task_id, number, title, period, kind, due, _total in rows:
        if kind == "completion":
            entries.append(Entry(number, title, f"/tasks/{task_id}/report", _("办结申请草稿，未提交")))
            continue
        note, urgent = days_left_note(due, today)
        entries.append(Entry(number, title, f"/tasks/{task_id}/report?period={period}",
                             _("%(period)s草稿，未提交 · %(note)s", period=period_label(period), note=note), urgent))
    return TodoList("drafts", _("其他草稿"), _("没有其他未提交的草稿"), entries, total)


async def _awaiting_unit_head(session: AsyncSession, unit_id: uuid.UUID) -> TodoList:
    rows, total = await _rows(session, """
        SELECT r.id, t.number, t.title, r.period, r.kind, count(*) OVER ()
        FROM progress_reports r JOIN tasks t ON t.id = r.task_id
        WHERE r.unit_id = :unit AND r.state = 'awaiting_unit_head'
        ORDER BY r.submitted_at NULLS LAST, r.created_at, r.id LIMIT :n""", {"unit": unit_id})
    entries = [Entry(number, title, f"/reviews#row-{report_id}",
                     _("办结申请") if kind == "completion" else period_label(period))
               for report_id, number, title, period, kind, _total in rows]
    return TodoList("awaiting_unit_head", _("待审核"), _("本单位没有待您审核的报告"), entries, total, "/reviews")


async def _unit_reds(session: AsyncSession, unit_id: uuid.UUID) -> TodoList:
    rows, total = await _rows(session, """
        SELECT t.id, t.number, t.title, t.light_reason, count(*) OVER ()
        FROM tasks t
        WHERE t.light = 'red' AND t.state NOT IN ('done', 'cancelled')
          AND EXISTS (SELECT 1 FROM task_assignments a WHERE a.task_id = t.id AND a.unit_id = :unit)
        ORDER BY t.deadline, t.number LIMIT :n""", {"unit": unit_id})
    entries = [Entry(number, title, f"/tasks/{task_id}", reason, True) for task_id, number, title, reason, _t in rows]
    return TodoList("unit_reds", _("本单位红灯任务"), _("本单位没有红灯任务"), entries, total,
                    f"/tasks?light=red&unit={unit_id}")


# --- the bureau's lists (督查督办人员, 局领导) ------------------------------------------------------------------


async def _submitted(session: AsyncSession, kind: str) -> TodoList:
    rows, total = await _rows(session, """
        SELECT r.id, t.number, t.title, u.name, r.period, count(*) OVER ()
        FROM progress_reports r JOIN tasks t ON t.id = r.task_id JOIN units u ON u.id = r.unit_id
        WHERE r.state = 'submitted' AND r.kind = :kind
        ORDER BY r.submitted_at NULLS LAST, r.created_at, r.id LIMIT :n""", {"kind": kind})
    if kind == "completion":
        entries = [Entry(number, title, f"/reviews#row-{report_id}", _("%(unit)s 申请办结", unit=unit))
                   for report_id, number, title, unit, _period, _total in rows]
        return TodoList("completion", _("待办结"), _("没有待审批的办结申请"), entries, total, "/reviews")
    entries = [Entry(number, title, f"/reviews#row-{report_id}", f"{unit} · {period_label(period)}")
               for report_id, number, title, unit, period, _total in rows]
    return TodoList("to_review", _("待审核"), _("没有待审核的报告"), entries, total, "/reviews")


async def _extensions(session: AsyncSession) -> TodoList:
    rows, total = await _rows(session, """
        SELECT t.id, t.number, t.title, u.name, e.current_deadline, e.requested_deadline, count(*) OVER ()
        FROM extension_requests e JOIN tasks t ON t.id = e.task_id JOIN units u ON u.id = e.unit_id
        WHERE e.state = 'pending'
        ORDER BY e.requested_at, e.id LIMIT :n""", {})
    entries = [Entry(number, title, f"/tasks/{task_id}#ext-h",
                     _("%(unit)s 申请由 %(from)s 延至 %(to)s", unit=unit, **{"from": before.isoformat()},
                       to=after.isoformat()))
               for task_id, number, title, unit, before, after, _total in rows]
    return TodoList("extensions", _("延期待批"), _("没有待审批的延期申请"), entries, total)


async def _overdue_reports(session: AsyncSession, today: date, report_day: int) -> TodoList:
    """超期未报: units that write a task's reports and have sent up nothing for the latest period whose report day
    has passed (the task was theirs by then)."""
    params = _period_params("l", today, report_day, lambda f, d: _last_due_period(f, d, report_day)[0])
    rows, total = await _rows(session, f"""
        SELECT t.id, t.number, t.title, u.name, p.period, p.due, count(*) OVER ()
        FROM task_assignments a JOIN tasks t ON t.id = a.task_id JOIN units u ON u.id = a.unit_id
        {_periods_sql("l")}
        WHERE a.kind <> 'cooperating' AND {OPEN_ASSIGNMENT} AND {OPEN_TASK} AND t.state <> 'unassigned'
          AND p.due < :today AND CAST(a.created_at AS date) <= p.due
          AND NOT EXISTS (SELECT 1 FROM progress_reports r WHERE r.task_id = t.id AND r.unit_id = a.unit_id
                          AND r.period = p.period AND r.kind = 'periodic' AND r.state IN {FILED})
        ORDER BY p.due, t.number, u.name LIMIT :n""", {"today": today, **params})
    entries = []
    for task_id, number, title, unit, period, due, _total in rows:
        entries.append(Entry(number, title, f"/tasks/{task_id}",
                             _("%(unit)s · %(period)s · 逾期 %(n)s 天", unit=unit, period=period_label(period),
                               n=(today - due).days), True))
    return TodoList("overdue_reports", _("超期未报"), _("没有超期未报的单位"), entries, total)


async def _reds(session: AsyncSession) -> TodoList:
    rows, total = await _rows(session, """
        SELECT t.id, t.number, t.title, t.light_reason, count(*) OVER () FROM tasks t
        WHERE t.light = 'red' AND t.state NOT IN ('done', 'cancelled', 'unassigned')
        ORDER BY t.deadline, t.number LIMIT :n""", {})
    entries = [Entry(number, title, f"/tasks/{task_id}", reason, True) for task_id, number, title, reason, _t in rows]
    return TodoList("reds", _("红灯任务"), _("没有红灯任务"), entries, total, "/tasks?light=red")


async def _units_behind(session: AsyncSession, today: date) -> TodoList:
    rows, total = await _rows(session, f"""
        SELECT u.id, u.name, count(*) AS late, count(*) OVER ()
        FROM task_assignments a JOIN tasks t ON t.id = a.task_id JOIN units u ON u.id = a.unit_id
        WHERE a.kind <> 'cooperating' AND {OPEN_ASSIGNMENT} AND {OPEN_TASK} AND a.deadline < :today
        GROUP BY u.id, u.name ORDER BY late DESC, u.name LIMIT :n""", {"today": today})
    entries = [Entry("", name, f"/tasks?unit={unit_id}", _("超期任务 %(n)s 项", n=late), True)
               for unit_id, name, late, _total in rows]
    return TodoList("units_behind", _("进度落后的单位"), _("没有超期任务的单位"), entries, total)


async def _support_needed(session: AsyncSession, today: date, timezone: str | None) -> TodoList:
    """需协调事项 raised this month: reports sent up since the 1st (bureau time) that ask for support."""
    start = local_midnight(today.replace(day=1), timezone).astimezone(UTC)
    rows, total = await _rows(session, f"""
        SELECT r.id, t.id, t.number, t.title, u.name, r.support_needed, count(*) OVER ()
        FROM progress_reports r JOIN tasks t ON t.id = r.task_id JOIN units u ON u.id = r.unit_id
        WHERE r.support_needed <> '' AND r.state IN {FILED} AND r.submitted_at >= :start
        ORDER BY r.submitted_at DESC, r.id LIMIT :n""", {"start": start})
    entries = [Entry(number, title, f"/tasks/{task_id}/reports#report-{report_id}",
                     _("%(unit)s：%(text)s", unit=unit, text=_clip(support)))
               for report_id, task_id, number, title, unit, support, _total in rows]
    return TodoList("support_needed", _("本月提出的需协调事项"), _("本月没有单位提出需协调事项"), entries, total)


def _clip(value: str, limit: int = 60) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[:limit] + "…"


def _period_params(prefix: str, today: date, report_day: int, period_of) -> dict:
    """The monthly and quarterly period (chosen by `period_of(frequency, today)`) and their report days."""
    monthly = period_of(ReportFrequency.monthly, today)
    quarterly = period_of(ReportFrequency.quarterly, today)
    return {f"{prefix}pm": monthly, f"{prefix}pq": quarterly, f"{prefix}dm": due_on(monthly, report_day),
            f"{prefix}dq": due_on(quarterly, report_day)}


# --- the page --------------------------------------------------------------------------------------------


def _year_of(raw: str | int | None, today: date, years: list[int]) -> int:
    """The year asked for if the bureau has tasks in it; else this year if it has, else the latest year before it
    that has (a plan of last year still being finished), else this year."""
    try:
        asked = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        asked = None
    if asked in years:
        return asked
    if today.year in years:
        return today.year
    return next((y for y in years if y < today.year), today.year)


async def home(session: AsyncSession, actor: Actor, *, year: str | int | None = None) -> Home:
    """What the home page shows the actor: the to-do lists of their role and the counters of the chosen year."""
    today = local_today(actor.timezone)
    years = list((await session.exec(select(Task.year).distinct().order_by(col(Task.year).desc()))).all())
    chosen = _year_of(year, today, years)
    summary = await summary_of(session, actor, today=today, year=chosen)
    lists: list[TodoList] = []
    unit_name, unit_count, unit_has_tasks = None, 0, False
    if actor.role.needs_unit and actor.unit_id is not None:
        unit = await session.get(Unit, actor.unit_id)
        unit_name = unit.name if unit else None
        unit_has_tasks = (await session.exec(select(func.count()).select_from(TaskAssignment).where(
            TaskAssignment.unit_id == actor.unit_id))).one() > 0
        if actor.role == Role.unit_head:
            lists += [await _awaiting_unit_head(session, actor.unit_id), await _unit_reds(session, actor.unit_id)]
        report_day = (await get_bureau_settings(session, actor.tenant_id)).report_day
        lists += [await _to_acknowledge(session, actor.unit_id), await _returned(session, actor.unit_id),
                  await _due_this_period(session, actor.unit_id, today, report_day),
                  await _drafts(session, actor.unit_id, today, report_day)]
    elif actor.role in (Role.supervisor, Role.admin):
        report_day = (await get_bureau_settings(session, actor.tenant_id)).report_day
        lists += [await _submitted(session, "periodic"), await _submitted(session, "completion"),
                  await _extensions(session), await _overdue_reports(session, today, report_day)]
        if actor.role == Role.admin:
            unit_count = (await session.exec(select(func.count()).select_from(Unit))).one()
    elif actor.role == Role.leader:
        lists += [await _reds(session), await _units_behind(session, today),
                  await _support_needed(session, today, actor.timezone), await _extensions(session)]
    return Home(year=chosen, years=years, summary=summary, lists=lists, unit_name=unit_name, unit_count=unit_count,
                unit_has_tasks=unit_has_tasks)


__all__ = ["Entry", "Home", "TodoList", "days_left_note", "home"]
