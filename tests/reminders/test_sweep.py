"""The reminder rules over real workers: the clock is moved by running the jobs `at` a given moment, on real
PostgreSQL and Redis, with e-mail into a real SMTP sink and robots into a real HTTP receiver.

The calendar used below (December 2026, no public holidays in it):
    Mon 7  Tue 8  Wed 9  Thu 10 Fri 11 | Sat 12 Sun 13
    Mon 14 Tue 15 Wed 16 Thu 17 Fri 18 | Sat 19 Sun 20
    Mon 21 Tue 22 Wed 23 Thu 24 Fri 25 | Sat 26 Sun 27
A task due Fri 18th: T-7 working days is Wed 9th (10, 11, 14, 15, 16, 17, 18), T-3 Tue 15th, T-1 Thu 17th.
Overdue by 1 working day on Mon 21st (yellow), by 5 on Fri 25th (21, 22, 23, 24, 25: red).
The report day is the 25th: T-3 working days is Tue 22nd (23, 24, 25), T-0 the 25th itself.
"""

import email
from datetime import date, timedelta
from email import policy as email_policy

from arq import Worker
from sqlmodel import col, select

from backend.core.jobs import enqueue, redis_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.delivery import service as delivery
from backend.delivery.models import OutboxMessage
from backend.notifications import service as notifications_service
from backend.notifications.models import Notification
from backend.reminders import service as reminders
from backend.reminders.models import SupervisionNotice
from backend.tasks import service as tasks
from backend.tasks.models import ReportFrequency, Task
from backend.tenancy.models import Membership
from tests.support.cron import active_bureau_ids, run_tick
from tests.support.fixtures import create_bureau, policy_form
from workers.settings import WorkerSettings

CST = "+08:00"


async def run_jobs_at(at: str, bureau=None) -> None:
    """Moves the clock: real workers run the sweep and then the sender as of `at`, for the test's bureau (the other
    tests' bureaus in the same database would otherwise add their mail to this test's sink). One job per worker
    run, as two jobs queued in the same millisecond may start in either order."""
    only = str(bureau.tenant.id) if bureau else None
    for name in ("sweep_reminders", "deliver_outbox"):
        await enqueue(name, at=at, tenant_id=only)
        worker = Worker(functions=WorkerSettings.functions, redis_settings=redis_settings(), burst=True,
                        handle_signals=False, poll_delay=0.05, max_jobs=1)
        await worker.main()
        await worker.close()
        assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)


async def new_task(bureau, title: str, deadline: date, frequency=ReportFrequency.monthly) -> Task:
    async with unit_of_work(bureau.tenant.id) as session:
        [task] = await tasks.create_tasks(session, bureau.actors[Role.supervisor], 2026, [tasks.NewTask(
            title=title, description="", deadline=deadline, lead_unit_ids=[bureau.units["school"].id])])
        task.report_frequency = frequency
        session.add(task)
    return task


async def notifications(bureau, prefix: str, about: str = "完成校园安全排查") -> list[tuple[str, str]]:
    """(role, title) of the bureau's notifications whose decision key starts with `prefix`, about one task (the
    fixture plan's own 2024 tasks are long overdue and escalate too)."""
    async with unit_of_work(bureau.tenant.id) as session:
        rows = (await session.exec(
            select(Membership.role, Notification.title)
            .join(Membership, col(Membership.id) == Notification.membership_id)
            .where(col(Notification.dedupe_key).startswith(prefix), col(Notification.title).contains(about))
            .order_by(col(Notification.created_at)))).all()
    return sorted((str(role), title) for role, title in rows)


async def outbox(bureau, prefix: str) -> list[OutboxMessage]:
    async with unit_of_work(bureau.tenant.id) as session:
        return list((await session.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith(prefix)))).all())


def mails_to(smtp, address: str, subject: str) -> list[email.message.EmailMessage]:
    """What reached `address` with `subject` in its subject (the fixture plan's own old tasks also escalate)."""
    mails = [email.message_from_bytes(content, policy=email_policy.default)
             for _from, rcpts, content in smtp.envelopes if address in rcpts]
    return [mail for mail in mails if subject in mail["Subject"]]


