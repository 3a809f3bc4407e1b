"""月通报: drafted from the data (by the job on the 1st, or by a supervisor for any past month), edited, published.

The numbers come from `backend.bulletins.figures` (its docstring and docs/CYCLE.md define due / filed / on time /
late / missing). A draft's figures can be refreshed (重新生成) as long as it is a draft; publishing freezes them,
numbers the issue per bureau and year in publish order, and tells every unit.
"""

import unicodedata
import uuid
from datetime import date

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.bulletins import policy
from backend.bulletins.figures import compute_figures
from backend.bulletins.models import Bulletin, BulletinState
from backend.core import clock
from backend.core.actor import Actor
from backend.core.clock import local_today
from backend.core.roles import Role
from backend.core.versions import is_stale
from backend.delivery.notify import notify_roles
from backend.errors import Conflict, InvalidInput, NotFound
from backend.i18n import _
from backend.reminders.service import notify_units

MAX_TITLE = 200
MAX_TEXT = 5000


def default_title(year: int, month: int) -> str:
    return _("%(year)s年%(month)s月工作落实情况通报", year=year, month=month)


def issue_label(bulletin: Bulletin) -> str:
    """〔2026〕3期 once published; 草稿 before."""
    if bulletin.issue_no is None:
        return _("草稿")
    return _("〔%(year)s〕第%(no)s期", year=bulletin.year, no=bulletin.issue_no)


def previous_month(today: date) -> tuple[int, int]:
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


async def draft_for_month(
    session: AsyncSession, tenant_id: uuid.UUID, year: int, month: int, *, today: date, actor: Actor | None = None,
) -> tuple[Bulletin, bool]:
    """The month's bulletin, drafted from the data if the bureau has none yet; (bulletin, whether it is new).
    Idempotent and safe against a second drafter at the same moment: the row is inserted with ON CONFLICT DO
    NOTHING on (bureau, year, month), so a repeated job or a double click never makes two."""
    existing = (await session.exec(select(Bulletin).where(Bulletin.tenant_id == tenant_id, Bulletin.year == year,
                                                          Bulletin.month == month))).first()
    if existing is not None:
        return existing, False
    figures = await compute_figures(session, tenant_id, year, month, today)
    inserted = (await session.execute(
        insert(Bulletin).values(id=uuid.uuid4(), tenant_id=tenant_id, year=year, month=month,
                                state=BulletinState.draft.value, title=default_title(year, month), foreword="",
                                remarks="", figures=figures, computed_at=clock.now(), version=1, created_at=clock.now(),
                                updated_at=clock.now())
        .on_conflict_do_nothing(index_elements=["tenant_id", "year", "month"]).returning(col(Bulletin.id))
    )).scalar_one_or_none()
    bulletin = (await session.exec(select(Bulletin).where(Bulletin.tenant_id == tenant_id, Bulletin.year == year,
                                                          Bulletin.month == month))).one()
    if inserted is not None:
        await record(session, actor, "bulletin.draft", tenant_id=tenant_id, object_type="bulletin",
                     object_id=bulletin.id, summary=_("起草 %(title)s", title=bulletin.title),
                     details={"year": year, "month": month, "by": "job" if actor is None else "hand"})
    return bulletin, inserted is not None


async def create_draft(session: AsyncSession, actor: Actor, *, year: str | int, month: str | int) -> Bulletin:
    """A supervisor drafts the bulletin of any past month by hand; if it exists already, that one is returned."""
    policy.require_edit(actor)
    today = local_today(actor.timezone)
    try:
        year, month = int(str(year).strip()), int(str(month).strip())
    except ValueError:
        raise InvalidInput(_("请选择年份和月份。"), field="month") from None
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise InvalidInput(_("请选择有效的年份和月份（1–12 月）。"), field="month")
    if (year, month) >= (today.year, today.month):
        raise InvalidInput(_("只能为已经结束的月份起草通报；本月的通报请在下月 1 日以后起草。"), field="month")
    bulletin, _new = await draft_for_month(session, actor.tenant_id, year, month, today=today, actor=actor)
    return bulletin


