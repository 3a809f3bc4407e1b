"""Writing a report's draft: what is saved, what is refused (with the field that is wrong), and that a refusal
loses nothing saved before."""

import uuid
from datetime import date

import pytest
from sqlmodel import select

from backend.db import unit_of_work
from backend.errors import Conflict, InvalidInput
from backend.reports.models import TargetActual
from tests.reports.helpers import STALE, count_reports, events, filed, report_of, save, task_of

pytestmark = pytest.mark.usefixtures("november")


async def test_save_creates_a_draft_of_the_current_period(loop):
    report = await save(loop, problems="场地不足", next_steps="下月再学2次", support_needed="请协调报告厅",
                        percent="40", expected_completion="2026-12-20", target_actuals={str(loop.target_id): "3"})
    assert (report.state, report.period, report.kind, report.version) == ("draft", "2026-11", "periodic", 1)
    assert report.due_on == date(2026, 11, 25) and not report.late and report.submitted_at is None
    assert (report.progress, report.problems, report.next_steps, report.support_needed) == (
        "开展专题学习3次，覆盖全体党员。", "场地不足", "下月再学2次", "请协调报告厅")
    assert report.percent == 40 and report.expected_completion == date(2026, 12, 20)
    async with unit_of_work(loop.tenant_id) as session:
        actuals = (await session.exec(select(TargetActual).where(TargetActual.report_id == report.id))).all()
    assert [(a.target_id, a.actual) for a in actuals] == [(loop.target_id, 3.0)]
    task = await task_of(loop)
    assert task.state == "assigned" and task.progress == 0 and task.last_report_at is None  # a draft moves nothing
    created = await events(loop, "report.create", report.id)
    assert len(created) == 1 and created[0].details["before"] is None
    assert created[0].details["after"]["state"] == "draft"


async def test_saving_again_updates_the_draft_and_a_stale_form_is_refused(loop):
    first = await save(loop, version=0)
    second = await save(loop, progress="改写后的进展", version=1)
    assert second.id == first.id and second.version == 2 and second.progress == "改写后的进展"
    with pytest.raises(Conflict) as caught:  # the same form (version 1) posted again
        await save(loop, progress="旧表单的内容", version=1)
    assert STALE in caught.value.message
    with pytest.raises(Conflict):  # a second "new report" form for the same period
        await save(loop, progress="另一个新表单", version=0)
    kept = await report_of(loop, first.id)
    assert kept.progress == "改写后的进展" and kept.version == 2
    assert await count_reports(loop) == 1
    assert len(await events(loop, "report.update", first.id)) == 1


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"percent": "120"}, "percent", "0 到 100"),
    ({"percent": "-5"}, "percent", "0 到 100"),
    ({"percent": "六十"}, "percent", "0 到 100"),
    ({"percent": "60.5"}, "percent", "整数"),
    ({"expected_completion": "2026-13-45"}, "expected_completion", "预计完成时间"),
    ({"expected_completion": "下个月"}, "expected_completion", "2026-12-31"),
    ({"progress": "字" * 5001}, "progress", "进展情况不能超过 5000 字"),
    ({"problems": "字" * 5001}, "problems", "存在问题不能超过"),
])
async def test_bad_values_are_refused_with_the_field_and_nothing_saved_is_lost(loop, changes, field, words):
    saved = await save(loop, percent=30, target_actuals={str(loop.target_id): "3"})
    with pytest.raises(InvalidInput) as caught:
        await save(loop, **{"version": saved.version, **changes})
    assert caught.value.field == field and words in caught.value.message
    kept = await report_of(loop, saved.id)
    assert (kept.progress, kept.percent, kept.version) == (saved.progress, 30, saved.version)


async def test_a_target_actual_must_be_a_number_of_this_task(loop):
    saved = await save(loop, target_actuals={str(loop.target_id): "3"})
    with pytest.raises(InvalidInput) as caught:
        await save(loop, version=saved.version, target_actuals={str(loop.target_id): "十二"})
    assert caught.value.field == f"actual-{loop.target_id}" and "开展专题学习" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        await save(loop, version=saved.version, target_actuals={str(uuid.uuid4()): "1"})
    assert caught.value.field == "actuals" and "不属于该任务" in caught.value.message
    async with unit_of_work(loop.tenant_id) as session:
        actual = (await session.exec(select(TargetActual).where(TargetActual.report_id == saved.id))).one()
    assert actual.actual == 3.0


async def test_full_width_digits_units_and_chinese_dates_are_understood(loop):
    report = await save(loop, percent="６０%", expected_completion="2026年12月31日",
                        target_actuals={str(loop.target_id): "1,2次"})
    assert report.percent == 60 and report.expected_completion == date(2026, 12, 31)
    again = await save(loop, version=report.version, target_actuals={str(loop.target_id): ""})  # empty clears it
    async with unit_of_work(loop.tenant_id) as session:
        assert (await session.exec(select(TargetActual).where(TargetActual.report_id == again.id))).all() == []


@pytest.mark.parametrize(("period", "field", "words"), [
    ("2026-Q4", "period", "报送频次不符"),
    ("2026-12", "period", "不能提前填报"),
    ("1999-01", "period", "不能提前填报"),
    ("garbage", "period", "报送频次不符"),
])
async def test_the_period_must_fit_the_task(loop, period, field, words):
    with pytest.raises(InvalidInput) as caught:
        await save(loop, period=period)
    assert caught.value.field == field and words in caught.value.message
    assert await count_reports(loop) == 0


async def test_an_earlier_period_can_be_filed_and_is_late(loop):
    report = await filed(loop, period="2026-10")
    assert report.period == "2026-10" and report.due_on == date(2026, 10, 25) and report.late