async def test_deadline_reminders_fire_on_their_working_days_once_each(smtp):
    bureau = await create_bureau(emails=True)
    task = await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    head, staff = bureau.users[Role.unit_head].email, bureau.users[Role.unit_staff].email
    fired = []
    for day in range(7, 19):
        await run_jobs_at(f"2026-12-{day:02d}T09:00{CST}", bureau)
        fired.append((day, len(await notifications(bureau, "deadline:"))))
    # Two people of the school at each of T-7 (Wed 9th), T-3 (Tue 15th) and T-1 (Thu 17th); nothing in between.
    assert fired == [(7, 0), (8, 0), (9, 2), (10, 2), (11, 2), (12, 2), (13, 2), (14, 2), (15, 4), (16, 4),
                     (17, 6), (18, 6)]
    assert await notifications(bureau, "deadline:") == sorted(
        [("unit_head", f"【到期提醒】{task.number} 完成校园安全排查")] * 3
        + [("unit_staff", f"【到期提醒】{task.number} 完成校园安全排查")] * 3)
    # Each reminder reached each person's mailbox once, with the Message-ID of its outbox row.
    for address in (head, staff):
        mails = mails_to(smtp, address, "到期提醒")
        assert [m["Subject"] for m in mails] == [f"【到期提醒】{task.number} 完成校园安全排查"] * 3
        bodies = [m.get_body(("plain",)).get_content() for m in mails]
        assert all(f"还有 {n} 个工作日" in body for n, body in zip((7, 3, 1), bodies, strict=True))
        assert f"/tasks/{task.id}" in bodies[0]
    rows = {row.message_id: row for row in await outbox(bureau, "deadline:")}
    assert {m["Message-ID"] for m in mails_to(smtp, head, "到期提醒") + mails_to(smtp, staff, "到期提醒")} == set(rows)
    assert {row.state for row in rows.values()} == {"sent"}
    # The cron runs again, and a restarted worker too: nothing is decided or sent twice.
    sent = len(smtp.envelopes)
    await run_jobs_at(f"2026-12-17T15:00{CST}", bureau)
    await run_jobs_at(f"2026-12-17T16:00{CST}", bureau)
    assert len(await notifications(bureau, "deadline:")) == 6 and len(smtp.envelopes) == sent


async def test_a_unit_with_several_tasks_due_hears_once_with_them_listed(smtp, receiver):
    """Three of the school's tasks fall in the same T-3 window (Tue 15th: deadlines Fri 18th, and Sat 19th / Sun
    20th, which the window reaches as well) and a fourth only at T-7: each person of the school gets one reminder
    listing the three, in deadline order, pointing at their task list; the school's robot one message."""
    bureau = await create_bureau(emails=True)
    async with unit_of_work(bureau.tenant.id) as session:
        await delivery.add_channel(session, bureau.actors[Role.admin], kind="wecom", url=receiver.url("school"),
                                   unit_id=bureau.units["school"].id)
    first = await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    second = await new_task(bureau, "完成食堂检查", date(2026, 12, 19), ReportFrequency.once)
    third = await new_task(bureau, "完成消防演练", date(2026, 12, 20), ReportFrequency.once)
    fourth = await new_task(bureau, "完成校舍排查", date(2026, 12, 24), ReportFrequency.once)  # at T-7 on the 15th
    await run_jobs_at(f"2026-12-15T09:00{CST}", bureau)
    await run_jobs_at(f"2026-12-15T15:00{CST}", bureau)  # the next tick of the day adds nothing
    title = "【到期提醒】3 项任务还有 3 个工作日到期"
    assert await notifications(bureau, "deadline:", "项任务") == [("unit_head", title), ("unit_staff", title)]
    [mail] = mails_to(smtp, bureau.users[Role.unit_staff].email, title)
    body = mail.get_body(("plain",)).get_content()
    listed = [f"{first.number} 完成校园安全排查（2026-12-18）", f"{second.number} 完成食堂检查（2026-12-19）",
              f"{third.number} 完成消防演练（2026-12-20）"]
    assert all(line in body for line in listed)
    assert body.index(listed[0]) < body.index(listed[1]) < body.index(listed[2])
    assert "完成校舍排查" not in body and "/tasks" in body and f"/tasks/{first.id}" not in body
    # The fourth task is alone in its window (T-7): its own message, as before, with its own link.
    single = f"【到期提醒】{fourth.number} 完成校舍排查"
    assert await notifications(bureau, "deadline:", "完成校舍排查") == [("unit_head", single), ("unit_staff", single)]
    [alone] = mails_to(smtp, bureau.users[Role.unit_staff].email, single)
    assert f"/tasks/{fourth.id}" in alone.get_body(("plain",)).get_content()
    robot = [b["text"]["content"] if "text" in b else b["markdown"]["content"] for _p, _q, b in receiver.to("school")]
    assert sum(title in text for text in robot) == 1


