"""The demo's wrongs (issue 13, point 12): unit-head approval off (the principal never approved anything), the
November 月通报 drafted before `demo-year` filed the year (zeros, a finished task shown 超期), commands printed with
a bare `luoshi` and a Redis socket path that changed at every start, and `demo-year` naming accounts (bangong,
jijiao) that the demo's login list did not show.

Runs after test_demo_year.py (file order), which files the first half of the same demo year; alone it files it all.
"""

import re
import subprocess
from datetime import date

from sqlmodel import select

from backend.bulletins import service as bulletins
from backend.bulletins.models import Bulletin
from backend.core.embedded import EmbeddedServices
from backend.db import unit_of_work
from backend.demo import DEMO_CODE, DEMO_PEOPLE, ensure_demo_bureau, luoshi_command
from backend.reports.models import ReportReview
from backend.tenancy.bureau_settings import get_bureau_settings
from backend.tenancy.models import Tenant
from tests.tasks.test_demo_year import demo_year


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
