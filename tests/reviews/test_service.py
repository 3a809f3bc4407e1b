"""季点评 through its services, against the year of tests/assessments/world.py."""

from datetime import date

import pytest
from sqlmodel import select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.notifications.models import Notification
from backend.reviews import service as reviews
from backend.reviews.jobs import open_quarterly_reviews
from backend.reviews.models import Grade, QuarterlyReview, RatingScale, ReviewState
from backend.reviews.scale import GRADE_SCORES, parse_rating, quarter_bounds
from backend.reviews.service import RatingEntry
from tests.assessments.world import YEAR, call, rate, review_of


def test_grades_map_to_scores_in_one_place():
    assert {g: GRADE_SCORES[g] for g in Grade} == {Grade.excellent: 95, Grade.good: 85, Grade.fair: 75,
                                                     Grade.poor: 60}
    assert parse_rating(RatingScale.grade, "良", field="f", label="x") == (Grade.good, 85)
    assert parse_rating(RatingScale.grade, "poor", field="f", label="x") == (Grade.poor, 60)
    assert parse_rating(RatingScale.score, "９２.5", field="f", label="x") == (None, 92.5)
    assert parse_rating(RatingScale.score, "  ", field="f", label="x") is None
    for scale, raw in ((RatingScale.grade, "甲"), (RatingScale.score, "101"), (RatingScale.score, "-1"),
                       (RatingScale.score, "九十")):
        with pytest.raises(InvalidInput):
            parse_rating(scale, raw, field="f", label="x")
    assert quarter_bounds(2030, 1) == (date(2030, 1, 1), date(2030, 3, 31))
    assert quarter_bounds(2030, 4) == (date(2030, 10, 1), date(2030, 12, 31))


async def test_sheet_scale_ratings_and_summary(world, clock):
    supervisor = world.actor(Role.supervisor)
    # The scale is fixed at opening: Q1 opened on the 优良中差 scale stays so after the admin chose 0–100.
    assert (await review_of(world, 1)).scale == RatingScale.grade
    assert (await review_of(world, 2)).scale == RatingScale.score
    view = await call(world.tenant_id, reviews.review_view, supervisor, world.reviews[1])
    # Every lead/responsible (task, unit) active in Q1, grouped by unit: T5 and the plan's task are cancelled,
    # B's part in T2 only cooperates.
    sheet = {u.name: [row.number for row in u.rows] for u in view.units}
    numbers = {k: t.number for k, t in world.tasks.items()}
    assert sheet == {"办公室": [numbers["T1"], numbers["T2"]], "实验小学": [numbers["T1"], numbers["T3"]],
                     "第二中学": [numbers["T4"]]}
    # The unit's reports of the quarter as context: A filed T1 for January and February, T2 for January late.
    office = next(u for u in view.units if u.name == "办公室")
    t1, t2 = office.rows
    assert [(r.period, r.late) for r in t1.reports] == [(f"{YEAR}-01", False), (f"{YEAR}-02", False)]
    assert [(r.period, r.late) for r in t2.reports] == [(f"{YEAR}-01", True)]
    assert (t1.rating.grade, t1.rating.score, t1.rating.comment) == (Grade.excellent, 95, "T1评语")
    assert (view.rated, view.total) == (4, 5)
    # Q1 summary — 办公室: 95, 85 → 2 rated, average 90, 优 1 良 1; 实验小学: 75, 95 → average 85, 优 1 中 1.
    review, lines = await call(world.tenant_id, reviews.summary, supervisor, world.reviews[1])
    got = {line.unit_name: (line.rated, line.average, line.grades) for line in lines}
    assert got == {"办公室": (2, 90.0, {"优": 1, "良": 1, "中": 0, "差": 0}),
                   "实验小学": (2, 85.0, {"优": 1, "良": 0, "中": 1, "差": 0})}
    # Q2 (0–100) — 办公室: 90, 80 → average 85, one in the 优 band (≥90), one in 良; 实验小学: 70 → 中.
    _review, lines = await call(world.tenant_id, reviews.summary, supervisor, world.reviews[2])
    got = {line.unit_name: (line.rated, line.average, line.grades) for line in lines}
    assert got == {"办公室": (2, 85.0, {"优": 1, "良": 1, "中": 0, "差": 0}),
                   "实验小学": (1, 70.0, {"优": 0, "良": 0, "中": 1, "差": 0})}


