"""办结 that checks (issue 13): a task was 办结 with its target short, no measure ticked and the co-unit never signed,
and its progress jumped to 100%. Now the supervisor is shown what is unfinished and must give a reason to close
anyway; the reason is kept with the decision (台账) and in the audit log; progress stays what was reported."""

import pytest
from sqlmodel import select

from backend.db import unit_of_work
from backend.errors import InvalidInput
from backend.reports import service as reports
from backend.reports.completion import target_short
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import TaskChecklistItem, TaskTarget
from tests.reports.helpers import EARLY_NOVEMBER, events, filed, reviews_of, run, task_of


@pytest.fixture(autouse=True)
def _november(clock):
    clock(EARLY_NOVEMBER)


async def _request(loop):
    task = await task_of(loop)
    return await run(loop, reports.request_completion, loop.staff, loop.task_id, summary="全年任务完成。",
                     version=task.version)


async def _everything_else_done(loop, *, percent: int) -> None:
    """The co-unit signed and added its part, the target is met and every measure ticked; progress as given."""
    await run(loop, lifecycle.acknowledge, loop.co_staff, loop.task_id, version=None)
    report = await filed(loop, percent=percent, target_actuals={str(loop.target_id): "12"})
    await run(loop, reports.contribute, loop.co_staff, report.id, text="配合单位组织了两次培训。")
    async with unit_of_work(loop.tenant_id) as session:
        for item in (await session.exec(select(TaskChecklistItem).where(
                TaskChecklistItem.task_id == loop.task_id))).all():
            await tasks.tick_measure(session, loop.staff, loop.task_id, item.id, done=True)


async def test_unfinished_work_needs_a_reason_and_progress_stays_as_reported(loop):
    await filed(loop, percent=30, target_actuals={str(loop.target_id): "3"})
    request = await _request(loop)
    with pytest.raises(InvalidInput) as refused:
        await run(loop, reports.decide_completion, loop.supervisor, request.id, approve=True, comment="同意",
                  version=request.version)
    message = refused.value.message
    assert refused.value.field == "override_reason"
    assert "目前 3次，目标 12次" in message and "工作措施 2 项中已勾选 0 项" in message
    assert "配合单位 实验小学：未签收，也未报送任何进展" in message
    assert "最近一次报送的完成进度为 30%" in message  # a task still at 30% is not quietly closed
    assert (await task_of(loop)).state == "completion_requested"  # nothing was decided
    await run(loop, reports.decide_completion, loop.supervisor, request.id, approve=True, comment="同意",
              version=request.version, override_reason="次数以年终统计为准")
    task = await task_of(loop)
    assert task.state == "done" and task.progress == 30  # not 100: that was never reported
    [review] = await reviews_of(loop, request.id)
    assert review.override_reason == "次数以年终统计为准" and len(review.unfinished) == 4
    [event] = await events(loop, "task.completion_approve", loop.task_id)
    assert event.details["override_reason"] == "次数以年终统计为准" and len(event.details["unfinished"]) == 4
    assert "办结理由：次数以年终统计为准" in event.summary


async def test_nothing_unfinished_needs_no_reason(loop):
    await _everything_else_done(loop, percent=100)
    request = await _request(loop)
    async with unit_of_work(loop.tenant_id) as session:
        [view] = [v for v in await reports.review_queue(session, loop.supervisor) if v.report.id == request.id]
    assert view.unfinished == []
    await run(loop, reports.decide_completion, loop.supervisor, request.id, approve=True,
              version=request.version, override_reason="多余的理由不记")
    [review] = await reviews_of(loop, request.id)
    assert review.unfinished == [] and review.override_reason == ""
    assert (await task_of(loop)).progress == 100


@pytest.mark.parametrize("comparator, value, actual, short", [
    ("不少于", 2000, 350, True), ("以上", 26, 26, False), (None, 12, None, True),
    ("控制在", 5, 7, True), ("不超过", 5, 3, False), ("区间", 90, 10, False),
])
def test_what_counts_as_short_of_a_target(comparator, value, actual, short):
    target = TaskTarget(tenant_id=None, task_id=None, value=value, unit="人次", comparator=comparator, text="",
                        actual=actual, position=0)
    assert target_short(target) is short


async def test_progress_under_100_alone_needs_a_reason(loop):
    """A task with no targets or measures left open and every unit heard from, but last reported at 40%."""
    await _everything_else_done(loop, percent=40)
    request = await _request(loop)
    with pytest.raises(InvalidInput) as refused:
        await run(loop, reports.decide_completion, loop.supervisor, request.id, approve=True, comment="同意",
                  version=request.version)
    assert refused.value.field == "override_reason" and "最近一次报送的完成进度为 40%" in refused.value.message
