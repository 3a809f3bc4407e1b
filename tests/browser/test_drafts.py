"""Nothing typed is lost, on a 390×844 phone: a staff member types the report, the sign-in lapses (the idle
timeout passes on the server, or they signed out in another tab, or signed out and in again there), they press
保存并提交 — and after signing in they are back on the form with their text, and submitting works.

Before: the login page, then an empty form (the post's address was not a page to come back to, and nothing kept
what was typed)."""

import re
import uuid
from datetime import date, timedelta

import pytest
from playwright.async_api import BrowserContext, Page, expect
from sqlmodel import col, select

from backend.accounts.models import User, WebSession
from backend.core import clock
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.reports import service as reports
from backend.reports.models import ProgressReport
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import Task
from backend.tenancy.bureau_settings import update_bureau_settings
from tests.browser.conftest import screenshot
from tests.support.fixtures import PASSWORD, Bureau

TITLE = "新改扩建中小学26所"
PROGRESS = "已完成3所学校的选址论证，第一批2所已开工：实验小学北校区、城东中学。"
PROBLEMS = "个别项目用地手续办理较慢。"


async def _set_up(bureau: Bureau) -> uuid.UUID:
    """The plan's task handed to the school and taken (签收) by its staff; reports go straight to the bureau."""
    async with unit_of_work(bureau.tenant.id) as session:
        await update_bureau_settings(session, bureau.actors[Role.admin], report_day=25,
                                             unit_head_approval=False)
        task = (await session.exec(select(Task).where(col(Task.title).contains(TITLE)))).one()
        task = await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                        lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[],
                                        deadline=date.today() + timedelta(days=120))
        await lifecycle.acknowledge(session, bureau.actors[Role.unit_staff], task.id, version=task.version)
        return task.id


async def _idle_timeout_passes(bureau: Bureau, role: Role = Role.unit_staff) -> None:
    async with unit_of_work() as session:
        user = (await session.exec(select(User).where(User.username == bureau.username(role)))).one()
        for row in (await session.exec(select(WebSession).where(WebSession.user_id == user.id))).all():
            row.last_seen_at = clock.now() - timedelta(hours=2)
            session.add(row)


async def _reports(bureau: Bureau, task_id: uuid.UUID) -> list[ProgressReport]:
    async with unit_of_work(bureau.tenant.id) as session:
        return list((await session.exec(select(ProgressReport).where(ProgressReport.task_id == task_id))).all())


async def _sign_in_here(page: Page, bureau: Bureau, role: Role = Role.unit_staff) -> None:
    await page.get_by_label("登录名").fill(bureau.username(role))
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录", exact=True).click()


async def _sign_out(page: Page) -> None:
    """退出, wherever the layout puts it on a phone (in the header, or in the 更多 sheet of the tab bar)."""
    more = page.locator("nav summary", has_text="更多")
    if await more.count() and await more.first.is_visible():
        await more.first.click()
    await page.locator("form[action='/logout'] button:visible").first.click()


async def _sign_out_in_another_tab(phone: BrowserContext, *, and_in_again: Bureau | None = None) -> None:
    other = await phone.new_page()
    await other.goto("/")
    await _sign_out(other)
    await other.wait_for_url("**/login")
    if and_in_again is not None:
        await _sign_in_here(other, and_in_again)
        await other.wait_for_url("**/")
    await other.close()


async def _type_the_report(page: Page, bureau: Bureau, task_id: uuid.UUID) -> str:
    await page.goto("/")
    await page.wait_for_url("**/login")
    await _sign_in_here(page, bureau)
    await page.wait_for_url("**/")
    form = f"/tasks/{task_id}/report"
    await page.goto(form)
    await page.get_by_label("进展情况").fill(PROGRESS)
    await page.get_by_label("存在问题").fill(PROBLEMS)
    await page.get_by_label("完成进度（%）").fill("40")
    return form


