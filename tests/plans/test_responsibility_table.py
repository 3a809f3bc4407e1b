"""任务分解表 (.xlsx) reading and unit matching: workbooks are built here with openpyxl, no binary fixtures."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from backend.plans.responsibility_table import (
    ResponsibilityTable,
    ResponsibilityTableError,
    UnitMatch,
    match_units,
    parse_deadline,
    read_responsibility_table,
    split_units,
)


def xlsx(rows: list[list], merges=(), *, title="Sheet1", before=0, hidden=None, formats=None) -> bytes:
    """An .xlsx with `rows` on sheet `title` after `before` empty sheets; `merges` like "A1:F1", `formats` by cell."""
    wb = Workbook()
    ws = wb.active
    for i in range(before):
        ws.title = f"空表{i + 1}"
        ws = wb.create_sheet()
    if hidden is not None:
        h = wb.create_sheet("隐藏", 0)
        for row in hidden:
            h.append(row)
        h.sheet_state = "hidden"
    ws.title = title
    for row in rows:
        ws.append(row)
    for rng in merges:
        ws.merge_cells(rng)
    for ref, number_format in (formats or {}).items():
        ws[ref].number_format = number_format
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def by_number(table: ResponsibilityTable) -> dict[int | None, object]:
    return {r.number: r for r in table.rows}


# ------------------------------------------------------------------------------------------ a typical table
TYPICAL = [
    ["2024年教育工作要点任务分解表"],
    ["（共 7 项）"],
    ["序号", "重点任务", "牵 头 单 位", "配合单位", "完成\n时限", "责任领导"],
    ["一、全面加强党的建设"],
    [1, "落实全面从严治党主体责任", "局办公室", "组织人事科\n宣传科", "2024年6月底前", "张局长"],
    [2, "开展党纪学习教育", None, "宣传科、基教科等", "6月底", "张局长"],
    [3, "加强基层党组织建设", None, "组织人事科；局办公室", datetime(2024, 9, 30), None],
    [None, None, None, None, None, None],
    ["二、推进基础教育优质均衡"],
    [4, "推进义务教育优质均衡发展", "基教科", "各中小学；督导室", "年底前", "李副局长"],
    [5, "深化课后服务", "基教科和德育科", "计财科 体卫艺科", "长期坚持", None],
    [6, "完成校舍安全排查", "后勤保障科", "各学校", "2024.06.30", None],
    [7, "开展教师全员培训", "教师发展中心", "人事科及各学校", "2024-6-30", None],
    [],
    ["备注：表中“局办公室”含党建办"],
]
TYPICAL_MERGES = ("A1:F1", "A2:F2", "A4:F4", "C5:C7", "A9:F9", "A15:F15")


def test_typical_table_title_sections_merges_and_deadlines():
    table = read_responsibility_table(xlsx(TYPICAL, TYPICAL_MERGES, title="任务分解"), "分解表.xlsx")

    assert table.sheet == "任务分解"
    assert table.header_row == 3
    assert table.year == 2024
    assert "2024年教育工作要点任务分解表" in table.title
    assert table.columns == {
        "number": "序号",
        "task": "重点任务",
        "lead": "牵 头 单 位",
        "co": "配合单位",
        "deadline": "完成\n时限",
        "leader": "责任领导",
    }
    assert [r.number for r in table.rows] == [1, 2, 3, 4, 5, 6, 7]
    assert [r.row for r in table.rows] == [5, 6, 7, 10, 11, 12, 13]
    rows = by_number(table)

    # 牵头单位 merged over three tasks applies to each
    assert [rows[n].lead for n in (1, 2, 3)] == [["局办公室"]] * 3
    assert rows[1].co == ["组织人事科", "宣传科"]  # newline-separated
    assert rows[2].co == ["宣传科", "基教科"]  # "等" dropped
    assert rows[3].co == ["组织人事科"]  # the lead unit is not also a co-unit
    assert rows[1].section == rows[3].section == "一、全面加强党的建设"
    assert rows[4].section == "二、推进基础教育优质均衡"
    assert rows[1].leader == "张局长" and rows[3].leader == ""

    assert rows[1].deadline == date(2024, 6, 30) and rows[1].deadline_text == "2024年6月底前"
    assert rows[2].deadline == date(2024, 6, 30)  # 6月底, year from the title
    assert rows[3].deadline == date(2024, 9, 30) and rows[3].deadline_text == "2024-09-30"  # an Excel date cell
    assert rows[4].deadline == date(2024, 12, 31)
    assert rows[5].deadline is None and any("长期" in f for f in rows[5].flags)
    assert rows[6].deadline == rows[7].deadline == date(2024, 6, 30)

    assert rows[4].co == ["各中小学", "督导室"]  # 各中小学 is one name
    assert rows[5].lead == ["基教科", "德育科"]  # 和 between whole names splits
    assert rows[5].co == ["计财科", "体卫艺科"]  # space-separated
    assert rows[7].co == ["人事科", "各学校"]  # 及
    assert all(not r.flags for n, r in rows.items() if n != 5)
    assert table.flags == []
    assert table.unit_names() == [
        "局办公室", "组织人事科", "宣传科", "基教科", "各中小学", "督导室", "德育科", "计财科", "体卫艺科",
        "后勤保障科", "各学校", "教师发展中心", "人事科",
    ]  # fmt: skip


def test_year_argument_overrides_the_title():
    table = read_responsibility_table(xlsx(TYPICAL, TYPICAL_MERGES), year=2025)
    assert table.year == 2025
    rows = by_number(table)
    assert rows[4].deadline == date(2025, 12, 31)
    # an explicit earlier year is kept, but flagged
    assert rows[1].deadline == date(2024, 6, 30)
    assert any("早于计划年度" in f for f in rows[1].flags)


# ------------------------------------------------------------------------------------------ other layouts
def test_columns_in_another_order_and_spelling_without_title_year():
    rows = [
        ["工作内容", "完成时间", "责任科室(牵头)", "协办单位", "编号", "分管领导"],
        ["推进集团化办学", "6月", "基础教育科", "", "１", "王局长"],
        ["做好招生入学", "９月底前", "基础教育科、招生办", "各学校等单位", "2", ""],
        ["", "", "", "", "", ""],
        ["完善督导评估", "每季度", "督导室", "局办公室等", "3", ""],
        ["规范民办教育", "", "民办教育科", "", "4", ""],
    ]
    table = read_responsibility_table(xlsx(rows))
    assert table.header_row == 1
    assert table.year is None
    assert table.columns["lead"] == "责任科室(牵头)" and table.columns["co"] == "协办单位"
    r = by_number(table)
    assert r[1].task == "推进集团化办学" and r[1].leader == "王局长"
    assert r[1].deadline is None and any("未识别到年份" in f for f in r[1].flags)
    assert r[2].lead == ["基础教育科", "招生办"] and r[2].co == ["各学校"]
    assert r[3].co == ["局办公室"]
    assert r[3].deadline is None and any("周期性" in f and "每季度" in f for f in r[3].flags)
    assert r[4].deadline is None and "未填写完成时限" in r[4].flags
    assert any("标题中没有年份" in f for f in table.flags)

    again = read_responsibility_table(xlsx(rows), year=2024)
    r = by_number(again)
    assert r[1].deadline == date(2024, 6, 30) and not r[1].flags
    assert r[2].deadline == date(2024, 9, 30)


def test_full_width_and_traditional_headers_and_year_from_sheet_name():
    rows = [
        ["序　号", "工作任務", "牽頭單位", "責任單位", "時間節點"],
        ["(1)", "推進課後服務", "基教科", "德育科", "12月底前"],
    ]
    table = read_responsibility_table(xlsx(rows, title="2024年分解"))
    assert table.year == 2024
    [row] = table.rows
    assert (row.number, row.task, row.lead, row.co, row.deadline) == (
        1, "推進課後服務", ["基教科"], ["德育科"], date(2024, 12, 31),
    )  # fmt: skip


def test_two_row_header_with_units_under_a_merged_heading():
    rows = [
        ["2023年局重点工作任务分解表"],
        ["序号", "具体任务", "责任单位", None, "完成时限"],
        [None, None, "牵头", "配合", None],
        [1, "召开全市教育工作会议", "办公室", "各科室", "2月底前"],
        [2, "开展“双减”督查", "督导室", "基教科\n德育科", "2023年5月"],
    ]
    table = read_responsibility_table(xlsx(rows, ("A1:E1", "C2:D2", "A2:A3", "B2:B3", "E2:E3")))
    assert table.header_row == 3
    assert table.columns["lead"] == "牵头" and table.columns["co"] == "配合"
    assert table.columns["task"] == "具体任务"
    r = by_number(table)
    assert (r[1].lead, r[1].co, r[1].deadline) == (["办公室"], ["各科室"], date(2023, 2, 28))
    assert (r[2].lead, r[2].co, r[2].deadline) == (["督导室"], ["基教科", "德育科"], date(2023, 5, 31))


def test_only_a_responsibility_column_first_unit_leads_when_the_table_says_so():
    rows = [
        ["2024年工作要点分解表（责任单位排在首位的为牵头单位）"],
        ["序", "工作要点", "责任单位", "时限要求"],
        [1, "推进教育数字化", "电教馆、信息中心", "2024年12月31日"],
        [2, "加强语言文字工作", "语工办", "11月底前"],
    ]
    table = read_responsibility_table(xlsx(rows, ("A1:D1",)))
    r = by_number(table)
    assert (r[1].lead, r[1].co) == (["电教馆"], ["信息中心"])
    assert r[1].deadline == date(2024, 12, 31)
    assert (r[2].lead, r[2].co) == (["语工办"], [])
    assert any("排在首位" in f for f in table.flags)


def test_only_a_responsibility_column_with_marked_lead():
    rows = [
        ["事项", "责任部门", "截止时间"],
        ["修订学生资助办法", "资助中心（牵头）、计财科", "2024/3/31"],
        ["开展安全教育周", "牵头：安稳科；配合：各学校、团委", "2024-04-30"],
        ["推进家校共育", "德育科、关工委", "2024年10月"],
    ]
    table = read_responsibility_table(xlsx(rows))
    first, second, third = table.rows
    assert (first.lead, first.co, first.deadline) == (["资助中心"], ["计财科"], date(2024, 3, 31))
    assert (second.lead, second.co, second.deadline) == (["安稳科"], ["各学校", "团委"], date(2024, 4, 30))
    assert (third.lead, third.co) == (["德育科", "关工委"], [])  # no mark, no note: all of them lead
    assert any("没有“牵头单位”列" in f for f in table.flags)


def test_category_column_merged_over_tasks_and_taller_merged_rows():
    rows = [
        ["序号", "重点工作", "具体任务", "牵头科室", "配合科室", "完成时限"],
        [1, "党建引领", "完善党委议事规则", "办公室", "", "3月底前"],
        [2, None, "开展廉政教育", "纪检组", "", "6月底前"],
        [3, "立德树人", "推进思政课建设", "德育科", "教研室", "2024年9月30日"],
        [None, None, None, None, None, None],  # row 5: all of task 3 is merged down into it
        [4, None, "加强心理健康教育", "德育科", "", "2024年10月31日前"],
    ]
    merges = ("B2:B3", "B4:B6", "A4:A5", "C4:C5", "D4:D5", "E4:E5", "F4:F5")
    table = read_responsibility_table(xlsx(rows, merges))
    assert table.columns["task"] == "具体任务"
    assert [r.number for r in table.rows] == [1, 2, 3, 4]
    r = by_number(table)
    assert r[2].section == "党建引领" and r[4].section == "立德树人"
    assert r[3].co == ["教研室"] and r[3].deadline == date(2024, 9, 30)
    assert r[4].deadline == date(2024, 10, 31)


def test_sections_without_merges_repeated_headers_notes_and_orphans():
    rows = [
        ["序号", "任务", "牵头单位", "配合单位", "完成时限"],
        ["一", "加强党的建设", "", "", ""],
        ["1", "学习贯彻党的二十大精神", "办公室", "", "2024年6月底前"],
        ["", "（二）提升教育质量", "", "", ""],
        ["2.", "3.实施高中提质行动", "基教科", "", "2024年7月"],
        ["序号", "任务", "牵头单位", "配合单位", "完成时限"],  # header repeated on a new page
        ["3", "", "职成科", "", "2024年8月"],  # units but no task
        ["", "4、发展职业教育", "职成科", "", "2024年8月"],  # number written in the task
        ["5", "", "", "", ""],  # a pre-numbered blank row
        ["1.1", "开展职业技能大赛", "", "", "2024年9月"],
        ["注：完成时限以文件为准"],
    ]
    table = read_responsibility_table(xlsx(rows))
    assert [(r.row, r.number, r.task) for r in table.rows] == [
        (3, 1, "学习贯彻党的二十大精神"),
        (5, 2, "3.实施高中提质行动"),
        (8, 4, "发展职业教育"),
        (10, None, "开展职业技能大赛"),
    ]
    first, second, third, fourth = table.rows
    assert first.section == "一加强党的建设"
    assert second.section == third.section == "（二）提升教育质量"
    assert "序号“1.1”不是整数" in fourth.flags and "未填写牵头单位" in fourth.flags
    assert any("第7行" in f and "没有任务内容" in f for f in table.flags)


def test_finds_the_table_on_a_later_sheet_and_prefers_visible_sheets():
    rows = [["任务", "牵头单位"], ["做好年度考核", "人事科"]]
    hidden = [["任务", "牵头单位"], ["隐藏表里的任务", "办公室"]]
    table = read_responsibility_table(xlsx(rows, before=2, title="分解表", hidden=hidden))
    assert table.sheet == "分解表"
    assert [r.task for r in table.rows] == ["做好年度考核"]
    assert "没有找到“完成时限”列，各任务均无截止日期" in table.flags
    assert table.rows[0].deadline is None and table.rows[0].deadline_text == ""


def test_filled_in_form_lines_above_the_header_are_not_the_header():
    rows = [
        ["责任单位：某某区教育局", None, "任务数：2"],
        ["序号", "主要任务", "牵头科室（单位）", "配合科室（单位）", "进度安排"],
        [1, "开展校园安全隐患排查", "安稳科", "各学校", "4月底前"],
        [2, "完成年度考核", "人事科", "", "2024年12月"],
    ]
    table = read_responsibility_table(xlsx(rows), "2024年任务分解表.xlsx")
    assert table.header_row == 2 and table.year == 2024  # the year from the file name
    assert [(r.task, r.lead, r.co, r.deadline) for r in table.rows] == [
        ("开展校园安全隐患排查", ["安稳科"], ["各学校"], date(2024, 4, 30)),
        ("完成年度考核", ["人事科"], [], date(2024, 12, 31)),
    ]


def test_year_in_chinese_numerals():
    rows = [["二〇二五年教育工作要点分解"], ["任务", "牵头单位", "完成时限"], ["推进教育强区建设", "办公室", "年底前"]]
    table = read_responsibility_table(xlsx(rows))
    assert table.year == 2025 and table.rows[0].deadline == date(2025, 12, 31)


def test_school_year_title_is_flagged():
    rows = [["2024—2025学年工作任务清单"], ["任务", "牵头单位", "完成时限"], ["开展秋季开学检查", "安稳科", "9月底"]]
    table = read_responsibility_table(xlsx(rows, ("A1:C1",)))
    assert table.year == 2024
    assert table.rows[0].deadline == date(2024, 9, 30)
    assert any("学年" in f for f in table.flags)


def test_section_merged_beside_its_number_lone_headings_and_unit_header_over_two_columns():
    rows = [
        ["序号", "任务内容", "牵头单位", None, "完成时限"],
        ["一", "全面加强党的建设", None, None, None],  # B2:E2 merged, 一 on its own in A
        [1, "召开党建工作会议", "办公室", "组织人事科", "3月31日前"],
        ["二、办好人民满意教育"],  # alone in A, not merged
        [2, "实施强校工程", "基教科", "各县（市、区）教育局、局属学校", datetime(2024, 6, 1)],
    ]
    table = read_responsibility_table(xlsx(rows, ("C1:D1", "B2:E2"), formats={"E5": "yyyy年m月"}), year=2024)
    first, second = table.rows
    assert first.section == "一全面加强党的建设" and second.section == "二、办好人民满意教育"
    # 牵头单位 merged over C:D in the header: both columns are read
    assert first.lead == ["办公室", "组织人事科"] and first.co == []
    assert first.deadline == date(2024, 3, 31)
    assert second.lead == ["基教科", "各县（市、区）教育局", "局属学校"]
    # a date cell shown as 2024年6月 means by the end of June
    assert (second.deadline_text, second.deadline) == ("2024年6月", date(2024, 6, 30))


def test_traditional_unit_cells():
    rows = [["任務", "責任單位", "完成時限"], ["推進課後服務", "牽頭：基教科；配合：德育科與團委", "2024年6月底前"]]
    [row] = read_responsibility_table(xlsx(rows)).rows
    assert (row.lead, row.co, row.deadline) == (["基教科"], ["德育科", "團委"], date(2024, 6, 30))


# ------------------------------------------------------------------------------------------ pieces
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("各中小学", ["各中小学"]),
        ("局办公室等", ["局办公室"]),
        ("局办公室等单位", ["局办公室"]),
        ("基教科和德育科", ["基教科", "德育科"]),
        ("督导室及各学校", ["督导室", "各学校"]),
        ("教育和体育局", ["教育和体育局"]),
        ("职业与成人教育科", ["职业与成人教育科"]),
        ("基教科 德育科\n基教科", ["基教科", "德育科"]),
        ("基教科，德育科；计财科/人事科", ["基教科", "德育科", "计财科", "人事科"]),
        ("  各  ", []),
        ("基 教 科", ["基教科"]),
        ("各县（市、区）教育局、各学校", ["各县（市、区）教育局", "各学校"]),
        ("办公室（党办）和人事科", ["办公室（党办）", "人事科"]),
        ("各高等学校", ["各高等学校"]),
        ("基教科等相关科室", ["基教科"]),
        ("由基教科负责", ["基教科"]),
        ("", []),
    ],
)
def test_split_units(text, names):
    assert split_units(text) == names


@pytest.mark.parametrize(
    ("value", "year", "expected", "flag"),
    [
        ("2024年6月底前", None, date(2024, 6, 30), None),
        ("6月底", 2024, date(2024, 6, 30), None),
        ("6月底", None, None, "未识别到年份"),
        ("2024.06.30", None, date(2024, 6, 30), None),
        ("2024-6-30", None, date(2024, 6, 30), None),
        ("2024/6/30前", None, date(2024, 6, 30), None),
        ("２０２４年６月３０日", None, date(2024, 6, 30), None),
        ("2024.06", None, date(2024, 6, 30), None),
        ("2024年6月", None, date(2024, 6, 30), None),
        ("6月30日", 2024, date(2024, 6, 30), None),
        ("6.30前", 2024, date(2024, 6, 30), None),
        ("6.30", None, None, "未识别到年份"),
        ("2024年", None, date(2024, 12, 31), "只写了年份"),
        ("全年", 2024, date(2024, 12, 31), "按2024年12月31日计"),
        ("10月中旬", 2024, date(2024, 10, 20), "含糊"),
        ("年底前", 2024, date(2024, 12, 31), None),
        ("年底前", None, None, "未识别到年份"),
        ("上半年", 2024, date(2024, 6, 30), None),
        ("三季度末", 2024, date(2024, 9, 30), None),
        ("6月底前完成方案，12月底前完成验收", 2024, date(2024, 12, 31), "取最晚"),
        ("长期坚持", 2024, None, "长期任务"),
        ("持续推进", None, None, "长期任务"),
        ("每月", 2024, None, "周期性任务"),
        ("2024-2-30", None, None, "日期不存在"),
        ("尽快", 2024, None, "无法识别"),
        (datetime(2024, 6, 30, 0, 0), None, date(2024, 6, 30), None),
        (date(2024, 6, 30), None, date(2024, 6, 30), None),
        (45473, None, date(2024, 6, 30), "Excel 日期"),
        (6, 2024, date(2024, 6, 30), "只写了数字"),
        (None, 2024, None, "未填写完成时限"),
    ],
)
def test_parse_deadline(value, year, expected, flag):
    _, deadline, flags = parse_deadline(value, year)
    assert deadline == expected
    if flag:
        assert any(flag in f for f in flags), flags
    else:
        assert flags == []


# ------------------------------------------------------------------------------------------ errors
def _message(data: bytes, filename: str = "") -> str:
    with pytest.raises(ResponsibilityTableError) as info:
        read_responsibility_table(data, filename)
    assert info.value.message == str(info.value)
    return info.value.message


def test_legacy_xls_csv_html_and_other_files_are_told_to_save_as_xlsx():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Workbook".encode("utf-16-le") + bytes(200)
    assert "旧版 Excel（.xls）" in _message(ole, "表.xls")
    assert "请用 Excel 另存为 .xlsx 后上传" in _message(ole)
    csv = "序号,任务,牵头单位\n1,推进课后服务,基教科\n".encode()
    assert "CSV" in _message(csv) and "另存为 .xlsx" in _message(csv)
    assert "CSV" in _message("任务\t牵头单位\n做好考核\t人事科\n".encode("gbk"))
    html = b"<html><body><table><tr><td>x</td></tr></table></body></html>"
    assert "另存为 .xlsx" in _message(html, "导出.xls")
    assert "PDF" in _message(b"%PDF-1.7\n...")
    assert "空的" in _message(b"")


def test_password_protected_file():
    encrypted = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptionInfo".encode("utf-16-le") + bytes(50)
        + "EncryptedPackage".encode("utf-16-le") + bytes(400)
    )  # fmt: skip
    message = _message(encrypted)
    assert "密码" in message and "清空密码" in message


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return buf.getvalue()


def test_zip_files_that_are_not_workbooks():
    assert "Word 文档" in _message(_zip({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<x/>"}))
    assert ".xlsb" in _message(_zip({"xl/workbook.bin": b"\x00"}))
    assert ".ods" in _message(_zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b""}))
    assert "压缩包" in _message(_zip({"readme.txt": b"hello"}))
    # has xl/workbook.xml but is not a workbook openpyxl can read
    assert "已损坏" in _message(_zip({"xl/workbook.xml": b"<not-a-workbook"}))


def test_truncated_file_is_reported_as_damaged():
    data = xlsx(TYPICAL, TYPICAL_MERGES)
    message = _message(data[: len(data) // 2])
    assert "损坏或不完整" in message and "另存为 .xlsx" in message


def test_no_recognisable_header_names_the_columns_looked_for():
    rows = [["姓名", "电话"], ["张三", "123"]]
    message = _message(xlsx(rows))
    assert message.startswith("没有找到“任务”和“牵头单位”列")
    for word in ("任务", "工作任务", "重点任务", "牵头单位", "牵头部门", "牵头科室", "完成时限"):
        assert word in message
    task_only = _message(xlsx([["序号", "任务", "完成时限"], [1, "做好考核", "6月底"]]))
    assert task_only.startswith("找到了“任务”列，但没有找到“牵头单位”列")


def test_header_too_far_down_is_not_found():
    rows = [[f"说明第{i}行"] for i in range(25)] + [["任务", "牵头单位"], ["做好考核", "人事科"]]
    assert "没有找到“任务”和“牵头单位”列" in _message(xlsx(rows))


def test_empty_sheet_and_header_without_tasks():
    assert "表格是空的" in _message(xlsx([]))
    assert "表格是空的" in _message(xlsx([[None, None], [" ", ""]]))
    message = _message(xlsx([["2024年任务分解表"], ["任务", "牵头单位", "完成时限"], [], ["备注：无"]], ("A1:C1",)))
    assert "下面没有任务" in message and "第2行" in message


def _rewrite(data: bytes, member: str, old: bytes, new: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, body.replace(old, new) if info.filename == member else body)
    return out.getvalue()


def test_whole_sheet_merges_are_refused_before_loading():
    data = xlsx([["任务", "牵头单位"], ["做好考核", "人事科"], [], ["x"]], ("A4:B4",))
    huge = _rewrite(data, "xl/worksheets/sheet1.xml", b'ref="A4:B4"', b'ref="A4:XFD1048576"')
    assert "超大合并单元格" in _message(huge)


def test_not_bytes():
    with pytest.raises(ResponsibilityTableError):
        read_responsibility_table(None)  # type: ignore[arg-type]


def test_random_and_damaged_bytes_only_ever_raise_the_table_error():
    rng = random.Random(20240630)
    good = xlsx(TYPICAL, TYPICAL_MERGES)
    samples: list[bytes] = [rng.randbytes(rng.randint(0, 3000)) for _ in range(150)]
    samples += [b"PK\x03\x04" + rng.randbytes(500) for _ in range(30)]
    samples += [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + rng.randbytes(600) for _ in range(10)]
    samples += [good[: rng.randint(0, len(good) - 1)] for _ in range(60)]
    for _ in range(60):  # flip a few bytes somewhere inside a good file
        damaged = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        samples.append(bytes(damaged))
    for data in samples:
        try:
            table = read_responsibility_table(data, "fuzz.xlsx")
        except ResponsibilityTableError as exc:
            assert exc.message  # a message for the user, nothing else
        else:
            assert isinstance(table, ResponsibilityTable)


# ------------------------------------------------------------------------------------------ match_units
UNITS = [
    ("u1", "基础教育科"),
    ("u2", "局办公室"),
    ("u3", "计划财务科"),
    ("u4", "德育与安全科"),
    ("u5", "教师发展中心"),
    ("u6", "职业教育与成人教育科"),
    ("u7", "体育卫生与艺术教育科"),
]


def test_match_units_exact_across_spaces_full_width_and_traditional():
    names = ["基础教育科", " 局 办公室 ", "基礎教育科", "計劃財務科", "教师发展中心（Ｔ）"]
    matches = match_units(names, UNITS + [("u8", "教师发展中心(T)")])
    assert [(m.status, m.unit_id) for m in matches] == [
        ("exact", "u1"), ("exact", "u2"), ("exact", "u1"), ("exact", "u3"), ("exact", "u8"),
    ]  # fmt: skip
    assert matches[2].name == "基礎教育科"  # the name as written is kept
    assert matches[2].candidates == [("u1", "基础教育科", 1.0)]


def test_match_units_fuzzy_candidates_best_first():
    expected = {"基教科": "u1", "办公室": "u2", "计财科": "u3", "德育安全科": "u4", "职成科": "u6", "体卫艺科": "u7"}
    matches = {m.name: m for m in match_units(list(expected), UNITS)}
    for name, unit_id in expected.items():
        m = matches[name]
        assert m.status == "fuzzy" and m.unit_id is None, m
        assert m.candidates[0][0] == unit_id, m
        scores = [s for _, _, s in m.candidates]
        assert scores == sorted(scores, reverse=True) and all(0.5 < s < 1 for s in scores)


def test_match_units_unknown_empty_and_duplicates():
    matches = match_units(["市财政局", "", "科", "基础教育科"], UNITS + [("u9", "基础教育科")])
    assert [m.status for m in matches] == ["unknown", "unknown", "unknown", "fuzzy"]
    assert matches[0] == UnitMatch(name="市财政局", status="unknown", unit_id=None, candidates=[])
    # two units share the name: a person must choose
    assert {c[0] for c in matches[3].candidates} == {"u1", "u9"}
    assert match_units([], UNITS) == []
    assert match_units(["基础教育科"], []) == [UnitMatch("基础教育科", "unknown")]


def test_table_units_feed_match_units():
    table = read_responsibility_table(xlsx(TYPICAL, TYPICAL_MERGES))
    statuses = {m.name: m.status for m in match_units(table.unit_names(), UNITS)}
    assert statuses["局办公室"] == "exact"
    assert statuses["基教科"] == "fuzzy"
    assert statuses["教师发展中心"] == "exact"
