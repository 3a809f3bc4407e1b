"""The holiday table (issue 13, point 11): chinese-calendar 1.11.0 knows holidays only up to 2026, so on 2027-01-01
the rules took New Year's Day for a working day and issued yellow 督办单. The operator enters each year from the
State Council's notice; an unknown year counts weekends only, and the pages that show working days say so."""

import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from sqlmodel import delete, select

from backend.accounts.models import User
from backend.accounts.service import create_user
from backend.core import calendar
from backend.core.clock import local_today
from backend.core.redis import get_redis
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import InvalidInput
from backend.holidays import service as holidays
from backend.holidays.jobs import refresh_calendar
from backend.holidays.models import HolidayYear
from backend.reminders.models import SupervisionNotice
from backend.reminders.notice_doc import render_notice
from backend.tasks.lights import LightInput, compute_light
from backend.tasks.models import ReportFrequency, Task, TaskState
from tests.reminders.test_sweep import CST, new_task, notifications, run_jobs_at
from tests.support.fixtures import PASSWORD, create_bureau, csrf_of, login, make_client, unique

NEW_YEAR_2027 = {"year": "2027", "notice": "国办发明电〔2026〕7号",
                 "days_off": "2027-01-01~2027-01-03\n2027-02-06至2027-02-14", "workdays": "2027-02-20"}


@pytest.fixture
async def operator():
    """The platform operator; the years a test enters are removed after it (the table is platform-wide)."""
    async with unit_of_work() as session:
        user = await create_user(session, username=unique("op-"), display_name="平台运维", password=PASSWORD,
                                 is_operator=True)
    from backend.core.actor import Operator

    yield Operator(user_id=user.id, display_name=user.display_name)
    async with unit_of_work() as session:
        await session.exec(delete(HolidayYear).where(HolidayYear.year >= 2027))
    await refresh_calendar()


async def test_new_years_day_2027_issues_no_notice_once_the_year_is_entered(operator):
    bureau = await create_bureau()
    await refresh_calendar()
    assert calendar.is_workday(date(2027, 1, 1)) and not calendar.is_known(2027)  # what the package leaves us
    async with unit_of_work() as session:
        await holidays.save_year(session, operator, **NEW_YEAR_2027)
    task = await new_task(bureau, "完成校园安全排查", date(2026, 12, 31), ReportFrequency.once)
    await run_jobs_at(f"2027-01-01T09:00{CST}", bureau)  # 元旦: a day off, nothing climbs
    assert await notifications(bureau, "notice:") == []
    await run_jobs_at(f"2027-01-04T09:00{CST}", bureau)  # Monday: one working day late, yellow
    assert await notifications(bureau, "notice:") == [("unit_head", f"【黄色督办】{task.number} 完成校园安全排查")]
    async with unit_of_work(bureau.tenant.id) as session:
        [notice] = (await session.exec(select(SupervisionNotice).where(
            SupervisionNotice.task_id == task.id))).all()
    assert notice.workdays_overdue == 1
    assert not calendar.is_workday(date(2027, 2, 8)) and calendar.is_workday(date(2027, 2, 20))  # Sat make-up day


def test_an_unknown_year_counts_weekends_only_and_the_reason_says_so():
    facts = LightInput(state=TaskState.in_progress, start=date(2030, 1, 1), deadline=date(2031, 1, 10), progress=50,
                       report_due=None, returned=False)
    light, reason = compute_light(facts, date(2031, 1, 15))
    assert light == "red"
    assert reason == "已超过时限 3 个工作日（2031年法定节假日安排尚未录入，工作日暂按周一至周五计算）"
    _light, known = compute_light(LightInput(state=TaskState.in_progress, start=date(2025, 1, 1),
                                             deadline=date(2026, 10, 9), progress=50, report_due=None,
                                             returned=False), date(2026, 10, 12))
    assert known == "已超过时限 2 个工作日"  # 2026 is known: Sat 10 Oct (a make-up working day) and Mon 12th


async def test_the_operator_is_warned_from_november_until_next_year_is_entered(operator):
    async with unit_of_work() as session:
        await holidays.save_year(session, operator, **NEW_YEAR_2027)
    assert calendar.missing_year_warning(date(2027, 10, 31)) == ""
    assert calendar.missing_year_warning(date(2027, 11, 1)).startswith("2028年的法定节假日安排尚未录入")
    assert calendar.missing_year_warning(date(2028, 1, 2)).startswith("2028年")  # and all through an unknown year


