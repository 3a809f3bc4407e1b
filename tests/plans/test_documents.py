"""Plans in styles beyond the samples, and every input format: encodings, .docx, .pdf, .html, bad files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from backend.plans.parser import PlanInputError, parse_file, parse_plan, parse_to_dict

DOCS = Path(__file__).parent / "documents"


def _doc(name: str) -> dict:
    return parse_to_dict(parse_file((DOCS / name).read_bytes(), name))


def _items(d: dict) -> list[dict]:
    return [i for s in d["sections"] for i in s["items"]]


# ------------------------------------------------------------------------------------------ styles
def test_paren_items_cover_letter_owners_and_attachments() -> None:
    d = _doc("county_paren_items.txt")
    assert d["title"] == "某某县教育局2021年工作要点"
    assert d["issuer"] == "某某县教育局"
    assert d["year"] == 2021
    assert [(s["label"], s["title"]) for s in d["sections"]] == [
        ("一", "加强党的建设"),
        ("二", "推进教育优质均衡发展"),
        ("三", "建设高素质教师队伍"),
    ]
    # (一)(二) are the items, numbered again in each section; 1. 2. under them are measures
    assert [(i["number"], i["title"]) for i in _items(d)] == [
        (1, "落实全面从严治党主体责任"),
        (2, "加强意识形态工作"),
        (1, "扩大学位供给"),
        (2, "提升教育质量"),
        (1, "加强师德师风建设"),
        (2, "做好教师招聘培训"),
    ]
    first, ideology, places, quality, ethics, hiring = _items(d)
    assert [m["label"] for m in first["measures"]] == ["1", "2"]
    assert first["measures"][0]["text"] == "开展党史学习教育，每月组织一次专题学习。"
    assert first["owners"] == {"lead": ["组织人事股", "机关党委"], "co": []}
    assert any("未注明牵头单位" in f for f in first["flags"])
    assert first["deadline"] == "2021-06-30" and any("取最晚" in f for f in first["flags"])
    assert first["recurrence"] == "每月"
    assert ideology["owners"] == {"lead": ["办公室"], "co": ["各学校", "教研室"]}
    assert ideology["recurrence"] == "每季度" and ideology["deadline"] == "2021-06-30"
    assert places["owners"] == {"lead": ["计财股"], "co": ["基建办"]}
    assert places["deadline"] == "2021-08-31" and any("秋季开学前" in f for f in places["flags"])
    assert {(t["value"], t["unit"]) for t in places["targets"]} == {(5, "所"), (2400, "个")}
    comparators = {t["value"]: t["comparator"] for t in quality["targets"]}
    assert comparators == {99.5: "以上", 60: "不低于"}
    assert quality["deadline"] == "2022-03-31" and any("超出计划年度" in f for f in quality["flags"])
    assert ethics["recurrence"] == "每学期" and ethics["deadline"] == "2021-12-31"
    assert hiring["deadline"] == "2021-10-20" and any("中旬" in f for f in hiring["flags"])
    # cover letter, signature and attachment list are discarded, not lost, and not items
    assert any(x.startswith("现将") for x in d["discarded"])
    assert "附件：1.2021年重点工作任务分解表" in d["discarded"]
    assert "2.2021年重点项目清单" in d["discarded"]


def test_parts_page_chrome_and_inline_owners() -> None:
    d = _doc("parts_and_chrome.txt")
    assert [(s["label"], s["title"]) for s in d["sections"]] == [
        ("第一部分", "总体要求"),
        ("第二部分", "重点任务"),
        ("第三部分", "保障措施"),
    ]
    overall, reform, equity, governance, safeguards = _items(d)
    assert overall["number"] is None and overall["title"] == "总体要求"
    assert [(i["number"], i["title"]) for i in (reform, equity, governance)] == [
        (1, "深化教育综合改革"),
        (2, "办好公平优质教育"),
        (3, "提升教育治理能力"),
    ]
    assert [m["label"] for m in reform["measures"]] == ["1", "2"]
    assert reform["owners"] == {"lead": ["人事科"], "co": ["基教科", "职成科"]}
    assert reform["recurrence"] == "按季度"
    assert "- 2 -" in d["discarded"] and "第 3 页 共 4 页" in d["discarded"]
    assert all("- 2 -" not in i["text"] for i in _items(d))
    assert {(t["value"], t["unit"]) for t in equity["targets"]} >= {(12, "所"), (35000, "平方米"), (8000, "人次")}
    assert equity["deadline"] == "2022-09-01"
    assert governance["owners"]["lead"] == ["政策法规科"] and any("取自正文" in f for f in governance["flags"])
    assert governance["deadline"] == "2022-12-31"  # 下半年
    assert safeguards["recurrence"] == "月通报、季点评、年考核"
    assert d["issuer"] == "市教育局" and any("补全" in f for f in d["flags"])
    assert d["year"] == 2022 and any("年份" in f for f in d["flags"])


def test_lost_punctuation() -> None:
    d = _doc("lost_punctuation.txt")
    assert d["year"] == 2019
    assert [(s["label"], s["title"]) for s in d["sections"]] == [("一", "加强党的领导"), ("二", "办好人民满意的教育")]
    items = _items(d)
    assert [i["number"] for i in items] == [1, 2, 3, 4]
    assert items[0]["deadline"] == "2019-06-30" and any("缺字" in f for f in items[0]["flags"])
    assert items[1]["recurrence"] == "每学年"
    assert {(t["value"], t["unit"]) for t in items[2]["targets"]} == {(8, "所"), (2160, "个")}
    assert items[3]["deadline"] == "2019-12-31"
    assert "扫码关注我们" in d["discarded"]
    assert any("缺少标点" in f or "分隔" in f for f in items[0]["flags"])


def test_traditional_with_circled_measures() -> None:
    d = _doc("traditional_circled.txt")
    assert d["title"] == "某某市教育局2021年度工作計劃"
    assert d["issuer"] == "某某市教育局"
    assert d["year"] == 2021
    brand, style, build, it = _items(d)
    assert brand["title"] == "推進黨建品牌建設"
    assert [m["label"] for m in brand["measures"]] == ["①", "②", "③"]
    assert brand["measures"][0]["text"] == "創建黨建示範點10個"
    assert brand["owners"] == {"lead": ["組織科"], "co": ["各學校"]}  # as written
    assert brand["recurrence"] == "每季度"
    assert (10, "个") in {(t["value"], t["unit"]) for t in brand["targets"]}
    assert style["recurrence"] == "每月" and style["deadline"] == "2021-06-30"
    assert (31000, "个") in {(t["value"], t["unit"]) for t in build["targets"]}
    assert build["deadline"] == "2021-12-31"
    assert it["deadline"] == "2021-09-30"
    assert any(x.startswith("上一篇") for x in d["discarded"])


def test_numbered_cover_letter_and_quoted_list_do_not_break_the_plan() -> None:
    text = (
        "关于印发2024年工作要点的通知\n各单位：\n现将有关事项通知如下：\n一、请认真学习。\n二、请抓好落实。\n三、请按时报送。\n"
        "某某县教育局\n2024年1月5日\n2024年工作要点\n一、加强党建\n1.抓学习。每月一次。\n2.抓队伍。\n一、引用的清单\n"
        "二、清单第二项\n二、办好教育\n3.建学校。新建学校2所。\n三、保障安全\n4.抓安全。每季度检查一次。"
    )
    d = parse_to_dict(parse_plan(text))
    assert d["title"] == "2024年工作要点" and d["issuer"] == "某某县教育局" and d["year"] == 2024
    assert [s["title"] for s in d["sections"]] == ["加强党建", "办好教育", "保障安全"]
    assert [i["number"] for i in _items(d)] == [1, 2, 3, 4]
    assert "一、引用的清单" in _items(d)[1]["text"]
    assert "一、请认真学习。" in d["discarded"]


def test_paren_sections_and_yao_measures() -> None:
    d = _doc("paren_sections.txt")
    assert d["issuer"] == "某某区教育局" and d["year"] == 2023
    assert [(s["label"], s["title"]) for s in d["sections"]] == [
        ("一", "全面加强党的建设"),
        ("二", "推进教育高质量发展"),
        ("三", "提升教育治理水平"),
    ]
    items = _items(d)
    assert [i["number"] for i in items] == [1, 2, 3, 4, 5]
    assert [m["label"] for m in items[4]["measures"]] == ["一要", "二要", "三要"]
    assert items[2]["targets"][0]["comparator"] == "以上"


def test_goals_tasks_safeguards() -> None:
    d = _doc("goals_tasks_safeguards.txt")
    assert [s["title"] for s in d["sections"]] == ["总体目标", "主要任务", "保障措施"]
    goal, party, resources, leadership, supervision = _items(d)
    assert goal["number"] is None and goal["title"] == "总体目标"
    assert (party["number"], party["title"], len(party["measures"])) == (1, "加强党的建设", 2)
    assert party["recurrence"] == "每周" and party["deadline"] == "2022-06-30"
    assert [m["text"] for m in resources["measures"]] == ["新建学校3所", "改扩建学校5所", "新增学位4500个。"]
    assert (leadership["number"], supervision["number"]) == (1, 2)
    assert supervision["recurrence"] == "月调度、季通报"


def test_plain_numbered_list_without_headings() -> None:
    d = parse_to_dict(parse_plan("2025年工作要点\n1.抓党建。\n2.促发展，新建学校2所。\n3.保安全。"))
    assert len(d["sections"]) == 1 and d["sections"][0]["label"] == ""
    assert [i["number"] for i in _items(d)] == [1, 2, 3]


def test_no_structure_goes_to_discarded_with_a_flag() -> None:
    d = parse_to_dict(parse_plan("这是一段没有编号的文字。\n第二行。"))
    assert d["sections"] == []
    assert d["discarded"] == ["这是一段没有编号的文字。", "第二行。"]
    assert any("未识别到编号结构" in f for f in d["flags"])


# --------------------------------------------------------------------------------------- encodings
TRAD = (DOCS / "traditional_circled.txt").read_text("utf-8")
SIMP = (DOCS / "county_paren_items.txt").read_text("utf-8")


@pytest.mark.parametrize(
    ("codec", "reported"),
    [
        ("gbk", "gb18030"),
        ("gb18030", "gb18030"),
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8"),
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16"),
        ("utf-16-be", "utf-16"),
    ],
)
def test_text_encodings(codec: str, reported: str) -> None:
    plan = parse_file(SIMP.encode(codec), "plan.txt")
    assert plan.encoding == reported
    assert parse_to_dict(plan) == {**_doc("county_paren_items.txt"), "encoding": reported}


def test_traditional_in_big5_and_gbk() -> None:
    for codec, reported in (("big5", "big5"), ("gb18030", "gb18030"), ("utf-16", "utf-16")):
        plan = parse_file(TRAD.replace("🙂", "").encode(codec), "plan.txt")
        assert plan.encoding == reported, codec
        assert [i.title for i in plan.items][0] == "推進黨建品牌建設"


def test_html_page() -> None:
    html = (
        "<html><head><meta charset='utf-8'><title>工作要点</title><style>p{color:red}</style></head><body>"
        "<div class='nav'>首页 &gt; 政务公开</div><h1>某某区教育局2024年工作要点</h1>"
        "<p>一、加强党建</p><p>1.抓学习。每月学习一次。</p><p>2.强队伍。年底前完成培训500人次。</p>"
        "<p>二、促进发展</p><p>3.建学校。新建学校2所。</p><div>上一篇：通知</div>"
        "<script>var x=1;</script></body></html>"
    )
    plan = parse_file(html.encode("utf-8"), "page.html")
    d = parse_to_dict(plan)
    assert plan.source_format == "html"
    assert d["title"] == "某某区教育局2024年工作要点"
    assert [i["number"] for i in _items(d)] == [1, 2, 3]
    assert not any("var x" in x for x in d["discarded"])


# -------------------------------------------------------------------------------------------- docx
def _docx_bytes() -> bytes:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("某某区教育局2023年工作要点")
    document.add_paragraph("2023年，全区教育系统坚持稳中求进。")
    document.add_paragraph("一、加强党的建设")
    document.add_paragraph("加强理论学习。每月开展一次集中学习。", style="List Number")  # Word's own numbering
    document.add_paragraph("加强队伍建设。培训党务干部300人次。", style="List Number")
    document.add_paragraph("二、重点任务清单")
    table = document.add_table(rows=1, cols=5)
    for cell, text in zip(table.rows[0].cells, ["序号", "重点任务", "牵头单位", "配合单位", "完成时限"], strict=True):
        cell.text = text
    rows = [
        ("1", "新建幼儿园3所", "计财科", "基教科、安全科", "2023年8月"),
        ("2", "开展教师培训5000人次", "人事科", "", "年底前"),
    ]
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_docx_with_numbering_and_table() -> None:
    plan = parse_file(_docx_bytes(), "plan.docx")
    d = parse_to_dict(plan)
    assert plan.source_format == "docx" and d["encoding"] is None
    assert d["title"] == "某某区教育局2023年工作要点" and d["year"] == 2023
    assert [(s["label"], s["title"]) for s in d["sections"]] == [("一", "加强党的建设"), ("二", "重点任务清单")]
    study, team, kindergartens, training = _items(d)
    assert (study["number"], study["title"], study["recurrence"]) == (1, "加强理论学习", "每月")
    assert (team["number"], team["title"]) == (2, "加强队伍建设")
    assert kindergartens["number"] == 1 and kindergartens["title"].startswith("新建幼儿园3所")
    assert kindergartens["owners"] == {"lead": ["计财科"], "co": ["基教科", "安全科"]}
    assert kindergartens["deadline"] == "2023-08-31"
    assert (3, "所") in {(t["value"], t["unit"]) for t in kindergartens["targets"]}
    assert training["owners"]["lead"] == ["人事科"] and training["deadline"] == "2023-12-31"


def test_docx_category_table() -> None:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("某某市教育局2024年重点工作任务清单")
    table = document.add_table(rows=1, cols=4)
    for cell, text in zip(table.rows[0].cells, ["类别", "序号", "工作任务", "责任单位"], strict=True):
        cell.text = text
    for row in [("党的建设", "1", "开展主题教育", "组干科"), ("党的建设", "2", "加强廉政建设", "纪检组"),
                ("教育发展", "3", "新建学校5所", "计财科")]:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text
    buf = io.BytesIO()
    document.save(buf)
    d = parse_to_dict(parse_file(buf.getvalue(), "list.docx"))
    assert [(s["label"], s["title"]) for s in d["sections"]] == [("一", "党的建设"), ("二", "教育发展")]
    owners = [(i["number"], i["owners"]["lead"]) for i in _items(d)]
    assert owners == [(1, ["组干科"]), (2, ["纪检组"]), (3, ["计财科"])]


def test_empty_docx() -> None:
    docx = pytest.importorskip("docx")
    buf = io.BytesIO()
    docx.Document().save(buf)
    with pytest.raises(PlanInputError, match="没有文字"):
        parse_file(buf.getvalue(), "empty.docx")


# --------------------------------------------------------------------------------------------- pdf
PDF_PARAS = [
    "某某市教育局2022年工作要点",
    "2022年，全市教育系统以推动高质量发展为主题，深化教育改革，促进教育公平，全面提高教育质量。",
    "一、加强党的全面领导",
    "1.深入开展党史学习教育。坚持把学习贯彻习近平新时代中国特色社会主义思想作为首要政治任务，每季度组织一次理论中心组专题学"
    "习，6月底前完成全市教育系统党组织书记轮训。（责任单位：组织人事处、宣传处）",
    "2.加强意识形态工作。落实意识形态工作责任制，上半年完成意识形态领域风险隐患排查，健全舆情应对处置机制。",
    "二、推进教育优质均衡",
    "3.扩大优质教育资源。新建改扩建中小学幼儿园15所，新增学位1.2万个，秋季开学前全部投入使用，确保义务教育巩固率达到99%以上。",
    "4.提升教育教学质量。深化课堂教学改革，每学期开展一次教学视导，培训骨干教师2000人次。",
]


def _pdf_bytes(paras: list[str] | None, width: int = 28) -> bytes:
    pytest.importorskip("reportlab")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    if paras is None:  # a "scanned" page: only graphics, no text layer
        c.rect(50, 50, 400, 600, fill=1)
        c.showPage()
        c.save()
        return buf.getvalue()
    lines: list[str] = []
    for p in paras:  # wrap at a fixed width, as a PDF text layer does
        while len(p) > width:
            lines.append(p[:width])
            p = p[width:]
        lines.append(p)
    per_page = 12
    for page, start in enumerate(range(0, len(lines), per_page), 1):
        c.setFont("STSong-Light", 11)
        c.drawString(60, 800, "某某市教育局文件")  # running header
        y = 760
        for line in lines[start: start + per_page]:
            c.drawString(60, y, line)
            y -= 20
        c.drawString(280, 60, f"- {page} -")  # page number
        c.showPage()
    c.save()
    return buf.getvalue()


def test_pdf_text_layer() -> None:
    plan = parse_file(_pdf_bytes(PDF_PARAS), "plan.pdf")
    d = parse_to_dict(plan)
    assert plan.source_format == "pdf"
    assert d["title"] == "某某市教育局2022年工作要点" and d["issuer"] == "某某市教育局" and d["year"] == 2022
    assert [(s["label"], s["title"]) for s in d["sections"]] == [("一", "加强党的全面领导"), ("二", "推进教育优质均衡")]
    study, ideology, resources, quality = _items(d)
    assert study["title"] == "深入开展党史学习教育"
    # lines broken at the page width are joined again
    assert "中心组专题学习，6月底前" in study["text"]
    assert study["deadline"] == "2022-06-30" and study["recurrence"] == "每季度"
    assert study["owners"]["lead"] == ["组织人事处", "宣传处"]
    assert ideology["deadline"] == "2022-06-30"
    assert {(t["value"], t["unit"]) for t in resources["targets"]} == {(15, "所"), (12000, "个"), (99, "%")}
    assert quality["recurrence"] == "每学期"
    assert "- 1 -" in d["discarded"] and "- 2 -" in d["discarded"]
    assert not d["flags"]


def test_scanned_pdf_is_refused_clearly() -> None:
    with pytest.raises(PlanInputError, match="扫描件"):
        parse_file(_pdf_bytes(None), "scan.pdf")


def test_broken_pdf() -> None:
    with pytest.raises(PlanInputError, match="PDF"):
        parse_file(b"%PDF-1.7\n garbage", "broken.pdf")


# ------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("data", [b"", b"   \r\n\t ", b"\xef\xbb\xbf", b"\x00\x00"])
def test_empty_file(data: bytes) -> None:
    with pytest.raises(PlanInputError, match="空"):
        parse_file(data, "plan.txt")


def _zip_with(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, "<x/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "scan.png", "图片"),
        (b"\xff\xd8\xff\xe0" + bytes(200), "photo.jpg", "图片"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "old.doc", ".doc"),
        (_zip_with("xl/workbook.xml"), "table.xlsx", "Excel"),
        (_zip_with("foo.txt"), "stuff.zip", "压缩包"),
        (b"{\\rtf1\\ansi hello}", "a.rtf", "RTF"),
        (bytes(range(256)) * 8, "blob.bin", "文件类型"),
        (b"PK\x03\x04 not really a zip", "plan.docx", "损坏"),
    ],
)
def test_other_kinds_of_file(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(PlanInputError, match=message):
        parse_file(data, filename)
