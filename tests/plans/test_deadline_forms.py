"""Every way a plan writes when a task is due, read against a calendar year or a school year: ranges end where they
end, holidays are dated from China's calendar, vague school dates are read but flagged, lasting duties get no date,
and dates that state facts (cut-offs, history) are not deadlines."""

from __future__ import annotations

import time
from datetime import date

import pytest

from backend.plans.parser import parse_plan, parse_to_dict
from backend.plans.parsing.deadlines import Period, find_deadlines, find_recurrence
from backend.plans.parsing.festivals import lunar_festival
from backend.plans.parsing.script import shadow

SCHOOL_2023 = Period(2023, school=True)


def _due(text: str, year: int | Period = 2024) -> tuple[list[date], list[str]]:
    found, flags = find_deadlines(shadow(text), text, year)
    return [d.date for d in found], flags


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("完成专题轮训。（2024年6月）", date(2024, 6, 30)),
        ("（2024年6月30日）", date(2024, 6, 30)),
        ("6月份召开推进会", date(2024, 6, 30)),
        ("6月內完成", date(2024, 6, 30)),
        ("2024年9月完成验收", date(2024, 9, 30)),
        ("十一月底前完成", date(2024, 11, 30)),
        ("6月30日前报送", date(2024, 6, 30)),
        ("2月底前完成", date(2024, 2, 29)),  # a leap year
        ("4月至5月上旬完成考核", date(2024, 5, 10)),
        ("6月1日到8月31日完成改造", date(2024, 8, 31)),
        ("3—5月完成专项检查", date(2024, 5, 31)),
        ("4月份至6月份开展", date(2024, 6, 30)),
        ("10月10日至20日开展", date(2024, 10, 20)),
        ("4月中旬至6月底完成", date(2024, 6, 30)),
        ("年底前后提交审议", date(2024, 12, 31)),
        ("完成。\n2024年6月", date(2024, 6, 30)),
        ("完成。\n2024.6.30", date(2024, 6, 30)),
    ],
)
def test_dated_forms(text: str, expected: date) -> None:
    dates, _flags = _due(text)
    assert dates == [expected]


def test_leap_february_only_in_leap_years() -> None:
    assert _due("2月底前完成", 2023)[0] == [date(2023, 2, 28)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“五一”前完成", date(2024, 4, 30)),
        ("五一劳动节前", date(2024, 4, 30)),
        ("“七一”前开展表彰", date(2024, 6, 30)),
        ("“六一”前", date(2024, 5, 31)),
        ("“八一”前", date(2024, 7, 31)),
        ("国庆节前", date(2024, 9, 30)),
        ("“十一”前", date(2024, 9, 30)),
        ("教师节前完成评选", date(2024, 9, 9)),
        ("元旦前完成核定", date(2024, 12, 31)),
        ("清明前完成", date(2024, 4, 3)),
        ("端午前完成", date(2024, 6, 9)),
        ("中秋前发放", date(2024, 9, 16)),
        ("高考前", date(2024, 6, 6)),
    ],
)
def test_holidays_are_the_day_before(text: str, expected: date) -> None:
    dates, flags = _due(text)
    assert dates == [expected]
    assert not any("含糊" in f for f in flags)


def test_spring_festival_of_the_plans_year_is_read_but_flagged_in_a_calendar_year() -> None:
    dates, flags = _due("春節前走訪慰問")
    assert dates == [date(2024, 2, 9)] and any("含糊" in f for f in flags)
    dates, flags = _due("春节前走访慰问", SCHOOL_2023)
    assert dates == [date(2024, 2, 9)] and not any("含糊" in f for f in flags)


def test_lunar_festivals_come_from_the_table() -> None:
    assert lunar_festival("春节", 2025) == date(2025, 1, 29)
    assert lunar_festival("春节", 2034) == date(2034, 2, 19)  # after the leap eleventh month of 2033
    assert lunar_festival("中秋", 2023) == date(2023, 9, 29)
    assert lunar_festival("春节", 1999) is None and lunar_festival("春节", 2051) is None
    assert _due("春节前", 2051) == ([], [])


@pytest.mark.parametrize("text", ["春节前后走访", "国庆后开展", "9月前后", "“五一”期间值班"])
def test_around_a_holiday_is_not_a_deadline(text: str) -> None:
    assert _due(text)[0] == []


def test_vague_school_dates_are_read_but_flagged() -> None:
    dates, flags = _due("暑假前完成家访")
    assert dates == [date(2024, 6, 30)] and any("含糊" in f for f in flags)
    dates, flags = _due("暑假期间完成改造")
    assert dates == [date(2024, 8, 31)] and any("含糊" in f for f in flags)


@pytest.mark.parametrize("text", ["寒假前完成", "开学前完成排查"])
def test_in_a_calendar_year_the_winter_break_and_term_start_are_left_to_the_admin(text: str) -> None:
    dates, flags = _due(text)
    assert dates == [] and any("未推算" in f for f in flags)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9月底前完成", date(2023, 9, 30)),
        ("3月底前完成", date(2024, 3, 31)),
        ("元旦前", date(2023, 12, 31)),
        ("春节前", date(2024, 2, 9)),
        ("国庆前", date(2023, 9, 30)),
        ("寒假前完成期末考试", date(2024, 1, 15)),
        ("暑假前完成", date(2024, 6, 30)),
        ("开学前完成排查", date(2023, 8, 31)),
        ("2023年12月底前", date(2023, 12, 31)),
        ("11月至次年1月", date(2024, 1, 31)),
    ],
)
def test_school_year_months_fall_in_the_year_they_come(text: str, expected: date) -> None:
    assert _due(text, SCHOOL_2023)[0] == [expected]


