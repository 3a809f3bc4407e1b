"""The whole report loop in Chromium on phones, as the people do it, each in a browser of their own: the school's
staff member takes the task (签收), reports with a photo, the school's head approves, the supervisor returns it with
a comment (after first trying without one), the staff member fixes and resubmits, head and supervisor pass it, the
staff member asks for 办结, head and supervisor approve it, and the task is 已办结.

Set-up through the services: the bureau asks unit heads to approve their unit's reports, and the plan's task
新改扩建中小学26所 is handed to the school as lead unit.

Here the photo is uploaded in the task page's 佐证材料 section, between saving the draft and submitting it; the
report form's own photo slots (one screen for a report with photos) are walked in test_report_photos.py.
"""

import io
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

from PIL import Image
from playwright.async_api import Browser, Page, expect
from sqlmodel import col, select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.reports.models import ProgressReport, ReportKind, ReportReview, ReportState, ReviewDecision
from backend.tasks import service as tasks
from backend.tasks.models import Task, TaskState
from backend.tenancy.bureau_settings import update_bureau_settings
from tests.browser.conftest import PHONE, sign_in
from tests.support.fixtures import Bureau

PHONE_WIDTH = 390
SHOTS = os.environ.get("LUOSHI_SCREENSHOTS")  # a folder: the pages are saved there to be looked at
TITLE = "新改扩建中小学26所"
PROGRESS = "已完成3所学校的选址论证，第一批2所已开工。"
FIXED_PROGRESS = "已完成3所学校的选址论证，第一批2所已开工：实验小学北校区、城东中学。现场照片见佐证材料。"
PROBLEMS = "个别项目用地手续办理较慢。"
NEXT_STEPS = "协调自然资源部门加快用地审批，6月底前完成全部规划。"
RETURN_COMMENT = "请写明已开工学校的名称，并附现场照片说明。"
SUMMARY = "26所学校的规划已全部完成并通过评审，佐证材料已上传。"
NEEDS_COMMENT = "退回时必须填写意见"
OVERRIDE_REASON = "规划已全部通过评审，开工数量以年终统计为准。"


def _jpeg(path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (60, 130, 200)).save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


async def _set_up(bureau: Bureau) -> uuid.UUID:
    """Unit heads approve first; the unassigned task goes to the school as lead unit, so its staff writes."""
    async with unit_of_work(bureau.tenant.id) as session:
        await update_bureau_settings(session, bureau.actors[Role.admin], report_day=25,
                                             unit_head_approval=True)
        task = (await session.exec(select(Task).where(col(Task.title).contains(TITLE)))).one()
        await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                 lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[],
                                 deadline=date.today() + timedelta(days=120))
        return task.id


async def _report(bureau: Bureau, task_id: uuid.UUID, kind: ReportKind = ReportKind.periodic) -> ProgressReport:
    async with unit_of_work(bureau.tenant.id) as session:
        return (await session.exec(select(ProgressReport).where(
            ProgressReport.task_id == task_id, ProgressReport.kind == kind))).one()


async def _scroll_width(page: Page) -> int:
    return await page.evaluate("document.documentElement.scrollWidth")


async def _fits(page: Page, what: str) -> None:
    width = await _scroll_width(page)
    assert width <= PHONE_WIDTH, f"{what} is {width}px wide on a {PHONE_WIDTH}px phone"


@asynccontextmanager
async def _person(browser: Browser, live_server: str, bureau: Bureau, role: Role) -> AsyncIterator[Page]:
    """A phone of one's own, signed in through the login form."""
    context = await browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(10_000)
    try:
        page = await context.new_page()
        await sign_in(page, bureau, role)
        await page.wait_for_url(f"{live_server}/")
        yield page
    finally:
        await context.close()


async def _nav(page: Page, name: str) -> None:
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name=name, exact=True).click()
    await page.wait_for_load_state()


async def _open_task(page: Page, nav_name: str) -> None:
    await _nav(page, nav_name)
    await page.get_by_role("link", name=re.compile(TITLE)).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)


async def _queue_row(page: Page):
    """The task's row in 待审核 (there is one report of this bureau waiting at a time)."""
    await _nav(page, "待审核")
    row = page.locator("article.review-row", has_text=TITLE)
    await expect(row).to_have_count(1)
    return row


async def _head_approves(page: Page) -> None:
    row = await _queue_row(page)
    await row.get_by_role("button", name=re.compile("^同意报送")).click()
    await page.wait_for_url("**/reviews#feedback")
    await expect(page.locator(".alert.ok")).to_have_text("已同意，报告已报送局里审核。")
    await expect(page.locator("article.review-row", has_text=TITLE)).to_have_count(0)


