"""One screen for a report with photos, and the photos in front of everyone who judges the report.

Before: the report form had no photo slot until a draft was saved; after an upload it came back with an empty
upload form instead of the file, as the current period even for a late report of a past one, and without the
text typed since the last save. The principal's and the supervisor's queues, the report views and the 台账 showed
no photos at all."""

import re
from datetime import UTC, datetime

from sqlmodel import col, select

from backend.db import unit_of_work
from backend.evidence.models import Evidence
from backend.evidence.thumbnails import make_thumbnail
from backend.reports import service as reports
from backend.reports.models import ProgressReport
from tests.evidence.samples import pdf, photo
from tests.reports.helpers import QueryCounter, filed, main, report_for, run, set_settings
from tests.reports.test_routes import _november, form_data  # noqa: F401 — the same November clock (autouse)

HTMX = {"HX-Request": "true"}
TAKEN = "2026:11:09 08:30:00"


def typed(**values) -> dict:
    """The report form as sent when photos are chosen (all of it: what was typed goes with the files)."""
    return form_data(**{"action": "upload", **values})


async def post(staff, path: str, data: dict, files=None, headers=None):
    return await staff.client.post(path, data={**data, "csrf_token": staff.csrf}, files=files, headers=headers)


def two_photos() -> list:
    return [("photos", ("操场.jpg", photo(TAKEN), "image/jpeg")),
            ("photos", ("教室.jpg", photo("2026:11:08 16:05:00", color=(30, 200, 30)), "image/jpeg"))]


async def evidence_of(loop, report_id=None) -> list[Evidence]:
    async with unit_of_work(loop.tenant_id) as session:
        query = select(Evidence).where(Evidence.task_id == loop.task_id).order_by(col(Evidence.filename))
        if report_id is not None:
            query = query.where(Evidence.report_id == report_id)
        return list((await session.exec(query)).all())


async def thumbnails(loop) -> None:
    """What the worker does after the upload."""
    for item in await evidence_of(loop):
        async with unit_of_work(loop.tenant_id) as session:
            await make_thumbnail(session, item.id)


async def test_the_form_has_photo_slots_before_any_draft(loop, browser):
    staff = await browser(loop.usernames["staff"])
    html = main(await staff.get(f"/tasks/{loop.task_id}/report"))
    assert await report_for(loop) is None
    photos = re.search(r'<input id="f-photos"[^>]*>', html).group(0)
    assert 'type="file"' in photos and 'accept="image/*"' in photos and 'capture="environment"' in photos
    assert " multiple" in photos and 'data-max-bytes="52428800"' in photos
    files = re.search(r'<input id="f-files"[^>]*>', html).group(0)
    assert "application/pdf" in files and ".docx" in files and " multiple" in files
    assert 'accept="image/*' in files and "capture" not in files  # photos already in the album, several at once
    assert 'enctype="multipart/form-data"' in html and "本期佐证材料" in html


async def test_the_first_upload_makes_the_draft_with_what_was_typed_and_shows_the_photos(loop, browser):
    staff = await browser(loop.usernames["staff"])
    sent = await post(staff, f"/tasks/{loop.task_id}/report", typed(progress="开展专题学习3次。"), two_photos())
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/tasks/{loop.task_id}/report?period=2026-11&notice=uploaded#report-evidence"
    report = await report_for(loop)
    assert report.state == "draft" and report.progress == "开展专题学习3次。" and report.percent == 30
    made = await evidence_of(loop, report.id)
    assert sorted(e.filename for e in made) == sorted(["教室.jpg", "操场.jpg"])
    assert {e.taken_at.isoformat() for e in made} == {"2026-11-09T08:30:00", "2026-11-08T16:05:00"}

    await thumbnails(loop)
    html = main(await staff.get(sent.headers["location"]))
    assert "已上传" in html and "开展专题学习3次。" in html and f'name="version" value="{report.version}"' in html
    strip = html[html.index('id="report-evidence-items"'):]
    for item in made:
        assert f'src="/evidence/{item.id}/thumbnail"' in strip
        assert f'href="/evidence/{item.id}/download?view=1"' in strip
        assert f'value="remove:{item.id}"' in strip
    assert "拍摄 11-09 08:30" in strip and "上传 " in strip
    assert "31.0" not in html and "GPS" not in html and "121" not in html  # where it was taken is never shown


