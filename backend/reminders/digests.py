"""The daily digest (每日待办: what waits for each person, sent only when something does) and the leaders' weekly
overview (每周概览). A fixed number of queries per bureau whatever its size; one digest per person per day."""

import uuid
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.calendar import add_workdays
from backend.delivery.notify import notify_decided
from backend.delivery.service import queue_robot_messages
from backend.i18n import _
from backend.reminders.sql import OPEN_ASSIGNMENT, OPEN_TASK
from backend.tasks.states import count_states, in_progress

SOON_WORKDAYS = 3
WEEKLY_LIST = 10


async def _unit_counts(session: AsyncSession, today: date) -> dict[uuid.UUID, Counter]:
    rows = (await session.execute(text(f"""
        SELECT a.unit_id,
               count(*) FILTER (WHERE a.state = 'assigned') AS to_acknowledge,
               count(*) FILTER (WHERE {OPEN_ASSIGNMENT} AND {OPEN_TASK} AND a.deadline < :today)
                 AS overdue,
               count(*) FILTER (WHERE {OPEN_ASSIGNMENT} AND {OPEN_TASK}
                                AND a.deadline BETWEEN :today AND :soon) AS due_soon
        FROM task_assignments a JOIN tasks t ON t.id = a.task_id GROUP BY a.unit_id
    """), params={"today": today, "soon": add_workdays(today, SOON_WORKDAYS)})).all()
    counts: dict[uuid.UUID, Counter] = {}
    for unit_id, to_acknowledge, overdue, due_soon in rows:
        counts[unit_id] = Counter(to_acknowledge=to_acknowledge, overdue=overdue, due_soon=due_soon)
    reports = (await session.execute(text("""
        SELECT unit_id, count(*) FILTER (WHERE state = 'returned'), count(*) FILTER (WHERE state = 'awaiting_unit_head')
        FROM progress_reports GROUP BY unit_id
    """))).all()
    for unit_id, returned, awaiting in reports:
        counts.setdefault(unit_id, Counter()).update(returned=returned, awaiting_unit_head=awaiting)
    return counts


async def _bureau_counts(session: AsyncSession) -> Counter:
    to_review, extensions, dead = (await session.execute(text("""
        SELECT (SELECT count(*) FROM progress_reports WHERE state = 'submitted'),
               (SELECT count(*) FROM extension_requests WHERE state = 'pending'),
               (SELECT count(*) FROM outbox WHERE state = 'dead')
    """))).one()
    return Counter(to_review=to_review, extensions=extensions, dead=dead)


def _lines(role: str, unit: Counter, bureau: Counter) -> list[str]:
    """What waits for one person, by role; empty when nothing does."""
    lines: list[str | int] = []  # a line, or the 0 its count was
    if role in ("unit_head", "unit_staff"):
        lines += [
            unit["to_acknowledge"] and _("待签收任务 %(n)s 项", n=unit["to_acknowledge"]),
            unit["overdue"] and _("已超期任务 %(n)s 项", n=unit["overdue"]),
            unit["due_soon"] and _("%(d)s 个工作日内到期 %(n)s 项", d=SOON_WORKDAYS, n=unit["due_soon"]),
            unit["returned"] and _("被退回待修改的报告 %(n)s 份", n=unit["returned"]),
        ]
    if role == "unit_head":
        awaiting = unit["awaiting_unit_head"]
        lines.append(awaiting and _("待本单位负责人审核的报告 %(n)s 份", n=awaiting))
    if role == "supervisor":
        lines.append(bureau["to_review"] and _("待审核的进展报告 %(n)s 份", n=bureau["to_review"]))
    if role in ("supervisor", "leader"):
        lines.append(bureau["extensions"] and _("待审批的延期申请 %(n)s 项", n=bureau["extensions"]))
    if role == "admin":
        lines.append(bureau["dead"] and _("发送失败待处理的通知 %(n)s 条", n=bureau["dead"]))
    return [line for line in lines if isinstance(line, str)]


