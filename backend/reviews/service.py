"""季点评: opening a quarter's review (by the cron on the quarter's first day after, or by hand), the rating sheet,
rating one unit's tasks in one submit, leaders' remarks, publishing, and the quarter's summary.

A review is a draft until published; only then do units see it, each its own ratings and comments and the overall
remarks. Its scale (优良中差 or 0–100) is copied from the rubric when it opens and never changes afterwards."""

import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import User
from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.core.clock import local_midnight, local_today
from backend.core.roles import Role
from backend.core.versions import is_stale
from backend.delivery.notify import notify_roles
from backend.errors import Conflict, InvalidInput, NotFound
from backend.i18n import N_, _
from backend.reminders.service import notify_units
from backend.reviews import policy
from backend.reviews.models import (
    AssessmentRubric,
    QuarterlyRating,
    QuarterlyRemark,
    QuarterlyReview,
    RatingScale,
    ReviewState,
)
from backend.reviews.scale import (
    GRADE_FLOORS,
    grade_label,
    parse_rating,
    previous_quarter,
    quarter_bounds,
    quarter_label,
)
from backend.tasks.sql import DONE_AT, not_carried_over
from backend.tenancy.models import Unit

MAX_TEXT = 2000
# The cron opens the past quarter on the quarter's first day; a worker that was down catches up within this week.
CATCH_UP_DAYS = 7
# When an assignment counts as done: its own 办结, or its task's (a responsible unit's part ends with the task).
NOT_FOUND = N_("找不到该季度点评，可能尚未发布或不属于本局。")


def clean_text(raw: str, label: str, field_name: str, *, required: bool = False) -> str:
    value = unicodedata.normalize("NFC", raw or "").replace("\r\n", "\n").strip()
    if required and not value:
        raise InvalidInput(_("请填写%(label)s。", label=label), field=field_name)
    if len(value) > MAX_TEXT:
        raise InvalidInput(_("%(label)s不能超过 %(max)s 字（现在 %(n)s 字）。", label=label, max=MAX_TEXT,
                             n=len(value)), field=field_name)
    return value


# --- opening ------------------------------------------------------------------------------------------------


async def rubric_scale(session: AsyncSession, tenant_id: uuid.UUID) -> RatingScale:
    rubric = await session.get(AssessmentRubric, tenant_id)
    return RatingScale(rubric.rating_scale) if rubric else RatingScale.grade


async def _insert_review(session: AsyncSession, tenant_id: uuid.UUID, year: int, quarter: int
                         ) -> tuple[QuarterlyReview, bool]:
    """One statement, so that the cron and a supervisor (or a double click) opening it at once make one review."""
    scale = await rubric_scale(session, tenant_id)
    created = (await session.exec(insert(QuarterlyReview).values(
        id=uuid.uuid4(), tenant_id=tenant_id, year=year, quarter=quarter, scale=scale, state=ReviewState.draft,
        summary="", version=1, created_at=clock.now(), updated_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=["tenant_id", "year", "quarter"])
        .returning(col(QuarterlyReview.id)))).first()
    review = (await session.exec(select(QuarterlyReview).where(
        QuarterlyReview.year == year, QuarterlyReview.quarter == quarter))).one()
    return review, created is not None


async def _announce(session: AsyncSession, tenant_id: uuid.UUID, review: QuarterlyReview) -> None:
    await notify_roles(session, tenant_id, (Role.supervisor,), kind="quarterly_open",
                       key=f"quarterly-open:{review.id}",
                       title=_("%(q)s点评已开启", q=quarter_label(review.year, review.quarter)),
                       body=_("请对各单位本季度承办的任务逐项评价。"), link=f"/quarterly/{review.id}")


async def open_review(session: AsyncSession, actor: Actor, *, year: int | str, quarter: int | str) -> QuarterlyReview:
    """A supervisor opens a quarter's review by hand (the current one or an earlier one); opening one that exists
    returns it, so a double click or the cron having been first changes nothing."""
    policy.require_rate(actor)
    try:
        year, quarter = int(str(year).strip()), int(str(quarter).strip())
    except ValueError:
        year, quarter = 0, 0
    if not 2000 <= year <= 2100 or quarter not in (1, 2, 3, 4):
        raise InvalidInput(_("请选择年份和季度（1–4）。"), field="quarter")
    if quarter_bounds(year, quarter)[0] > local_today(actor.timezone):
        raise InvalidInput(_("%(q)s尚未开始，不能点评。", q=quarter_label(year, quarter)), field="quarter")
    review, created = await _insert_review(session, actor.tenant_id, year, quarter)
    if created:
        await record(session, actor, "review.open", object_type="quarterly_review", object_id=review.id,
                     summary=_("开启%(q)s点评", q=quarter_label(year, quarter)),
                     details={"scale": str(review.scale)})
        await _announce(session, actor.tenant_id, review)
    return review