async def test_a_late_report_of_a_past_period_stays_in_its_period(loop, browser):
    staff = await browser(loop.usernames["staff"])
    form = main(await staff.get(f"/tasks/{loop.task_id}/report?period=2026-10"))
    assert 'name="period" value="2026-10"' in form and 'id="f-photos"' in form
    sent = await post(staff, f"/tasks/{loop.task_id}/report", typed(period="2026-10", progress="十月的进展"),
                      [("files", ("方案.pdf", pdf(), "application/pdf"))])
    assert sent.status_code == 303 and "period=2026-10" in sent.headers["location"]
    october = await report_for(loop, "2026-10")
    assert october.progress == "十月的进展" and await report_for(loop, "2026-11") is None
    html = main(await staff.get(sent.headers["location"]))
    assert 'name="period" value="2026-10"' in html and "方案.pdf" in html and "PDF" in html


async def test_htmx_upload_returns_the_list_and_removal_takes_one_away(loop, browser):
    staff = await browser(loop.usernames["staff"])
    part = await post(staff, f"/tasks/{loop.task_id}/report", typed(progress="已开展"), two_photos(), HTMX)
    assert part.status_code == 200 and part.text.lstrip().startswith('<div id="report-evidence-items"')
    report = await report_for(loop)
    made = await evidence_of(loop, report.id)
    assert f'name="version" value="{report.version}"' in part.text and "操场.jpg" in part.text
    assert 'hx-trigger="load delay:3s"' in part.text  # thumbnails are on their way: the list looks again
    assert f'id="no-change-version" name="version" value="{report.version}" hx-swap-oob="true"' in part.text

    gone = await post(staff, f"/tasks/{loop.task_id}/report",
                      typed(progress="已开展，又补充了一句", version=str(report.version),
                            action=f"remove:{made[0].id}"), headers=HTMX)
    assert gone.status_code == 200 and made[0].filename not in gone.text and made[1].filename in gone.text
    assert (await report_for(loop)).progress == "已开展，又补充了一句"
    assert [e.id for e in await evidence_of(loop)] == [made[1].id]

    await thumbnails(loop)
    polled = await staff.get(f"/tasks/{loop.task_id}/report?period=2026-11&part=evidence", headers=HTMX)
    assert f'src="/evidence/{made[1].id}/thumbnail"' in polled.text and "hx-trigger" not in polled.text


async def test_a_file_too_large_is_refused_with_a_message_and_the_text_is_kept(loop, browser, monkeypatch):
    from backend.config import get_settings

    monkeypatch.setattr(get_settings(), "evidence_max_mb", 1)
    staff = await browser(loop.usernames["staff"])
    big = ("photos", ("大照片.jpg", photo(TAKEN) + b"\0" * (2 * 2**20), "image/jpeg"))
    refused = await post(staff, f"/tasks/{loop.task_id}/report", typed(progress="写了很多字"), [big])
    assert refused.status_code == 422
    html = main(refused)
    assert "超过 1 MB 的上限" in html and "写了很多字" in html and 'name="period" value="2026-11"' in html
    assert await evidence_of(loop) == []
    version = str((await report_for(loop)).version)  # the refused upload still saved what was typed
    part = await post(staff, f"/tasks/{loop.task_id}/report", typed(progress="写了很多字", version=version), [big],
                      HTMX)
    assert part.status_code == 422 and "超过 1 MB 的上限" in part.text


async def test_submitted_evidence_cannot_be_removed_and_shows_on_the_submitted_report(loop, browser):
    staff = await browser(loop.usernames["staff"])
    await post(staff, f"/tasks/{loop.task_id}/report", typed(progress="已开展"), two_photos())
    report = await report_for(loop)
    await run(loop, reports.submit_report, loop.staff, report.id, version=report.version)
    html = main(await staff.get(f"/tasks/{loop.task_id}/report"))
    assert "操场.jpg" in html and "remove:" not in html and 'name="progress"' not in html
    assert all(e.submitted for e in await evidence_of(loop))


async def _filed_with_photos(loop, browser, *, head_first: bool):
    await set_settings(loop, unit_head_approval=head_first)
    staff = await browser(loop.usernames["staff"])
    await post(staff, f"/tasks/{loop.task_id}/report", typed(progress="已开展专题学习"), two_photos())
    await thumbnails(loop)
    report = await report_for(loop)
    await run(loop, reports.submit_report, loop.staff, report.id, version=report.version)
    return report, await evidence_of(loop, report.id)


def shows_photos(html: str, made: list[Evidence]) -> bool:
    return all(f'src="/evidence/{e.id}/thumbnail"' in html and f'href="/evidence/{e.id}/download?view=1"' in html
               for e in made)


