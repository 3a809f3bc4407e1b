"""The 年考核 arithmetic against the year of tests/assessments/world.py, with every number worked out by hand."""

from datetime import date

import pytest
from sqlmodel import col, select

from backend.assessments import rubric as rubrics
from backend.assessments import service as assessments
from backend.assessments.models import AppealState, AssessmentScore, AssessmentState
from backend.audit.models import AuditEvent
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.tasks import service as tasks
from backend.tenancy import service as tenancy
from backend.tenancy.models import UnitKind
from tests.assessments.world import YEAR, World, call, local, rubric_form
from tests.support.fixtures import create_bureau


async def scores(world: World, assessment_id) -> dict[str, AssessmentScore]:
    async with unit_of_work(world.tenant_id) as session:
        rows = (await session.exec(select(AssessmentScore).where(
            AssessmentScore.assessment_id == assessment_id))).all()
    by_unit = {unit_id: key for key, unit_id in world.units.items()}
    return {by_unit[row.unit_id]: row for row in rows}


async def opened(world: World, clock):
    clock(local(YEAR + 1, 1, 5))
    return await call(world.tenant_id, assessments.open_assessment, world.actor(Role.supervisor), year=YEAR)


async def test_every_term_total_and_rank_match_the_hand_computed_numbers(world, clock):
    assessment = await opened(world, clock)
    supervisor = world.actor(Role.supervisor)
    # Weights copied from the rubric when it opened (the admin changed only the scale): 40 / 20 / 30 / ±10.
    assert (assessment.completion_weight, assessment.timeliness_weight, assessment.rating_weight,
            assessment.bonus_weight) == (40, 20, 30, 10)
    for unit, points, reason in (("A", "3", "承办全市现场会"), ("B", "8", "经验在全省推广"),
                                 ("B", "+5", "获国家级表彰"), ("C", "－2", "报送材料不实")):
        current = await call(world.tenant_id, assessments.get_assessment, supervisor, assessment.id)
        await call(world.tenant_id, assessments.adjust, supervisor, assessment.id, unit_id=world.units[unit],
                   points=points, reason=reason, version=current.version)
    got = await scores(world, assessment.id)
    # A: T1 and T2 count (T5 cancelled); T2 办结 on 12-28 → 1 of 2 done → 40 × 1/2 = 20
    # A: due 12 (T1) + 12 (T2) = 24 reports; on time: T1-01, T1-02 = 2 → 20 × 2/24 = 1.6667
    # A: ratings 95 (优), 85 (良), 90, 80 → average 87.5 → 30 × 87.5 / 100 = 26.25
    # A: adjustment +3 → total 20 + 1.6667 + 26.25 + 3 = 50.9167
    expected_a = (40 * 1 / 2, 20 * 2 / 24, 30 * 87.5 / 100, 3)
    # B: T1 (responsible) and T3 count (T2 only cooperating); T3 办结 → 1 of 2 → 40 × 1/2 = 20
    # B: due 12 (T1) + 12 (T3) = 24; on time T3-01, T3-02, T3-03, T1-01 = 4 → 20 × 4/24 = 3.3333
    # B: ratings 75 (中), 95 (优), 70 → average 80 → 30 × 80 / 100 = 24
    # B: adjustments +8 +5 = 13, held at the cap +10 → total 20 + 3.3333 + 24 + 10 = 57.3333
    expected_b = (40 * 1 / 2, 20 * 4 / 24, 30 * 80 / 100, 10)
    # C: T4 not done → 0 of 1 → 0; due 12, on time 0 (its one report was late) → 0;
    # C: its only rating is in Q3, not published → no rating → 0; adjustment −2 → total −2
    expected_c = (0, 0, 0, -2)
    for unit, expected in (("A", expected_a), ("B", expected_b), ("C", expected_c)):
        row = got[unit]
        assert (row.completion, row.timeliness, row.rating, row.adjustment) == pytest.approx(expected), unit
        assert row.total == pytest.approx(sum(expected)), unit
    assert round(got["A"].total, 2) == 50.92 and round(got["B"].total, 2) == 57.33 and got["C"].total == -2
    # Ranks by total: B 57.33 → 1, A 50.92 → 2, C −2 → 3.
    assert (got["B"].rank, got["A"].rank, got["C"].rank) == (1, 2, 3)
    view = await call(world.tenant_id, assessments.assessment_view, supervisor, assessment.id)
    basis = {line.unit_name: line.basis for line in view.lines}
    assert (basis["办公室"].assigned, basis["办公室"].done, basis["办公室"].due, basis["办公室"].on_time,
            basis["办公室"].ratings) == (2, 1, 24, 2, 4)
    assert [line.unit_name for line in view.lines] == ["实验小学", "办公室", "第二中学"]
    assert [(a.unit_name, a.adjustment.points) for a in view.adjustments] == [
        ("办公室", 3), ("实验小学", 8), ("实验小学", 5), ("第二中学", -2)]