async def test_operator_enters_a_year_on_the_calendar_page_and_bad_dates_are_explained(app, operator, bureau):
    async with make_client(app) as client:
        async with unit_of_work() as session:
            user = await session.get(User, operator.user_id)
        assert (await login(client, user.username)).status_code == 303
        page = await client.get("/operator/tenants")
        assert "2027年的法定节假日安排尚未录入" in page.text and 'href="/operator/calendar"' in page.text
        listed = await client.get("/operator/calendar")
        assert re.search(r"2027</td>\s*<td[^>]*><strong>未录入：只按周一至周五计算", listed.text)
        assert re.search(r"2026</td>\s*<td[^>]*>chinese-calendar 软件包", listed.text)
        token = await csrf_of(client, "/operator/calendar")
        wrong = await client.post("/operator/calendar", data={**NEW_YEAR_2027, "days_off": "2027-01-01\n1月32日",
                                                               "csrf_token": token})
        assert wrong.status_code == 422
        assert "放假日期中“1月32日”不是有效的日期" in wrong.text and "国办发明电〔2026〕7号" in wrong.text
        posted = await client.post("/operator/calendar", data={**NEW_YEAR_2027, "csrf_token": token})
        assert await get_redis().zcard("arq:queue") == 1  # every bureau's lights recomputed with the new year
        assert posted.status_code == 303 and posted.headers["location"] == "/operator/calendar?saved=2027"
        saved = await client.get(posted.headers["location"])
        assert "已保存2027年的安排（国办发明电〔2026〕7号）：放假 12 天，调休上班 1 天" in saved.text
        assert "2027年的法定节假日安排尚未录入" not in saved.text
    member = await make_signed_in(app, bureau, Role.admin)
    assert (await member.get("/operator/calendar")).status_code in (303, 403, 404)
    await member.aclose()


async def make_signed_in(app, bureau, role):
    client = make_client(app)
    assert (await login(client, bureau.username(role))).status_code == 303
    return client


async def test_pages_with_working_day_figures_say_while_they_count_weekends_only(signed_in, bureau, operator):
    """The task list, a task and the reminder rules say so while a year within a month of today is not entered;
    entering it takes the note away (as of the real clock, so the note may be due or not on the day the test runs)."""
    today = local_today()
    reach = today + timedelta(days=31)
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.title == "深化理论学习"))).one()
    supervisor, admin = await signed_in(bureau, Role.supervisor), await signed_in(bureau, Role.admin)

    async def shown() -> list[bool]:
        pages = [await supervisor.get("/tasks"), await supervisor.get(f"/tasks/{task.id}"),
                 await admin.get("/admin/reminders")]
        return ["工作日暂按周一至周五计算" in page.text for page in pages]

    missing = calendar.unknown_years(today, reach)
    assert await shown() == [bool(missing)] * 3
    for year in missing:
        async with unit_of_work() as session:
            await holidays.save_year(session, operator, year=str(year), notice="国办发明电（测试）",
                                     days_off=f"{year}-01-01", workdays="")
    assert await shown() == [False] * 3


def test_a_notice_overdue_into_an_unknown_year_says_how_it_counted():
    notice = SupervisionNotice(level="yellow", deadline=date(2031, 1, 10), workdays_overdue=3, year=2031, seq=7)
    task = Task(number="督-2031-001", title="完成校舍排查")
    document = Document(io.BytesIO(render_notice(notice, task, "实验小学", "某县教育局",
                                                 datetime(2031, 1, 15, 9, tzinfo=ZoneInfo("Asia/Shanghai")))))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "已超期 3 个工作日（2031年法定节假日安排尚未录入，工作日暂按周一至周五计算）" in cells
    assert "督〔2031〕007号" in "".join(p.text for p in document.paragraphs)


def test_dates_are_read_as_the_notice_writes_them_and_written_back_as_ranges():
    days = holidays.parse_days("1月1日（周五）至3日（周日）放假\n2月6日至2月14日\n2027-04-05", year=2027,
                               label="放假日期", field="days_off")
    assert len(days) == 3 + 9 + 1 and days[0] == date(2027, 1, 1) and days[-1] == date(2027, 4, 5)
    assert holidays.as_ranges(days) == "2027-01-01~2027-01-03\n2027-02-06~2027-02-14\n2027-04-05"
    assert holidays.parse_days(holidays.as_ranges(days), year=2027, label="放假日期", field="days_off") == days
    for wrong, message in (("2月30日", "不是有效的日期"), ("3月5日至2日", "起止日期不对"),
                           ("2028-05-01", "不在2027年内"), ("清明节", "不是日期")):
        with pytest.raises(InvalidInput) as refused:
            holidays.parse_days(wrong, year=2027, label="放假日期", field="days_off")
        assert message in refused.value.message and f"“{wrong}”" in refused.value.message


async def test_an_entered_year_opens_filled_for_correction(app, operator):
    async with unit_of_work() as session:
        await holidays.save_year(session, operator, **NEW_YEAR_2027)
        user = await session.get(User, operator.user_id)
    async with make_client(app) as client:
        assert (await login(client, user.username)).status_code == 303
        listed = await client.get("/operator/calendar")
        assert 'href="/operator/calendar?year=2027#form"' in listed.text
        form = await client.get("/operator/calendar?year=2027")
    assert "更正2027年的安排" in form.text and 'value="国办发明电〔2026〕7号"' in form.text
    assert "2027-01-01~2027-01-03\n2027-02-06~2027-02-14</textarea>" in form.text
