"""Bulletin pages: drafting by hand, editing with a version, publishing (numbered, notified, audited), who reads
what, and another bureau's members, who find nothing."""

import asyncio
import re

from sqlalchemy import event
from sqlmodel import col, select

from backend.audit.models import AuditEvent
from backend.bulletins import service as bulletins
from backend.bulletins.models import Bulletin, BulletinState
from backend.core.clock import local_today
from backend.core.roles import Role
from backend.db import get_engine, unit_of_work
from backend.notifications.models import Notification
from backend.reports.models import ProgressReport
from backend.tenancy.models import Membership
from tests.bulletins.scenario import build

ID_RE = re.compile(r"/bulletins/([0-9a-f-]{36})")


def last_month() -> tuple[int, int]:
    return bulletins.previous_month(local_today())


async def draft_by_hand(browser_of, bureau) -> str:
    supervisor = await browser_of(bureau.username(Role.supervisor))
    year, month = last_month()
    response = await supervisor.post("/bulletins", {"year": str(year), "month": str(month)})
    assert response.status_code == 303, response.text[:500]
    return ID_RE.search(response.headers["location"]).group(1)


async def test_draft_edit_publish_and_read(bureau, browser):
    supervisor = await browser(bureau.username(Role.supervisor))
    staff = await browser(bureau.username(Role.unit_staff))
    leader = await browser(bureau.username(Role.leader))
    bulletin_id = await draft_by_hand(browser, bureau)
    # Drafting the same month again (a double click) opens the same draft.
    year, month = last_month()
    again = await supervisor.post("/bulletins", {"year": str(year), "month": str(month)})
    assert bulletin_id in again.headers["location"]
    # A future month is refused with a message saying what to do.
    refused = await supervisor.post("/bulletins", {"year": str(year + 1), "month": "12"})
    assert refused.status_code == 422 and "只能为已经结束的月份起草通报" in refused.text

    page = await supervisor.get(f"/bulletins/{bulletin_id}")
    assert page.status_code == 200 and "草稿，尚未发布" in page.text and "发布通报" in page.text
    assert (await leader.get(f"/bulletins/{bulletin_id}")).status_code == 200  # cycle.read_drafts
    # A unit's staff does not see drafts: not in the list, not found by id, not editable.
    assert bulletin_id not in (await staff.get("/bulletins")).text
    for path in ("", "/edit", ".docx", ".pdf", ".xlsx"):
        assert (await staff.get(f"/bulletins/{bulletin_id}{path}")).status_code == 404
    for path in ("/edit", "/regenerate", "/publish"):
        assert (await staff.post(f"/bulletins/{bulletin_id}{path}", {"version": "1"})).status_code == 404

    saved = await supervisor.post(f"/bulletins/{bulletin_id}/edit", {
        "title": "十月通报", "foreword": "现将有关情况通报如下。", "remarks": "请各单位抓紧落实。", "version": "1"})
    assert saved.status_code == 303
    # The same form sent again (version 1, now stale): refused with 409, the text typed is still in the form.
    stale = await supervisor.post(f"/bulletins/{bulletin_id}/edit", {
        "title": "另一个标题", "foreword": "别人的按语", "remarks": "", "version": "1"})
    assert stale.status_code == 409 and "已被他人修改或发布" in stale.text and "别人的按语" in stale.text
    # 重新生成 keeps the supervisor's words (version 2 → 3).
    assert (await supervisor.post(f"/bulletins/{bulletin_id}/regenerate", {"version": "2"})).status_code == 303
    # Leaders read drafts but do not edit or publish.
    assert (await leader.post(f"/bulletins/{bulletin_id}/publish", {"version": "3"})).status_code == 403
    published = await supervisor.post(f"/bulletins/{bulletin_id}/publish", {"version": "3"})
    assert published.status_code == 303
    # A double click on 发布 (the page's version is now stale) changes nothing.
    assert (await supervisor.post(f"/bulletins/{bulletin_id}/publish", {"version": "3"})).status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        row = await session.get(Bulletin, bulletin_id)
        assert (row.state, row.issue_no, row.title, row.foreword, row.version) == (
            BulletinState.published, 1, "十月通报", "现将有关情况通报如下。", 4)
        notified = (await session.exec(
            select(Membership.role).join(Notification, col(Notification.membership_id) == Membership.id)
            .where(Notification.link == f"/bulletins/{bulletin_id}"))).all()
        audit = (await session.exec(select(AuditEvent.action).where(AuditEvent.object_id == bulletin_id)
                                    .order_by(col(AuditEvent.occurred_at)))).all()
    # Every unit's people: the school's head and staff (the office has nobody in this bureau); and the leader and
    # the supervisor (who published it: the bell keeps their copy too), who belong to no unit.
    assert sorted(notified) == sorted([Role.unit_head, Role.unit_staff, Role.leader, Role.supervisor])
    assert list(audit) == ["bulletin.draft", "bulletin.edit", "bulletin.regenerate", "bulletin.publish"]

    # Now everyone of the bureau reads it, and the list shows its number; the staff still cannot edit.
    listing = await staff.get("/bulletins")
    assert bulletin_id in listing.text and f"〔{year}〕第1期" in listing.text
    reading = await staff.get(f"/bulletins/{bulletin_id}")
    assert reading.status_code == 200 and "十月通报" in reading.text and "发布通报" not in reading.text
    assert (await staff.post(f"/bulletins/{bulletin_id}/edit", {"title": "x", "version": "4"})).status_code == 403
    # A published bulletin is final.
    final = await supervisor.post(f"/bulletins/{bulletin_id}/edit", {"title": "改", "version": "4"})
    assert final.status_code == 409 and "已发布" in final.text


