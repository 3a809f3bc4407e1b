"""A refused submit (hostile or malformed) leaves the saved draft and its evidence as they were."""

import uuid

from backend.evidence.models import Evidence
from tests.security.hostile_input.helpers import load, new_task, refused, report_form, report_of_task, upload
from tests.support import hostile
from tests.support.fixtures import PNG, unique


async def test_a_refused_submit_leaves_the_saved_draft_as_it_was(world, people):
    p = people
    task_id = await new_task(world, p.supervisor, unique("草稿不丢"))
    saved = await p.staff.post(f"/tasks/{task_id}/report", report_form(
        progress="已开展两次专题学习", problems="场地紧张", next_steps="继续推进", percent="40"))
    assert saved.status_code == 303
    draft = await report_of_task(world, task_id)
    uploaded = await p.staff.post(f"/tasks/{task_id}/evidence", {"description": "第一份", "report_id": str(draft.id)},
                                  files=upload("第一份.png", PNG, "image/png"))
    assert uploaded.status_code == 303
    draft = await report_of_task(world, task_id)
    hostile_submits = [
        report_form(progress=hostile.MEGABYTE, action="submit", version=str(draft.version)),
        report_form(progress="改了", percent="百分之六十", action="submit", version=str(draft.version)),
        report_form(progress="改了", percent="150", action="submit", version=str(draft.version)),
        report_form(progress="改了", expected_completion="2026-02-30", action="submit", version=str(draft.version)),
        report_form(progress="改了", action="submit", version="not-a-number", **{f"actual-{uuid.uuid4()}": "3"}),
    ]
    for form in hostile_submits:
        response = await p.staff.post(f"/tasks/{task_id}/report", form)
        refused(response, 400, 409, 413, 422)
    invalid = (b"action=submit&version=" + str(draft.version).encode() + b"&progress=%FF%FE&percent=50")
    refused(await p.staff.post_raw(f"/tasks/{task_id}/report", invalid), 400)
    after = await report_of_task(world, task_id)
    assert (after.progress, after.problems, after.next_steps, after.percent, after.state, after.version) == (
        "已开展两次专题学习", "场地紧张", "继续推进", 40, "draft", draft.version)
    [evidence] = await load(world, Evidence, Evidence.task_id == task_id)
    assert evidence.description == "第一份"
    page = await p.staff.get(f"/tasks/{task_id}/report")
    assert "已开展两次专题学习" in page.text and "场地紧张" in page.text
