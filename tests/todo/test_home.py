"""The to-do home (httpx, plain HTML): each role sees what waits for it, each entry links to the page where it is
done, empty lists say what is fine, the counters follow the chosen year, and the page costs the same number of
queries however much waits."""

import re
from datetime import UTC, date, datetime, timedelta

from backend.core import clock as luoshi_clock
from backend.db import unit_of_work
from backend.reports import lights
from backend.reports import service as reports
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.todo import service as todo
from tests.reports.helpers import EARLY_NOVEMBER, QueryCounter, filed, report_for, run, save, set_settings


def main(response) -> str:
    text = response.text
    return text[text.index("<main"):text.index("</main>")]


def card(html: str, key: str) -> str:
    """The to-do card of one list (empty string when the list is not shown as waiting)."""
    match = re.search(rf'<section class="card todo-card" id="todo-{key}".*?</section>', html, re.S)
    return match.group(0) if match else ""


async def test_staff_home_lists_what_to_acknowledge_and_report_with_days_left(loop, browser, clock):
    clock(EARLY_NOVEMBER)  # 2026-11-10; the bureau reports on the 25th
    staff = await browser(loop.usernames["staff"])
    html = main(await staff.get("/"))
    acknowledge, due = card(html, "to_acknowledge"), card(html, "due")
    assert f'href="/tasks/{loop.task_id}"' in acknowledge and "深化理论学习" in acknowledge
    assert f'href="/tasks/{loop.task_id}/report?period=2026-11"' in due
    assert "还剩 15 天（2026-11-25 截止）" in due
    assert "没有被退回的报告" in html  # the empty lists say what is fine

    # The form the entry leads to is the report form of that task and period.
    form = await staff.get(f"/tasks/{loop.task_id}/report?period=2026-11")
    assert form.status_code == 200 and 'name="progress"' in form.text and "2026年11月" in form.text

    await save(loop)
    due = card(main(await staff.get("/")), "due")
    assert "已存草稿，未提交" in due and f"/tasks/{loop.task_id}/report?period=2026-11" in due


async def test_staff_home_after_filing_says_all_filed_and_lists_a_return_with_its_comment(loop, browser, clock):
    clock(EARLY_NOVEMBER)
    report = await filed(loop)
    staff = await browser(loop.usernames["staff"])
    html = main(await staff.get("/"))
    assert card(html, "due") == "" and "本期已全部报送" in html

    await run(loop, reports.review, loop.supervisor, report.id, accept=False, comment="请补充照片。",
              version=report.version)
    returned = card(main(await staff.get("/")), "returned")
    assert "请补充照片。" in returned and f'href="/tasks/{loop.task_id}/report?period=2026-11"' in returned


async def test_unit_head_home_lists_reports_to_approve_and_the_units_red_tasks(loop, browser, clock):
    clock(EARLY_NOVEMBER)
    await set_settings(loop, unit_head_approval=True)
    await filed(loop)
    report = await report_for(loop)
    async with unit_of_work(loop.tenant_id) as session:
        await lights.refresh_lights(session, loop.tenant_id, today=date(2027, 3, 1), trigger="测试")
    head = await browser(loop.usernames["head"])
    html = main(await head.get("/"))
    awaiting = card(html, "awaiting_unit_head")
    assert f'href="/reviews#row-{report.id}"' in awaiting
    assert f'id="row-{report.id}"' in (await head.get("/reviews")).text  # the entry's anchor is on the queue
    assert f'href="/tasks/{loop.task_id}"' in card(html, "unit_reds")


async def test_supervisor_home_lists_reviews_completions_and_extensions(loop, browser, clock):
    clock(EARLY_NOVEMBER)
    report = await filed(loop)
    await run(loop, lifecycle.request_extension, loop.staff, loop.task_id, requested_deadline=date(2027, 6, 30),
              reason="场地施工")
    supervisor = await browser(loop.usernames["supervisor"])
    html = main(await supervisor.get("/"))
    assert f'href="/reviews#row-{report.id}"' in card(html, "to_review")
    assert f'id="row-{report.id}"' in (await supervisor.get("/reviews")).text
    extensions = card(html, "extensions")
    assert f'href="/tasks/{loop.task_id}#ext-h"' in extensions and "2027-06-30" in extensions
    assert 'id="ext-h"' in (await supervisor.get(f"/tasks/{loop.task_id}")).text
    assert "没有待审批的办结申请" in html

    await run(loop, reports.review, loop.supervisor, report.id, accept=True, version=report.version)
    await run(loop, reports.request_completion, loop.staff, loop.task_id, summary="已全部完成。", version=None)
    completion = card(main(await supervisor.get("/")), "completion")
    assert "申请办结" in completion and "/reviews#row-" in completion


async def test_supervisor_home_lists_units_that_missed_the_report_day(loop, browser, clock):
    clock(luoshi_clock.now() + timedelta(days=40))  # a report day has passed since the task was handed to the office
    supervisor = await browser(loop.usernames["supervisor"])
    overdue = card(main(await supervisor.get("/")), "overdue_reports")
    assert "办公室" in overdue and f'href="/tasks/{loop.task_id}"' in overdue and "逾期" in overdue


