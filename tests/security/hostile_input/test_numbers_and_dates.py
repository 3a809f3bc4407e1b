"""Numbers and dates as people type them: full-width digits count, impossible dates are refused with a message."""

import pytest

from backend.evidence.models import Evidence
from backend.tasks.models import ExtensionRequest, Task
from backend.tenancy.models import BureauSettings
from tests.security.hostile_input.helpers import load, new_task, refused, report_form, report_of_task, said, upload
from tests.support import hostile
from tests.support.fixtures import PNG, unique


async def test_full_width_digits_count_as_numbers(world, people):
    p = people
    task_id = await new_task(world, p.supervisor, unique("全角数字"))
    for typed, number in hostile.FULL_WIDTH_DIGITS.items():
        if number > 31:
            continue
        assert (await p.admin.post("/admin/report-settings", {"report_day": typed})).status_code == 303
        [settings] = await load(world, BureauSettings, BureauSettings.tenant_id == world.tenant_id)
        assert settings.report_day == number
    assert (await p.admin.post("/admin/report-settings", {"report_day": "25"})).status_code == 303
    version = 0
    for typed, number in hostile.FULL_WIDTH_DIGITS.items():
        saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(percent=typed, version=str(version)))
        assert saved.status_code == 303, (typed, said(saved))
        report = await report_of_task(world, task_id)
        assert report.percent == number
        version = report.version
    created = await p.supervisor.post("/tasks/new", {"title": unique("全角日期"), "deadline": "２０２６-１２-３１",
                                                     "lead_unit_id": str(world.bureau.units["office"].id)})
    assert created.status_code == 303 or "日期" in refused(created, 422)


@pytest.mark.parametrize("typed", hostile.BAD_DATES)
async def test_impossible_dates_are_refused_with_a_message_and_nothing_changes(world, people, typed):
    p = people
    office = str(world.bureau.units["office"].id)
    title = unique("坏日期")
    refused(await p.supervisor.post("/tasks/new", {"title": title, "deadline": typed, "lead_unit_id": office}), 422)
    assert not await load(world, Task, Task.title == title)
    task_id = await new_task(world, p.supervisor, unique("坏日期任务"))
    saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(progress="原来的进展", percent="40"))
    assert saved.status_code == 303
    draft = await report_of_task(world, task_id)
    typed_text = "这次改了进展"
    page = await p.staff.post(f"/tasks/{task_id}/report", report_form(
        progress=typed_text, expected_completion=typed, version=str(draft.version)))
    assert typed_text in refused(page, 422)  # what was typed is still in the form …
    after = await report_of_task(world, task_id)
    assert (after.progress, after.percent, after.version) == ("原来的进展", 40, draft.version)  # … and the draft kept
    refused(await p.staff.post(f"/tasks/{task_id}/extension", {"requested_deadline": typed, "reason": "理由"}), 422)
    refused(await p.staff.post(f"/tasks/{task_id}/evidence", {"covers_from": typed},
                               files=upload("照片.png", PNG, "image/png")), 422)
    assert not await load(world, ExtensionRequest, ExtensionRequest.task_id == task_id)
    assert not await load(world, Evidence, Evidence.task_id == task_id)
    empty = await p.supervisor.post("/tasks/new", {"title": title, "deadline": "", "lead_unit_id": office})
    assert "时限" in refused(empty, 422)
