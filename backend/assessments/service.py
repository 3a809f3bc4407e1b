"""年考核: opening a year's assessment, computing it, units' self-scores, supervisors' audited adjustments,
publishing for the appeal window, appeals and their answers, finalising (the lock) and an admin's audited reopen.

    open ──publish──▶ published ──finalise──▶ final
      (self-scores,    (appeals during the window;   (locked; only `reopen` by an admin,
       compute, adjust) compute and adjust still ok)   with a reason, back to published)

Finalising needs the appeal window to be over (bureau-local today after `appeal_until`) and every appeal answered,
so that no unit loses the days it was given and no appeal goes unanswered. Every write locks the assessment row
first, so two people (or a double click) never interleave; supervisors' forms carry the assessment's version."""

import math
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.assessments import policy
from backend.assessments.compute import Basis, compute_scores
from backend.assessments.models import (
    AppealState,
    Assessment,
    AssessmentAppeal,
    AssessmentScore,
    AssessmentState,
    ScoreAdjustment,
)
from backend.assessments.rubric import get_rubric
from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.core.clock import local_today
from backend.core.roles import Role
from backend.core.versions import is_stale
from backend.delivery.notify import notify_roles, notify_unit
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.i18n import N_, _
from backend.reminders.service import notify_units
from backend.reviews.service import clean_text
from backend.tenancy.models import Unit

NOT_FOUND = N_("找不到该年度考核，可能尚未发布或不属于本局。")
STATE_LABELS = {AssessmentState.open: N_("进行中（单位自评、计算与调整）"),
                AssessmentState.published: N_("已公示（申诉期）"), AssessmentState.final: N_("已定稿")}
APPEAL_LABELS = {AppealState.pending: N_("待答复"), AppealState.upheld: N_("申诉成立"),
                 AppealState.dismissed: N_("申诉不成立")}
POINTS_RE = re.compile(r"[+-]?\d{1,3}(\.\d{1,2})?")
MAX_REASON = 1000


def state_label(state: AssessmentState | str) -> str:
    return _(STATE_LABELS[AssessmentState(state)])


def appeal_label(state: AppealState | str) -> str:
    return _(APPEAL_LABELS[AppealState(state)])


def _number(raw: str) -> str:
    return unicodedata.normalize("NFKC", str(raw or "")).replace("−", "-").replace(" ", "").strip()


# --- loading and the lock -------------------------------------------------------------------------------------