async def test_rating_is_checked_and_published_reviews_are_locked(world, clock):
    supervisor, q3 = world.actor(Role.supervisor), world.reviews[3]
    t4 = str(world.tasks["T4"].id)
    with pytest.raises(InvalidInput) as bad:
        await call(world.tenant_id, reviews.rate_unit, supervisor, q3, world.units["C"],
                   {t4: RatingEntry("101", seen=await _seen(world, 3, "T4"))}, version=None)
    assert bad.value.field == f"rating-{t4}"
    with pytest.raises(Conflict):  # shown before the existing rating was given: not overwritten silently
        await call(world.tenant_id, reviews.rate_unit, supervisor, q3, world.units["C"], {t4: RatingEntry("60")},
                   version=None)
    with pytest.raises(InvalidInput):  # a task that is not the unit's
        await call(world.tenant_id, reviews.rate_unit, supervisor, q3, world.units["C"],
                   {str(world.tasks["T1"].id): RatingEntry("60")}, version=None)
    with pytest.raises(Forbidden):
        await call(world.tenant_id, reviews.rate_unit, world.actor(Role.leader), q3, world.units["C"],
                   {t4: RatingEntry("60")}, version=None)
    with pytest.raises(Conflict):
        await rate(world, 1, "A", {"T1": "poor"})
    with pytest.raises(Conflict):
        await call(world.tenant_id, reviews.add_remark, world.actor(Role.leader), world.reviews[1], text_="迟到的点评")
    current = await review_of(world, 3)
    with pytest.raises(Conflict):  # a stale page cannot publish
        await call(world.tenant_id, reviews.publish_review, supervisor, q3, version=current.version - 1)


async def test_the_whole_sheet_in_one_save_is_all_or_nothing(world, clock):
    """Q3: 第二中学 already rated (T4, 100); 办公室 and 实验小学 rated together in one save."""
    supervisor, q3 = world.actor(Role.supervisor), world.reviews[3]
    a, b, c = world.units["A"], world.units["B"], world.units["C"]
    t1, t3, t4 = (str(world.tasks[t].id) for t in ("T1", "T3", "T4"))
    stale = {(a, t1): RatingEntry("90"), (b, t3): RatingEntry("80"), (c, t4): RatingEntry("60")}
    with pytest.raises(Conflict):  # T4 was rated before this page was shown: nothing of the sheet is saved
        await call(world.tenant_id, reviews.rate_sheet, supervisor, q3, stale, version=None)
    view = await call(world.tenant_id, reviews.review_view, supervisor, q3)
    assert sum(u.rated for u in view.units) == 1
    fresh = stale | {(c, t4): RatingEntry("60", seen=await _seen(world, 3, "T4"))}
    assert await call(world.tenant_id, reviews.rate_sheet, supervisor, q3, fresh, version=None) == 3
    assert await call(world.tenant_id, reviews.rate_sheet, supervisor, q3, fresh, version=None) == 0  # twice
    view = await call(world.tenant_id, reviews.review_view, supervisor, q3)
    assert {u.name: u.rated for u in view.units} == {"办公室": 1, "实验小学": 1, "第二中学": 1}
    with pytest.raises(InvalidInput) as bad:
        await call(world.tenant_id, reviews.rate_sheet, supervisor, q3, {(a, t3): RatingEntry("70")}, version=None)
    assert "不在本季度的点评范围内" in bad.value.message  # T3 is the school's, not the office's


async def _seen(world, quarter, task) -> str:
    view = await call(world.tenant_id, reviews.review_view, world.actor(Role.supervisor), world.reviews[quarter])
    return next(row.seen for u in view.units for row in u.rows if row.task_id == world.tasks[task].id)


