"""`luoshi demo-year` on a fresh demo bureau: half a year filed through the services, each report on its month; then
the demo's wrongs (issue 13, point 12): unit-head approval off (the principal never approved anything), the November
月通报 drafted before `demo-year` filed the year (zeros, a finished task shown 超期), commands printed with a bare
`luoshi` and a Redis socket path that changed at every start, and `demo-year` naming accounts (bangong, jijiao) that
the demo's login list did not show.

One file on purpose: its tests run in this order on one worker (the second goes on from where the first left the
demo bureau, which is one per database)."""

import re
import subprocess
import sys
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from backend.bulletins import service as bulletins
from backend.bulletins.figures import unit_report_counts
from backend.bulletins.models import Bulletin
from backend.core.embedded import EmbeddedServices
from backend.db import unit_of_work
from backend.demo import DEMO_CODE, DEMO_PEOPLE, ensure_demo_bureau, luoshi_command
from backend.reports.models import ProgressReport, ReportKind, ReportReview, ReportState
from backend.tasks.models import Task, TaskState
from backend.tenancy.bureau_settings import get_bureau_settings
from backend.tenancy.models import Tenant

ZONE = ZoneInfo("Asia/Shanghai")
# What seed 2026 draws for January–June (pinned: a change of the draws or the schedule shows here).
ON_TIME, LATE, MISSED, EXEMPLARY = 33, 7, 6, 3


def demo_year(until: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend.cli", "demo-year", "--until", until], capture_output=True,
                          text=True, timeout=120, check=False)


async def test_half_a_year_is_filed_on_its_dates_as_seeded():
    first = demo_year("2026-06-30")
    assert first.returncode == 0, first.stderr
    async with unit_of_work() as session:
        tenant = (await session.exec(select(Tenant).where(Tenant.code == DEMO_CODE))).one()
    async with unit_of_work(tenant.id) as session:
        periodic = (await session.exec(select(ProgressReport).where(ProgressReport.kind == ReportKind.periodic)
                                       .order_by(col(ProgressReport.submitted_at)))).all()
        tasks = {t.id: t for t in (await session.exec(select(Task))).all()}
        returns = (await session.exec(select(ReportReview).where(ReportReview.decision == "return"))).all()
    assert periodic, first.stdout
    for report in periodic:
        filed = report.submitted_at.astimezone(ZONE).date()
        assert report.period == f"{filed.year}-{filed.month:02d}"  # each report on its own month
        assert report.due_on == date(filed.year, filed.month, 25)  # the demo bureau reports by the 25th
        assert report.late == (filed > report.due_on) and (filed.day >= 26) == report.late
        assert report.state == ReportState.accepted  # reviewed the day after (a returned one fixed and accepted)
    # Eight tasks (six of the plan, two ad-hoc) over January–June, less the months that end in a completion:
    # 8 × 6 = 48 task-months; 清廉学校 asks for 办结 in June and 书香校园 in June too, so 46 monthly reports were due.
    # The seeded draws (seed 2026, 70 % on time, 15 % late, 15 % missed) give 33 + 7 filed and 6 missed.
    on_time = sum(1 for r in periodic if not r.late)
    late = sum(1 for r in periodic if r.late)
    assert (on_time, late, 46 - on_time - late) == (ON_TIME, LATE, MISSED)
    assert f"按时 {ON_TIME}，逾期 {LATE}" in first.stdout and "/tasks/rollover" in first.stdout
    # Two monthly reports returned (and fixed), plus 清廉学校's 办结 request sent back: three returns.
    assert len(returns) == 2 + 1 and "退回后修改 2 份" in first.stdout
    assert sum(r.exemplary for r in periodic) == EXEMPLARY
    by_title = {t.title: t for t in tasks.values()}
    assert by_title["开展“书香校园”读书月活动"].state == TaskState.done  # asked 6/12, approved 6/15
    assert by_title["加强清廉学校建设"].state == TaskState.in_progress  # asked 6/24, sent back 6/26
    # The plan is dated January (when it was published in the year played), so the 月通报's figures count these
    # reports: every one filed Jan–Jun is a filed report of its month, and what the demo left out is missing.
    async with unit_of_work(tenant.id) as session:
        counts = (await unit_report_counts(session, tenant.id, date(2026, 1, 1), date(2026, 6, 30))).values()
    assert (sum(c.filed for c in counts), sum(c.on_time for c in counts), sum(c.late for c in counts)) == (
        ON_TIME + LATE, ON_TIME, LATE)
    assert sum(c.missing for c in counts) >= MISSED
    # A second run up to the same day files nothing twice.
    again = demo_year("2026-06-30")
    assert again.returncode == 0, again.stderr
    assert "月度进展报告 0 份" in again.stdout
    async with unit_of_work(tenant.id) as session:
        assert len((await session.exec(select(ProgressReport.id).where(
            ProgressReport.kind == ReportKind.periodic))).all()) == len(periodic)


async def test_demo_year_goes_through_the_principal_and_redrafts_novembers_bulletin():
    await ensure_demo_bureau()
    async with unit_of_work() as session:
        tenant = (await session.exec(select(Tenant).where(Tenant.code == DEMO_CODE))).one()
    async with unit_of_work(tenant.id) as session:
        assert (await get_bureau_settings(session, tenant.id)).unit_head_approval
        # The worker, started before demo-year, drafts last month's bulletin from a year not filed yet.
        early, _new = await bulletins.draft_for_month(session, tenant.id, 2026, 11, today=date(2026, 12, 1))
    run = demo_year("2026-12-01")
    assert run.returncode == 0, run.stderr
    async with unit_of_work(tenant.id) as session:
        approvals = (await session.exec(select(ReportReview).where(
            ReportReview.decision == "unit_head_approve"))).all()
        november = (await session.exec(select(Bulletin).where(Bulletin.id == early.id))).one()
    assert approvals  # 陈校长 approved 刘经办's reports before the bureau reviewed them
    totals = november.figures["totals"]
    assert totals["filed"] > 0 and totals["completed"] > 0
    assert all("学校建设" not in row["title"] for row in november.figures["overdue"])  # 办结 on 11-18
    # Every account the summary names is one the demo's login list shows; the command is one that runs.
    usernames = {username for _role, username, _name, _unit in DEMO_PEOPLE}
    named = {word for line in run.stdout.splitlines() if "登录" in line
             for word in re.findall(r"\b[a-z]+\b", line.split("：", 1)[0])}
    assert {"jingban", "xiaozhang", "bangong", "jijiao"} <= named <= usernames
    assert f"{luoshi_command(with_services=True)} remind --at" in run.stdout  # as pasted: with the database


def test_printed_luoshi_command_runs_and_the_embedded_redis_keeps_its_socket(tmp_path):
    help_text = subprocess.run(f"{luoshi_command()} --help", shell=True, capture_output=True, text=True,  # noqa: S602
                               timeout=60, check=False)
    assert help_text.returncode == 0 and "demo-year" in help_text.stdout
    paths = []
    for _start in range(2):
        services = EmbeddedServices(tmp_path / "data")
        try:
            paths.append(services.start_redis())
        finally:
            services.stop()
    assert paths[0] == paths[1] == f"unix://{tmp_path / 'data' / 'redis' / 'redis.sock'}"