async def get_assessment(session: AsyncSession, actor: Actor, assessment_id: uuid.UUID, *, lock: bool = False
                         ) -> Assessment:
    query = select(Assessment).where(Assessment.id == assessment_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    assessment = (await session.exec(query)).first()
    if assessment is None or not policy.may_see(actor, assessment):
        raise NotFound(_(NOT_FOUND))
    return assessment


async def list_assessments(session: AsyncSession, actor: Actor) -> list[Assessment]:
    rows = (await session.exec(select(Assessment).order_by(col(Assessment.year).desc()))).all()
    return [a for a in rows if policy.may_see(actor, a)]


def _not_final(assessment: Assessment) -> None:
    if assessment.state == AssessmentState.final:
        raise Conflict(_("%(year)s年度考核结果已定稿锁定，不能再修改。"
                         "如确需更正，请系统管理员先“撤销定稿”（须说明理由）。", year=assessment.year))


def _check_version(assessment: Assessment, version: int | None) -> None:
    if is_stale(assessment.version, version):
        raise Conflict(_("该年度考核在您打开页面后已有变化（当前状态：%(state)s），请刷新页面后再操作。"
                         "您这次的操作没有保存。", state=state_label(assessment.state)))


def _touch(assessment: Assessment) -> None:
    assessment.version += 1
    assessment.updated_at = clock.now()


# --- opening and computing --------------------------------------------------------------------------------------


async def open_assessment(session: AsyncSession, actor: Actor, *, year: int | str) -> Assessment:
    """Opens the year's assessment with the rubric's weights copied, and computes it once. Opening a year that is
    already open returns it (a double click makes one)."""
    policy.require_manage(actor)
    try:
        year = int(_number(str(year)))
    except ValueError:
        year = 0
    this_year = local_today(actor.timezone).year
    if not 2000 <= year <= this_year:
        raise InvalidInput(_("请填写要考核的年份（不晚于今年），例如 %(y)s。", y=this_year), field="year")
    rubric = await get_rubric(session, actor.tenant_id)
    created = (await session.exec(insert(Assessment).values(
        id=uuid.uuid4(), tenant_id=actor.tenant_id, year=year, state=AssessmentState.open,
        completion_weight=rubric.completion_weight, timeliness_weight=rubric.timeliness_weight,
        rating_weight=rubric.rating_weight, bonus_weight=rubric.bonus_weight, version=1, created_at=clock.now(),
        updated_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=["tenant_id", "year"]).returning(col(Assessment.id)))).first()
    assessment = (await session.exec(select(Assessment).where(Assessment.year == year)
                                     .with_for_update().execution_options(populate_existing=True))).one()
    if created is not None:
        weights = {k: getattr(assessment, k) for k in ("completion_weight", "timeliness_weight", "rating_weight",
                                                        "bonus_weight")}
        await record(session, actor, "assessment.open", object_type="assessment", object_id=assessment.id,
                     summary=_("开启%(year)s年度工作目标考核", year=year), details={"weights": weights})
        await _compute(session, actor, assessment)
    return assessment


async def _compute(session: AsyncSession, actor: Actor, assessment: Assessment) -> dict[str, Basis]:
    basis = await compute_scores(session, assessment, actor.timezone)
    assessment.computed_at = clock.now()
    _touch(assessment)
    session.add(assessment)
    await session.flush()
    # The inputs of each unit's terms, also kept in the append-only log (the page reads them from the score rows).
    await record(session, actor, "assessment.compute", object_type="assessment", object_id=assessment.id,
                 summary=_("计算%(year)s年度考核得分（%(n)s 个单位）", year=assessment.year, n=len(basis)),
                 details={"basis": {unit: [b.assigned, b.done, b.due, b.on_time, b.ratings, b.average,
                                           b.scale]
                                    for unit, b in basis.items()}})
    return basis


async def compute(session: AsyncSession, actor: Actor, assessment_id: uuid.UUID, *, version: int | None) -> Assessment:
    """Recomputes every unit's terms from the data (allowed while open or published, never once final)."""
    assessment = await get_assessment(session, actor, assessment_id, lock=True)
    policy.require_manage(actor)
    _not_final(assessment)
    _check_version(assessment, version)
    await _compute(session, actor, assessment)
    return assessment


# --- self-scores ----------------------------------------------------------------------------------------------


def _total(raw: str, field_name: str, label: str) -> float:
    text_ = _number(raw)
    if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", text_) or not 0 <= float(text_) <= 100:
        raise InvalidInput(_("%(label)s请填写 0 到 100 之间的分数（最多两位小数），例如 86.5。", label=label),
                           field=field_name)
    return float(text_)


async def self_score(session: AsyncSession, actor: Actor, assessment_id: uuid.UUID, *, total: str, note: str,
                     seen: str = "") -> AssessmentScore:
    """A unit head scores their own unit first (while the assessment is open and the rubric allows it); it is shown
    beside the computed total. `seen` is the self-score's time when the form was shown: a newer one is not
    overwritten; the same values sent twice change nothing."""
    assessment = await get_assessment(session, actor, assessment_id, lock=True)
    policy.require_self_score(actor)
    _not_final(assessment)
    if assessment.state != AssessmentState.open:
        raise Conflict(_("考核结果已公示，自评已截止。"))
    if not (await get_rubric(session, actor.tenant_id)).self_scoring:
        raise Conflict(_("本局的考核细则未开启单位自评。"))
    if actor.unit_id is None:
        raise Forbidden(_("只有单位负责人可以为本单位自评。"))
    value = _total(total, "self_total", _("自评总分"))
    note = clean_text(note, _("自评说明"), "self_note")
    score = (await session.exec(select(AssessmentScore).where(
        AssessmentScore.assessment_id == assessment.id, AssessmentScore.unit_id == actor.unit_id))).first()
    if score is not None and (score.self_total, score.self_note) == (value, note):
        return score
    shown = score.self_scored_at.isoformat() if score and score.self_scored_at else ""
    if seen != shown:
        raise Conflict(_("本单位的自评在您打开页面后已被修改，请刷新页面查看后再提交。您这次填写的内容没有保存。"))
    score = score or AssessmentScore(tenant_id=actor.tenant_id, assessment_id=assessment.id, unit_id=actor.unit_id)
    score.self_total, score.self_note, score.self_scored_at, score.updated_at = value, note, clock.now(), clock.now()
    session.add(score)
    await session.flush()
    await record(session, actor, "assessment.self_score", object_type="assessment", object_id=assessment.id,
                 summary=_("%(year)s年度考核：单位自评 %(total)s 分", year=assessment.year, total=f"{value:g}"),
                 details={"unit_id": str(actor.unit_id), "self_total": value, "note": note})
    return score


# --- adjustments ----------------------------------------------------------------------------------------------


async def adjust(session: AsyncSession, actor: Actor, assessment_id: uuid.UUID, *, unit_id: uuid.UUID | str,
                 points: str, reason: str, version: int | None) -> ScoreAdjustment:
    """A bonus (+) or penalty (−) for a unit, always with its reason, written to the audit log; the scores are
    recomputed at once (the unit's sum counts within ±bonus_weight)."""
    assessment = await get_assessment(session, actor, assessment_id, lock=True)
    policy.require_manage(actor)
    _not_final(assessment)
    _check_version(assessment, version)
    try:
        unit = await session.get(Unit, uuid.UUID(str(unit_id)))
    except ValueError:
        unit = None
    if unit is None:
        raise InvalidInput(_("请选择要加减分的单位。"), field="unit_id")
    cap = assessment.bonus_weight
    text_ = _number(points)
    value = float(text_) if POINTS_RE.fullmatch(text_) else math.nan
    if not math.isfinite(value) or value == 0 or abs(value) > cap:
        raise InvalidInput(_("加减分请填写不为 0、绝对值不超过 %(cap)s 的分数，例如 2 或 -1.5"
                             "（每个单位合计也按 ±%(cap)s 封顶）。", cap=f"{cap:g}"), field="points")
    reason = unicodedata.normalize("NFC", reason or "").strip()
    if not reason:
        raise InvalidInput(_("加减分必须写明理由（例如依据的文件、事项），请填写后再提交。"), field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(_("理由不能超过 %(max)s 字。", max=MAX_REASON), field="reason")
    adjustment = ScoreAdjustment(tenant_id=actor.tenant_id, assessment_id=assessment.id, unit_id=unit.id,
                                 points=value, reason=reason, author_id=actor.user_id, created_at=clock.now())
    session.add(adjustment)
    await session.flush()
    await record(session, actor, "assessment.adjust", object_type="assessment", object_id=assessment.id,
                 summary=_("%(year)s年度考核：%(unit)s %(points)s 分，理由：%(reason)s", year=assessment.year,
                           unit=unit.name, points=f"{value:+g}", reason=reason[:200]),
                 details={"unit_id": str(unit.id), "points": value, "reason": reason,
                          "adjustment_id": str(adjustment.id)})
    await _compute(session, actor, assessment)
    return adjustment


# --- publishing, appeals, finalising, reopening ---------------------------------------------------------------


async def _tell_units(session: AsyncSession, actor: Actor, assessment: Assessment, *, kind: str, title: str,
                      body: str) -> None:
    params = {"assessment_id": assessment.id, "key": f"{kind}:{assessment.id}:{assessment.version}",
              "title": title, "body": body, "link": f"/assessments/{assessment.id}"}
    units = ("SELECT s.unit_id, CAST(:key AS text) AS key, CAST(:title AS text) AS title, "
             "CAST(:body AS text) AS body, CAST(:link AS text) AS link FROM assessment_scores s "
             "WHERE s.assessment_id = CAST(:assessment_id AS uuid)")
    await notify_units(session, actor.tenant_id, units, params, kind=kind)


async def publish(session: AsyncSession, actor: Actor, assessment_id: uuid.UUID, *, version: int | None
                  ) -> Assessment:
    """Publishes the results: the appeal window runs until local today + the rubric's appeal days; units are told."""
    assessment = await get_assessment(session, actor, assessment_id, lock=True)
    policy.require_manage(actor)
    _not_final(assessment)
    if assessment.state == AssessmentState.published:
        raise Conflict(_("%(year)s年度考核结果已公示，申诉期至 %(until)s。", year=assessment.year,
                         until=assessment.appeal_until))
    _check_version(assessment, version)
    if assessment.computed_at is None:
        raise Conflict(_("请先计算得分再公示。"))
    days = (await get_rubric(session, actor.tenant_id)).appeal_days
    assessment.state, assessment.published_at = AssessmentState.published, clock.now()
    assessment.appeal_until = local_today(actor.timezone) + timedelta(days=days)
    _touch(assessment)
    session.add(assessment)
    await session.flush()
    await _tell_units(session, actor, assessment, kind="assessment_published",
                      title=_("%(year)s年度工作目标考核结果已公示", year=assessment.year),
                      body=_("如有异议，请于 %(until)s 前在“落实”平台提出申诉。", until=assessment.appeal_until))
    await record(session, actor, "assessment.publish", object_type="assessment", object_id=assessment.id,
                 summary=_("公示%(year)s年度考核结果，申诉期至 %(until)s", year=assessment.year,
                           until=assessment.appeal_until), details={"appeal_until": str(assessment.appeal_until)})
    return assessment


async def file_appeal(session: AsyncSession, actor: Actor, assessment_id: uuid.UUID, *, text_: str
                      ) -> AssessmentAppeal:
    """A unit head files the unit's one appeal during the window; the same appeal sent twice is kept once."""
    assessment = await get_assessment(session, actor, assessment_id, lock=True)
    policy.require_appeal(actor)
    _not_final(assessment)
    if assessment.state != AssessmentState.published or assessment.appeal_until is None:
        raise Conflict(_("考核结果尚未公示，暂不能申诉。"))
    if local_today(actor.timezone) > assessment.appeal_until:
        raise Conflict(_("申诉期已于 %(until)s 结束，不能再提出申诉。", until=assessment.appeal_until))
    if actor.unit_id is None:
        raise Forbidden(_("只有单位负责人可以为本单位提出申诉。"))
    body = clean_text(text_, _("申诉理由"), "text", required=True)
    existing = (await session.exec(select(AssessmentAppeal).where(
        AssessmentAppeal.assessment_id == assessment.id, AssessmentAppeal.unit_id == actor.unit_id))).first()
    if existing is not None:
        if existing.text == body:
            return existing
        raise Conflict(_("本单位已于 %(when)s 提出过申诉，每个单位只能申诉一次。",
                         when=clock.localtime(existing.filed_at, timezone=actor.timezone)))
    appeal = AssessmentAppeal(tenant_id=actor.tenant_id, assessment_id=assessment.id, unit_id=actor.unit_id,
                              text=body, filed_by=actor.user_id, filed_at=clock.now())
    session.add(appeal)
    await session.flush()
    await notify_roles(session, actor.tenant_id, (Role.supervisor,), kind="assessment_appeal",
                       key=f"appeal:{appeal.id}", title=_("%(year)s年度考核收到申诉", year=assessment.year),
                       body=body[:200], link=f"/assessments/{assessment.id}#appeals")
    await record(session, actor, "assessment.appeal", object_type="assessment", object_id=assessment.id,
                 summary=_("%(year)s年度考核：单位提出申诉", year=assessment.year),
                 details={"unit_id": str(actor.unit_id), "appeal_id": str(appeal.id), "text": body})
    return appeal


async def get_appeal(session: AsyncSession, actor: Actor, appeal_id: uuid.UUID) -> AssessmentAppeal:
    """An appeal the actor may see: the bureau's people see all, a unit its own."""
    appeal = await session.get(AssessmentAppeal, appeal_id)
    if appeal is None or (not policy.sees_whole_bureau(actor) and appeal.unit_id != actor.unit_id):
        raise NotFound(_("找不到该申诉。"))
    await get_assessment(session, actor, appeal.assessment_id)
    return appeal


async def answer_appeal(session: AsyncSession, actor: Actor, appeal_id: uuid.UUID, *, upheld: bool, response: str
                        ) -> AssessmentAppeal:
    """A supervisor answers an appeal (upheld or dismissed, always with a response); a pending appeal is answered
    once, so a second click or a colleague's answer is refused."""
    appeal = await get_appeal(session, actor, appeal_id)
    policy.require_manage(actor)
    assessment = await get_assessment(session, actor, appeal.assessment_id, lock=True)
    _not_final(assessment)
    appeal = (await session.exec(select(AssessmentAppeal).where(AssessmentAppeal.id == appeal_id)
                                 .execution_options(populate_existing=True))).one()
    if appeal.state != AppealState.pending:
        raise Conflict(_("该申诉已答复（%(state)s），无需重复答复。", state=appeal_label(appeal.state)))
    response = clean_text(response, _("答复意见"), "response", required=True)
    appeal.state = AppealState.upheld if upheld else AppealState.dismissed
    appeal.response, appeal.responded_by, appeal.responded_at = response, actor.user_id, clock.now()
    session.add(appeal)
    await session.flush()
    await notify_unit(session, actor.tenant_id, appeal.unit_id, kind="assessment_appeal_answered",
                      key=f"appeal-answered:{appeal.id}", roles=(Role.unit_head,),
                      title=_("%(year)s年度考核申诉已答复：%(state)s", year=assessment.year,
                              state=appeal_label(appeal.state)),
                      body=response[:200], link=f"/assessments/{assessment.id}#appeals")
    await record(session, actor, "assessment.appeal_answer", object_type="assessment", object_id=assessment.id,
                 summary=_("%(year)s年度考核：答复申诉（%(state)s）", year=assessment.year,
                           state=appeal_label(appeal.state)),
                 details={"appeal_id": str(appeal.id), "unit_id": str(appeal.unit_id), "upheld": upheld,
                          "response": response})
    return appeal


async def finalise(session: AsyncSession, actor: Actor, assessment_id: uuid.UUID, *, version: int | None
                   ) -> Assessment:
    """定稿: after the appeal window and with every appeal answered, the results are locked with their ranks."""
    assessment = await get_assessment(session, actor, assessment_id, lock=True)
    policy.require_manage(actor)
    _not_final(assessment)
    _check_version(assessment, version)
    if assessment.state != AssessmentState.published or assessment.appeal_until is None:
        raise Conflict(_("请先公示考核结果，申诉期结束后才能定稿。"))
    if local_today(actor.timezone) <= assessment.appeal_until:
        raise Conflict(_("申诉期至 %(until)s，期满后（%(next)s 起）才能定稿。", until=assessment.appeal_until,
                         next=assessment.appeal_until + timedelta(days=1)))
    pending = (await session.exec(select(AssessmentAppeal.id).where(
        AssessmentAppeal.assessment_id == assessment.id, AssessmentAppeal.state == AppealState.pending))).all()
    if pending:
        raise Conflict(_("还有 %(n)s 件申诉未答复，请先答复后再定稿。", n=len(pending)))
    assessment.state, assessment.finalised_by = AssessmentState.final, actor.user_id
    assessment.finalised_at = clock.now()
    _touch(assessment)
    session.add(assessment)
    await session.flush()
    await _tell_units(session, actor, assessment, kind="assessment_final",
                      title=_("%(year)s年度工作目标考核结果已定稿", year=assessment.year), body=_("结果与排名已锁定。"))
    await record(session, actor, "assessment.finalise", object_type="assessment", object_id=assessment.id,
                 summary=_("%(year)s年度考核结果定稿", year=assessment.year), details={})
    return assessment


async def reopen(session: AsyncSession, actor: Actor, assessment_id: uuid.UUID, *, reason: str,
                 version: int | None) -> Assessment:
    """撤销定稿: an administrator puts final results back to published, with a reason that goes to the audit log."""
    assessment = await get_assessment(session, actor, assessment_id, lock=True)
    policy.require_reopen(actor)
    if assessment.state != AssessmentState.final:
        raise Conflict(_("该年度考核尚未定稿，无需撤销。"))
    _check_version(assessment, version)
    reason = clean_text(reason, _("撤销定稿的理由"), "reason", required=True)
    assessment.state, assessment.finalised_at, assessment.finalised_by = AssessmentState.published, None, None
    _touch(assessment)
    session.add(assessment)
    await session.flush()
    await record(session, actor, "assessment.reopen", object_type="assessment", object_id=assessment.id,
                 summary=_("撤销%(year)s年度考核定稿，理由：%(reason)s", year=assessment.year, reason=reason[:200]),
                 details={"reason": reason})
    return assessment


# --- reading ----------------------------------------------------------------------------------------------------


@dataclass
class ScoreLine:
    score: AssessmentScore
    unit_name: str
    basis: Basis | None = None
    # A unit's self-score is the bureau's and the unit's own business, not the other units'.
    self_visible: bool = True

    @property
    def self_total(self) -> float | None:
        return self.score.self_total if self.self_visible else None

    @property
    def self_note(self) -> str:
        return self.score.self_note if self.self_visible else ""


@dataclass
class AdjustmentLine:
    adjustment: ScoreAdjustment
    unit_name: str
    author: str


@dataclass
class AppealLine:
    appeal: AssessmentAppeal
    unit_name: str


@dataclass
class AssessmentView:
    assessment: Assessment
    lines: list[ScoreLine]
    adjustments: list[AdjustmentLine]
    appeals: list[AppealLine]
    units: list[Unit] = field(default_factory=list)
    self_scoring: bool = False
    today: date | None = None
    show_scores: bool = True  # the computed terms are the bureau's draft until published
    own_unit_id: uuid.UUID | None = None
    timezone: str | None = None  # the bureau's; the platform default without one

    @property
    def scores(self) -> list[ScoreLine]:
        """The lines whose computed terms the caller may see: none while they are the bureau's draft."""
        return self.lines if self.show_scores else []

    @property
    def own_line(self) -> ScoreLine | None:
        return next((line for line in self.lines if line.score.unit_id == self.own_unit_id), None)

    @property
    def own_appeal(self) -> AppealLine | None:
        return next((line for line in self.appeals if line.appeal.unit_id == self.own_unit_id), None)

    @property
    def window_open(self) -> bool:
        a = self.assessment
        return a.state == AssessmentState.published and a.appeal_until is not None and self.today is not None \
            and self.today <= a.appeal_until


async def assessment_view(session: AsyncSession, actor: Actor, assessment_id: uuid.UUID) -> AssessmentView:
    """The ranked table with each term and its basis, the adjustments with reasons, the appeals. A unit's people
    see the ranked table once it is published, and only their own unit's adjustments and appeal. Five queries."""
    assessment = await get_assessment(session, actor, assessment_id)
    bureau = policy.sees_whole_bureau(actor)
    show_scores = bureau or assessment.state != AssessmentState.open
    lines_q = (select(AssessmentScore, Unit.name).join(Unit, col(Unit.id) == AssessmentScore.unit_id)
               .where(AssessmentScore.assessment_id == assessment.id)
               .order_by(col(AssessmentScore.rank).asc().nulls_last(), col(Unit.sort_order), col(Unit.name)))
    if not show_scores:
        lines_q = lines_q.where(AssessmentScore.unit_id == actor.unit_id)
    lines = [ScoreLine(score, name, Basis.from_json(score.basis) if score.basis else None,
                       self_visible=bureau or score.unit_id == actor.unit_id)
             for score, name in (await session.exec(lines_q)).all()]
    adjustments_q = (select(ScoreAdjustment, Unit.name, User.display_name)
                     .join(Unit, col(Unit.id) == ScoreAdjustment.unit_id)
                     .join(User, col(User.id) == ScoreAdjustment.author_id)
                     .where(ScoreAdjustment.assessment_id == assessment.id)
                     .order_by(col(ScoreAdjustment.created_at)))
    appeals_q = (select(AssessmentAppeal, Unit.name).join(Unit, col(Unit.id) == AssessmentAppeal.unit_id)
                 .where(AssessmentAppeal.assessment_id == assessment.id).order_by(col(AssessmentAppeal.filed_at)))
    if not bureau:
        adjustments_q = adjustments_q.where(ScoreAdjustment.unit_id == actor.unit_id)
        appeals_q = appeals_q.where(AssessmentAppeal.unit_id == actor.unit_id)
    adjustments = [AdjustmentLine(a, unit, author) for a, unit, author in (await session.exec(adjustments_q)).all()
                   ] if show_scores else []
    appeals = [AppealLine(a, unit) for a, unit in (await session.exec(appeals_q)).all()]
    units = list(await session.exec(select(Unit).order_by(col(Unit.sort_order), col(Unit.name)))) \
        if policy.may_manage(actor) else []
    rubric = await get_rubric(session, actor.tenant_id)
    return AssessmentView(assessment, lines, adjustments, appeals, units, rubric.self_scoring,
                          local_today(actor.timezone), show_scores, actor.unit_id, actor.timezone)