async def daily_digests(session: AsyncSession, tenant_id: uuid.UUID, today: date) -> int:
    """Sends each member who wants it a digest of what waits for them today; returns how many were new."""
    units = await _unit_counts(session, today)
    bureau = await _bureau_counts(session)
    members = (await session.execute(text("""
        SELECT m.id, m.role, m.unit_id FROM memberships m
        LEFT JOIN notification_preferences p ON p.membership_id = m.id
        WHERE m.is_active AND coalesce(p.daily_digest, true)
    """))).all()
    ids, bodies = [], []
    for membership_id, role, unit_id in members:
        lines = _lines(role, units.get(unit_id, Counter()), bureau)
        if lines:
            ids.append(membership_id)
            bodies.append("\n".join(f"· {line}" for line in lines))
    if not ids:
        return 0
    decided = ("SELECT d.membership_id, CAST(:key AS text) AS key, CAST(:title AS text) AS title, d.body, "
               "'/' AS link FROM unnest(CAST(:ids AS uuid[]), CAST(:bodies AS text[])) AS d(membership_id, body)")
    return await notify_decided(session, tenant_id, decided, {
        "ids": ids, "bodies": bodies, "key": f"digest:{today.isoformat()}",
        "title": _("【每日待办】%(date)s 您有待办事项", date=today.isoformat())}, kind="daily_digest")


async def weekly_overview(session: AsyncSession, tenant_id: uuid.UUID, today: date) -> tuple[int, int]:
    """The leaders' overview of the bureau's week: counts, the red tasks and the units with the most overdue work.
    Also to the bureau's group robots. Returns (leaders notified, robot messages)."""
    week_ago = today - timedelta(days=7)
    counts = await count_states(session, today=today)
    done_this_week = (await session.execute(
        text("SELECT count(*) FROM tasks WHERE state = 'done' AND done_at >= :since"), params={"since": week_ago},
    )).one()[0]
    reds = (await session.execute(text(f"""
        SELECT number, title, light_reason FROM tasks t WHERE {in_progress()} AND light = 'red'
        ORDER BY deadline, number LIMIT :n
    """), params={"n": WEEKLY_LIST})).all()
    late_units = (await session.execute(text(f"""
        SELECT u.name, count(*) AS n FROM task_assignments a JOIN tasks t ON t.id = a.task_id
        JOIN units u ON u.id = a.unit_id
        WHERE {OPEN_ASSIGNMENT} AND {OPEN_TASK} AND a.deadline < :today
        GROUP BY u.name ORDER BY n DESC, u.name LIMIT 5
    """), params={"today": today})).all()
    lines = [_("推进中（已交办、未办结）%(open)s 项，其中超期（已过时限、仍未办结）%(overdue)s 项、红灯 %(red)s 项、"
               "黄灯 %(yellow)s 项；待交办（尚未交给单位）%(unassigned)s 项；本周办结 %(done)s 项。",
               open=counts.in_progress, overdue=counts.overdue, red=counts.red, yellow=counts.yellow,
               unassigned=counts.unassigned, done=done_this_week)]
    if reds:
        lines.append(_("红灯任务："))
        lines += [f"· {number} {title}（{reason}）" for number, title, reason in reds]
    if late_units:
        lines.append(_("超期较多的单位："))
        lines += [_("· %(unit)s：超期 %(n)s 项", unit=name, n=n) for name, n in late_units]
    year, week, _day = today.isocalendar()
    params = {"key": f"weekly:{year}-W{week:02d}", "body": "\n".join(lines), "link": "/tasks",
              "title": _("【每周概览】%(year)s年第%(week)s周", year=year, week=week)}
    leaders = ("SELECT m.id AS membership_id, CAST(:key AS text) AS key, CAST(:title AS text) AS title, "
               "CAST(:body AS text) AS body, CAST(:link AS text) AS link FROM memberships m "
               "LEFT JOIN notification_preferences p ON p.membership_id = m.id "
               "WHERE m.is_active AND m.role = 'leader' AND coalesce(p.weekly_digest, true)")
    notified = await notify_decided(session, tenant_id, leaders, params, kind="weekly_overview")
    bureau_robot = ("SELECT CAST(NULL AS uuid) AS unit_id, CAST(:key AS text) AS key, CAST(:title AS text) AS title, "
                    "CAST(:body AS text) AS body, CAST(:link AS text) AS link")
    return notified, await queue_robot_messages(session, tenant_id, bureau_robot, params)