async def test_report_loop_on_phones(browser, live_server, bureau, tmp_path):
    task_id = await _set_up(bureau)
    photo = _jpeg(tmp_path / "工地现场.jpg")

    async with AsyncExitStack() as people:
        staff = await people.enter_async_context(_person(browser, live_server, bureau, Role.unit_staff))

        # (1) The school's staff member takes the task, writes the report, adds a photo and submits.
        await _open_task(staff, "我的任务")
        await staff.get_by_role("button", name="签收", exact=True).click()
        await staff.wait_for_load_state()
        await expect(staff.locator(".task-head")).to_contain_text("已签收")
        await staff.get_by_role("link", name="填报本期进展").click()
        await staff.wait_for_url("**/report")
        await staff.get_by_label("进展情况").fill(PROGRESS)
        await staff.get_by_label("存在问题").fill(PROBLEMS)
        await staff.get_by_label("下步措施").fill(NEXT_STEPS)
        await staff.get_by_label("完成进度（%）").fill("40")
        await expect(staff.get_by_text("本局要求：报告提交后先由本单位负责人审核")).to_be_visible()
        await _fits(staff, "the report form")
        await staff.get_by_role("button", name="保存草稿").click()
        await staff.wait_for_url("**notice=saved")
        await expect(staff.get_by_label("进展情况")).to_have_value(PROGRESS)

        await staff.get_by_role("link", name="返回任务").click()
        await staff.locator("summary", has_text="上传佐证材料").click()  # the task page folds the upload form
        await staff.get_by_label("选择文件").set_input_files(str(photo))
        await staff.get_by_label("材料说明（选填）").fill("第一批开工学校现场")
        await staff.get_by_role("button", name="上传", exact=True).click()
        await expect(staff.locator("#evidence-items")).to_contain_text("工地现场.jpg")
        await expect(staff.locator("#evidence-items")).to_contain_text("第一批开工学校现场")
        await _fits(staff, "the task page with its evidence")

        await staff.get_by_role("link", name="填报本期进展").click()
        await expect(staff.get_by_label("进展情况")).to_have_value(PROGRESS)  # the draft is still there
        await expect(staff.get_by_label("完成进度（%）")).to_have_value("40")
        await staff.get_by_role("button", name="保存并提交").click()
        await staff.wait_for_url("**notice=awaiting")
        await expect(staff.locator(".alert.ok")).to_contain_text("等待本单位负责人审核")
        await expect(staff.locator("#period-h + p .badge")).to_have_text("待单位负责人审核")
        report = await _report(bureau, task_id)
        assert report.state == ReportState.awaiting_unit_head and report.percent == 40

        # (2) The school's head finds it in 待审核 and sends it on.
        head = await people.enter_async_context(_person(browser, live_server, bureau, Role.unit_head))
        row = await _queue_row(head)
        await expect(row).to_contain_text(PROGRESS)
        await _head_approves(head)
        assert (await _report(bureau, task_id)).state == ReportState.submitted

        # (3) The supervisor returns it: without a comment first (refused, nothing changes), then with one.
        supervisor = await people.enter_async_context(_person(browser, live_server, bureau, Role.supervisor))
        row = await _queue_row(supervisor)
        await expect(row).to_contain_text(PROGRESS)
        await _fits(supervisor, "the review queue")
        before = await _report(bureau, task_id)
        await row.get_by_role("button", name=re.compile("^退回")).click()
        await supervisor.wait_for_load_state()
        row = supervisor.locator("article.review-row", has_text=TITLE)
        await expect(row.locator(".field-error")).to_contain_text(NEEDS_COMMENT)
        await expect(row.locator(".field-error")).to_be_visible()
        unchanged = await _report(bureau, task_id)
        assert (unchanged.state, unchanged.version) == (ReportState.submitted, before.version)
        await row.get_by_label("意见（退回时必填）").fill(RETURN_COMMENT)
        await row.get_by_role("button", name=re.compile("^退回")).click()
        await supervisor.wait_for_url("**/reviews#feedback")
        await expect(supervisor.locator("article.review-row", has_text=TITLE)).to_have_count(0)
        assert (await _report(bureau, task_id)).state == ReportState.returned

        # (4) The staff member sees the returned report with the comment, fixes it and submits it again.
        await _open_task(staff, "我的任务")
        await staff.get_by_role("link", name="填报本期进展").click()
        returned = staff.locator(".alert.warn", has_text="退回意见")
        await expect(returned).to_contain_text(RETURN_COMMENT)
        await expect(returned).to_be_visible()
        await expect(staff.get_by_label("进展情况")).to_have_value(PROGRESS)
        await staff.get_by_label("进展情况").fill(FIXED_PROGRESS)
        await _fits(staff, "the returned report form")
        await staff.screenshot(path=str(tmp_path / "loop_report.png"), full_page=True)
        await staff.get_by_role("button", name="保存并提交").click()
        await staff.wait_for_url("**notice=awaiting")
        await expect(staff.locator(".report-body")).to_contain_text(FIXED_PROGRESS)

        # (5) The head approves; the supervisor accepts.
        await _head_approves(head)
        row = await _queue_row(supervisor)
        await expect(row).to_contain_text(FIXED_PROGRESS)
        await row.get_by_role("button", name=re.compile("^通过")).click()
        await supervisor.wait_for_url("**/reviews#feedback")
        await expect(supervisor.locator("article.review-row", has_text=TITLE)).to_have_count(0)
        assert (await _report(bureau, task_id)).state == ReportState.accepted

        # (6) The staff member asks for 办结; with unit-head approval on, the head approves the request first.
        await _open_task(staff, "我的任务")
        await staff.get_by_role("link", name="填报本期进展").click()
        await expect(staff.locator("#period-h + p .badge")).to_have_text("已通过")
        await staff.locator("summary", has_text="申请办结").click()
        await staff.get_by_label("办结情况说明").fill(SUMMARY)
        await staff.get_by_role("button", name="提交办结申请").click()
        await staff.wait_for_url("**notice=completion*")
        await expect(staff.locator(".alert.ok")).to_contain_text("已申请办结")
        await expect(staff.locator("#done-h")).to_be_visible()
        assert (await _report(bureau, task_id, ReportKind.completion)).state == ReportState.awaiting_unit_head
        await _head_approves(head)

        # (7) The supervisor sees what is unfinished (the target's actual was never reported), is asked for a
        # reason to close anyway, gives it and approves the 办结; the task page says 已办结.
        row = await _queue_row(supervisor)
        await expect(row).to_contain_text("办结申请")
        await expect(row).to_contain_text(SUMMARY)
        await expect(row.locator(".unfinished")).to_contain_text("目标“")
        await row.get_by_role("button", name=re.compile("^批准办结")).click()
        await supervisor.wait_for_load_state()
        row = supervisor.locator("article.review-row", has_text=TITLE)
        await expect(row.locator(".field-error")).to_contain_text("请填写办结理由")
        if SHOTS:
            await supervisor.screenshot(path=f"{SHOTS}/completion-check-phone.png", full_page=True)
        await row.get_by_label(re.compile("^办结理由")).fill(OVERRIDE_REASON)
        await row.get_by_role("button", name=re.compile("^批准办结")).click()
        await supervisor.wait_for_url("**/reviews#feedback")
        await expect(supervisor.locator("article.review-row", has_text=TITLE)).to_have_count(0)
        await _open_task(supervisor, "任务")
        await expect(supervisor.locator(".task-head")).to_contain_text("已办结")

        await _open_task(staff, "我的任务")
        await expect(staff.locator(".task-head")).to_contain_text("已办结")
        await expect(staff.get_by_role("link", name="填报本期进展")).to_have_count(0)
        await _fits(staff, "the finished task page")
        await staff.screenshot(path=str(tmp_path / "loop_task.png"), full_page=True)

    for name in ("loop_report.png", "loop_task.png"):  # where the lead looks at them
        shutil.copyfile(tmp_path / name, Path("/tmp") / name)  # noqa: S108 — a fixed place, on purpose

    async with unit_of_work(bureau.tenant.id) as session:
        done = (await session.exec(select(Task).where(Task.id == task_id))).one()
        # Progress stays what the school reported (40%): 办结 closes the task, it does not measure it.
        assert done.state == TaskState.done and done.progress == 40 and done.done_at is not None
        periodic = (await session.exec(select(ProgressReport).where(
            ProgressReport.task_id == task_id, ProgressReport.kind == ReportKind.periodic))).one()
        assert periodic.progress == FIXED_PROGRESS and periodic.state == ReportState.accepted
        history = (await session.exec(select(ReportReview).where(ReportReview.report_id == periodic.id)
                                      .order_by(col(ReportReview.decided_at)))).all()
    assert [(r.decision, r.comment) for r in history] == [
        (ReviewDecision.unit_head_approve, ""),
        (ReviewDecision.return_, RETURN_COMMENT),
        (ReviewDecision.unit_head_approve, ""),
        (ReviewDecision.accept, ""),
    ]