async def test_ties_share_a_rank(clock):
    bureau = await create_bureau()
    clock(local(YEAR + 1, 1, 5))
    supervisor, admin = bureau.actors[Role.supervisor], bureau.actors[Role.admin]
    async with unit_of_work(bureau.tenant.id) as session:
        first = await tenancy.create_unit(session, admin, name="一中")
        second = await tenancy.create_unit(session, admin, name="二中")
        idle = await tenancy.create_unit(session, admin, name="三中")
        units = [bureau.units["office"].id, bureau.units["school"].id, first.id, second.id]
        await tasks.create_tasks(session, supervisor, YEAR, [tasks.NewTask(
            title=f"任务{n}", description="", deadline=date(YEAR, 12, 31), lead_unit_ids=[unit])
            for n, unit in enumerate(units)])
    assessment = await call(bureau.tenant.id, assessments.open_assessment, supervisor, year=YEAR)
    await call(bureau.tenant.id, assessments.adjust, supervisor, assessment.id, unit_id=bureau.units["office"].id,
               points="2", reason="表彰", version=assessment.version)
    async with unit_of_work(bureau.tenant.id) as session:
        ranks = dict((await session.exec(select(AssessmentScore.unit_id, AssessmentScore.rank).where(
            AssessmentScore.assessment_id == assessment.id))).all())
    # Each of the four has one task of the year, not done, with its monthly reports all missing: 0 of every
    # measured term; the office +2 → 2, the other three 0 → ranks 1, 2, 2, 2. 三中 has nothing: not ranked.
    assert [ranks[u] for u in units] == [1, 2, 2, 2] and ranks[idle.id] is None


async def test_adjustments_need_a_reason_stay_within_the_cap_and_are_audited(world, clock):
    assessment = await opened(world, clock)
    supervisor = world.actor(Role.supervisor)
    for points, reason, field in (("3", "  ", "reason"), ("11", "太多", "points"), ("0", "零", "points"),
                                  ("abc", "文字", "points")):
        with pytest.raises(InvalidInput) as refused:
            await call(world.tenant_id, assessments.adjust, supervisor, assessment.id, unit_id=world.units["A"],
                       points=points, reason=reason, version=assessment.version)
        assert refused.value.field == field
    assert "理由" in str((await _refusal(world, supervisor, assessment, "3", "")).message)
    with pytest.raises(Forbidden):
        await call(world.tenant_id, assessments.adjust, world.actor(Role.leader), assessment.id,
                   unit_id=world.units["A"], points="1", reason="无权", version=assessment.version)
    await call(world.tenant_id, assessments.adjust, supervisor, assessment.id, unit_id=world.units["A"],
               points="-1.5", reason="材料迟报", version=assessment.version)
    # A second click with the same form is refused as stale: one adjustment, not two.
    with pytest.raises(Conflict):
        await call(world.tenant_id, assessments.adjust, supervisor, assessment.id, unit_id=world.units["A"],
                   points="-1.5", reason="材料迟报", version=assessment.version)
    async with unit_of_work(world.tenant_id) as session:
        events = (await session.exec(select(AuditEvent).where(AuditEvent.action == "assessment.adjust"))).all()
    assert len(events) == 1 and events[0].details["reason"] == "材料迟报" and events[0].details["points"] == -1.5
    assert events[0].actor_user_id == supervisor.user_id
    assert (await scores(world, assessment.id))["A"].adjustment == -1.5


async def _refusal(world, actor, assessment, points, reason) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        await call(world.tenant_id, assessments.adjust, actor, assessment.id, unit_id=world.units["A"],
                   points=points, reason=reason, version=assessment.version)
    return refused.value