async def test_the_principal_sees_the_photos_on_the_queue_card_and_approves_in_one_tap(loop, browser):
    report, made = await _filed_with_photos(loop, browser, head_first=True)
    head = await browser(loop.usernames["head"])
    queue = main(await head.get("/reviews"))
    card = queue[queue.index(f'id="row-{report.id}"'):]
    assert shows_photos(card[:card.index("</article>")], made) and "拍摄 11-09 08:30" in card
    approved = await head.post(f"/reports/{report.id}/unit-head",
                               {"decision": "approve", "version": str((await report_for(loop)).version)})
    assert approved.status_code == 303 and (await report_for(loop)).state == "submitted"


async def test_the_supervisor_sees_the_photos_everywhere_the_report_is_judged(loop, browser):
    report, made = await _filed_with_photos(loop, browser, head_first=False)
    supervisor = await browser(loop.usernames["supervisor"])
    queue = main(await supervisor.get("/reviews"))
    card = queue[queue.index(f'id="row-{report.id}"'):]
    assert shows_photos(card[:card.index("</article>")], made)
    assert shows_photos(main(await supervisor.get(f"/tasks/{loop.task_id}/reports")), made)
    assert shows_photos(main(await supervisor.get(f"/tasks/{loop.task_id}")), made)  # the 台账
    leader = await browser(loop.usernames["leader"])
    assert shows_photos(main(await leader.get(f"/tasks/{loop.task_id}/reports")), made)
    accepted = await supervisor.post(f"/reports/{report.id}/review",
                                     {"decision": "accept", "version": str((await report_for(loop)).version)})
    assert accepted.status_code == 303 and (await report_for(loop)).state == "accepted"


async def test_the_evidence_of_a_page_of_reports_is_one_query(loop, browser):
    async def queue_queries() -> int:
        async with unit_of_work(loop.tenant_id) as session:
            with QueryCounter() as counter:
                queue = await reports.review_queue(session, loop.supervisor)
        assert all(view.evidence for view in queue)
        return counter.count

    staff = await browser(loop.usernames["staff"])
    await post(staff, f"/tasks/{loop.task_id}/report", typed(progress="十一月"), two_photos()[:1])
    await filed(loop, version=(await report_for(loop)).version)
    one = await queue_queries()
    for period, name, color in (("2026-09", "九月.jpg", (9, 9, 90)), ("2026-10", "十月.jpg", (10, 100, 10))):
        await post(staff, f"/tasks/{loop.task_id}/report", typed(period=period, progress=period),
                   [("photos", (name, photo(color=color), "image/jpeg"))])
        draft = await report_for(loop, period)
        await run(loop, reports.submit_report, loop.staff, draft.id, version=draft.version)
    assert await queue_queries() == one
    async with unit_of_work(loop.tenant_id) as session:
        assert len((await session.exec(select(ProgressReport).where(ProgressReport.state == "submitted"))).all()) == 3


async def test_exemplary_reports_show_their_photos_in_the_bulletin(loop, browser, clock):
    from backend.bulletins import service as bulletins
    from backend.bulletins.exemplary import mark_exemplary

    report, made = await _filed_with_photos(loop, browser, head_first=False)
    await run(loop, mark_exemplary, loop.supervisor, report.id, exemplary=True)
    clock(datetime(2026, 12, 2, 2, tzinfo=UTC))  # November's bulletin is drafted once November is over
    bulletin = await run(loop, bulletins.create_draft, loop.supervisor, year=2026, month=11)
    supervisor = await browser(loop.usernames["supervisor"])
    page = main(await supervisor.get(f"/bulletins/{bulletin.id}"))
    assert shows_photos(page[page.index('id="s-exemplary"'):page.index('id="s-overdue"')], made)
    school = await browser(loop.usernames["co_staff"])  # another unit: the table, not the office's photos
    assert "/thumbnail" not in main(await school.get(f"/bulletins/{bulletin.id}"))


async def test_a_photo_already_on_the_task_is_said_on_the_form_not_lost_in_a_redirect(loop, browser):
    staff = await browser(loop.usernames["staff"])
    first = await post(staff, f"/tasks/{loop.task_id}/report", typed(progress="一"), two_photos()[:1])
    assert first.status_code == 303
    again = await post(staff, f"/tasks/{loop.task_id}/report",
                       typed(progress="一、二", version=str((await report_for(loop)).version)), two_photos()[:1])
    assert again.status_code == 200
    html = main(again)
    assert "这份材料已经上传过" in html and "一、二" in html and len(await evidence_of(loop)) == 1
