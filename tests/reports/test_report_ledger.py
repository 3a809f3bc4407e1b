"""Reading reports back: a task's ledger, the review queue, and that both take a fixed number of queries."""

import uuid
from datetime import UTC, date, datetime

import pytest

from backend.db import unit_of_work
from backend.reports import service as reports
from tests.reports.helpers import QueryCounter, filed, run, save

pytestmark = pytest.mark.usefixtures("november")


async def test_reports_for_task_has_everything_and_hides_drafts_from_the_bureau(loop):
    october = await filed(loop, period="2026-10", target_actuals={str(loop.target_id): "5"})
    await run(loop, reports.contribute, loop.co_staff, october.id, text="学校配合")
    await run(loop, reports.review, loop.supervisor, october.id, accept=False, comment="补充", version=october.version)
    await save(loop)  # November's draft
    async with unit_of_work(loop.tenant_id) as session:
        seen_by_bureau = await reports.reports_for_task(session, loop.leader, loop.task_id)
        seen_by_unit = await reports.reports_for_task(session, loop.staff, loop.task_id)
    assert [v.report.period for v in seen_by_bureau.reports] == ["2026-10"]
    assert [v.report.period for v in seen_by_unit.reports] == ["2026-11", "2026-10"]
    view = seen_by_bureau.reports[0]
    assert [(c.contribution.text, c.unit) for c in view.contributions] == [("学校配合", "实验小学")]
    assert [(a.target.id, a.actual) for a in view.actuals] == [(loop.target_id, 5.0)]
    assert [(r.review.decision, r.review.comment, r.reviewer) for r in view.reviews] == [
        ("return", "补充", loop.supervisor.display_name)]
    assert view.state_text == "已退回" and view.period_text == "2026年10月"


async def _more_tasks(loop, n: int) -> list[uuid.UUID]:
    from backend.tasks.service import NewTask, create_tasks

    async with unit_of_work(loop.tenant_id) as session:
        tasks = await create_tasks(session, loop.supervisor, 2026, [
            NewTask(title=f"附加任务{i}", description="", deadline=date(2026, 12, 31),
                    lead_unit_ids=[loop.bureau.units["office"].id], co_unit_ids=[loop.bureau.units["school"].id])
            for i in range(n)])
        return [t.id for t in tasks]


async def test_queue_and_ledger_take_a_fixed_number_of_queries(loop):
    async def measure(task_id):
        async with unit_of_work(loop.tenant_id) as session:
            with QueryCounter() as queue:
                await reports.review_queue(session, loop.supervisor)
            with QueryCounter() as ledger:
                await reports.reports_for_task(session, loop.supervisor, task_id)
            with QueryCounter() as form:
                await reports.report_form(session, loop.staff, task_id)
        return queue.count, ledger.count, form.count

    report = await filed(loop)
    await run(loop, reports.contribute, loop.co_staff, report.id, text="配合")
    small = await measure(loop.task_id)
    for task_id in await _more_tasks(loop, 4):
        await run(loop, reports.submit_report, loop.staff,
                  (await run(loop, reports.save_report, loop.staff, task_id, progress="进展")).id, version=1)
    for period in ("2026-09", "2026-10"):
        r = await filed(loop, period=period, target_actuals={str(loop.target_id): "2"})
        await run(loop, reports.contribute, loop.co_staff, r.id, text="配合")
    async with unit_of_work(loop.tenant_id) as session:
        assert len(await reports.review_queue(session, loop.supervisor)) == 7
    assert await measure(loop.task_id) == small


async def test_review_queue_is_oldest_first_with_task_and_unit(loop, clock):
    clock(datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
    older = await filed(loop, period="2026-10")
    clock(datetime(2026, 11, 5, 2, 0, tzinfo=UTC))
    newer = await filed(loop)
    async with unit_of_work(loop.tenant_id) as session:
        queue = await reports.review_queue(session, loop.supervisor)
    assert [v.report.id for v in queue] == [older.id, newer.id]
    assert (queue[0].task.number, queue[0].task.title, queue[0].unit) == (loop.task_number, "深化理论学习", "办公室")
    # A page shows the oldest few and says how many wait in all.
    async with unit_of_work(loop.tenant_id) as session:
        first = await reports.review_queue(session, loop.supervisor, limit=1)
    assert [v.report.id for v in first] == [older.id] and first.total == 2
