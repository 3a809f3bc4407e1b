"""The exports reopened with the libraries a reader's software would use: python-docx, pdfplumber, openpyxl."""

import io
import threading
import uuid
from datetime import UTC, date, datetime

import pdfplumber
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from backend.bulletins import exports
from backend.bulletins import service as bulletins
from backend.bulletins.exports import issued_on
from backend.bulletins.models import Bulletin
from backend.bulletins.views import build_view
from backend.core.roles import Role
from backend.db import unit_of_work
from tests.bulletins.scenario import build


async def published_march(bureau, clock):
    s = await build(bureau, clock)
    async with unit_of_work(s.tenant_id) as session:
        bulletin, _new = await bulletins.draft_for_month(session, s.tenant_id, s.year, 3, today=date(s.year, 4, 1))
        bulletin = await bulletins.update_text(session, bureau.actors[Role.supervisor], bulletin.id,
                                               title="三月份工作落实情况通报", foreword="现将三月份情况通报如下。",
                                               remarks="请第二中学立即补报。", version=bulletin.version)
        await bulletins.publish(session, bureau.actors[Role.supervisor], bulletin.id, version=bulletin.version)
    return s, bulletin


async def test_docx_is_an_official_document(bureau, clock, browser):
    s, bulletin = await published_march(bureau, clock)
    staff = await browser(bureau.username(Role.unit_staff))  # a unit's member reads a published bulletin
    response = await staff.get(f"/bulletins/{bulletin.id}.docx")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    document = Document(io.BytesIO(response.content))
    masthead = document.paragraphs[0].runs[0]
    assert masthead.text == f"{bureau.tenant.name}督查通报"
    assert str(masthead.font.color.rgb) == "C00000" and masthead.font.bold
    assert document.paragraphs[1].text == f"〔{s.year}〕第1期"
    text = "\n".join(p.text for p in document.paragraphs)
    assert "三月份工作落实情况通报" in text and "现将三月份情况通报如下。" in text and "请第二中学立即补报。" in text
    # Body in 仿宋, headings in 黑体, set for East Asian text as Word needs.
    fonts = {r._element.rPr.rFonts.get(qn("w:eastAsia")) for p in document.paragraphs for r in p.runs if r.text}
    assert fonts == {"仿宋", "黑体"}
    # A PAGE field in the footer: Word numbers the pages.
    footer = document.sections[0].footer._element.xml
    assert "PAGE" in footer and "fldChar" in footer
    # Table 1 (units): 办公室 2 due, 2 filed, 1 on time, 1 late, 0 missing; 合计 4, 3, 1, 2, 1, 25%.
    units = next(t for t in document.tables if t.rows[0].cells[0].text == "单位")
    rows = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in units.rows[1:]}
    assert rows["办公室"][:5] == ["2", "2", "1", "1", "0"]
    assert rows["第二中学"][:5] == ["1", "0", "0", "0", "1"] and rows["第二中学"][7] == "1"
    assert rows["合计"][:6] == ["4", "3", "1", "2", "1", "25%"]