async def test_escalation_climbs_from_unit_head_to_supervisors_and_leaders(smtp, receiver):
    bureau = await create_bureau(emails=True)
    task = await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    async with unit_of_work(bureau.tenant.id) as session:
        await delivery.add_channel(session, bureau.actors[Role.admin], kind="wecom", url=receiver.url("bureau"))
        await delivery.add_channel(session, bureau.actors[Role.admin], kind="dingtalk", url=receiver.url("school"),
                                   secret="SEC123", unit_id=bureau.units["school"].id)
    await run_jobs_at(f"2026-12-19T09:00{CST}", bureau)  # Saturday: not a working day, nothing climbs
    assert await notifications(bureau, "notice:") == []
    await run_jobs_at(f"2026-12-21T09:00{CST}", bureau)  # overdue by 1 working day: the unit head, with a yellow notice
    assert await notifications(bureau, "notice:") == [("unit_head", f"【黄色督办】{task.number} 完成校园安全排查")]
    await run_jobs_at(f"2026-12-24T09:00{CST}", bureau)  # 4 working days: no new level
    assert len(await notifications(bureau, "notice:")) == 1
    await run_jobs_at(f"2026-12-25T09:00{CST}", bureau)  # 5 working days: supervisors and leaders too, red notice
    red = f"【红色督办】{task.number} 完成校园安全排查"
    assert await notifications(bureau, "notice:") == sorted([
        ("unit_head", f"【黄色督办】{task.number} 完成校园安全排查"), ("unit_head", red), ("supervisor", red),
        ("leader", red)])
    async with unit_of_work(bureau.tenant.id) as session:
        numbers = list((await session.exec(select(SupervisionNotice.seq))).all())
        notices = list((await session.exec(select(SupervisionNotice).where(SupervisionNotice.task_id == task.id)
                                           .order_by(col(SupervisionNotice.seq)))).all())
    assert [(n.level, n.workdays_overdue, n.deadline, n.year) for n in notices] == [
        ("yellow", 1, date(2026, 12, 18), 2026), ("red", 5, date(2026, 12, 18), 2026)]
    assert sorted(numbers) == list(range(1, len(numbers) + 1))  # 督〔2026〕001号, 002号 … with no gap or repeat
    # The supervisor's and leader's mailboxes have the red one; the unit's staff (not the head) neither.
    assert [m["Subject"] for m in mails_to(smtp, bureau.users[Role.leader].email, "完成校园安全排查")] == [red]
    assert [m["Subject"] for m in mails_to(smtp, bureau.users[Role.supervisor].email, "完成校园安全排查")] == [red]
    assert mails_to(smtp, bureau.users[Role.unit_staff].email, "督办") == []
    # The school's robot heard both levels, signed; the bureau's robot only the red one.
    school = [body["markdown"]["title"] for _path, query, body in receiver.to("school")]
    yellow = f"【黄色督办】{task.number} 完成校园安全排查"
    assert [title for title in school if "完成校园安全排查" in title] == [yellow, red]
    assert all("sign" in query and "timestamp" in query for _path, query, _body in receiver.to("school"))
    bureau_robot = [body["markdown"]["content"].splitlines()[0] for _p, _q, body in receiver.to("bureau")]
    assert [line for line in bureau_robot if "完成校园安全排查" in line] == [f"**{red}**"]
    # More runs of the same day change nothing.
    heard = len(receiver.requests)
    await run_jobs_at(f"2026-12-25T16:00{CST}", bureau)
    assert len(await notifications(bureau, "notice:")) == 4 and len(receiver.requests) == heard


async def test_report_day_reminders_go_to_units_that_have_not_filed(smtp):
    bureau = await create_bureau(emails=True)
    task = await new_task(bureau, "推进课后服务", date(2027, 6, 30))
    for day in (21, 22, 23, 24, 25):
        await run_jobs_at(f"2026-12-{day:02d}T09:00{CST}", bureau)
    titles = await notifications(bureau, "report-day:", "推进课后服务")
    # T-3 (Tue 22nd) and the day itself (Fri 25th), to both of the school's people.
    assert titles == sorted([("unit_head", f"【报送提醒】{task.number} 推进课后服务")] * 2
                            + [("unit_staff", f"【报送提醒】{task.number} 推进课后服务")] * 2)
    mails = mails_to(smtp, bureau.users[Role.unit_staff].email, "报送提醒")
    bodies = [m.get_body(("plain",)).get_content() for m in mails]
    assert "应于 2026-12-25 前报送" in bodies[0] and "今天（2026-12-25）是本期（2026-12）进展报送日" in bodies[1]


