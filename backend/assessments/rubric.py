"""The bureau's 年考核 rubric: the points of each term (together 100), how quarterly ratings are given, whether units
score themselves first, and how many days the appeal window runs. A bureau that never saved one runs on defaults."""

import math
import re
import unicodedata
import uuid
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.assessments.policy import require_set_rubric
from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.errors import InvalidInput
from backend.i18n import N_, _
from backend.reviews.models import AssessmentRubric, RatingScale

WEIGHTS = ("completion_weight", "timeliness_weight", "rating_weight", "bonus_weight")
WEIGHT_LABELS = {"completion_weight": N_("任务完成率"), "timeliness_weight": N_("报送及时率"),
                 "rating_weight": N_("季度点评"), "bonus_weight": N_("加减分（上限）")}
NUMBER_RE = re.compile(r"\d{1,3}(\.\d{1,2})?")
MAX_APPEAL_DAYS = 30


async def get_rubric(session: AsyncSession, tenant_id: uuid.UUID) -> AssessmentRubric:
    found = await session.get(AssessmentRubric, tenant_id)
    return found if found is not None else AssessmentRubric(tenant_id=tenant_id)


@dataclass(frozen=True)
class RubricForm:
    completion_weight: str
    timeliness_weight: str
    rating_weight: str
    bonus_weight: str
    rating_scale: str
    self_scoring: bool
    appeal_days: str


def _weight(raw: str, name: str) -> float:
    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    label = _(WEIGHT_LABELS[name])
    if not NUMBER_RE.fullmatch(text) or not math.isfinite(value := float(text)) or value > 100:
        raise InvalidInput(_("%(label)s的分值请填写 0 到 100 之间、不小于 0 的数（最多两位小数），例如 40。",
                             label=label), field=name)
    return value


async def rubric_to_edit(session: AsyncSession, actor: Actor) -> AssessmentRubric:
    """The rubric as the administrator's form shows it."""
    require_set_rubric(actor)
    return await get_rubric(session, actor.tenant_id)


async def update_rubric(session: AsyncSession, actor: Actor, form: RubricForm) -> AssessmentRubric:
    """The administrator sets the rubric; every value is checked before anything is saved. An assessment already
    opened keeps the weights it copied, and a quarterly review already opened keeps its scale."""
    require_set_rubric(actor)
    weights = {name: _weight(getattr(form, name), name) for name in WEIGHTS}
    total = sum(weights.values())
    if abs(total - 100) > 1e-6:
        raise InvalidInput(_("四项分值合计须为 100 分，现在为 %(total)s 分，请调整后再保存。", total=f"{total:g}"),
                           field="completion_weight")
    if form.rating_scale not in (RatingScale.grade, RatingScale.score):
        raise InvalidInput(_("请选择季度点评的评价方式：优良中差，或 0–100 分。"), field="rating_scale")
    days_text = unicodedata.normalize("NFKC", str(form.appeal_days or "")).strip()
    days = int(days_text) if days_text.isdigit() and len(days_text) <= 3 else 0
    if not 1 <= days <= MAX_APPEAL_DAYS:
        raise InvalidInput(_("申诉期请填写 1 到 %(max)s 之间的天数。", max=MAX_APPEAL_DAYS), field="appeal_days")
    rubric = await session.get(AssessmentRubric, actor.tenant_id, with_for_update=True)
    before = {name: getattr(rubric, name) for name in (*WEIGHTS, "rating_scale", "self_scoring", "appeal_days")} \
        if rubric else None
    rubric = rubric or AssessmentRubric(tenant_id=actor.tenant_id)
    values = {**weights, "rating_scale": RatingScale(form.rating_scale), "self_scoring": bool(form.self_scoring),
              "appeal_days": days}
    for name, value in values.items():
        setattr(rubric, name, value)
    rubric.updated_at = clock.now()
    session.add(rubric)
    await session.flush()
    await record(session, actor, "assessment.rubric", object_type="assessment_rubric", object_id=actor.tenant_id,
                 summary=_("修改年度考核细则"),
                 details={"before": {k: str(v) for k, v in before.items()} if before else None,
                          "after": {k: str(v) for k, v in values.items()}})
    return rubric