async def test_another_bureau_finds_nothing(bureau, other_bureau, browser):
    bulletin_id = await draft_by_hand(browser, bureau)
    async with unit_of_work(bureau.tenant.id) as session:
        row = await session.get(Bulletin, bulletin_id)
        await bulletins.publish(session, bureau.actors[Role.supervisor], row.id, version=row.version)
    for role in (Role.supervisor, Role.leader, Role.unit_staff, Role.admin):
        stranger = await browser(other_bureau.username(role))
        assert bulletin_id not in (await stranger.get("/bulletins")).text
        for path in ("", "/edit", ".docx", ".pdf", ".xlsx"):
            assert (await stranger.get(f"/bulletins/{bulletin_id}{path}")).status_code == 404, (role, path)
        for path in ("/edit", "/regenerate", "/publish"):
            response = await stranger.post(f"/bulletins/{bulletin_id}{path}", {"version": "2", "title": "x"})
            assert response.status_code == 404, (role, path)
    async with unit_of_work(bureau.tenant.id) as session:
        row = await session.get(Bulletin, bulletin_id)
    assert (row.version, row.issue_no) == (2, 1)


async def test_two_publishers_at_once_get_two_numbers(bureau):
    supervisor = bureau.actors[Role.supervisor]
    async with unit_of_work(bureau.tenant.id) as session:
        first, _n = await bulletins.draft_for_month(session, bureau.tenant.id, 2025, 11, today=last_day())
        second, _n = await bulletins.draft_for_month(session, bureau.tenant.id, 2025, 12, today=last_day())

    async def publish(bulletin):
        async with unit_of_work(bureau.tenant.id) as session:
            return (await bulletins.publish(session, supervisor, bulletin.id, version=bulletin.version)).issue_no

    # Each bureau numbers its issues per year of the bulletin's month.
    assert sorted(await asyncio.gather(publish(first), publish(second))) == [1, 2]


def last_day():
    return local_today()


async def test_supervisor_marks_a_report_exemplary(bureau, other_bureau, browser, clock):
    s = await build(bureau, clock)
    async with unit_of_work(bureau.tenant.id) as session:
        report = (await session.exec(select(ProgressReport).where(
            ProgressReport.unit_id == s.office.id, ProgressReport.period == f"{s.year}-01",
            ProgressReport.task_id == s.tasks["T1"].id))).one()
    supervisor = await browser(bureau.username(Role.supervisor))
    head = await browser(bureau.username(Role.unit_head))
    stranger = await browser(other_bureau.username(Role.supervisor))
    queue = await supervisor.get("/reviews")  # the button sits on each report under review
    assert queue.status_code == 200 and "评为典型报告（列入月通报）" in queue.text
    assert (await stranger.post(f"/reports/{report.id}/exemplary", {"exemplary": "1"})).status_code == 404
    assert (await head.post(f"/reports/{report.id}/exemplary", {"exemplary": "1"})).status_code == 403
    for _twice in range(2):
        response = await supervisor.post(f"/reports/{report.id}/exemplary", {"exemplary": "1"})
        assert response.status_code == 303
    async with unit_of_work(bureau.tenant.id) as session:
        again = await session.get(ProgressReport, report.id)
        marks = (await session.exec(select(AuditEvent).where(AuditEvent.object_id == str(report.id),
                                                             AuditEvent.action == "report.exemplary"))).all()
    assert again.exemplary and again.version == report.version and len(marks) == 1


async def test_pages_take_a_fixed_number_of_queries(bureau, browser, clock):
    """The list and the bulletin page cost the same number of statements with one bulletin or three, with a small
    bureau's figures or a busier one's."""
    supervisor = await browser(bureau.username(Role.supervisor))
    counted: list[str] = []

    def count(conn, cursor, statement, *args):
        counted.append(statement)

    async def cost(path: str) -> int:
        counted.clear()
        event.listen(get_engine().sync_engine, "before_cursor_execute", count)
        try:
            assert (await supervisor.get(path)).status_code == 200
        finally:
            event.remove(get_engine().sync_engine, "before_cursor_execute", count)
        return len(counted)

    bulletin_id = await draft_by_hand(browser, bureau)
    small = (await cost("/bulletins"), await cost(f"/bulletins/{bulletin_id}"))
    s = await build(bureau, clock)  # a year on: the supervisor signs in again
    supervisor = await browser(bureau.username(Role.supervisor))
    async with unit_of_work(bureau.tenant.id) as session:
        for month in (1, 2, 3):
            busy, _new = await bulletins.draft_for_month(session, bureau.tenant.id, s.year, month, today=last_day())
    assert (await cost("/bulletins"), await cost(f"/bulletins/{busy.id}")) == small