async def open_past_quarter(session: AsyncSession, tenant_id: uuid.UUID, timezone: str, at: datetime
                            ) -> QuarterlyReview | None:
    """The cron's part: in a quarter's first days (bureau-local), the past quarter's review is opened once."""
    today = clock.local_now(timezone, at).date()
    if today.month not in (1, 4, 7, 10) or today.day > CATCH_UP_DAYS:
        return None
    year, quarter = previous_quarter(today)
    review, created = await _insert_review(session, tenant_id, year, quarter)
    if not created:
        return None
    await record(session, None, "review.open", tenant_id=tenant_id, object_type="quarterly_review",
                 object_id=review.id, summary=_("季度结束，自动开启%(q)s点评", q=quarter_label(year, quarter)),
                 details={"scale": str(review.scale), "at": at.isoformat()})
    await _announce(session, tenant_id, review)
    return review


# --- reading --------------------------------------------------------------------------------------------------


@dataclass
class ReportLine:
    period: str
    state: str
    late: bool


@dataclass
class SheetRow:
    task_id: uuid.UUID
    number: str
    title: str
    kind: str
    rating: QuarterlyRating | None = None
    reports: list[ReportLine] = field(default_factory=list)

    @property
    def seen(self) -> str:
        """What the form was shown with: a rating changed since by someone else is not overwritten silently."""
        return self.rating.rated_at.isoformat() if self.rating else ""


@dataclass
class RemarkLine:
    remark: QuarterlyRemark
    author: str


@dataclass
class UnitSheet:
    unit_id: uuid.UUID
    name: str
    rows: list[SheetRow] = field(default_factory=list)
    remarks: list[RemarkLine] = field(default_factory=list)

    @property
    def rated(self) -> int:
        return sum(1 for row in self.rows if row.rating)


@dataclass
class ReviewView:
    review: QuarterlyReview
    first: date
    last: date
    units: list[UnitSheet]
    remarks: list[RemarkLine]  # the overall ones
    own_unit_only: bool

    @property
    def rated(self) -> int:
        return sum(u.rated for u in self.units)

    @property
    def total(self) -> int:
        return sum(len(u.rows) for u in self.units)


async def list_reviews(session: AsyncSession, actor: Actor) -> list[QuarterlyReview]:
    """Newest first; units see the published ones."""
    query = select(QuarterlyReview).order_by(col(QuarterlyReview.year).desc(), col(QuarterlyReview.quarter).desc())
    if not policy.may_read_drafts(actor):
        query = query.where(QuarterlyReview.state == ReviewState.published)
    return list((await session.exec(query)).all())


