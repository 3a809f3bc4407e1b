"""Reminders that said the wrong thing (issue 13, point 10), each reproduced first."""

import io
from datetime import date

from docx import Document
from sqlmodel import col, select

from backend.core.clock import parse_moment
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.delivery.jobs import deliver_outbox
from backend.delivery.models import OutboxMessage
from backend.notifications.models import Notification
from backend.reminders import service as reminders
from backend.reminders.jobs import sweep_all
from backend.reminders.models import SupervisionNotice
from backend.tasks.models import ReportFrequency
from tests.core.test_cli import luoshi
from tests.reminders.test_sweep import CST, mails_to, new_task, run_jobs_at
from tests.support.fixtures import create_bureau, policy_form


async def _bodies(bureau, prefix: str) -> list[str]:
    async with unit_of_work(bureau.tenant.id) as session:
        return list((await session.exec(select(Notification.body).where(
            col(Notification.dedupe_key).startswith(prefix), col(Notification.title).contains("推进课后服务")))).all())


async def test_a_report_day_on_a_sunday_is_reminded_the_friday_before_with_its_real_date(smtp):
    """25 Oct 2026 is a Sunday: the "on the day" reminder comes on Friday 23rd and must not say 今天（2026-10-25）."""
    bureau = await create_bureau(emails=True)
    await new_task(bureau, "推进课后服务", date(2027, 6, 30))
    await run_jobs_at(f"2026-10-23T09:00{CST}", bureau)
    bodies = await _bodies(bureau, "report-day:")
    assert len(bodies) == 2  # the school's head and its staff
    for body in bodies:
        assert "今天" not in body and "今日内" not in body
        assert "本期（2026-10）进展报送日 2026-10-25 适逢休息日" in body and "请于10月25日前报送" in body
    # Sent as of that moment (the run delivers as of --at), to the staff member's mailbox.
    [mail] = mails_to(smtp, bureau.users[Role.unit_staff].email, "报送提醒")
    assert "请于10月25日前报送" in mail.get_body(("plain",)).get_content()


async def test_remind_at_a_past_moment_sends_what_it_decides(smtp):
    """`luoshi remind --at` a moment before now: the messages it decides are due then, so its own delivery (as of the
    same moment) sends them, instead of leaving them for the real clock."""
    bureau = await create_bureau(emails=True)
    task = await new_task(bureau, "完成校园安全排查", date(2026, 11, 20), ReportFrequency.once)
    # Monday: one working day late, a yellow 督办单 (this bureau only: the run's other bureaus are not this test's)
    run = luoshi("remind", "--at", "2026-11-23T09:00+08:00", "--bureau", bureau.tenant.code)
    assert run.returncode == 0, run.stderr
    assert "督办单" in run.stdout
    async with unit_of_work(bureau.tenant.id) as session:
        rows = list((await session.exec(select(OutboxMessage).where(
            col(OutboxMessage.subject).contains(f"{task.number} 完成校园安全排查")))).all())
    assert rows and {row.state for row in rows} == {"sent"}
    assert [m["Subject"] for m in mails_to(smtp, bureau.users[Role.unit_head].email, "完成校园安全排查")] == [
        f"【黄色督办】{task.number} 完成校园安全排查"]


async def test_messages_decided_in_the_past_wait_out_the_real_clocks_quiet_hours(smtp):
    """The worker on the real clock holds them during the bureau's quiet hours (22:00–07:00), then sends them."""
    bureau = await create_bureau(emails=True)
    async with unit_of_work(bureau.tenant.id) as session:
        await reminders.update_policy(session, bureau.actors[Role.admin], policy_form())  # 22:00–07:00
    await new_task(bureau, "完成校园安全排查", date(2026, 11, 20), ReportFrequency.once)

    await sweep_all(parse_moment(f"2026-11-23T09:00{CST}"), str(bureau.tenant.id))
    head = bureau.users[Role.unit_head].email
    assert await deliver_outbox({}, at=f"2026-12-07T23:30{CST}", tenant_id=str(bureau.tenant.id)) == 0
    assert mails_to(smtp, head, "完成校园安全排查") == []
    assert await deliver_outbox({}, at=f"2026-12-08T07:00{CST}", tenant_id=str(bureau.tenant.id)) > 0
    assert len(mails_to(smtp, head, "完成校园安全排查")) == 1


async def test_a_notices_number_reads_the_same_in_the_notification_the_page_and_the_document(signed_in):
    """It was 督〔2026-006〕号 in the notification but 督〔2026〕006号 in the .docx."""
    bureau = await create_bureau()
    task = await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    await run_jobs_at(f"2026-12-21T09:00{CST}", bureau)
    async with unit_of_work(bureau.tenant.id) as session:
        notice = (await session.exec(select(SupervisionNotice).where(SupervisionNotice.task_id == task.id))).one()
        [body] = (await session.exec(select(Notification.body).where(
            col(Notification.dedupe_key) == f"notice:{notice.id}:{bureau.actors[Role.unit_head].membership_id}"))).all()
    number = f"督〔{notice.year}〕{notice.seq:03d}号"
    assert f"现发出督办单（{number}）" in body
    head = await signed_in(bureau, Role.unit_head)
    assert number in (await head.get(f"/tasks/{task.id}")).text
    document = await head.get(f"/notices/{notice.id}.docx")
    assert number in "".join(p.text for p in Document(io.BytesIO(document.content)).paragraphs)
