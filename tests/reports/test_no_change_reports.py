""""No change this month": a one-tap report with a reason that keeps the last percent."""

import pytest

from backend.errors import Conflict, InvalidInput
from backend.reports import service as reports
from tests.reports.helpers import events, filed, run, save, task_of

pytestmark = pytest.mark.usefixtures("november")


async def test_no_change_is_one_tap_with_a_reason_and_the_last_percent(loop):
    october = await filed(loop, period="2026-10", percent=45, expected_completion="2026-12-31")
    with pytest.raises(InvalidInput) as caught:
        await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="  ")
    assert caught.value.field == "reason" and "原因" in caught.value.message
    report = await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="等待上级批复")
    assert (report.state, report.period, report.no_change, report.no_change_reason) == (
        "submitted", "2026-11", True, "等待上级批复")
    assert report.percent == 45 and report.expected_completion == october.expected_completion
    assert (await task_of(loop)).progress == 45
    assert len(await events(loop, "report.no_change", report.id)) == 1
    with pytest.raises(reports.AlreadySubmitted):
        await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="再点一次")


async def test_a_returned_no_change_report_becomes_an_ordinary_one_when_progress_is_written(loop):
    report = await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="等待批复")
    returned = await run(loop, reports.review, loop.supervisor, report.id, accept=False,
                         comment="本月召开了专题会，请如实填写", version=report.version)
    fixed = await save(loop, progress="召开专题会1次", version=returned.version)
    assert (fixed.no_change, fixed.no_change_reason, fixed.state) == (False, "", "returned")


async def test_no_change_completes_a_draft_of_the_period(loop):
    draft = await save(loop, progress="", percent=0)
    with pytest.raises(Conflict):  # the draft changed since the form was shown
        await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="无", version=0)
    report = await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="无",
                       version=draft.version)
    assert report.id == draft.id and report.state == "submitted" and report.no_change
