"""佐证要求 (issue 17, 减负): each task says whether evidence is not needed, optional (the default) or required, and
"required" carries the supervisor's reason, which the unit reads on the task page and the report form. Not needed:
no upload control, and uploads are refused. Required: a report (or a 办结 request) without a file is refused with
the reason. Only the bureau's supervisors (and its admin) set it."""

import re

import pytest
from sqlmodel import select

from backend.audit.models import AuditEvent
from backend.config import get_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.reports import attaching
from backend.reports import service as reports
from backend.tasks import service as tasks
from tests.evidence.conftest import chunks_of
from tests.evidence.samples import pdf, photo
from tests.reports.helpers import events, main, report_for, run, save, task_of
from tests.reports.test_routes import _november, form_data  # noqa: F401 — the same November clock (autouse)

REASON = "涉及专项资金拨付，需留存验收单备查"


async def set_rule(loop, rule: str, reason: str = "", actor=None):
    task = await task_of(loop)
    return await run(loop, tasks.set_evidence_rule, actor or loop.supervisor, loop.task_id, rule=rule, reason=reason,
                     version=task.version)


async def upload(loop, report_id=None, actor=None, data=None):
    return await run(loop, attaching.upload, actor or loop.staff, loop.task_id, filename="验收单.pdf",
                     chunks=chunks_of(data or pdf()), report_id=report_id)


async def submit(loop, report):
    return await run(loop, reports.submit_report, loop.staff, report.id, version=report.version)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "data")
    monkeypatch.setattr(get_settings(), "storage", "local")


# --- the three settings at upload and at submit ------------------------------------------------------------


async def test_optional_is_the_default_and_asks_nothing(loop):
    task = await task_of(loop)
    assert (task.evidence_rule, task.evidence_reason) == ("optional", "")
    report = await submit(loop, await save(loop))  # no file: fine
    assert report.state == "submitted"
    later = await save(loop, period="2026-10")
    await upload(loop, later.id)  # a file: fine too
    assert (await report_for(loop, "2026-10")).state == "draft"


async def test_required_refuses_a_report_without_a_file_and_names_the_reason(loop):
    await set_rule(loop, "required", REASON)
    draft = await save(loop)
    with pytest.raises(InvalidInput) as refused:
        await submit(loop, draft)
    assert refused.value.field == "file" and REASON in refused.value.message and "至少上传一份" in refused.value.message
    assert (await report_for(loop)).state == "draft"  # what was typed stays as a draft
    await upload(loop, draft.id)
    draft = await report_for(loop)
    assert (await submit(loop, draft)).state == "submitted"


async def test_required_counts_only_the_reports_own_files(loop):
    """A file uploaded to the task (or to another period's report) does not stand in for this report's."""
    await set_rule(loop, "required", REASON)
    await upload(loop)  # on the task, not on a report
    draft = await save(loop)
    with pytest.raises(InvalidInput):
        await submit(loop, draft)


async def test_required_refuses_completion_without_any_file(loop):
    await set_rule(loop, "required", REASON)
    task = await task_of(loop)
    with pytest.raises(InvalidInput) as refused:
        await run(loop, reports.request_completion, loop.staff, loop.task_id, summary="全年目标完成。",
                  version=task.version)
    assert REASON in refused.value.message
    assert (await task_of(loop)).state != "completion_requested"
    await upload(loop)
    task = await task_of(loop)
    report = await run(loop, reports.request_completion, loop.staff, loop.task_id, summary="全年目标完成。",
                       version=task.version)
    assert report.kind == "completion" and (await task_of(loop)).state == "completion_requested"


async def test_no_new_progress_needs_no_file_even_when_required(loop):
    """A report that says nothing happened has nothing to prove: asking for a photo of it is the 留痕 burden."""
    await set_rule(loop, "required", REASON)
    report = await run(loop, reports.no_change_this_month, loop.staff, loop.task_id, reason="等待上级批复",
                       version=0)
    assert report.state == "submitted" and report.no_change


async def test_not_needed_refuses_uploads_and_submits_without_files(loop):
    await set_rule(loop, "none")
    draft = await save(loop)
    for report_id in (draft.id, None):
        with pytest.raises(InvalidInput) as refused:
            await upload(loop, report_id)
        assert refused.value.field == "file" and "不需要佐证材料" in refused.value.message
    with pytest.raises(InvalidInput):  # a supervisor does not add any either
        await upload(loop, actor=loop.supervisor)
    assert (await submit(loop, await report_for(loop))).state == "submitted"


# --- who sets it, and how ----------------------------------------------------------------------------------


async def test_required_needs_a_reason_and_other_rules_keep_none(loop):
    with pytest.raises(InvalidInput) as refused:
        await set_rule(loop, "required", "   ")
    assert refused.value.field == "evidence_reason"
    with pytest.raises(InvalidInput) as refused:
        await set_rule(loop, "always")
    assert refused.value.field == "evidence_rule"
    with pytest.raises(InvalidInput):
        await set_rule(loop, "required", "很" * 501)
    await set_rule(loop, "required", REASON)
    task = await set_rule(loop, "optional", "这段不会保存")
    assert (task.evidence_rule, task.evidence_reason) == ("optional", "")


async def test_a_change_is_versioned_and_audited(loop):
    before = (await task_of(loop)).version
    await set_rule(loop, "required", REASON)
    task = await task_of(loop)
    assert task.version == before + 1
    [event] = await events(loop, "task.evidence_rule", task.id)
    assert event.details == {"before": {"rule": "optional", "reason": ""},
                             "after": {"rule": "required", "reason": REASON}}
    assert "必须" in event.summary
    await set_rule(loop, "required", REASON)  # the same again: nothing changes, nothing logged
    assert (await task_of(loop)).version == task.version and len(await events(loop, "task.evidence_rule")) == 1
    with pytest.raises(Conflict):  # a form shown before the change
        await run(loop, tasks.set_evidence_rule, loop.supervisor, loop.task_id, rule="none", reason="",
                  version=before)