async def get_review(session: AsyncSession, actor: Actor, review_id: uuid.UUID, *, lock: bool = False
                     ) -> QuarterlyReview:
    """The review if the actor may see it (a draft only for the bureau's supervisors, leaders and admins)."""
    query = select(QuarterlyReview).where(QuarterlyReview.id == review_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    review = (await session.exec(query)).first()
    if review is None or (review.state != ReviewState.published and not policy.may_read_drafts(actor)):
        raise NotFound(_(NOT_FOUND))
    return review


def _window(review: QuarterlyReview, timezone: str | None) -> dict:
    first, last = quarter_bounds(review.year, review.quarter)
    return {"first": first, "last": last, "start_at": local_midnight(first, timezone),
            "end_at": local_midnight(last + timedelta(days=1), timezone)}


async def _rows(session: AsyncSession, review: QuarterlyReview, timezone: str | None, unit_id: uuid.UUID | None = None
                ) -> list[tuple]:
    """(task id, unit id, number, title, unit name, kind) of every lead/responsible assignment active in the
    quarter: not cancelled nor sent back, given before the quarter ended, not done nor carried into the next year
    before it began. One query."""
    params = _window(review, timezone)
    where_unit = ""
    if unit_id is not None:
        where_unit, params["unit_id"] = "AND a.unit_id = CAST(:unit_id AS uuid)", unit_id
    return list((await session.execute(text(f"""
        SELECT a.task_id, a.unit_id, t.number, t.title, u.name, a.kind
        FROM task_assignments a JOIN tasks t ON t.id = a.task_id JOIN units u ON u.id = a.unit_id
        WHERE a.kind IN ('lead', 'responsible') AND a.state NOT IN ('cancelled', 'sent_back')
          AND t.state <> 'cancelled' AND {not_carried_over(when="carried.created_at < :start_at")}
          AND a.created_at < :end_at AND ({DONE_AT} IS NULL OR {DONE_AT} >= :start_at) {where_unit}
        ORDER BY u.name, t.year, t.seq
    """), params=params)).all())  # noqa: S608 — constants only; every value is bound


async def review_view(session: AsyncSession, actor: Actor, review_id: uuid.UUID) -> ReviewView:
    """The rating sheet grouped by unit, each row with its rating and the unit's reports of the quarter (state,
    late) as context. A unit's people see only their unit's rows and the overall remarks. Five queries."""
    review = await get_review(session, actor, review_id)
    own = not policy.may_read_drafts(actor)
    if own and actor.unit_id is None:
        raise NotFound(_(NOT_FOUND))
    rows = await _rows(session, review, actor.timezone, actor.unit_id if own else None)
    window = _window(review, actor.timezone)
    units: dict[uuid.UUID, UnitSheet] = {}
    by_key: dict[tuple[uuid.UUID, uuid.UUID], SheetRow] = {}
    for task_id, unit_id, number, title, unit_name, kind in rows:
        sheet = units.setdefault(unit_id, UnitSheet(unit_id, unit_name))
        row = SheetRow(task_id, number, title, kind)
        sheet.rows.append(row)
        by_key[task_id, unit_id] = row
    ratings = select(QuarterlyRating).where(QuarterlyRating.review_id == review.id)
    reports = text("""SELECT r.task_id, r.unit_id, r.period, r.state, r.late FROM progress_reports r
                      WHERE r.kind = 'periodic' AND r.due_on BETWEEN :first AND :last
                      ORDER BY r.due_on, r.period""")
    if own:
        ratings = ratings.where(QuarterlyRating.unit_id == actor.unit_id)
    for rating in (await session.exec(ratings)).all():
        if (rated := by_key.get((rating.task_id, rating.unit_id))) is not None:
            rated.rating = rating
    if not own:
        for task_id, unit_id, period, state, late in (await session.execute(
                reports, params={"first": window["first"], "last": window["last"]})).all():
            if (reported := by_key.get((task_id, unit_id))) is not None:
                reported.reports.append(ReportLine(period, state, late))
    remarks = (select(QuarterlyRemark, User.display_name).join(User, col(User.id) == QuarterlyRemark.author_id)
               .where(QuarterlyRemark.review_id == review.id).order_by(col(QuarterlyRemark.created_at)))
    if own:
        remarks = remarks.where(col(QuarterlyRemark.unit_id).is_(None))
    overall: list[RemarkLine] = []
    for remark, author in (await session.exec(remarks)).all():
        if remark.unit_id is None:
            overall.append(RemarkLine(remark, author))
        elif remark.unit_id in units:
            units[remark.unit_id].remarks.append(RemarkLine(remark, author))
    return ReviewView(review, window["first"], window["last"], list(units.values()), overall, own)


# --- rating, remarks, publishing ---------------------------------------------------------------------------


def _check_draft(review: QuarterlyReview, version: int | None) -> None:
    if review.state == ReviewState.published:
        raise Conflict(_("%(q)s点评已发布，不能再修改。", q=quarter_label(review.year, review.quarter)))
    if is_stale(review.version, version):
        raise Conflict(_("该季度点评在您打开页面后已有变化，请刷新页面后再操作。您这次填写的内容没有保存。"))


@dataclass(frozen=True)
class RatingEntry:
    """One row of a unit's form: what was picked or typed, the comment, and the rating's time when shown."""

    raw: str
    comment: str = ""
    seen: str = ""


async def rate_unit(
    session: AsyncSession, actor: Actor, review_id: uuid.UUID, unit_id: uuid.UUID, entries: dict[str, RatingEntry],
    *, version: int | None,
) -> int:
    """Rates one unit's tasks in one submit (`entries` keyed by task id). Returns how many rows are rated now."""
    if await session.get(Unit, unit_id) is None:
        raise NotFound(_("找不到该单位。"))
    await rate_sheet(session, actor, review_id, {(unit_id, key): entry for key, entry in entries.items()},
                     version=version, unit_id=unit_id)
    return len((await session.exec(select(QuarterlyRating.id).where(
        QuarterlyRating.review_id == review_id, QuarterlyRating.unit_id == unit_id))).all())


def sheet_key(unit_id: uuid.UUID | str, task_id: uuid.UUID | str) -> str:
    """A row's key on the whole sheet (a task led by one unit and carried by another appears twice)."""
    return f"{unit_id}_{task_id}"


async def rate_sheet(
    session: AsyncSession, actor: Actor, review_id: uuid.UUID, entries: dict[tuple[uuid.UUID, str], RatingEntry],
    *, version: int | None, unit_id: uuid.UUID | None = None,
) -> int:
    """Rates the whole sheet — every unit, every task — in one save (`entries` keyed by (unit id, task id)), all
    or nothing: every row is checked before any is saved; a blank row is "not rated" (clearing an earlier rating);
    a row someone else rated since the page was shown refuses the whole save (nothing is overwritten) and the same
    form sent twice changes nothing. `unit_id` limits the sheet to one unit. Returns how many rows changed."""
    review = await get_review(session, actor, review_id, lock=True)
    policy.require_rate(actor)
    _check_draft(review, version)
    allowed = {(row[1], row[0]): row for row in await _rows(session, review, actor.timezone, unit_id)}
    ratings = select(QuarterlyRating).where(QuarterlyRating.review_id == review.id)
    if unit_id is not None:
        ratings = ratings.where(QuarterlyRating.unit_id == unit_id)
    existing = {(r.unit_id, r.task_id): r for r in (await session.exec(ratings)).all()}
    parsed: dict[tuple[uuid.UUID, uuid.UUID], tuple] = {}
    for (row_unit, key), entry in entries.items():
        try:
            task_id: uuid.UUID | None = uuid.UUID(key)
        except ValueError:
            task_id = None
        if task_id is None or (row_unit, task_id) not in allowed:
            raise InvalidInput(_("所评任务不在本季度的点评范围内，请刷新页面后重新填写。"))
        pair = (row_unit, task_id)
        _task, _unit, number, _title, unit_name, _kind = allowed[pair]
        label = number if unit_id is not None else f"{unit_name} {number}"
        field = str(task_id) if unit_id is not None else sheet_key(row_unit, task_id)
        current = existing.get(pair)
        value = parse_rating(review.scale, entry.raw, field=f"rating-{field}", label=label)
        comment = clean_text(entry.comment, _("%(number)s 的评语", number=label), f"comment-{field}")
        unchanged = (current is None and value is None) or (
            current is not None and value is not None and (current.grade, current.score, current.comment) == (
                *value, comment))
        if not unchanged and entry.seen != (current.rated_at.isoformat() if current else ""):
            raise Conflict(_("%(number)s 的评价在您打开页面后已被他人修改，请刷新页面查看后再评。"
                             "您这次填写的内容没有保存。", number=label))
        if not unchanged:
            parsed[pair] = (value, comment)
    moment = clock.now()
    changed: dict[str, object] = {}
    for (row_unit, task_id), (value, comment) in parsed.items():
        current = existing.get((row_unit, task_id))
        key = str(task_id) if unit_id is not None else sheet_key(row_unit, task_id)
        if value is None:
            await session.delete(current)
            changed[key] = None
            continue
        grade, score = value
        rating = current or QuarterlyRating(tenant_id=actor.tenant_id, review_id=review.id, task_id=task_id,
                                            unit_id=row_unit, score=score, rated_by=actor.user_id)
        rating.grade, rating.score, rating.comment = grade, score, comment
        rating.rated_by, rating.rated_at = actor.user_id, moment
        session.add(rating)
        changed[key] = {"grade": str(grade) if grade else None, "score": score}
    await session.flush()
    if changed:
        quarter = quarter_label(review.year, review.quarter)
        units = {allowed[pair][4] for pair in parsed}
        summary = (_("%(q)s点评：评价%(unit)s %(n)s 项", q=quarter, unit=next(iter(units)), n=len(changed))
                   if unit_id is not None else
                   _("%(q)s点评：一次保存 %(u)s 个单位的评价 %(n)s 项", q=quarter, u=len(units), n=len(changed)))
        await record(session, actor, "review.rate", object_type="quarterly_review", object_id=review.id,
                     summary=summary, details={"unit_id": str(unit_id) if unit_id else None, "ratings": changed})
    return len(changed)


async def add_remark(session: AsyncSession, actor: Actor, review_id: uuid.UUID, *, text_: str,
                     unit_id: uuid.UUID | None = None, version: int | None = None) -> QuarterlyRemark:
    """A leader's remark on the whole quarter or on one unit. The same remark sent twice (a double click) is kept
    once."""
    review = await get_review(session, actor, review_id, lock=True)
    policy.require_remark(actor)
    _check_draft(review, version)
    body = clean_text(text_, _("点评意见"), "text", required=True)
    unit_name = ""
    if unit_id is not None:
        unit = await session.get(Unit, unit_id)
        if unit is None:
            raise InvalidInput(_("所选单位不存在，请刷新页面后重新选择。"), field="unit_id")
        unit_name = unit.name
    same = (await session.exec(select(QuarterlyRemark).where(
        QuarterlyRemark.review_id == review.id, QuarterlyRemark.author_id == actor.user_id,
        QuarterlyRemark.unit_id == unit_id if unit_id else col(QuarterlyRemark.unit_id).is_(None),
        QuarterlyRemark.text == body))).first()
    if same is not None:
        return same
    remark = QuarterlyRemark(tenant_id=actor.tenant_id, review_id=review.id, unit_id=unit_id, text=body,
                             author_id=actor.user_id, created_at=clock.now())
    session.add(remark)
    await session.flush()
    await record(session, actor, "review.remark", object_type="quarterly_review", object_id=review.id,
                 summary=_("%(q)s点评：领导点评%(unit)s", q=quarter_label(review.year, review.quarter),
                           unit=unit_name or _("（总体）")),
                 details={"unit_id": str(unit_id) if unit_id else None, "text": body})
    return remark


async def publish_review(session: AsyncSession, actor: Actor, review_id: uuid.UUID, *, version: int | None,
                         summary: str = "") -> QuarterlyReview:
    """Publishes the review: it is locked, each rated unit is told, and its ratings count in the 年考核."""
    review = await get_review(session, actor, review_id, lock=True)
    policy.require_rate(actor)
    _check_draft(review, version)
    summary = clean_text(summary, _("总体评价"), "summary")
    rated = (await session.exec(select(QuarterlyRating.id).where(QuarterlyRating.review_id == review.id))).first()
    if rated is None:
        raise Conflict(_("还没有任何评价，不能发布。请先对各单位的任务逐项评价。"))
    moment = clock.now()
    review.state, review.summary = ReviewState.published, summary
    review.published_at, review.published_by, review.updated_at = moment, actor.user_id, moment
    review.version += 1
    session.add(review)
    await session.flush()
    label = quarter_label(review.year, review.quarter)
    params = {"review_id": review.id, "key": f"quarterly-published:{review.id}",
              "title": _("%(q)s点评已发布", q=label), "body": _("请查看本单位各项任务的评价和领导点评。"),
              "link": f"/quarterly/{review.id}"}
    units = ("SELECT DISTINCT r.unit_id, CAST(:key AS text) AS key, CAST(:title AS text) AS title, "
             "CAST(:body AS text) AS body, CAST(:link AS text) AS link FROM quarterly_ratings r "
             "WHERE r.review_id = CAST(:review_id AS uuid)")
    await notify_units(session, actor.tenant_id, units, params, kind="quarterly_published")
    await record(session, actor, "review.publish", object_type="quarterly_review", object_id=review.id,
                 summary=_("发布%(q)s点评", q=label), details={"summary": summary})
    return review


# --- the quarter's summary ------------------------------------------------------------------------------------


@dataclass
class SummaryLine:
    unit_name: str
    rated: int
    average: float
    grades: dict[str, int]  # grade label → count, best first


async def summary(session: AsyncSession, actor: Actor, review_id: uuid.UUID
                  ) -> tuple[QuarterlyReview, list[SummaryLine]]:
    """Per unit: tasks rated, average score, how many of each grade (a 0–100 score counts in its grade's band).
    One query after the review."""
    review = await get_review(session, actor, review_id)
    policy.require_read_drafts(actor)
    bands = " ".join(f"WHEN r.score >= {floor} THEN '{grade}'" for grade, floor in GRADE_FLOORS)
    rows = (await session.execute(text(f"""
        SELECT u.name, count(*), avg(r.score), coalesce(r.grade, CASE {bands} END) AS g
        FROM quarterly_ratings r JOIN units u ON u.id = r.unit_id
        WHERE r.review_id = CAST(:review_id AS uuid)
        GROUP BY GROUPING SETS ((u.name), (u.name, g))
        ORDER BY u.name
    """), params={"review_id": review.id})).all()  # noqa: S608 — the bands are constants
    lines: dict[str, SummaryLine] = {}
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for name, count, average, grade in rows:
        if grade is None:
            lines[name] = SummaryLine(name, count, round(float(average), 2), {})
        else:
            counts[name][grade] = count
    for name, line in lines.items():
        line.grades = {grade_label(grade): counts[name].get(str(grade), 0) for grade, _floor in GRADE_FLOORS}
    return review, sorted(lines.values(), key=lambda line: (-line.average, line.unit_name))
