"""Quarterly and one-off report duties and the bureau's own report day, counted by hand. (No page sets a task's
report frequency yet, so the test sets it on the row, as tests/reminders does.)"""

from datetime import date

from backend.bulletins.figures import ReportCounts, unit_report_counts
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.reports import service as reports
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import ReportFrequency
from backend.tenancy.bureau_settings import update_bureau_settings
from tests.bulletins.scenario import at, next_year


async def test_quarterly_once_and_a_report_day_past_the_months_end(bureau, clock):
    y = next_year()
    admin, supervisor = bureau.actors[Role.admin], bureau.actors[Role.supervisor]
    school, staff = bureau.units["school"], bureau.actors[Role.unit_staff]
    async with unit_of_work(bureau.tenant.id) as session:
        # Report day 31: each month's report is due on its last day (28 February in a common year).
        await update_bureau_settings(session, admin, report_day=31, unit_head_approval=False)
        quarterly, once, monthly = await tasks.create_tasks(session, supervisor, y, [
            tasks.NewTask(title=title, description="", deadline=deadline, lead_unit_ids=[school.id])
            for title, deadline in (("季度任务", date(y, 12, 31)), ("一次性任务", date(y, 5, 10)),
                                    ("月度任务", date(y, 12, 31)))])
        for task, frequency in ((quarterly, ReportFrequency.quarterly), (once, ReportFrequency.once)):
            task.report_frequency = frequency
            session.add(task)

    async def file(task, period, when):
        clock(when)
        async with unit_of_work(bureau.tenant.id) as session:
            report = await reports.save_report(session, staff, task.id, period=period, progress="已推进。", version=0)
            await reports.submit_report(session, staff, report.id, version=report.version)

    await file(quarterly, f"{y}-Q1", at(y, 3, 20))  # due 03-31: on time
    await file(once, "once", at(y, 5, 12))  # due on the deadline 05-10: late
    await file(monthly, f"{y}-01", at(y, 1, 31))  # due 01-31: on time (the day itself)
    await file(monthly, f"{y}-02", at(y, 3, 1))  # due 02-28 or 02-29: late
    async with unit_of_work(bureau.tenant.id) as session:
        half = await unit_report_counts(session, bureau.tenant.id, date(y, 1, 1), date(y, 6, 30))
        february = await unit_report_counts(session, bureau.tenant.id, date(y, 2, 1), date(y, 2, 28))
    # January–June: quarterly Q1 (03-31) and Q2 (06-30) = 2, once (05-10) = 1, monthly Jan–Jun = 6 → 9 due.
    # Filed: Q1, once, January, February = 4; late: once and February = 2; on time 2; missing 9 − 4 = 5.
    assert half[school.id] == ReportCounts(due=9, filed=4, on_time=2, late=2, missing=5)
    # February alone: only the monthly report, due on the month's last day (28th, or the 29th in a leap year; the
    # window ends on the 28th, so a leap year would owe nothing by then).
    expected = ReportCounts(due=1, filed=1, on_time=0, late=1, missing=0)
    assert february.get(school.id) == (expected if (y % 4) else None)
    # The office leads the plan's own 深化理论学习 (still open, long past its deadline): it still owes a report each
    # month, January–June = 6, none filed. The cooperating school owes nothing for it.
    assert half[bureau.units["office"].id] == ReportCounts(due=6, filed=0, on_time=0, late=0, missing=6)


async def test_done_and_sent_back_assignments_owe_nothing(bureau, clock):
    """Two additions to the brief's wording (docs/CYCLE.md): a unit cannot file on an assignment it sent back, nor
    on any assignment of a task after its 办结 (which closes only the lead unit's assignment)."""
    y = next_year()
    supervisor, staff = bureau.actors[Role.supervisor], bureau.actors[Role.unit_staff]
    school, office = bureau.units["school"], bureau.units["office"]
    async with unit_of_work(bureau.tenant.id) as session:
        shared, refused = await tasks.create_tasks(session, supervisor, y, [
            tasks.NewTask(title="共同任务", description="", deadline=date(y, 12, 31),
                          lead_unit_ids=[school.id, office.id]),
            tasks.NewTask(title="不属于本单位的任务", description="", deadline=date(y, 12, 31),
                          lead_unit_ids=[school.id])])
        await lifecycle.send_back(session, staff, refused.id, reason="应由办公室承办", version=refused.version)
    clock(at(y, 1, 20))
    async with unit_of_work(bureau.tenant.id) as session:
        request = await reports.request_completion(session, staff, shared.id, summary="已完成。",
                                                   version=shared.version)
    clock(at(y, 1, 22))
    async with unit_of_work(bureau.tenant.id) as session:
        await reports.decide_completion(session, supervisor, request.id, approve=True, comment="",
                                        version=request.version, override_reason="经核对同意办结")
        march = await unit_report_counts(session, bureau.tenant.id, date(y, 3, 1), date(y, 3, 31))
    # March: the school owes nothing (the shared task is done, the other was sent back); the office, responsible
    # on the shared task, owes nothing after its 办结 on 01-22 either — only its plan task 深化理论学习 (1 due).
    assert school.id not in march
    assert march[office.id] == ReportCounts(due=1, filed=0, on_time=0, late=0, missing=1)
