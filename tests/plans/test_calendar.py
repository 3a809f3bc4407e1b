"""Month calendars: `一月份` … `十二月` headings with the month's work under each; each line an item due at the end
of its month (or on the day of that month it names), in the right year."""

from __future__ import annotations

import pytest

from backend.plans.parser import parse_plan, parse_to_dict


def _items(d: dict) -> list[dict]:
    return [i for s in d["sections"] for i in s["items"]]


@pytest.mark.parametrize("heads", [
    ("一月份", "二月份", "三月份"),
    ("1月", "2月", "3月"),
    ("【一月】", "【二月】", "【三月】"),
    ("1月份工作安排", "2月份工作安排", "3月份工作安排"),
    ("一、一月份", "二、二月份", "三、三月份"),
    ("一月（寒假）", "二月（开学月）", "三月（第1-4周）"),
])
def test_month_headings_as_written_become_sections_of_items_due_at_month_end(heads) -> None:
    text = (f"某县教育局2024年月度工作安排\n{heads[0]}\n召开工作会议\n{heads[1]}\n1.做好开学准备\n2.开展开学督导\n"
            f"{heads[2]}\n●组织植树活动\n")
    d = parse_to_dict(parse_plan(text))
    assert [len(s["items"]) for s in d["sections"]] == [1, 2, 1]
    assert [(i["title"], i["due"], i["source"]) for i in _items(d)] == [
        ("召开工作会议", "2024-01-31", "calendar"),
        ("做好开学准备", "2024-02-29", "calendar"),  # a leap year
        ("开展开学督导", "2024-02-29", "calendar"),
        ("组织植树活动", "2024-03-31", "calendar"),
    ]


def test_work_after_the_months_colon_is_split_into_items() -> None:
    d = parse_to_dict(parse_plan("2025年工作安排\n三月：召开会议；开展培训\n四月：组织检查\n五月：总结表彰；评选先进"))
    assert [s["title"] for s in d["sections"]] == ["三月", "四月", "五月"]
    assert [i["title"] for i in _items(d)] == ["召开会议", "开展培训", "组织检查", "总结表彰", "评选先进"]


def test_a_day_named_in_the_line_is_its_deadline() -> None:
    d = parse_to_dict(parse_plan("2024年工作安排\n五月份\n5月20日前完成报名\n六月份\n组织考试\n七月份\n总结"))
    assert _items(d)[0]["due"] == "2024-05-20"


def test_a_day_written_before_the_work_dates_it_and_a_building_number_does_not() -> None:
    text = ("2024年工作安排\n九月份\n9月10日：教师节表彰大会\n15日前完成学籍核对\n完成2号楼改造\n"
            "十月份\n秋游\n十一月份\n期中考试")
    d = parse_to_dict(parse_plan(text))
    assert [i["due"] for i in _items(d)][:3] == ["2024-09-10", "2024-09-15", "2024-09-30"]


def test_deadline_sentences_are_not_month_headings() -> None:
    text = ("某区教育局2024年工作要点\n一、加强党建\n1.抓好学习。\n3月底前完成部署。\n2.建好队伍。\n"
            "6月份完成培训。\n二、发展教育\n3.新建学校。\n9月前投入使用。\n")
    d = parse_to_dict(parse_plan(text))
    assert {i["source"] for i in _items(d)} == {"text"}
    assert [i["title"] for i in _items(d)] == ["抓好学习", "建好队伍", "新建学校"]


def test_two_month_lines_are_not_a_calendar() -> None:
    text = "某区2024年工作要点\n一、工作安排\n三月\n召开会议\n四月\n组织检查\n二、要求\n按时完成。"
    d = parse_to_dict(parse_plan(text))
    assert {i["source"] for i in _items(d)} == {"text"}


def test_a_school_year_puts_january_in_the_next_year() -> None:
    text = "某小学2023学年工作计划\n九月份\n开学典礼\n十二月份\n元旦联欢\n一月份\n期末考试\n"
    d = parse_to_dict(parse_plan(text))
    assert [i["due"] for i in _items(d)] == ["2023-09-30", "2023-12-31", "2024-01-31"]


def test_months_that_wrap_past_december_fall_in_the_next_year() -> None:
    d = parse_to_dict(parse_plan("某局2024年冬季工作安排\n十一月\n安全检查\n十二月\n年度考核\n一月\n总结表彰\n"))
    assert [i["due"] for i in _items(d)] == ["2024-11-30", "2024-12-31", "2025-01-31"]


def test_a_calendar_under_a_section_stays_there_with_months_as_groups() -> None:
    text = ("某中学2024年工作计划\n一、指导思想\n坚持立德树人。\n二、月度安排\n三月份\n1.开展学雷锋活动（团委）\n"
            "四月份\n1.召开家长会（政教处、各年级组）\n五月份\n1.举办科技节（教务处）\n三、保障措施\n（一）加强领导。\n（二）强化督查。\n")
    d = parse_to_dict(parse_plan(text))
    assert [s["title"] for s in d["sections"]] == ["指导思想", "月度安排", "保障措施"]
    months = d["sections"][1]["items"]
    assert [(i["title"], i["group"]["title"], i["owners"]["lead"]) for i in months] == [
        ("开展学雷锋活动", "三月份", ["团委"]),
        ("召开家长会", "四月份", ["政教处", "各年级组"]),
        ("举办科技节", "五月份", ["教务处"]),
    ]
    assert [i["source"] for i in d["sections"][2]["items"]] == ["text", "text"]


def test_the_signature_after_the_last_month_is_not_an_item() -> None:
    text = "某中学2024年春季行事历\n3月\n开学\n4月\n期中考试\n5月\n运动会\n某中学教务处\n2024年2月18日\n"
    d = parse_to_dict(parse_plan(text))
    assert [i["title"] for i in _items(d)] == ["开学", "期中考试", "运动会"]
    assert "某中学教务处" in d["discarded"]
