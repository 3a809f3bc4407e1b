"""The reminder sweep of one bureau: deadline and report-day reminders, overdue escalation with its 督办单, and the
digests. Each rule is one INSERT … SELECT over the bureau's assignments (no loop over tasks); each decision has a
dedupe key, so running the sweep again — the next cron tick, a restarted worker — adds nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.calendar import is_workday
from backend.core.clock import local_now
from backend.db import set_due_at
from backend.delivery.models import ReminderPolicy
from backend.delivery.notify import notify_decided
from backend.delivery.quiet import in_quiet_hours
from backend.delivery.service import queue_robot_messages
from backend.i18n import N_
from backend.reminders.digests import daily_digests, weekly_overview
from backend.reminders.models import NOTICE_NUMBER, NOTICE_NUMBER_COLUMNS, NoticeLevel
from backend.reminders.schedule import overdue_cutoff, windows
from backend.reminders.service import get_policy, notify_units
from backend.reminders.sql import OPEN_ASSIGNMENT, OPEN_TASK, sql_message
from backend.tasks.models import ReportFrequency
from backend.tasks.periods import current_period, due_on
from backend.tenancy.bureau_settings import get_bureau_settings

OVERDUE_HISTORY_DAYS = 1100


@dataclass
class SweepResult:
    deadline: int = 0
    report_day: int = 0
    notices: int = 0
    escalated: int = 0
    digests: int = 0
    weekly: int = 0
    robots: int = 0


async def sweep_bureau(session: AsyncSession, tenant_id: uuid.UUID, timezone: str, at: datetime) -> SweepResult:
    """Everything the bureau's rules decide at `at`. Serialised per bureau (a transaction-level advisory lock), so
    two workers never number a 督办单 twice."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('reminders:' || :tenant))"),
                       params={"tenant": str(tenant_id)})
    await set_due_at(session, at)
    policy = await get_policy(session, tenant_id)
    result = SweepResult()
    if not policy.enabled:
        return result
    local = local_now(timezone, at)
    today = local.date()
    result.deadline, robots_a = await _deadline_reminders(session, tenant_id, policy, today)
    result.report_day, robots_b = await _report_day_reminders(session, tenant_id, policy, today)
    result.notices, result.escalated, robots_c = await _escalate(session, tenant_id, policy, today)
    result.robots = robots_a + robots_b + robots_c
    if local.time() >= policy.daily_digest_at and not in_quiet_hours(local, policy.quiet_start, policy.quiet_end):
        result.digests = await daily_digests(session, tenant_id, today)
        if local.isoweekday() == policy.weekly_digest_weekday:
            result.weekly, robots_d = await weekly_overview(session, tenant_id, today)
            result.robots += robots_d
    return result


LISTED_TASKS = 20


def _per_unit(hits: str, group: str, params: dict) -> str:
    """Folds `hits` (one row per open assignment: unit_id, task_id, number, title, deadline and the `group` columns)
    into one row per unit and group: a unit with twenty tasks in a window hears once, with the tasks listed, not
    twenty times. Columns: the group's, n, the first task's (one task keeps its own message and link) and
    `listing`."""
    more = sql_message(N_("……共 %(count)s 项"), {"count": "count(*)::text"}, "more_tpl", params)
    return f"""
        SELECT unit_id, {group}, count(*) AS n,
               (array_agg(task_id ORDER BY deadline, number))[1] AS task_id,
               (array_agg(number ORDER BY deadline, number))[1] AS number,
               (array_agg(title ORDER BY deadline, number))[1] AS title,
               min(deadline) AS deadline,
               array_to_string((array_agg(number || ' ' || title || '（' || to_char(deadline, 'YYYY-MM-DD') || '）'
                                          ORDER BY deadline, number))[1:{LISTED_TASKS}], E'\n')
                 || CASE WHEN count(*) > {LISTED_TASKS} THEN E'\n' || {more} ELSE '' END AS listing
        FROM ({hits}) h GROUP BY unit_id, {group}"""


def _link() -> str:
    """One task: its page; several: the unit's task list."""
    return "CASE WHEN g.n = 1 THEN '/tasks/' || g.task_id::text ELSE '/tasks' END"


