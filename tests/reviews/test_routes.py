"""季点评 pages as the people who use them: open, rate every unit in one save, remark, publish, read, export."""

import io
import re

from openpyxl import load_workbook
from sqlmodel import select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.reviews.models import QuarterlyRating, QuarterlyReview
from tests.assessments.world import World
from tests.support.fixtures import post_form


async def test_supervisor_opens_rates_every_unit_in_one_save_and_publishes(world: World, signed_in, login_as):
    supervisor = await signed_in(world.bureau, Role.supervisor)
    assert (await supervisor.get("/quarterly")).status_code == 200
    # Today is 2030-12-28 on the tests' clock: Q4 2030 can be opened by hand; a double click lands on the same one.
    opened = await post_form(supervisor, "/quarterly", {"year": "2030", "quarter": "4"}, page="/quarterly")
    again = await post_form(supervisor, "/quarterly", {"year": "2030", "quarter": "4"}, page="/quarterly")
    assert opened.status_code == again.status_code == 303
    assert opened.headers["location"] == again.headers["location"]
    future = await post_form(supervisor, "/quarterly", {"year": "2031", "quarter": "1"}, page="/quarterly")
    assert future.status_code == 422 and "尚未开始" in future.text
    path = opened.headers["location"].split("?")[0]
    page = await supervisor.get(path)
    assert page.status_code == 200
    office, school = world.units["A"], world.units["B"]
    t1, t2 = f"{office}_{world.tasks['T1'].id}", f"{office}_{world.tasks['T2'].id}"
    t3 = f"{school}_{world.tasks['T3'].id}"
    # One form for the whole sheet, each unit's task with a score (the rubric is now 0–100) and a comment.
    assert page.text.count(f'action="{path}/ratings"') == 1 and f'name="rating-{t1}"' in page.text
    assert f'name="rating-{t3}"' in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    sheet = {"version": version, f"rating-{t1}": "92", f"comment-{t1}": "进展快", f"seen-{t1}": "",
             f"rating-{t2}": "一百", f"comment-{t2}": "写错了", f"seen-{t2}": "",
             f"rating-{t3}": "81", f"comment-{t3}": "学校稳步推进", f"seen-{t3}": ""}
    bad = await post_form(supervisor, f"{path}/ratings", sheet, page=path)
    assert bad.status_code == 422 and "0 到 100" in bad.text
    assert 'value="一百"' in bad.text and "进展快" in bad.text and "学校稳步推进" in bad.text  # all still there
    good = await post_form(supervisor, f"{path}/ratings", sheet | {f"rating-{t2}": "78", f"comment-{t2}": ""},
                           page=path)
    assert good.status_code == 303 and "n=3" in good.headers["location"]  # two units, one save
    # The same form again (a double click) changes nothing; a different value from the stale page is refused.
    twice = await post_form(supervisor, f"{path}/ratings", sheet | {f"rating-{t2}": "78", f"comment-{t2}": ""},
                            page=path)
    assert twice.status_code == 303 and "n=0" in twice.headers["location"]
    stale = await post_form(supervisor, f"{path}/ratings", {
        "version": version, f"rating-{t1}": "60", f"seen-{t1}": ""}, page=path)
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    async with unit_of_work(world.tenant_id) as session:
        review = (await session.exec(select(QuarterlyReview).where(QuarterlyReview.quarter == 4,
                                                                    QuarterlyReview.year == 2030))).one()
        scores = sorted((await session.exec(select(QuarterlyRating.score).where(
            QuarterlyRating.review_id == review.id))).all())
    assert scores == [78, 81, 92]
    leader = await signed_in(world.bureau, Role.leader)
    assert (await post_form(leader, f"{path}/remarks", {"text": "", "version": version}, page=path)).status_code == 422
    assert (await post_form(leader, f"{path}/remarks", {"text": "四季度收官有力。", "version": version},
                            page=path)).status_code == 303
    refused = await post_form(supervisor, f"{path}/remarks", {"text": "越权", "version": version}, page=path)
    assert refused.status_code == 403
    published = await post_form(supervisor, f"{path}/publish", {"version": version, "summary": "全年收官。"}, page=path)
    assert published.status_code == 303
    again_published = await post_form(supervisor, f"{path}/publish", {"version": version}, page=path)
    assert again_published.status_code == 409 and "已发布" in again_published.text
    # The office's staff see their ratings, the comment and the overall remark; not the school's rows.
    staff = await login_as(world.usernames["A", Role.unit_staff])
    mine = await staff.get(path)
    assert mine.status_code == 200 and "进展快" in mine.text and "四季度收官有力。" in mine.text
    assert "92" in mine.text and world.tasks["T3"].number not in mine.text
    assert (await staff.get(f"{path}/summary")).status_code == 403


async def test_summary_page_and_xlsx(world: World, signed_in):
    supervisor = await signed_in(world.bureau, Role.supervisor)
    path = f"/quarterly/{world.reviews[1]}"
    page = await supervisor.get(f"{path}/summary")
    assert page.status_code == 200 and "90.00" in page.text and "85.00" in page.text
    download = await supervisor.get(f"{path}/summary.xlsx")
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(download.content)).active
    rows = [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]
    # Q1 — 办公室: 95 and 85 → 2 rated, average 90, 优 1 良 1; 实验小学: 75 and 95 → average 85, 优 1 中 1.
    assert rows == [["办公室", 2, 90, 1, 1, 0, 0], ["实验小学", 2, 85, 1, 0, 1, 0]]
    assert sheet["A2"].value == "单位" and "2030年第1季度" in sheet["A1"].value


async def test_other_bureaus_and_roles_without_the_right(world: World, signed_in, other_bureau):
    path = f"/quarterly/{world.reviews[3]}"  # a draft
    for role in (Role.supervisor, Role.leader, Role.admin, Role.unit_staff):
        outsider = await signed_in(other_bureau, role)
        for url in (path, f"{path}/summary", f"{path}/summary.xlsx"):
            response = await outsider.get(url)
            assert response.status_code == 404, (role, url)
            assert "第二中学" not in response.text
        for url, data in ((f"{path}/ratings", {f"rating-{world.units['C']}_{world.tasks['T4'].id}": "60"}),
                          (f"{path}/remarks", {"text": "越界"}), (f"{path}/publish", {})):
            assert (await post_form(outsider, url, data)).status_code == 404, (role, url)
    # In the bureau itself, a unit does not see a draft, and only supervisors rate.
    staff = await signed_in(world.bureau, Role.unit_staff)
    assert (await staff.get(path)).status_code == 404
    leader = await signed_in(world.bureau, Role.leader)
    refused = await post_form(leader, f"{path}/ratings",
                              {f"rating-{world.units['C']}_{world.tasks['T4'].id}": "60"}, page=path)
    assert refused.status_code == 403 and "无权" in refused.text
    assert (await post_form(leader, "/quarterly", {"year": "2030", "quarter": "3"})).status_code == 403