async def test_self_scores_sit_beside_the_computed_total(world, clock):
    assessment = await opened(world, clock)
    head = world.heads["B"]
    with pytest.raises(InvalidInput):
        await call(world.tenant_id, assessments.self_score, head, assessment.id, total="120", note="")
    await call(world.tenant_id, assessments.self_score, head, assessment.id, total="８８.5", note="全年任务推进顺利")
    # The same again (a double click) changes nothing; a stale form would be refused.
    await call(world.tenant_id, assessments.self_score, head, assessment.id, total="88.5", note="全年任务推进顺利")
    with pytest.raises(Conflict):
        await call(world.tenant_id, assessments.self_score, head, assessment.id, total="90", note="改", seen="")
    with pytest.raises(NotFound):  # unit staff see the assessment once it is published
        await call(world.tenant_id, assessments.self_score, world.staff["B"], assessment.id, total="90", note="")
    with pytest.raises(Forbidden):
        await call(world.tenant_id, assessments.self_score, world.actor(Role.supervisor), assessment.id,
                   total="90", note="")
    got = await scores(world, assessment.id)
    assert (got["B"].self_total, got["B"].self_note) == (88.5, "全年任务推进顺利")
    assert got["B"].total == pytest.approx(20 + 20 * 4 / 24 + 24)  # computed total unchanged: 47.33
    # Once published, another unit's head sees B's computed terms but not B's self-score; the bureau and B do.
    clock(local(YEAR + 1, 1, 10))
    current = await call(world.tenant_id, assessments.get_assessment, world.actor(Role.supervisor), assessment.id)
    await call(world.tenant_id, assessments.publish, world.actor(Role.supervisor), assessment.id,
               version=current.version)
    for viewer, sees in ((world.heads["A"], False), (head, True), (world.actor(Role.leader), True)):
        view = await call(world.tenant_id, assessments.assessment_view, viewer, assessment.id)
        [line_b] = [line for line in view.lines if line.score.unit_id == got["B"].unit_id]
        assert (line_b.self_total, line_b.self_note) == ((88.5, "全年任务推进顺利") if sees else (None, ""))
    # The rubric can switch self-scoring off.
    await call(world.tenant_id, rubrics.update_rubric, world.actor(Role.admin), rubric_form(self_scoring=False))
    with pytest.raises(Conflict):
        await call(world.tenant_id, assessments.self_score, world.heads["A"], assessment.id, total="80", note="")


async def test_appeal_window_finalise_lock_and_audited_reopen(world, clock):
    assessment = await opened(world, clock)
    supervisor, admin, head = world.actor(Role.supervisor), world.actor(Role.admin), world.heads["B"]
    with pytest.raises(Conflict):  # no appeal before publication
        await call(world.tenant_id, assessments.file_appeal, head, assessment.id, text_="不服")
    clock(local(YEAR + 1, 1, 10))
    published = await call(world.tenant_id, assessments.publish, supervisor, assessment.id,
                           version=assessment.version)
    # Published on 01-10 with the default 5 days → appeals until 01-15.
    assert (published.state, str(published.appeal_until)) == (AssessmentState.published, f"{YEAR + 1}-01-15")
    # Units' staff now see it; unit heads appeal once.
    await call(world.tenant_id, assessments.get_assessment, world.staff["C"], assessment.id)
    text_ = "T3 已于12月办结，请复核。"
    appeal = await call(world.tenant_id, assessments.file_appeal, head, assessment.id, text_=text_)
    again = await call(world.tenant_id, assessments.file_appeal, head, assessment.id, text_=text_)
    assert again.id == appeal.id
    with pytest.raises(Conflict):
        await call(world.tenant_id, assessments.file_appeal, head, assessment.id, text_="另一件")
    with pytest.raises(Conflict):  # window still open
        await call(world.tenant_id, assessments.finalise, supervisor, assessment.id, version=published.version)
    clock(local(YEAR + 1, 1, 16))
    with pytest.raises(Conflict) as late:
        await call(world.tenant_id, assessments.file_appeal, world.heads["A"], assessment.id, text_="迟到的申诉")
    assert "申诉期已于" in late.value.message
    with pytest.raises(Conflict) as pending:  # window over, but an appeal is unanswered
        await call(world.tenant_id, assessments.finalise, supervisor, assessment.id, version=published.version)
    assert "未答复" in pending.value.message
    answered = await call(world.tenant_id, assessments.answer_appeal, supervisor, appeal.id, upheld=False,
                          response="经复核，T3 的办结已计入。")
    assert answered.state == AppealState.dismissed
    with pytest.raises(Conflict):
        await call(world.tenant_id, assessments.answer_appeal, supervisor, appeal.id, upheld=True, response="再答")
    final = await call(world.tenant_id, assessments.finalise, supervisor, assessment.id, version=published.version)
    assert final.state == AssessmentState.final
    frozen = {k: v.rank for k, v in (await scores(world, assessment.id)).items()}
    for attempt in (
        call(world.tenant_id, assessments.compute, supervisor, assessment.id, version=final.version),
        call(world.tenant_id, assessments.adjust, supervisor, assessment.id, unit_id=world.units["C"], points="1",
             reason="补加", version=final.version),
        call(world.tenant_id, assessments.file_appeal, world.heads["C"], assessment.id, text_="再诉"),
        call(world.tenant_id, assessments.publish, supervisor, assessment.id, version=final.version),
    ):
        with pytest.raises(Conflict) as locked:
            await attempt
        assert "定稿锁定" in locked.value.message
    assert {k: v.rank for k, v in (await scores(world, assessment.id)).items()} == frozen
    with pytest.raises(Forbidden):
        await call(world.tenant_id, assessments.reopen, supervisor, assessment.id, reason="更正", version=final.version)
    with pytest.raises(InvalidInput):
        await call(world.tenant_id, assessments.reopen, admin, assessment.id, reason=" ", version=final.version)
    reopened = await call(world.tenant_id, assessments.reopen, admin, assessment.id, reason="发现计分错误",
                          version=final.version)
    assert reopened.state == AssessmentState.published
    async with unit_of_work(world.tenant_id) as session:
        events = (await session.exec(select(AuditEvent).where(AuditEvent.object_id == str(assessment.id))
                                     .order_by(col(AuditEvent.occurred_at)))).all()
    actions = [e.action for e in events]
    assert actions[-3:] == ["assessment.appeal_answer", "assessment.finalise", "assessment.reopen"]
    assert events[-1].details == {"reason": "发现计分错误"} and events[-1].actor_user_id == admin.user_id