async def test_units_and_leaders_cannot_change_it(loop):
    for actor in (loop.staff, loop.head, loop.co_staff, loop.co_head, loop.leader):
        with pytest.raises(Forbidden):
            await set_rule(loop, "none", actor=actor)
    assert (await task_of(loop)).evidence_rule == "optional"
    task = await set_rule(loop, "none", actor=loop.admin)
    assert task.evidence_rule == "none"


async def test_another_bureau_cannot_change_it(loop, other_bureau):
    task = await task_of(loop)
    async with unit_of_work(other_bureau.tenant.id) as session:
        with pytest.raises(NotFound):
            await tasks.set_evidence_rule(session, other_bureau.actors[Role.supervisor], loop.task_id, rule="none",
                                          reason="", version=task.version)
    assert (await task_of(loop)).evidence_rule == "optional"
    async with unit_of_work(loop.tenant_id) as session:
        assert not (await session.exec(select(AuditEvent).where(AuditEvent.action == "task.evidence_rule"))).all()


# --- what the pages show ------------------------------------------------------------------------------------


async def test_the_supervisor_sets_it_on_the_task_page(loop, browser):
    supervisor = await browser(loop.usernames["supervisor"])
    page = main(await supervisor.get(f"/tasks/{loop.task_id}"))
    assert f'action="/tasks/{loop.task_id}/evidence-rule"' in page
    assert all(f'name="evidence_rule" value="{v}"' in page for v in ("none", "optional", "required"))
    version = (await task_of(loop)).version
    refused = await supervisor.post(f"/tasks/{loop.task_id}/evidence-rule",
                                    {"evidence_rule": "required", "evidence_reason": "", "version": str(version)})
    assert refused.status_code == 422 and "请写明原因" in main(refused)
    assert (await task_of(loop)).evidence_rule == "optional"
    saved = await supervisor.post(f"/tasks/{loop.task_id}/evidence-rule",
                                  {"evidence_rule": "required", "evidence_reason": REASON, "version": str(version)})
    assert saved.status_code == 303
    assert ((await task_of(loop)).evidence_rule, (await task_of(loop)).evidence_reason) == ("required", REASON)
    stale = await supervisor.post(f"/tasks/{loop.task_id}/evidence-rule",
                                  {"evidence_rule": "none", "evidence_reason": "", "version": str(version)})
    assert stale.status_code == 409 and (await task_of(loop)).evidence_rule == "required"


async def test_the_unit_reads_the_reason_on_the_task_page_and_the_report_form(loop, browser):
    await set_rule(loop, "required", REASON)
    staff = await browser(loop.usernames["staff"])
    task_page = main(await staff.get(f"/tasks/{loop.task_id}"))
    assert REASON in task_page and "必须上传" in task_page
    assert "/evidence-rule" not in task_page  # a unit does not change it
    form = main(await staff.get(f"/tasks/{loop.task_id}/report"))
    assert REASON in re.search(r'id="evidence-rule"[^>]*>([^<]*)<', form).group(1)
    assert 'id="f-photos"' in form
    refused = await staff.post(f"/tasks/{loop.task_id}/report", form_data(action="submit"))
    assert refused.status_code == 422
    assert REASON in re.search(r'id="e-file"[^>]*>([^<]*)<', main(refused)).group(1)
    assert (await report_for(loop)).state == "draft"
    cooperating = await browser(loop.usernames["co_staff"])  # the co-unit reads it too
    assert REASON in main(await cooperating.get(f"/tasks/{loop.task_id}"))


async def test_not_needed_shows_no_upload_control(loop, browser):
    await set_rule(loop, "none")
    staff = await browser(loop.usernames["staff"])
    task_page = main(await staff.get(f"/tasks/{loop.task_id}"))
    assert "不需要" in task_page and f'action="/tasks/{loop.task_id}/evidence"' not in task_page
    form = main(await staff.get(f"/tasks/{loop.task_id}/report"))
    assert "不需要佐证材料" in form and 'type="file"' not in form
    sent = await staff.post(f"/tasks/{loop.task_id}/report", form_data(action="submit"))
    assert sent.status_code == 303 and (await report_for(loop)).state == "submitted"
    refused = await staff.post(f"/tasks/{loop.task_id}/evidence", files={"file": ("照片.jpg", photo(), "image/jpeg")})
    assert refused.status_code == 422 and "不需要佐证材料" in refused.text


async def test_the_api_sets_and_shows_it(loop, api_client):
    supervisor = await api_client(loop.bureau, loop.supervisor)
    version = (await task_of(loop)).version
    answer = await supervisor.post(f"/api/v1/tasks/{loop.task_id}/evidence-rule",
                                   json={"rule": "required", "reason": REASON, "version": version})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["evidence_rule"], answer.json()["evidence_reason"]) == ("required", REASON)
    staff = await api_client(loop.bureau, loop.staff)
    shown = (await staff.get(f"/api/v1/tasks/{loop.task_id}")).json()
    assert (shown["evidence_rule"], shown["evidence_reason"]) == ("required", REASON)
    refused = await staff.post(f"/api/v1/tasks/{loop.task_id}/evidence-rule",
                               json={"rule": "none", "version": version + 1})
    assert refused.status_code == 403 and (await task_of(loop)).evidence_rule == "required"
