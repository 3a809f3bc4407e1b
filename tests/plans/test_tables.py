"""Tables inside plans: each row of a 任务清单 / 分解表 is an item with its owners, deadline and group, whether the
table is HTML, Word or flattened into text one cell per line; a hostile table costs bounded time and memory."""

from __future__ import annotations

import io
import sys
import time
import zipfile
from pathlib import Path

import pytest

from backend.plans.parser import parse_file, parse_plan, parse_to_dict

ROOT = Path(__file__).resolve().parents[2]


def _items(d: dict) -> list[dict]:
    return [i for s in d["sections"] for i in s["items"]]


def _html(body: str, title: str = "某区教育局2024年重点工作任务清单") -> bytes:
    return (f"<html><head><title>{title}</title></head><body><div>首页 &gt; 通知公告</div>"
            f"<h1>{title}</h1>{body}<div>上一篇：无</div></body></html>").encode()


TABLE = """<table>
<tr><td>序号</td><td>项目</td><td>任务</td><td>完成时间</td><td>牵头处室</td><td>配合处室</td></tr>
<tr><td colspan="6">一、党的建设</td></tr>
<tr><td>1</td><td rowspan="2">政治建设</td><td>9月底前完成理论学习全覆盖</td><td>2024年6月</td>
<td>办公室</td><td>组织科</td></tr>
<tr><td>2</td><td>开展主题党日活动</td><td>每月</td><td>机关党委</td><td></td></tr>
<tr><td colspan="6">二、教育发展</td></tr>
<tr><td>3—1</td><td rowspan="2">学位建设</td><td>新建小学2所</td><td>8月31日前</td><td>计财科</td>
<td>基教科、安全科</td></tr>
<tr><td>3—2</td><td>改扩建初中1所</td><td>2024年9月</td><td>计财科</td><td>基教科</td></tr>
</table>"""


def test_html_rows_are_items_with_owners_deadline_and_project_group() -> None:
    d = parse_to_dict(parse_file(_html(TABLE), "list.html"))
    assert [s["title"] for s in d["sections"]] == ["党的建设", "教育发展"]
    study, day, primary, middle = _items(d)
    assert study["title"] == "9月底前完成理论学习全覆盖" and study["source"] == "table"
    assert study["due"] == "2024-06-30"  # the time column, not the date written in the task
    assert study["owners"] == {"lead": ["办公室"], "co": ["组织科"]}
    assert study["group"]["title"] == "政治建设" and day["group"]["title"] == "政治建设"  # rowspan carried
    assert day["recurrence"] == "每月" and day["due"] == "2024-12-31"
    assert primary["owners"] == {"lead": ["计财科"], "co": ["基教科", "安全科"]}
    assert (primary["due"], middle["due"]) == ("2024-08-31", "2024-09-30")
    assert [(i["number"], i["group"]["title"]) for i in (primary, middle)] == [(3, "学位建设"), (3, "学位建设")]


def test_a_calendar_table_dates_each_row_by_its_month() -> None:
    page = _html("<table><tr><th>月份</th><th>工作内容</th><th>负责部门</th></tr>"
                 '<tr><td rowspan="2">三月</td><td>开展学雷锋活动</td><td>团委</td></tr>'
                 "<tr><td>召开教学工作会议</td><td>教务处</td></tr>"
                 "<tr><td>四月</td><td>组织春季运动会</td><td>体育组</td></tr></table>", "某中学2024年春季学期行事历")
    d = parse_to_dict(parse_file(page, "c.html"))
    assert [(i["title"], i["due"], i["owners"]["lead"]) for i in _items(d)] == [
        ("开展学雷锋活动", "2024-03-31", ["团委"]), ("召开教学工作会议", "2024-03-31", ["教务处"]),
        ("组织春季运动会", "2024-04-30", ["体育组"])]


def test_a_task_merged_over_its_measures_is_their_group() -> None:
    page = _html("<table><tr><th>序号</th><th>重点任务</th><th>具体举措</th><th>责任单位</th><th>完成时限</th></tr>"
                 '<tr><td rowspan="2">1</td><td rowspan="2">深化课堂改革</td><td>推进大单元教学</td><td>教研室</td>'
                 "<td>10月</td></tr><tr><td>开展教学比武</td><td>教研室</td><td>11月</td></tr>"
                 "<tr><td>2</td><td>建强教师队伍</td><td>开展全员培训</td><td>人事科</td><td>12月</td></tr></table>")
    d = parse_to_dict(parse_file(page, "m.html"))
    assert [(i["title"], i["group"]["title"]) for i in _items(d)] == [
        ("推进大单元教学", "深化课堂改革"), ("开展教学比武", "深化课堂改革"), ("开展全员培训", "建强教师队伍")]