async def get_bulletin(session: AsyncSession, actor: Actor, bulletin_id: uuid.UUID, *,
                       for_update: bool = False) -> Bulletin:
    """A bulletin of the actor's bureau; a draft only for those who may read drafts (others: not found)."""
    query = select(Bulletin).where(Bulletin.id == bulletin_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    bulletin = (await session.exec(query)).first()
    if bulletin is None or (bulletin.state == BulletinState.draft and not policy.may_read_drafts(actor)):
        raise NotFound(_("找不到该通报，可能尚未发布或已被删除。"))
    return bulletin


async def bulletin_to_edit(session: AsyncSession, actor: Actor, bulletin_id: uuid.UUID) -> Bulletin:
    """The bulletin for its editing form: those who may not edit it are refused before seeing the form."""
    bulletin = await get_bulletin(session, actor, bulletin_id)
    policy.require_edit(actor)
    return bulletin


async def list_bulletins(session: AsyncSession, actor: Actor) -> list[Bulletin]:
    """Newest month first; drafts only for those who may read them. One query."""
    query = select(Bulletin).order_by(col(Bulletin.year).desc(), col(Bulletin.month).desc())
    if not policy.may_read_drafts(actor):
        query = query.where(Bulletin.state == BulletinState.published)
    return list((await session.exec(query)).all())


def _check_version(bulletin: Bulletin, version: int | None) -> None:
    if is_stale(bulletin.version, version):
        raise Conflict(_("该通报在您打开页面后已被他人修改或发布。您填写的内容仍在下方，"
                         "请刷新页面查看最新版本后再保存。"))


async def _editable(session: AsyncSession, actor: Actor, bulletin_id: uuid.UUID, version: int | None) -> Bulletin:
    bulletin = await get_bulletin(session, actor, bulletin_id, for_update=True)
    policy.require_edit(actor)
    _check_version(bulletin, version)
    if bulletin.state != BulletinState.draft:
        raise Conflict(_("该通报已发布，内容已定稿，不能再修改。"))
    return bulletin


def _clean(value: str, limit: int, label: str, field: str) -> str:
    value = unicodedata.normalize("NFC", value or "").replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise InvalidInput(_("%(label)s最多 %(n)s 字，现有 %(have)s 字，请删减。", label=label, n=limit,
                             have=len(value)), field=field)
    return value


async def update_text(
    session: AsyncSession, actor: Actor, bulletin_id: uuid.UUID, *, title: str, foreword: str, remarks: str,
    version: int | None,
) -> Bulletin:
    """The supervisor's words: title, foreword (按语) and remarks (下步要求). Refused if the page was stale."""
    title = _clean(title, MAX_TITLE, _("标题"), "title")
    foreword = _clean(foreword, MAX_TEXT, _("按语"), "foreword")
    remarks = _clean(remarks, MAX_TEXT, _("下步工作要求"), "remarks")
    bulletin = await _editable(session, actor, bulletin_id, version)
    if not title:
        raise InvalidInput(_("请填写通报标题。"), field="title")
    bulletin.title, bulletin.foreword, bulletin.remarks = title, foreword, remarks
    bulletin.version += 1
    bulletin.updated_at = clock.now()
    session.add(bulletin)
    await session.flush()
    await record(session, actor, "bulletin.edit", object_type="bulletin", object_id=bulletin.id,
                 summary=_("修改 %(title)s", title=bulletin.title), details={"version": bulletin.version})
    return bulletin


async def regenerate(session: AsyncSession, actor: Actor, bulletin_id: uuid.UUID, *, version: int | None) -> Bulletin:
    """重新生成: the draft's figures from today's data; the supervisor's text stays."""
    bulletin = await _editable(session, actor, bulletin_id, version)
    today = local_today(actor.timezone)
    bulletin.figures = await compute_figures(session, actor.tenant_id, bulletin.year, bulletin.month, today)
    bulletin.computed_at = bulletin.updated_at = clock.now()
    bulletin.version += 1
    session.add(bulletin)
    await session.flush()
    await record(session, actor, "bulletin.regenerate", object_type="bulletin", object_id=bulletin.id,
                 summary=_("重新生成 %(title)s 的数据", title=bulletin.title))
    return bulletin


async def publish(session: AsyncSession, actor: Actor, bulletin_id: uuid.UUID, *, version: int | None) -> Bulletin:
    """Publishes the draft: the next issue number of the bureau's year (an advisory lock serialises two
    publishers), the figures frozen as they stand, every unit notified. Publishing twice (a double click) is a
    no-op that returns the published bulletin."""
    bulletin = await get_bulletin(session, actor, bulletin_id, for_update=True)
    policy.require_edit(actor)
    if bulletin.state == BulletinState.published:
        return bulletin
    _check_version(bulletin, version)
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                          {"key": f"bulletin-issue:{actor.tenant_id}:{bulletin.year}"})
    last = (await session.exec(select(func.max(Bulletin.issue_no)).where(Bulletin.year == bulletin.year))).one()
    bulletin.issue_no = (last or 0) + 1
    bulletin.state = BulletinState.published
    bulletin.published_at = bulletin.updated_at = clock.now()
    bulletin.published_by = actor.user_id
    bulletin.version += 1
    session.add(bulletin)
    await session.flush()
    params = {"tenant_id": str(actor.tenant_id), "key": f"bulletin:{bulletin.id}",
              "title": _("【月通报】%(title)s（%(issue)s）", title=bulletin.title, issue=issue_label(bulletin)),
              "body": _("本局已发布%(y)s年%(m)s月工作落实情况通报，请查阅本单位的报送与办理情况。", y=bulletin.year,
                        m=bulletin.month),
              "link": f"/bulletins/{bulletin.id}"}
    units = ("SELECT u.id AS unit_id, CAST(:key AS text) AS key, CAST(:title AS text) AS title, "
             "CAST(:body AS text) AS body, CAST(:link AS text) AS link FROM units u "
             "WHERE u.tenant_id = CAST(:tenant_id AS uuid)")
    people, robots = await notify_units(session, actor.tenant_id, units, params, kind="bulletin")
    # The leaders read it too (and the other supervisors), though they belong to no unit.
    people += await notify_roles(session, actor.tenant_id, (Role.leader, Role.supervisor), kind="bulletin",
                                 key=params["key"], title=params["title"],
                                 body=_("本局已发布%(y)s年%(m)s月工作落实情况通报。", y=bulletin.year,
                                        m=bulletin.month), link=params["link"])
    await record(session, actor, "bulletin.publish", object_type="bulletin", object_id=bulletin.id,
                 summary=_("发布 %(title)s（%(issue)s）", title=bulletin.title, issue=issue_label(bulletin)),
                 details={"issue_no": bulletin.issue_no, "notified": people, "robot_messages": robots})
    return bulletin