async def test_quiet_hours_hold_messages_for_the_morning(smtp):
    bureau = await create_bureau(emails=True)
    async with unit_of_work(bureau.tenant.id) as session:
        await reminders.update_policy(session, bureau.actors[Role.admin], policy_form())  # 22:00–07:00
    await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    staff = bureau.users[Role.unit_staff].email
    await run_jobs_at(f"2026-12-09T06:30{CST}", bureau)  # decided at 06:30 bureau time, the bell has it …
    assert len(await notifications(bureau, "deadline:")) == 2
    assert mails_to(smtp, staff, "到期提醒") == []  # … but nothing leaves before 07:00
    await run_jobs_at(f"2026-12-08T23:30{CST}", bureau)  # (nor the night before)
    assert mails_to(smtp, staff, "到期提醒") == []
    await run_jobs_at(f"2026-12-09T07:00{CST}", bureau)
    assert len(mails_to(smtp, staff, "到期提醒")) == 1


async def test_bureau_day_boundary_is_its_own_midnight(smtp):
    bureau = await create_bureau(emails=True)
    await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    await run_jobs_at("2026-12-08T15:59:00+00:00", bureau)  # 23:59 on Tue 8th in Beijing: not yet T-7
    assert await notifications(bureau, "deadline:") == []
    await run_jobs_at("2026-12-08T16:00:00+00:00", bureau)  # 00:00 on Wed 9th in Beijing (still the 8th in UTC)
    assert len(await notifications(bureau, "deadline:")) == 2


async def test_disabled_rules_decide_nothing(smtp):
    bureau = await create_bureau(emails=True)
    async with unit_of_work(bureau.tenant.id) as session:
        await reminders.update_policy(session, bureau.actors[Role.admin], policy_form(
            enabled=False, quiet_start="00:00", quiet_end="00:00"))
    await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    for day in (9, 21, 25):
        await run_jobs_at(f"2026-12-{day:02d}T09:00{CST}", bureau)
    assert await notifications(bureau, "deadline:") + await notifications(bureau, "notice:") == []


async def test_daily_digest_lists_what_waits_and_skips_who_has_nothing(smtp):
    bureau = await create_bureau(emails=True)
    await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    await run_jobs_at(f"2026-12-09T07:00{CST}", bureau)  # before the digest time (07:30)
    assert await notifications(bureau, "digest:", "每日待办") == []
    await run_jobs_at(f"2026-12-09T07:45{CST}", bureau)
    digests = await notifications(bureau, "digest:", "每日待办")
    # The school's two people have tasks to acknowledge; the plan's tasks wait for nobody else today.
    assert [role for role, _title in digests] == ["unit_head", "unit_staff"]
    [mail] = mails_to(smtp, bureau.users[Role.unit_staff].email, "每日待办")
    assert "待签收任务" in mail.get_body(("plain",)).get_content()
    await run_jobs_at(f"2026-12-09T18:00{CST}", bureau)
    assert len(await notifications(bureau, "digest:", "每日待办")) == 2  # one a day


async def test_weekly_overview_reaches_leaders_on_monday(smtp, receiver):
    bureau = await create_bureau(emails=True)
    async with unit_of_work(bureau.tenant.id) as session:
        await delivery.add_channel(session, bureau.actors[Role.admin], kind="feishu", url=receiver.url("bureau"))
    await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    await run_jobs_at(f"2026-12-15T08:00{CST}", bureau)  # Tuesday
    assert await notifications(bureau, "weekly:", "每周概览") == []
    await run_jobs_at(f"2026-12-21T08:00{CST}", bureau)  # Monday
    assert await notifications(bureau, "weekly:", "每周概览") == [("leader", "【每周概览】2026年第52周")]
    [overview] = [body["content"]["text"] for _p, _q, body in receiver.to("bureau") if "每周概览" in str(body)]
    # Overdue: this task (school) and the fixture plan's 2024 task led by the office with the school's help.
    assert "超期较多的单位：\n· 实验小学：超期 2 项\n· 办公室：超期 1 项" in overview
    # The plan's 2024 task handed to the office is red; its unassigned one counts as 待交办, not red nor overdue; this
    # one turns red at the lights' next run.
    assert "推进中（已交办、未办结）2 项，其中超期（已过时限、仍未办结）2 项、红灯 1 项" in overview
    assert "待交办（尚未交给单位）1 项" in overview