async def test_leader_home_shows_reds_units_behind_and_support_needed_this_month(loop, browser, clock):
    clock(EARLY_NOVEMBER)
    report = await filed(loop, support_needed="需要协调场地。")
    async with unit_of_work(loop.tenant_id) as session:
        await lights.refresh_lights(session, loop.tenant_id, today=date(2027, 3, 1), trigger="测试")
    leader = await browser(loop.usernames["leader"])
    html = main(await leader.get("/"))
    assert "需关注" in html
    assert f'href="/tasks/{loop.task_id}"' in card(html, "reds")
    assert "办公室" in card(html, "units_behind") and "/tasks?unit=" in card(html, "units_behind")
    support = card(html, "support_needed")
    assert "需要协调场地。" in support and f'href="/tasks/{loop.task_id}/reports#report-{report.id}"' in support
    assert f'id="report-{report.id}"' in (await leader.get(f"/tasks/{loop.task_id}/reports")).text

    clock(datetime(2026, 12, 3, 2, tzinfo=UTC))  # next month: the request is no longer "raised this month"
    leader = await browser(loop.usernames["leader"])  # three weeks on, the sign-in of 10 November has lapsed
    assert card(main(await leader.get("/")), "support_needed") == ""


async def test_counters_follow_the_chosen_year(loop, browser, clock):
    clock(EARLY_NOVEMBER)
    await run(loop, tasks.create_tasks, loop.supervisor, 2026, [tasks.NewTask(
        title="2026年临时任务", description="", deadline=date(2026, 12, 31),
        lead_unit_ids=[loop.bureau.units["office"].id], co_unit_ids=[])])
    supervisor = await browser(loop.usernames["supervisor"])

    def open_count(html: str) -> int:
        return int(re.search(r'推进中（已交办、未办结）</p><p class="stat">(\d+)<', html).group(1))

    this_year = main(await supervisor.get("/"))
    assert "2026年任务" in this_year and open_count(this_year) == 1
    plan_year = main(await supervisor.get("/?year=2024"))  # the sample plan's two tasks: one handed out, one not
    assert "2024年任务" in plan_year and open_count(plan_year) == 1 and "待交办 1 项" in plan_year
    assert "待交办" not in this_year
    assert "2026年任务" in main(await supervisor.get("/?year=abc"))  # nonsense falls back, never a 500


async def test_home_costs_the_same_number_of_queries_however_much_waits(loop, clock):
    clock(EARLY_NOVEMBER)
    await set_settings(loop, unit_head_approval=True)
    roles = ("staff", "head", "supervisor", "leader", "admin")

    async def counts() -> dict[str, int]:
        found = {}
        for name in roles:
            async with unit_of_work(loop.tenant_id) as session:
                with QueryCounter() as counter:
                    await todo.home(session, loop.actors[name])
            found[name] = counter.count
        return found

    before = await counts()
    office = loop.bureau.units["office"].id
    made = await run(loop, tasks.create_tasks, loop.supervisor, 2026, [
        tasks.NewTask(title=f"临时任务{i}", description="", deadline=date(2026, 12, 31), lead_unit_ids=[office],
                      co_unit_ids=[]) for i in range(8)])
    for task in made[:4]:
        report = await run(loop, reports.save_report, loop.staff, task.id, progress="已推进。", support_needed="需协调",
                           version=0)
        await run(loop, reports.submit_report, loop.staff, report.id, version=report.version)
    for task in made[4:6]:
        await run(loop, lifecycle.request_extension, loop.staff, task.id, requested_deadline=date(2027, 3, 1),
                  reason="需要更多时间")
    async with unit_of_work(loop.tenant_id) as session:
        await lights.refresh_lights(session, loop.tenant_id, today=date(2027, 3, 1), trigger="测试")
    assert await counts() == before
    assert max(before.values()) <= 12  # a handful: the lists, the counters (states and plans), the session


async def test_a_unit_that_only_co_operates_sees_its_to_do_and_its_red_task(loop, browser, clock):
    """A school co-operating on an overdue task is not told "暂无督办任务" once it has signed, and its head finds the
    task among the unit's red tasks (a 督办单 reaches co-operating units too)."""
    clock(EARLY_NOVEMBER)
    await run(loop, lifecycle.acknowledge, loop.actors["co_staff"], loop.task_id, version=None)
    async with unit_of_work(loop.tenant_id) as session:
        await lights.refresh_lights(session, loop.tenant_id, today=date(2027, 3, 1), trigger="测试")
    for who in ("co_staff", "co_head"):
        home = main(await (await browser(loop.usernames[who])).get("/"))
        assert "暂无督办任务" not in home and "暂无需要您填报的任务" not in home
        assert 'id="todo-h"' in home
    head_home = main(await (await browser(loop.usernames["co_head"])).get("/"))
    assert "深化理论学习" in card(head_home, "unit_reds")