async def _deadline_reminders(
    session: AsyncSession, tenant_id: uuid.UUID, policy: ReminderPolicy, today: date,
) -> tuple[int, int]:
    due = windows(today, [k for k in policy.deadline_workdays if k > 0])
    if not due:
        return 0, 0
    params: dict = {"ks": [w.offset for w in due], "starts": [w.start for w in due], "ends": [w.end for w in due],
                    "today": today.isoformat()}
    columns = {"number": "g.number", "title": "g.title", "deadline": "to_char(g.deadline, 'YYYY-MM-DD')",
               "workdays": "g.k", "count": "g.n::text", "tasks": "g.listing"}
    title = sql_message(N_("【到期提醒】%(number)s %(title)s"), columns, "title_tpl", params)
    body = sql_message(N_("距办理时限（%(deadline)s）还有 %(workdays)s 个工作日，请抓紧推进并按时报送。"),
                       columns, "body_tpl", params)
    titles = sql_message(N_("【到期提醒】%(count)s 项任务还有 %(workdays)s 个工作日到期"), columns, "titles_tpl",
                         params)
    bodies = sql_message(N_("以下任务距办理时限还有 %(workdays)s 个工作日，请抓紧推进并按时报送：\n%(tasks)s"),
                         columns, "bodies_tpl", params)
    hits = f"""
        SELECT a.unit_id, w.k, t.id AS task_id, t.number, t.title, a.deadline
        FROM task_assignments a JOIN tasks t ON t.id = a.task_id
        JOIN unnest(CAST(:ks AS int[]), CAST(:starts AS date[]), CAST(:ends AS date[])) AS w(k, s, e)
             ON a.deadline >= w.s AND a.deadline < w.e
        WHERE {OPEN_ASSIGNMENT} AND {OPEN_TASK}"""
    rows = f"""
        SELECT g.unit_id, 'deadline:' || g.unit_id::text || ':' || :today || '/T-' || g.k AS key,
               CASE WHEN g.n = 1 THEN {title} ELSE {titles} END AS title,
               CASE WHEN g.n = 1 THEN {body} ELSE {bodies} END AS body, {_link()} AS link
        FROM ({_per_unit(hits, "k", params)}) g"""
    return await notify_units(session, tenant_id, rows, params, kind="deadline_reminder")