async def test_rubric_is_checked_before_anything_is_saved(bureau):
    admin = bureau.actors[Role.admin]
    for overrides, field in (({"completion_weight": "50"}, "completion_weight"),
                             ({"bonus_weight": "-10", "completion_weight": "60"}, "bonus_weight"),
                             ({"appeal_days": "31"}, "appeal_days"), ({"appeal_days": "0"}, "appeal_days"),
                             ({"rating_scale": "stars"}, "rating_scale"), ({"rating_weight": "三十"}, "rating_weight")):
        with pytest.raises(InvalidInput) as refused:
            await call(bureau.tenant.id, rubrics.update_rubric, admin, rubric_form(**overrides))
        assert refused.value.field == field, overrides
    total = await _rubric_refusal(bureau, rubric_form(completion_weight="50"))
    assert "合计须为 100" in total and "110" in total
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await rubrics.get_rubric(session, bureau.tenant.id)).completion_weight == 40
    saved = await call(bureau.tenant.id, rubrics.update_rubric, admin, rubric_form(
        completion_weight="45", timeliness_weight="15", rating_weight="32.5", bonus_weight="7.5", appeal_days="7"))
    assert (saved.completion_weight, saved.rating_weight, saved.bonus_weight, saved.appeal_days) == (45, 32.5, 7.5, 7)
    with pytest.raises(Forbidden):
        await call(bureau.tenant.id, rubrics.update_rubric, bureau.actors[Role.supervisor], rubric_form())


async def _rubric_refusal(bureau, form) -> str:
    with pytest.raises(InvalidInput) as refused:
        await call(bureau.tenant.id, rubrics.update_rubric, bureau.actors[Role.admin], form)
    return refused.value.message


async def test_another_bureau_finds_nothing(world, clock, other_bureau):
    assessment = await opened(world, clock)
    for role in (Role.supervisor, Role.admin, Role.unit_head):
        with pytest.raises(NotFound):
            await call(other_bureau.tenant.id, assessments.get_assessment, other_bureau.actors[role], assessment.id)


async def test_a_term_with_nothing_to_measure_is_scaled_not_zero_and_a_unit_with_nothing_is_not_ranked(world, clock):
    """缺项折算: C has a task and reports due but no published rating; its two measured terms are scaled up to the
    full 90 of the three, instead of losing the 30 of the rating. A unit with no task, no report due and no rating
    is listed without a rank (不参评), however its bonus stands."""
    assessment = await opened(world, clock)
    supervisor = world.actor(Role.supervisor)
    async with unit_of_work(world.tenant_id) as session:
        empty = await tenancy.create_unit(session, world.actor(Role.admin), name="新建幼儿园",
                                          kind=UnitKind.kindergarten)
    current = await call(world.tenant_id, assessments.get_assessment, supervisor, assessment.id)
    await call(world.tenant_id, assessments.compute, supervisor, assessment.id, version=current.version)
    view = await call(world.tenant_id, assessments.assessment_view, supervisor, assessment.id)
    line = {row.score.unit_id: row for row in view.lines}
    a, c = line[world.units["A"]], line[world.units["C"]]
    # C: completion 0 of 1 → 0; timeliness 0 of 12 → 0; no published rating: (0 + 0) × 90 / (40 + 20) = 0; its
    # rating counts as missing, not as 0 of 30 (scale 90 / 60 = 1.5).
    assert c.score.total == pytest.approx(0) and c.basis.scale == pytest.approx(90 / 60) and c.score.rank == 3
    # A: all three terms measured → scale 1, unchanged: 20 + 1.6667 + 26.25 = 47.9167
    assert a.score.total == pytest.approx(40 * 1 / 2 + 20 * 2 / 24 + 30 * 87.5 / 100) and a.basis.scale == 1
    newcomer = line[empty.id]
    assert newcomer.score.rank is None and newcomer.score.total == 0