async def _back_with_the_text_and_submit(page: Page, bureau: Bureau, task_id: uuid.UUID, shot: str) -> None:
    await expect(page.get_by_label("进展情况")).to_have_value(PROGRESS)
    await expect(page.get_by_label("存在问题")).to_have_value(PROBLEMS)
    await expect(page.get_by_label("完成进度（%）")).to_have_value("40")
    await expect(page.locator(".draft-notice")).to_contain_text("已恢复您在本页尚未提交的内容")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the restored form is {width}px wide"
    await screenshot(page, f"typing-{shot}", full_page=False)
    await page.get_by_role("button", name="保存并提交").click()
    await page.wait_for_url("**notice=submitted*")
    [report] = await _reports(bureau, task_id)
    assert report.state == "submitted" and report.progress == PROGRESS and report.problems == PROBLEMS
    # Sent and said so: the draft is gone, and the next visit to the form does not put it back.
    await page.goto(f"/tasks/{task_id}/report?period={report.period}")
    await expect(page.locator(".draft-notice")).to_have_count(0)


@pytest.mark.parametrize("lapse", ["idle timeout", "signed out in another tab"])
async def test_text_typed_before_the_sign_in_lapsed_survives_sign_in(phone, bureau, lapse):
    task_id = await _set_up(bureau)
    page = await phone.new_page()
    form = await _type_the_report(page, bureau, task_id)
    if lapse == "idle timeout":
        await _idle_timeout_passes(bureau)
    else:
        await _sign_out_in_another_tab(phone)

    await page.get_by_role("button", name="保存并提交").click()
    await page.wait_for_url("**/login?**")
    assert await _reports(bureau, task_id) == []
    await _sign_in_here(page, bureau)
    await page.wait_for_url(f"**{form}")
    await _back_with_the_text_and_submit(page, bureau, task_id, "restored-after-" + lapse.replace(" ", "-"))


async def test_a_form_older_than_the_sign_in_comes_back_with_its_text_and_a_message(phone, bureau):
    """Signed out and in again in another tab: this tab's form carries the old CSRF token."""
    task_id = await _set_up(bureau)
    page = await phone.new_page()
    form = await _type_the_report(page, bureau, task_id)
    await _sign_out_in_another_tab(phone, and_in_again=bureau)

    await page.get_by_role("button", name="保存并提交").click()
    await page.wait_for_url(f"**{form}#feedback")
    await expect(page.locator("#feedback")).to_contain_text("刚才的提交没有保存")
    await expect(page.locator("#feedback")).to_have_count(1)
    assert await _reports(bureau, task_id) == []
    await _back_with_the_text_and_submit(page, bureau, task_id, "restored-after-stale-form")


async def test_signing_out_in_this_tab_forgets_the_drafts(phone, bureau):
    """A shared computer: what one person typed is not offered to them again after they sign out here."""
    task_id = await _set_up(bureau)
    page = await phone.new_page()
    form = await _type_the_report(page, bureau, task_id)
    await _sign_out(page)
    await page.wait_for_url("**/login")
    assert await page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('luoshi:draft:')).length") == 0
    await _sign_in_here(page, bureau)
    await page.wait_for_url("**/")
    await page.goto(form)
    await expect(page.get_by_label("进展情况")).to_have_value("")


async def test_a_review_comment_survives_the_idle_timeout(phone, bureau):
    """A form whose post address has no page of its own (/reports/…/review): the supervisor comes back to the
    queue they were on, with the comment, and the return goes through."""
    task_id = await _set_up(bureau)
    async with unit_of_work(bureau.tenant.id) as session:
        staff = bureau.actors[Role.unit_staff]
        report = await reports.save_report(session, staff, task_id, progress=PROGRESS, percent=40, version=0)
        await reports.submit_report(session, staff, report.id, version=report.version)
    page = await phone.new_page()
    await page.goto("/")
    await _sign_in_here(page, bureau, Role.supervisor)
    await page.wait_for_url("**/")
    await page.goto("/reviews")
    row = page.locator("article.review-row", has_text=TITLE)
    comment = "请写明已开工学校的名称，并附现场照片说明。"
    await row.get_by_label("意见（退回时必填）").fill(comment)
    await _idle_timeout_passes(bureau, Role.supervisor)

    await row.get_by_role("button", name=re.compile("^退回")).click()
    await page.wait_for_url("**/login?**")
    await _sign_in_here(page, bureau, Role.supervisor)
    await page.wait_for_url("**/reviews")
    row = page.locator("article.review-row", has_text=TITLE)
    await expect(row.get_by_label("意见（退回时必填）")).to_have_value(comment)
    await row.get_by_role("button", name=re.compile("^退回")).click()
    await page.wait_for_url("**/reviews#feedback")
    await expect(page.locator("#feedback")).to_contain_text("已退回这份报告")
    [returned] = await _reports(bureau, task_id)
    assert returned.state == "returned"