async def _report_day_reminders(
    session: AsyncSession, tenant_id: uuid.UUID, policy: ReminderPolicy, today: date,
) -> tuple[int, int]:
    """Units that file a task's report (not the cooperating ones) and have not filed this period's yet."""
    due_windows = windows(today, policy.report_day_workdays)
    if not due_windows:
        return 0, 0
    report_day = (await get_bureau_settings(session, tenant_id)).report_day
    horizon = due_windows[-1].end
    found: list[tuple[str, str, date, int]] = []
    for frequency in (ReportFrequency.monthly, ReportFrequency.quarterly):
        for period in sorted({current_period(frequency, today), current_period(frequency, horizon)}):
            day = due_on(period, report_day)
            found += [(frequency.value, period, day, w.offset) for w in due_windows if w.start <= day < w.end]
    if not found:
        return 0, 0
    params: dict = {"freqs": [f[0] for f in found], "periods": [f[1] for f in found],
                    "dues": [f[2] for f in found], "ks": [f[3] for f in found], "today": today}
    columns = {"number": "g.number", "title": "g.title", "due": "to_char(g.due, 'YYYY-MM-DD')", "period": "g.period",
               "count": "g.n::text", "tasks": "g.listing", "month": "extract(month FROM g.due)::int::text",
               "day": "extract(day FROM g.due)::int::text"}
    title = sql_message(N_("【报送提醒】%(number)s %(title)s"), columns, "title_tpl", params)
    today_body = sql_message(N_("今天（%(due)s）是本期（%(period)s）进展报送日，贵单位尚未报送，请于今日内报送。"),
                             columns, "today_tpl", params)
    ahead_body = sql_message(N_("本期（%(period)s）进展应于 %(due)s 前报送，贵单位尚未报送。"), columns, "ahead_tpl",
                             params)
    titles = sql_message(N_("【报送提醒】%(count)s 项任务本期（%(period)s）进展尚未报送"), columns, "titles_tpl",
                         params)
    today_bodies = sql_message(N_("今天（%(due)s）是本期（%(period)s）进展报送日，贵单位以下任务尚未报送，"
                                  "请于今日内报送：\n%(tasks)s"), columns, "today_all_tpl", params)
    ahead_bodies = sql_message(N_("本期（%(period)s）进展应于 %(due)s 前报送，贵单位以下任务尚未报送：\n%(tasks)s"),
                               columns, "ahead_all_tpl", params)
    # The report day falls on a day off: its "on the day" reminder comes the working day before, and says so.
    off_body = sql_message(N_("本期（%(period)s）进展报送日 %(due)s 适逢休息日，贵单位尚未报送，"
                              "请于%(month)s月%(day)s日前报送。"), columns, "off_tpl", params)
    off_bodies = sql_message(N_("本期（%(period)s）进展报送日 %(due)s 适逢休息日，贵单位以下任务尚未报送，"
                                "请于%(month)s月%(day)s日前报送：\n%(tasks)s"), columns, "off_all_tpl", params)
    hits = f"""
        SELECT a.unit_id, r.period, r.due, r.k, t.id AS task_id, t.number, t.title, a.deadline
        FROM task_assignments a JOIN tasks t ON t.id = a.task_id
        JOIN unnest(CAST(:freqs AS text[]), CAST(:periods AS text[]), CAST(:dues AS date[]), CAST(:ks AS int[]))
             AS r(frequency, period, due, k) ON t.report_frequency = r.frequency
        WHERE {OPEN_ASSIGNMENT} AND {OPEN_TASK} AND a.kind <> 'cooperating'
          AND NOT EXISTS (SELECT 1 FROM progress_reports pr
                          WHERE pr.task_id = a.task_id AND pr.unit_id = a.unit_id AND pr.period = r.period
                            AND pr.kind = 'periodic' AND pr.state IN ('awaiting_unit_head', 'submitted', 'accepted'))"""
    rows = f"""
        SELECT g.unit_id, 'report-day:' || g.unit_id::text || ':' || g.period || '/T-' || g.k AS key,
               CASE WHEN g.n = 1 THEN {title} ELSE {titles} END AS title,
               CASE WHEN g.k = 0 AND g.due > CAST(:today AS date) THEN
                         CASE WHEN g.n = 1 THEN {off_body} ELSE {off_bodies} END
                    WHEN g.n = 1 AND g.k = 0 THEN {today_body} WHEN g.n = 1 THEN {ahead_body}
                    WHEN g.k = 0 THEN {today_bodies} ELSE {ahead_bodies} END AS body, {_link()} AS link
        FROM ({_per_unit(hits, "period, due, k", params)}) g"""
    return await notify_units(session, tenant_id, rows, params, kind="report_day_reminder")


def _overdue_table(today: date, latest: date) -> tuple[list[date], list[int]]:
    """Working days overdue for each deadline from OVERDUE_HISTORY_DAYS ago up to `latest`, counted backwards from
    today in one pass (the SQL joins it on the deadline)."""
    days: list[date] = []
    counts: list[int] = []
    count, day = 0, today
    oldest = today - timedelta(days=OVERDUE_HISTORY_DAYS)
    while day > oldest:
        count += is_workday(day)
        day -= timedelta(days=1)
        if day <= latest:
            days.append(day)
            counts.append(count)
    return days, counts


