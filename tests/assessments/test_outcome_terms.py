"""No usage rankings (issue 17, 减负): the 年考核 scores and ranks units by outcomes — tasks done, reports on time,
the quality ratings of the quarterly reviews (and the adjustments made by hand, with reasons) — never by sign-ins,
time online or how many photos and files were uploaded. The page says so."""

import dataclasses

from sqlmodel import select

from backend.assessments import service as assessments
from backend.assessments.compute import Basis
from backend.assessments.models import AssessmentScore
from backend.config import get_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.evidence import service as evidence
from tests.assessments.world import YEAR, World, call, local
from tests.evidence.samples import pdf, photo

# The terms a unit is scored on, and what each is counted from: outcomes only.
OUTCOME_TERMS = {"completion", "timeliness", "rating", "adjustment"}
OUTCOME_BASIS = ("assigned", "done", "due", "on_time", "ratings", "average", "scale", "extended")


async def _chunks(data: bytes):
    yield data


async def _scores(world: World, assessment_id) -> dict:
    async with unit_of_work(world.tenant_id) as session:
        rows = (await session.exec(select(AssessmentScore).where(
            AssessmentScore.assessment_id == assessment_id))).all()
    return {row.unit_id: (row.completion, row.timeliness, row.rating, row.adjustment, row.total, row.rank, row.basis)
            for row in rows}


def test_the_computed_terms_are_exactly_the_outcome_terms():
    """A new score column (sign-ins, uploads, 留痕 counts) or a new basis count fails here first."""
    scored = {name for name, info in AssessmentScore.model_fields.items() if info.annotation is float}
    assert scored == OUTCOME_TERMS | {"total"}
    assert tuple(field.name for field in dataclasses.fields(Basis)) == OUTCOME_BASIS


async def test_uploads_and_sign_ins_move_no_score_and_no_rank(world: World, clock, login_as, monkeypatch, tmp_path):
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "data")
    monkeypatch.setattr(get_settings(), "storage", "local")
    clock(local(YEAR + 1, 1, 5))
    supervisor = world.actor(Role.supervisor)
    assessment = await call(world.tenant_id, assessments.open_assessment, supervisor, year=YEAR)
    before = await _scores(world, assessment.id)
    last = max(before, key=lambda unit: before[unit][5] or 0)
    assert last == world.units["C"]  # the lowest-ranked unit is the one that tries to look busy
    # C's clerk uploads a pile of photos and files to its task and signs in again and again.
    for n in range(6):
        data = photo(color=(n * 40, 10, 10)) if n % 2 else pdf(f"file {n}")
        await call(world.tenant_id, evidence.upload_evidence, world.staff["C"], world.tasks["T4"].id,
                   filename=f"留痕{n}.{'jpg' if n % 2 else 'pdf'}", chunks=_chunks(data))
    for _ in range(5):
        await login_as(world.usernames["C", Role.unit_staff])
    recomputed = await call(world.tenant_id, assessments.compute, supervisor, assessment.id, version=None)
    assert recomputed.id == assessment.id
    assert await _scores(world, assessment.id) == before


async def test_the_page_states_the_terms(world: World, clock, login_as):
    clock(local(YEAR + 1, 1, 5))
    assessment = await call(world.tenant_id, assessments.open_assessment, world.actor(Role.supervisor), year=YEAR)
    for username in (world.usernames["A", Role.unit_head], world.bureau.username(Role.supervisor)):
        page = (await (await login_as(username)).get(f"/assessments/{assessment.id}")).text
        terms = page[page.index('id="assessment-terms"'):]
        terms = terms[:terms.index("</p>")]
        for words in ("任务按时完成", "按时报送", "质量评分", "登录次数", "在线时长", "上传照片或文件", "不计分"):
            assert words in terms, (username, words)