def test_school_year_ends_in_august_and_an_autumn_term_in_january() -> None:
    assert SCHOOL_2023.end() == date(2024, 8, 31)
    assert Period(2023, school=True, term=1).end() == date(2024, 1, 31)
    assert Period(2024).end() == date(2024, 12, 31)
    assert _due("开学前", Period(2023, school=True, term=2))[0] == [date(2024, 2, 29)]


@pytest.mark.parametrize(
    "text",
    [
        "截至2023年底，全市共有各级各类学校1268所",
        "截至6月30日，全市已有86所学校达标",
        "（数据截至2024年6月30日）",
        "统计截至2024年5月31日",
        "2023年6月底前已完成",
        "去年底已完成",
        "每年6月份开展",
        "自2024年6月份起施行",
    ],
)
def test_facts_and_history_are_not_deadlines(text: str) -> None:
    assert _due(text)[0] == []


def test_a_cut_off_that_asks_for_work_is_a_deadline() -> None:
    assert _due("截至6月30日完成全部整改")[0] == [date(2024, 6, 30)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("加强师德建设。（全年）", ["全年"]),
        ("完成时限：长期坚持", ["长期坚持"]),
        ("落实待遇保障，长期坚持。", ["长期坚持"]),
        ("加强党建\n持续推进", ["持续推进"]),
        ("每月通报一次", ["每月"]),
        ("全年新增学位3200个", []),
        ("持续推进，深化改革", []),
    ],
)
def test_lasting_duties_are_recurrence_not_dates(text: str, expected: list[str]) -> None:
    assert find_recurrence(shadow(text), text) == expected
    assert _due(text)[0] == []


def test_a_deadline_in_a_sub_step_is_its_items() -> None:
    plan = parse_plan(
        "2024年工作要点\n一、加强党建\n1.抓好学习。一是制定计划，3月底前印发；二是开展轮训（2024年6月）。\n"
        "2.建好队伍。选优配强支部书记。\n二、发展教育\n1.新建学校。\n2.培训教师。"
    )
    first, second = plan.sections[0].items
    assert first.deadline == date(2024, 6, 30)
    assert second.deadline is None and second.due == date(2024, 12, 31)


def test_school_year_plan_due_dates() -> None:
    d = parse_to_dict(parse_plan(
        "某某中学2023—2024学年工作计划\n一、教学\n1.规范常规。9月底前完成检查。\n2.提升质量。3月底前完成视导。\n"
        "二、安全\n1.排查隐患。\n2.防溺水教育。暑假前完成。"
    ))
    assert d["year"] == 2023
    items = [i for s in d["sections"] for i in s["items"]]
    assert [i["due"] for i in items] == ["2023-09-30", "2024-03-31", "2024-08-31", "2024-06-30"]
    assert any("学年" in f for f in d["flags"])


def test_august_in_a_school_year_is_the_one_before_it_starts() -> None:
    # as the month calendars read 八月份: preparing the school year, not its last summer
    assert _due("8月底前完成校舍维修", SCHOOL_2023)[0] == [date(2023, 8, 31)]
    assert _due("7月底前完成", SCHOOL_2023)[0] == [date(2024, 7, 31)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("（2024.6）", date(2024, 6, 30)), ("完成轮训（2024.06.30前）", date(2024, 6, 30)),
     ("12月中下旬完成", date(2024, 12, 31)), ("5月上中旬", date(2024, 5, 20)),
     ("完成时限：2024年12月31日", date(2024, 12, 31)), ("时间节点：6月30日", date(2024, 6, 30))],
)
def test_figures_in_brackets_and_time_fields(text: str, expected: date) -> None:
    assert _due(text)[0] == [expected]


@pytest.mark.parametrize("text", ["2025年春节前完成", "明年春节前完成"])
def test_a_festival_with_its_own_year_is_dated_in_that_year(text: str) -> None:
    """明年春节前 in a 2024 plan is the day before the 2025 festival (29 January 2025), not 2024's."""
    assert _due(text)[0] == [date(2025, 1, 28)]


def test_a_term_start_in_a_later_year_keeps_its_year() -> None:
    """A three-year 行动方案 dates a step by a later year's term: 2025年秋季开学前 is 31 August 2025, not 2024."""
    dates, _flags = _due("2025年秋季开学前，每所中小学至少配备1名专职心理健康教育教师")
    assert dates == [date(2025, 8, 31)]


@pytest.mark.parametrize("text", ["\n2024.6" * 15000, "\n 6月 \n" * 15000, " \n" * 30000 + "全年", "6月底前" * 15000])
def test_texts_of_many_dates_or_blank_lines_read_in_bounded_time(text: str) -> None:
    # every date alone on its line once compared with every other (50 s); blank lines once ran on into the next ones
    started = time.perf_counter()
    find_deadlines(shadow(text), text, 2024)
    find_recurrence(shadow(text), text)
    assert time.perf_counter() - started < 3