async def _escalate(
    session: AsyncSession, tenant_id: uuid.UUID, policy: ReminderPolicy, today: date,
) -> tuple[int, int, int]:
    """Issues the 督办单 each overdue assignment has climbed to, then tells whom the level names: the unit head
    (yellow); supervisors and leaders as well (red). Work found already past the red level (first sweep of an old
    plan, a worker that was down) gets the red notice only. Returns (notices, people notified, robot messages)."""
    levels = [(NoticeLevel.yellow.value, overdue_cutoff(today, policy.escalate_unit_head_after)),
              (NoticeLevel.red.value, overdue_cutoff(today, max(policy.escalate_leaders_after,
                                                                 policy.escalate_unit_head_after)))]
    days, counts = _overdue_table(today, levels[0][1])
    issued = (await session.execute(text(f"""
        INSERT INTO supervision_notices (id, tenant_id, task_id, unit_id, level, deadline, workdays_overdue, year,
                                         seq, issued_at)
        SELECT gen_random_uuid(), CAST(:tenant_id AS uuid), a.task_id, a.unit_id, l.level, a.deadline,
               coalesce(o.n, 0), :year,
               (SELECT coalesce(max(seq), 0) FROM supervision_notices WHERE year = :year)
                 + row_number() OVER (ORDER BY l.level DESC, t.number, a.unit_id), now()
        FROM task_assignments a JOIN tasks t ON t.id = a.task_id
        JOIN unnest(CAST(:levels AS text[]), CAST(:cutoffs AS date[])) AS l(level, cutoff) ON a.deadline <= l.cutoff
             AND (l.level = 'red' OR a.deadline > CAST(:red_cutoff AS date))
        LEFT JOIN unnest(CAST(:days AS date[]), CAST(:counts AS int[])) AS o(day, n) ON o.day = a.deadline
        WHERE {OPEN_ASSIGNMENT} AND {OPEN_TASK}
          AND NOT EXISTS (SELECT 1 FROM supervision_notices s WHERE s.task_id = a.task_id AND s.unit_id = a.unit_id
                          AND s.level = l.level AND s.deadline = a.deadline)
        RETURNING id
    """), params={"tenant_id": tenant_id, "year": today.year, "levels": [lv[0] for lv in levels],
                  "cutoffs": [lv[1] for lv in levels], "red_cutoff": levels[1][1], "days": days,
                  "counts": counts})).all()
    if not issued:
        return 0, 0, 0
    params: dict = {"ids": [row[0] for row in issued]}
    columns = {"number": "t.number", "title": "t.title", "unit": "u.name", "days": "s.workdays_overdue::text",
               "notice": sql_message(NOTICE_NUMBER, NOTICE_NUMBER_COLUMNS, "notice_tpl", params),
               "deadline": "to_char(s.deadline, 'YYYY-MM-DD')"}
    yellow = sql_message(N_("【黄色督办】%(number)s %(title)s"), columns, "yellow_tpl", params)
    red = sql_message(N_("【红色督办】%(number)s %(title)s"), columns, "red_tpl", params)
    body = sql_message(N_("%(unit)s承办的任务已超过办理时限（%(deadline)s）%(days)s 个工作日，"
                          "现发出督办单（%(notice)s），请立即办理并报送进展。"), columns, "body_tpl", params)
    notices = f"""
        SELECT s.id, s.level, s.unit_id, s.task_id, {yellow} AS yellow, {red} AS red, {body} AS body
        FROM supervision_notices s JOIN tasks t ON t.id = s.task_id JOIN units u ON u.id = s.unit_id
        WHERE s.id = ANY(CAST(:ids AS uuid[]))"""
    recipients = f"""
        SELECT m.id AS membership_id, 'notice:' || n.id::text AS key,
               CASE WHEN n.level = 'red' THEN n.red ELSE n.yellow END AS title, n.body,
               '/tasks/' || n.task_id::text AS link
        FROM ({notices}) n JOIN memberships m ON m.is_active AND (
            (m.unit_id = n.unit_id AND m.role = 'unit_head')
            OR (n.level = 'red' AND m.role = 'supervisor')
            OR (n.level = 'red' AND m.role = 'leader' AND (
                m.id IN (SELECT o.membership_id FROM task_owners o WHERE o.task_id = n.task_id)
                OR NOT EXISTS (SELECT 1 FROM task_owners o JOIN memberships lm ON lm.id = o.membership_id
                               WHERE o.task_id = n.task_id AND lm.role = 'leader'))))"""
    notified = await notify_decided(session, tenant_id, recipients, params, kind="escalation")
    robot_rows = f"""
        SELECT n.unit_id, 'notice:' || n.id::text AS key,
               CASE WHEN n.level = 'red' THEN n.red ELSE n.yellow END AS title, n.body,
               '/tasks/' || n.task_id::text AS link FROM ({notices}) n
        UNION ALL
        SELECT NULL, 'notice:' || n.id::text, n.red, n.body, '/tasks/' || n.task_id::text
        FROM ({notices}) n WHERE n.level = 'red'"""
    robots = await queue_robot_messages(session, tenant_id, robot_rows, params)
    return len(issued), notified, robots