async def test_a_bulletin_edit_survives_signing_out_in_another_tab(phone, bureau):
    """The 月通报's 按语 and 下步工作要求, long texts a supervisor writes slowly."""
    from backend.bulletins import service as bulletins

    async with unit_of_work(bureau.tenant.id) as session:
        bulletin, _new = await bulletins.draft_for_month(session, bureau.tenant.id, 2026, 10, today=date(2026, 11, 1),
                                                         actor=bureau.actors[Role.supervisor])
    page = await phone.new_page()
    await page.goto("/")
    await _sign_in_here(page, bureau, Role.supervisor)
    await page.wait_for_url("**/")
    edit = f"/bulletins/{bulletin.id}/edit"
    await page.goto(edit)
    foreword = "现将10月份各单位重点工作落实情况通报如下，请各单位对照查找差距。"
    remarks = "11月底前，各单位要对照问题清单逐项整改，并按时报送整改情况。"
    await page.get_by_label("按语（放在数据之前）").fill(foreword)
    await page.get_by_label("下步工作要求（放在数据之后）").fill(remarks)
    await _sign_out_in_another_tab(phone)

    await page.get_by_role("button", name="保存", exact=True).click()
    await page.wait_for_url("**/login?**")
    await _sign_in_here(page, bureau, Role.supervisor)
    await page.wait_for_url(f"**{edit}")
    await expect(page.get_by_label("按语（放在数据之前）")).to_have_value(foreword)
    await expect(page.get_by_label("下步工作要求（放在数据之后）")).to_have_value(remarks)
    await page.get_by_role("button", name="保存", exact=True).click()
    await page.wait_for_url(f"**/bulletins/{bulletin.id}?notice=saved")
    await expect(page.locator("main")).to_contain_text(foreword)


async def test_text_is_not_put_over_a_newer_save_without_asking(phone, bureau):
    """The form was saved elsewhere since the person began typing (their head, another device): the newer save
    stays in the form, and one tap puts their own unsent text back if they want it."""
    task_id = await _set_up(bureau)
    page = await phone.new_page()
    await _type_the_report(page, bureau, task_id)
    async with unit_of_work(bureau.tenant.id) as session:
        await reports.save_report(session, bureau.actors[Role.unit_head], task_id, progress="负责人补充的进展。",
                                  percent=50, version=0)
    await page.reload()
    await expect(page.get_by_label("进展情况")).to_have_value("负责人补充的进展。")
    notice = page.locator(".draft-notice")
    await expect(notice).to_contain_text("表单此后已被保存过")
    await notice.get_by_role("button", name="恢复我未提交的内容").click()
    await expect(page.get_by_label("进展情况")).to_have_value(PROGRESS)
    await expect(page.get_by_label("存在问题")).to_have_value(PROBLEMS)
    await expect(notice).to_contain_text("已恢复您在本页尚未提交的内容")


async def test_text_shown_back_by_a_refusal_is_still_kept(phone, bureau):
    """A refusal (完成进度 "四十") shows the typed text back; the person fixes it, the sign-in lapses, and after
    signing in the fixed text is put back by itself, not offered as "saved elsewhere since"."""
    task_id = await _set_up(bureau)
    page = await phone.new_page()
    form = await _type_the_report(page, bureau, task_id)
    await page.get_by_label("完成进度（%）").fill("四十")
    await page.get_by_role("button", name="保存并提交").click()
    await expect(page.locator("#e-percent")).to_be_visible()
    await expect(page.get_by_label("进展情况")).to_have_value(PROGRESS)
    await page.get_by_label("完成进度（%）").fill("40")
    await _idle_timeout_passes(bureau)

    await page.get_by_role("button", name="保存并提交").click()
    await page.wait_for_url("**/login?**")
    await _sign_in_here(page, bureau)
    await page.wait_for_url(f"**{form}")
    await _back_with_the_text_and_submit(page, bureau, task_id, "restored-after-a-refusal")
