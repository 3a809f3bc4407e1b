"""The reminder rules page, the nudge (催办) button and the 督办单 download, as the people who use them."""

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from docx import Document
from sqlmodel import col, func, select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.notifications.models import Notification
from backend.reminders import service as reminders
from backend.reminders.models import Nudge, SupervisionNotice
from backend.reminders.sweep import sweep_bureau
from backend.tasks import service as tasks
from backend.tasks.models import Task
from tests.support.fixtures import post_form

RULES = {"enabled": "1", "deadline_workdays": "５，3，1", "report_day_workdays": "2,0", "escalate_unit_head_after": "2",
         "escalate_leaders_after": "6", "quiet_start": "21:30", "quiet_end": "07:30", "nudge_interval_hours": "12",
         "daily_digest_at": "08:00", "weekly_digest_weekday": "5"}


async def school_task(bureau, deadline=date(2026, 12, 18)) -> Task:
    async with unit_of_work(bureau.tenant.id) as session:
        [task] = await tasks.create_tasks(session, bureau.actors[Role.supervisor], 2026, [tasks.NewTask(
            title="完成校园安全排查", description="", deadline=deadline, lead_unit_ids=[bureau.units["school"].id])])
    return task


async def test_admin_sets_the_rules_and_bad_values_are_explained(signed_in, bureau):
    admin = await signed_in(bureau, Role.admin)
    page = await admin.get("/admin/reminders")
    assert page.status_code == 200 and 'value="7,3,1"' in page.text and 'value="07:30"' in page.text
    bad = await post_form(admin, "/admin/reminders", RULES | {"deadline_workdays": "7,三"}, page="/admin/reminders")
    assert bad.status_code == 422 and "用逗号分隔" in bad.text and 'value="7,三"' in bad.text
    backwards = await post_form(admin, "/admin/reminders", RULES | {"escalate_leaders_after": "1"},
                                page="/admin/reminders")
    assert backwards.status_code == 422 and "红色督办的超期天数须大于黄色督办" in backwards.text
    clock = await post_form(admin, "/admin/reminders", RULES | {"quiet_end": "25:00"}, page="/admin/reminders")
    assert clock.status_code == 422 and "时:分" in clock.text
    async with unit_of_work(bureau.tenant.id) as session:
        unchanged = await reminders.get_policy(session, bureau.tenant.id)
    assert unchanged.deadline_workdays == [7, 3, 1]
    saved = await post_form(admin, "/admin/reminders", RULES, page="/admin/reminders")
    assert saved.status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        policy = await reminders.get_policy(session, bureau.tenant.id)
    assert (policy.deadline_workdays, policy.report_day_workdays, policy.escalate_unit_head_after,
            policy.escalate_leaders_after, policy.quiet_start.isoformat(), policy.nudge_interval_hours,
            policy.weekly_digest_weekday) == ([5, 3, 1], [2, 0], 2, 6, "21:30:00", 12, 5)
    assert 'value="5,3,1"' in (await admin.get("/admin/reminders")).text


async def test_rules_are_the_admins_and_each_bureau_has_its_own(signed_in, bureau, other_bureau):
    for role in (Role.supervisor, Role.leader, Role.unit_head, Role.unit_staff):
        client = await signed_in(bureau, role)
        assert (await client.get("/admin/reminders")).status_code == 403
        refused = await post_form(client, "/admin/reminders", RULES)
        assert refused.status_code == 403 and "无权" in refused.text
    other_admin = await signed_in(other_bureau, Role.admin)
    assert (await post_form(other_admin, "/admin/reminders", RULES, page="/admin/reminders")).status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await reminders.get_policy(session, bureau.tenant.id)).deadline_workdays == [7, 3, 1]