def test_a_school_year_table_puts_january_in_the_next_year() -> None:
    page = _html("<table><tr><th>月份</th><th>工作内容</th><th>负责部门</th></tr>"
                 "<tr><td>九月</td><td>开学典礼</td><td>德育处</td></tr><tr><td>一月</td><td>期末考试</td><td>教务处</td></tr>"
                 "</table>", "某小学2023学年工作行事历")
    assert [i["due"] for i in _items(parse_to_dict(parse_file(page, "y.html")))] == ["2023-09-30", "2024-01-31"]


def test_a_layout_table_around_the_page_is_read_as_text() -> None:
    page = _html("<table><tr><td><p>一、加强党建</p><p>1.抓好学习。6月底前完成。</p>"
                 "<p>2.建好队伍。（责任单位：组织科）</p></td></tr></table>", "某区教育局2024年工作要点")
    d = parse_to_dict(parse_file(page, "p.html"))
    assert [i["title"] for i in _items(d)] == ["抓好学习", "建好队伍"]
    assert {i["source"] for i in _items(d)} == {"text"}


def test_a_table_without_task_column_stays_text() -> None:
    page = _html("<p>一、联系方式</p><table><tr><td>姓名</td><td>电话</td></tr><tr><td>张三</td><td>123</td></tr>"
                 "</table><p>二、工作要求</p><p>按时报送。</p>")
    d = parse_to_dict(parse_file(page, "p.html"))
    assert "张三" in _items(d)[0]["text"] and {i["source"] for i in _items(d)} == {"text"}


def _docx(paragraphs_before: list[str], header: list[str], rows: list[list[str | None]]) -> bytes:
    docx = pytest.importorskip("docx")
    sys.path.insert(0, str(ROOT))
    from tests.plans.corpus.make_docx import _table

    document = docx.Document()
    for p in paragraphs_before:
        document.add_paragraph(p)
    _table(document, header, rows)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_word_table_under_a_heading_is_that_sections_items() -> None:
    data = _docx(["某县教育局2025年工作要点", "一、党建工作", "1.加强学习。（责任单位：办公室）", "二、重点项目"],
                 ["序号", "项目", "工作任务", "责任单位", "完成时限"],
                 [["1", "学前教育", "新建幼儿园2所", "计财股", "2025年8月"],
                  ["2", None, "扩大普惠学位500个", "基教股", "年底前"]])
    d = parse_to_dict(parse_file(data, "plan.docx"))
    first, second = d["sections"]
    assert [i["title"] for i in first["items"]] == ["加强学习"]
    assert second["title"] == "重点项目"
    assert [(i["title"], i["group"]["title"], i["due"]) for i in second["items"]] == [
        ("新建幼儿园2所", "学前教育", "2025-08-31"), ("扩大普惠学位500个", "学前教育", "2025-12-31")]


def test_attachment_rows_that_repeat_a_text_item_are_not_counted_twice() -> None:
    text = ("某区2024年安全工作要点\n一、落实责任\n1.签订安全责任书。\n2.完善考核办法。\n"
            "某区教育局\n2024年2月1日\n附件\n安全工作任务分解表\n序号\n工作任务\n责任科室\n完成时限\n"
            "1\n签订安全责任书\n安全科\n3月底前\n2\n开展应急演练\n德育科\n5月\n")
    d = parse_to_dict(parse_plan(text))
    items = _items(d)
    assert [i["title"] for i in items] == ["签订安全责任书", "完善考核办法", "开展应急演练"]
    assert items[0]["owners"]["lead"] == ["安全科"] and items[0]["due"] == "2024-03-31"
    assert d["sections"][-1]["title"] == "安全工作任务分解表"


def test_a_table_repeating_its_sections_text_items_fills_them_and_short_titles_do_not_match() -> None:
    page = _html("<p>一、重点任务</p><p>1.推进集团化办学改革。组建教育集团。</p><p>2.加强党建。</p>"
                 "<table><tr><td>序号</td><td>任务</td><td>牵头单位</td><td>完成时限</td></tr>"
                 "<tr><td>1</td><td>推进集团化办学改革</td><td>基教科</td><td>2024年9月</td></tr>"
                 "<tr><td>2</td><td>加强党建品牌建设</td><td>机关党委</td><td>11月底前</td></tr></table>"
                 "<p>二、工作要求</p><p>按时报送。</p>")
    d = parse_to_dict(parse_file(page, "p.html"))
    first = d["sections"][0]["items"]
    assert [(i["title"], i["source"]) for i in first] == [
        ("推进集团化办学改革", "text"), ("加强党建", "text"), ("加强党建品牌建设", "table")]
    assert first[0]["owners"]["lead"] == ["基教科"] and first[0]["due"] == "2024-09-30"