async def test_sweep_of_one_bureau_never_touches_another(smtp):
    bureau, other = await create_bureau(emails=True), await create_bureau(emails=True)
    await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    for swept in (bureau, other):  # the other bureau's sweep never sees this bureau's task, nor the reverse
        await run_jobs_at(f"2026-12-21T09:00{CST}", swept)
    assert await notifications(other, "notice:") == [] and await notifications(other, "deadline:") == []
    assert len(await notifications(bureau, "notice:")) == 1


async def test_work_found_long_overdue_gets_the_red_notice_only(smtp):
    bureau = await create_bureau(emails=True)
    task = await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    await run_jobs_at(f"2026-12-28T09:00{CST}", bureau)  # first seen 6 working days late: straight to red
    assert [title for _role, title in await notifications(bureau, "notice:")] == [
        f"【红色督办】{task.number} 完成校园安全排查"] * 3


async def test_holidays_hold_reminders_and_make_up_saturdays_count(smtp):
    """Around National Day 2026: 中秋 Fri 25 Sep, 国庆 1–7 Oct off, Sat 10 Oct a make-up working day. A task due
    Fri 9 Oct: its working days before are Thu 8 Oct (T-1), Wed 30 Sep, Tue 29 Sep (T-3 = 29 Sep); it is overdue by
    one working day on Saturday 10 Oct (a working day), not on Monday 12th."""
    bureau = await create_bureau(emails=True)
    await new_task(bureau, "完成校园安全排查", date(2026, 10, 9), ReportFrequency.once)
    new_on: dict[str, list[int]] = {"deadline:": [], "notice:": []}
    seen = {prefix: 0 for prefix in new_on}
    for day in [date(2026, 9, 28) + timedelta(days=n) for n in range(15)]:
        await run_jobs_at(f"{day.isoformat()}T09:00{CST}", bureau)
        for prefix in new_on:
            count = len(await notifications(bureau, prefix))
            if count > seen[prefix]:
                new_on[prefix].append(day.day)
            seen[prefix] = count
    assert new_on == {"deadline:": [29, 8], "notice:": [10]}


async def test_each_person_hears_on_the_channels_they_chose(smtp):
    bureau = await create_bureau(emails=True)
    async with unit_of_work(bureau.tenant.id) as session:
        await notifications_service.update_preferences(
            session, bureau.actors[Role.unit_staff], email=False, sms=False, phone="", daily_digest=False,
            weekly_digest=False)
        await notifications_service.update_preferences(
            session, bureau.actors[Role.unit_head], email=True, sms=True, phone="138 1234 5678", daily_digest=True,
            weekly_digest=False)
    await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    await run_jobs_at(f"2026-12-09T09:00{CST}", bureau)
    # Both have it in the bell; only the head by e-mail and SMS; the staff member turned the digest off too.
    assert [role for role, _title in await notifications(bureau, "deadline:")] == ["unit_head", "unit_staff"]
    assert mails_to(smtp, bureau.users[Role.unit_staff].email, "到期提醒") == []
    assert len(mails_to(smtp, bureau.users[Role.unit_head].email, "到期提醒")) == 1
    sms = [(row.recipient, row.state) for row in await outbox(bureau, "deadline:") if row.channel == "sms"]
    assert sms == [("13812345678", "sent")]
    assert [role for role, _title in await notifications(bureau, "digest:", "每日待办")] == ["unit_head"]


async def test_the_cron_tick_fans_out_one_job_per_bureau(smtp):
    bureau = await create_bureau(emails=True)
    await new_task(bureau, "完成校园安全排查", date(2026, 12, 18), ReportFrequency.once)
    queued = await run_tick("sweep_reminders", f"2026-12-09T09:00{CST}", [bureau])  # the cron names no bureau
    # One job per active bureau, each as of the tick's moment; this bureau's, run, reminds as a named sweep would.
    assert sorted(queued) == sorted(f"sweep:{tenant_id}:2026-12-09T09:00:00{CST}"
                                    for tenant_id in await active_bureau_ids())
    assert len(await notifications(bureau, "deadline:")) == 2