async def test_pdf_has_the_numbers_in_embedded_cjk_fonts(bureau, clock, browser):
    s, bulletin = await published_march(bureau, clock)
    staff = await browser(bureau.username(Role.unit_staff))
    response = await staff.get(f"/bulletins/{bulletin.id}.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    with pdfplumber.open(io.BytesIO(response.content)) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
        fonts = {c["fontname"] for page in pdf.pages for c in page.chars}
    assert "\ufffd" not in text
    for expected in ("督查通报", "三月份工作落实情况通报", "办公室", "实验小学", "第二中学", "各单位进展报送与办理情况",
                     s.tasks["T3"].number, "请第二中学立即补报"):
        assert expected in text, expected
    # The 合计 row: 4 due, 3 filed, 1 on time, 2 late, 1 missing, 25%; the trend's 40% / 50% / 25%.
    assert "合计 4 3 1 2 1 25%" in text
    assert "40%" in text and "50%" in text
    # Every glyph comes from an embedded Noto CJK font (subset names like ABCDEF+NotoSerifCJKsc-Regular).
    assert fonts and all("CJK" in name for name in fonts), fonts


async def test_xlsx_holds_the_tables(bureau, clock, browser):
    s, bulletin = await published_march(bureau, clock)
    staff = await browser(bureau.username(Role.unit_staff))
    response = await staff.get(f"/bulletins/{bulletin.id}.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["各单位", "红黄绿灯", "全年趋势", "典型报告", "超期任务"]
    units = {row[0]: row[1:] for row in book["各单位"].iter_rows(min_row=3, values_only=True)}
    # 办公室: due 2, filed 2, on time 1, late 1, missing 0, rate 1/2 = 50%, done 0, reds 0.
    assert units["办公室"] == (2, 2, 1, 1, 0, 0.5, 0, 0)
    assert units["合计"] == (4, 3, 1, 2, 1, 0.25, 0, 1)
    trend = [row for row in book["全年趋势"].iter_rows(min_row=3, values_only=True)]
    assert [(r[1], r[2], r[3], r[4]) for r in trend] == [(5, 2, 0.4, 0), (4, 2, 0.5, 1), (4, 1, 0.25, 1)]
    overdue = list(book["超期任务"].iter_rows(min_row=3, values_only=True))
    assert overdue == [(s.tasks["T3"].number, "T3任务", "第二中学", f"{s.year}-03-10", 22)]


def test_the_signed_date_is_the_bureaus_own():
    """Published at 23:30 UTC on 31 March = 07:30 on 1 April in Beijing: the document is dated 1 April."""
    figures = {"year": 2027, "month": 3, "today": "2027-04-01", "plan_year": 2027, "units": [], "exemplary": [],
               "totals": {k: 0 for k in ("due", "filed", "on_time", "late", "missing", "completed", "reds")}
               | {"on_time_rate": None}, "trend": [], "overdue": [], "overdue_total": 0,
               "bureau": {"tasks": 0, "done": 0, "completion_rate": None,
                          "lights": {"green": 0, "yellow": 0, "red": 0}}}
    moment = datetime(2027, 3, 31, 23, 30, tzinfo=UTC)
    bulletin = Bulletin(id=uuid.uuid4(), tenant_id=uuid.uuid4(), year=2027, month=3, title="三月通报", figures=figures,
                        computed_at=moment, published_at=moment, issue_no=1)
    assert issued_on(build_view(bulletin, "某区教育局", "Asia/Shanghai")) == date(2027, 4, 1)
    assert issued_on(build_view(bulletin, "某区教育局", "UTC")) == date(2027, 3, 31)


async def test_exports_render_off_the_event_loop(bureau, clock, browser, monkeypatch):
    """A 300-unit PDF takes seconds of CPU: rendered on the event loop it would stall every other request."""
    _s, bulletin = await published_march(bureau, clock)
    threads = []
    real = exports.render_xlsx

    def spy(view):
        threads.append(threading.current_thread())
        return real(view)

    monkeypatch.setattr(exports, "render_xlsx", spy)
    staff = await browser(bureau.username(Role.unit_staff))
    assert (await staff.get(f"/bulletins/{bulletin.id}.xlsx")).status_code == 200
    assert threads and threads[0] is not threading.main_thread()


async def test_a_version_is_rendered_once_however_many_units_open_it(bureau, clock, browser, monkeypatch):
    """Every unit opens the bulletin after it is published: the document of a version is laid out once."""
    _s, bulletin = await published_march(bureau, clock)
    rendered = []
    real = exports.render_xlsx

    def counting(view):
        rendered.append(view.bulletin.version)
        return real(view)

    monkeypatch.setattr(exports, "render_xlsx", counting)
    first = await browser(bureau.username(Role.unit_staff))
    second = await browser(bureau.username(Role.unit_head))
    bodies = [(await reader.get(f"/bulletins/{bulletin.id}.xlsx")).content for reader in (first, second, first)]
    assert rendered == [bulletin.version] and bodies[0] == bodies[1] == bodies[2]


async def test_typed_formulas_stay_inert_text_in_the_xlsx(bureau, clock, browser):
    """Issue 14 finding 9: a report text (典型报告's excerpt) and a task title (超期任务) typed as a formula come out
    of the bulletin workbook as text, never as a live formula."""
    from sqlmodel import col, update

    from backend.reports.models import ProgressReport
    from backend.tasks.models import Task

    formula = '=HYPERLINK("http://x","y")'
    s = await build(bureau, clock)
    async with unit_of_work(s.tenant_id) as session:
        await session.exec(update(ProgressReport).where(col(ProgressReport.task_id) == s.tasks["T1"].id,
                                                        col(ProgressReport.period) == f"{s.year}-03")
                           .values(progress=formula))
        await session.exec(update(Task).where(col(Task.id) == s.tasks["T3"].id).values(title="+" + formula[1:]))
        bulletin, _new = await bulletins.draft_for_month(session, s.tenant_id, s.year, 3, today=date(s.year, 4, 1))
        await bulletins.publish(session, bureau.actors[Role.supervisor], bulletin.id, version=bulletin.version)
    staff = await browser(bureau.username(Role.unit_staff))
    response = await staff.get(f"/bulletins/{bulletin.id}.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    typed = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
             if isinstance(cell.value, str) and "HYPERLINK" in cell.value]
    assert {c.parent.title for c in typed} == {"典型报告", "超期任务"}
    for cell in typed:
        assert cell.data_type == "s", (cell.coordinate, cell.value)
        assert cell.value.startswith("'") or cell.quotePrefix, (cell.coordinate, cell.value)