async def test_remarks_publication_and_what_each_unit_sees(world, clock):
    leader, supervisor, q3 = world.actor(Role.leader), world.actor(Role.supervisor), world.reviews[3]
    with pytest.raises(InvalidInput):
        await call(world.tenant_id, reviews.add_remark, leader, q3, text_="  ")
    with pytest.raises(Forbidden):
        await call(world.tenant_id, reviews.add_remark, supervisor, q3, text_="督查人员不写领导点评")
    await call(world.tenant_id, reviews.add_remark, leader, q3, text_="三季度整体平稳。")
    await call(world.tenant_id, reviews.add_remark, leader, q3, text_="三季度整体平稳。")  # a double click
    await call(world.tenant_id, reviews.add_remark, leader, q3, text_="第二中学需加快进度。", unit_id=world.units["C"])
    # Units do not see a draft.
    with pytest.raises(NotFound):
        await call(world.tenant_id, reviews.review_view, world.heads["C"], q3)
    await call(world.tenant_id, reviews.publish_review, supervisor, q3, version=(await review_of(world, 3)).version)
    assert (await review_of(world, 3)).state == ReviewState.published
    async with unit_of_work(world.tenant_id) as session:
        told = (await session.exec(select(Notification.membership_id).where(
            Notification.kind == "quarterly_published", Notification.link == f"/quarterly/{q3}"))).all()
    # Only C was rated in Q3: its staff and head are told, nobody else.
    assert set(told) == {world.staff["C"].membership_id, world.heads["C"].membership_id}
    seen = await call(world.tenant_id, reviews.review_view, world.staff["C"], q3)
    assert [(u.name, [(r.rating.score, r.rating.comment) for r in u.rows]) for u in seen.units] == [
        ("第二中学", [(100, "T4评语")])]
    assert [line.remark.text for line in seen.remarks] == ["三季度整体平稳。"]  # the overall one, once
    assert all(not u.remarks for u in seen.units)
    other = await call(world.tenant_id, reviews.review_view, world.staff["A"], q3)
    assert [(u.name, [r.rating for r in u.rows]) for u in other.units] == [
        ("办公室", [None, None])]


async def test_the_cron_opens_the_past_quarter_once_per_bureau(world, other_bureau):
    tenant = str(world.tenant_id)
    # 2030-12-31 23:00 UTC is 2031-01-01 07:00 in Shanghai: Q4 2030 has ended there.
    assert await open_quarterly_reviews({}, at="2030-12-31T23:00:00+00:00", tenant_id=tenant) == {"opened": 1}
    assert await open_quarterly_reviews({}, at="2031-01-02T23:00:00+00:00", tenant_id=tenant) == {"opened": 0}
    # Mid-quarter nothing opens; nor on 12-31 in Shanghai (15:00 UTC is 23:00 there), before the quarter ended.
    assert await open_quarterly_reviews({}, at="2031-12-31T15:00:00+00:00", tenant_id=tenant) == {"opened": 0}
    assert await open_quarterly_reviews({}, at="2031-02-10T01:00:00+00:00", tenant_id=tenant) == {"opened": 0}
    async with unit_of_work(world.tenant_id) as session:
        opened = (await session.exec(select(QuarterlyReview).where(QuarterlyReview.year == 2030,
                                                                    QuarterlyReview.quarter == 4))).one()
    assert opened.state == ReviewState.draft and opened.scale == RatingScale.score  # the rubric's scale now
    async with unit_of_work(other_bureau.tenant.id) as session:
        assert (await session.exec(select(QuarterlyReview))).first() is None
    with pytest.raises(NotFound):
        await call(other_bureau.tenant.id, reviews.review_view, other_bureau.actors[Role.supervisor], opened.id)



async def test_the_cron_tick_fans_out_one_job_per_bureau(bureau, other_bureau):
    from backend.core.redis import get_redis

    tick = "2031-03-31T22:40:00+00:00"
    fanned = await open_quarterly_reviews({}, at=tick)
    assert fanned["bureaus"] >= 2
    queued = {key async for key in get_redis().scan_iter("arq:job:quarterly:*")}
    for one in (bureau, other_bureau):
        assert any(str(one.tenant.id) in (k.decode() if isinstance(k, bytes) else k) for k in queued)