def test_a_table_between_text_items_keeps_its_place_and_its_heading_is_the_rows_group() -> None:
    page = _html("<p>一、重点工作</p><p>（一）加强党的建设。全年开展学习12次。</p><p>（二）重点建设项目</p>"
                 "<table><tr><td>序号</td><td>任务</td><td>责任单位</td><td>完成时限</td></tr>"
                 "<tr><td>1</td><td>新建实验小学</td><td>计财科</td><td>2024年8月</td></tr></table>"
                 "<p>（三）维护校园安全。开展隐患排查。</p><p>二、工作要求</p><p>按时报送。</p>", "某区2024年工作要点")
    d = parse_to_dict(parse_file(page, "p.html"))
    first = d["sections"][0]["items"]
    assert [(i["title"], i["source"]) for i in first] == [
        ("加强党的建设", "text"), ("新建实验小学", "table"), ("维护校园安全", "text")]
    assert first[1]["group"]["title"] == "重点建设项目"


def test_flattened_rows_find_their_columns_when_a_merged_cell_is_left_out() -> None:
    text = ("某市教育局2024年任务清单\n序号\n项目\n任务\n完成时间\n负责处室\n"
            "1\n队伍建设\n培训校长200人\n2024年7月\n人事处\n"
            "2\n招聘教师300名\n2024年8月\n人事处\n"
            "3\n安全稳定\n开展安全检查\n每季度\n安全处\n")
    d = parse_to_dict(parse_plan(text))
    assert [(i["title"], i["group"]["title"], i["owners"]["lead"], i["due"]) for i in _items(d)] == [
        ("培训校长200人", "队伍建设", ["人事处"], "2024-07-31"),
        ("招聘教师300名", "队伍建设", ["人事处"], "2024-08-31"),
        ("开展安全检查", "安全稳定", ["安全处"], "2024-12-31"),
    ]


def test_a_table_pasted_one_row_per_line_with_tabs_or_spaces() -> None:
    text = ("某县教育局2024年重点任务分解\n序号\t项目\t工作任务\t牵头单位\t配合单位\t完成时限\n一、党的建设\n"
            "1\t理论武装\t开展主题教育\t办公室\t组织股\t6月底前\n2\t\t建设党建示范校5所\t组织股\t\t2024年11月\n"
            "二、教育发展\n3  学位建设  新建小学1所  计财股  基教股  8月31日前\n某县教育局\n2024年2月1日\n")
    d = parse_to_dict(parse_plan(text))
    assert [s["title"] for s in d["sections"]] == ["党的建设", "教育发展"]
    assert [(i["title"], i["group"]["title"], i["owners"]["lead"], i["due"]) for i in _items(d)] == [
        ("开展主题教育", "理论武装", ["办公室"], "2024-06-30"),
        ("建设党建示范校5所", "理论武装", ["组织股"], "2024-11-30"),  # the empty 项目 cell: merged from above
        ("新建小学1所", "学位建设", ["计财股"], "2024-08-31"),
    ]


def _docx_with_cells(rows: int, cols: int) -> bytes:
    """A real .docx whose one table has rows × cols cells, written as XML (python-docx would take minutes)."""
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    head = "".join(f"<w:tc><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>" for t in ["序号", "工作任务", "牵头单位"])
    head += "<w:tc><w:p/></w:tc>" * (cols - 3)
    def row(n: int) -> str:  # distinct texts: a real table, not a zip bomb of repeats
        return "<w:tr>" + "".join(f"<w:tc><w:p><w:r><w:t>第{n}行{c}列</w:t></w:r></w:p></w:tc>" for c in range(cols)) \
            + "</w:tr>"

    xml = (f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>某局2024年任务'
           f'</w:t></w:r></w:p><w:tbl><w:tr>{head}</w:tr>{"".join(row(n) for n in range(rows))}</w:tbl></w:body>'
           '</w:document>')
    from tests.plans.test_docx_bomb import CONTENT_TYPES, RELS

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("word/document.xml", xml)
    return out.getvalue()


def test_a_docx_table_of_100000_cells_is_read_up_to_its_cap_with_a_flag() -> None:
    pytest.importorskip("docx")
    data = _docx_with_cells(10_000, 10)  # 100,000 cells
    started = time.monotonic()
    plan = parse_file(data, "huge.docx")
    assert time.monotonic() - started < 20
    assert len(plan.items) < 2000  # rows past the cap are counted, not read
    assert any("只读取了前 2000 行" in f for f in plan.flags)


def test_hostile_spans_do_not_blow_up() -> None:
    cells = '<tr><td rowspan="99999" colspan="9999">x</td><td>任务</td><td>牵头单位</td></tr>' * 300
    started = time.monotonic()
    parse_file(_html(f"<table><tr><td>工作任务</td><td>牵头单位</td></tr>{cells}</table>"), "h.html")
    assert time.monotonic() - started < 10


def test_a_300kb_page_with_a_100_row_table_parses_in_bounded_time() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from plan_parse import table_page

    page = table_page()
    parse_file(page, "warm.html")
    started = time.perf_counter()
    plan = parse_file(page, "page.html")
    elapsed = time.perf_counter() - started
    assert len(plan.items) == 100 and {i.source for i in plan.items} == {"table"}
    assert elapsed < 2, f"{elapsed:.2f} s (bench/plan_parse.py holds it to 500 ms on a quiet machine)"