async def test_supervisor_nudges_once_and_the_unit_hears_it(signed_in, bureau, other_bureau):
    task = await school_task(bureau)
    supervisor = await signed_in(bureau, Role.supervisor)
    first = await post_form(supervisor, f"/tasks/{task.id}/nudge", {"message": "请本周内报送排查台账"},
                            page=f"/tasks/{task.id}")
    assert first.status_code == 303
    # A double click (or a colleague a minute later) is refused with when it can be done again.
    again = await post_form(supervisor, f"/tasks/{task.id}/nudge", {"message": "再催"}, page=f"/tasks/{task.id}")
    assert again.status_code == 409 and "刚催办过" in again.text and 'value="再催"' in again.text
    async with unit_of_work(bureau.tenant.id) as session:
        heard = (await session.exec(select(Notification.title, Notification.body).where(
            Notification.membership_id == bureau.actors[Role.unit_staff].membership_id,
            Notification.kind == "nudge"))).all()
        nudges = (await session.exec(select(func.count()).select_from(Nudge))).one()
    by = bureau.actors[Role.supervisor].display_name
    assert heard == [(f"【催办】{task.number} 完成校园安全排查", f"{by} 催办：请本周内报送排查台账")]
    assert nudges == 1
    page = (await supervisor.get(f"/tasks/{task.id}")).text
    assert "督办记录" in page and "请本周内报送排查台账" in page
    # Unit staff cannot nudge; another bureau's supervisor cannot even find the task.
    staff = await signed_in(bureau, Role.unit_staff)
    assert (await post_form(staff, f"/tasks/{task.id}/nudge", {}, page=f"/tasks/{task.id}")).status_code == 403
    stranger = await signed_in(other_bureau, Role.supervisor)
    assert (await post_form(stranger, f"/tasks/{task.id}/nudge", {})).status_code == 404
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await session.exec(select(func.count()).select_from(Nudge))).one() == 1


async def test_notice_opens_as_a_word_document_for_whom_it_concerns(signed_in, bureau, other_bureau):
    task = await school_task(bureau)
    async with unit_of_work(bureau.tenant.id) as session:
        for day in (21, 25):  # overdue by 1, then by 5 working days
            await sweep_bureau(session, bureau.tenant.id, "Asia/Shanghai",
                               datetime(2026, 12, day, 9, tzinfo=ZoneInfo("Asia/Shanghai")))
        notices = list((await session.exec(select(SupervisionNotice).where(SupervisionNotice.task_id == task.id)
                                           .order_by(col(SupervisionNotice.seq)))).all())
    assert [n.level for n in notices] == ["yellow", "red"]
    red = notices[1]
    head = await signed_in(bureau, Role.unit_head)
    page = (await head.get(f"/tasks/{task.id}")).text
    assert f"/notices/{red.id}.docx" in page and "红色督办" in page
    download = await head.get(f"/notices/{red.id}.docx")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    text = "\n".join(p.text for p in Document(io.BytesIO(download.content)).paragraphs)
    cells = [c.text for t in Document(io.BytesIO(download.content)).tables for row in t.rows for c in row.cells]
    assert f"督〔2026〕{red.seq:03d}号" in text and "红色督办单" in text and "实验小学：" in text
    assert "已超过办理时限 5 个工作日" in text
    assert cells[cells.index("督办事项") + 1] == "完成校园安全排查" and "2026-12-18" in cells
    stranger = await signed_in(other_bureau, Role.admin)
    assert (await stranger.get(f"/notices/{red.id}.docx")).status_code == 404


async def test_a_nudge_nobody_can_hear_is_refused_and_writes_nothing(signed_in, bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        [task] = await tasks.create_tasks(session, bureau.actors[Role.supervisor], 2026, [tasks.NewTask(
            title="无人承办的任务", description="", deadline=date(2026, 12, 18),
            lead_unit_ids=[bureau.units["office"].id])])  # the office has nobody in it yet
    supervisor = await signed_in(bureau, Role.supervisor)
    refused = await post_form(supervisor, f"/tasks/{task.id}/nudge", {"message": "请办理"}, page=f"/tasks/{task.id}")
    assert refused.status_code == 409 and "无人可催办" in refused.text
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await session.exec(select(func.count()).select_from(Nudge))).one() == 0
