"""Titles, issuers, years and 文号 of plans as they are sent: wrapped in a 关于印发《…》的通知, sent as a 函, under a
red header, broken over two lines, for a school year."""

from __future__ import annotations

from datetime import date

import pytest

from backend.plans.parser import parse_plan, parse_to_dict
from backend.plans.parsing.deadlines import Period
from backend.plans.parsing.frontmatter import plan_period

BODY = "一、加强党建\n1.抓好学习。6月底前完成。\n2.建好队伍。\n二、发展教育\n1.新建学校。\n2.培训教师。"


def _head(front: str, tail: str = "") -> dict:
    d = parse_to_dict(parse_plan(front + "\n" + BODY + ("\n" + tail if tail else "")))
    return {k: d[k] for k in ("title", "issuer", "year", "doc_number", "flags")}


def test_notice_gives_the_plans_name_and_its_sender() -> None:
    h = _head("某某市教育局关于印发《2024年全市教育重点工作安排》的通知\n某教办〔2024〕3号\n各区县教育局：\n"
              "现将《2024年全市教育重点工作安排》印发给你们，请认真落实。\n某某市教育局\n2024年1月18日")
    assert (h["title"], h["issuer"], h["year"]) == ("2024年全市教育重点工作安排", "某某市教育局", 2024)
    assert h["doc_number"] == "某教办〔2024〕3号"


def test_notice_title_broken_over_two_lines() -> None:
    h = _head("某某市教育局关于印发《某某市2024年教育\n工作要点》的通知\n各学校：\n现将要点印发给你们。")
    assert (h["title"], h["issuer"]) == ("某某市2024年教育工作要点", "某某市教育局")


def test_red_header_and_repeated_title_after_the_cover_letter() -> None:
    h = _head("某某市教育局文件\n某教发〔2024〕12号\n某某市教育局关于印发《某某市2024年教育工作要点》的通知\n"
              "各区县教育局：\n现将要点印发给你们，请认真贯彻落实。\n某某市教育局\n2024年2月26日\n某某市2024年教育工作要点")
    assert (h["title"], h["issuer"]) == ("某某市2024年教育工作要点", "某某市教育局")
    assert h["doc_number"] == "某教发〔2024〕12号"


@pytest.mark.parametrize(
    ("front", "title"),
    [
        ("某某县教育局\n关于报送2024年工作计划的函\n某教函〔2024〕3号\n市教育局：\n现将我局2024年工作计划报送如下：",
         "2024年工作计划"),
        ("某某县教育局关于报送《某某县2024年教育工作要点》的函\n市教育局：\n现将要点报送如下：",
         "某某县2024年教育工作要点"),
    ],
)
def test_letter_gives_the_plans_name_and_its_sender(front: str, title: str) -> None:
    h = _head(front, "特此函告。\n某某县教育局\n2024年1月5日")
    assert (h["title"], h["issuer"], h["year"]) == (title, "某某县教育局", 2024)


def test_bracketed_draft_note_under_the_title_is_not_the_title() -> None:
    h = _head("某某区教育局\n某某区2024年教育民生实事项目工作方案\n（征求意见稿）")
    assert h["title"] == "某某区2024年教育民生实事项目工作方案"


def test_title_broken_after_its_year() -> None:
    h = _head("某某区教育局\n某某区2024年\n教育工作要点")
    assert (h["title"], h["issuer"]) == ("某某区2024年教育工作要点", "某某区教育局")


def test_year_in_chinese_numerals() -> None:
    h = _head("某某县教育局二〇二四年工作要点")
    assert (h["year"], h["issuer"]) == (2024, "某某县教育局")


@pytest.mark.parametrize(
    ("title", "year", "due"),
    [
        ("某某中学2023学年工作计划", 2023, "2024-08-31"),
        ("某某区2023—2024学年度工作计划", 2023, "2024-08-31"),
        ("某某区2023-2024学年度第一学期教育工作计划", 2023, "2024-01-31"),
        ("某某小学2024学年第二学期工作计划", 2024, "2025-08-31"),
        ("某某中学2024年秋季学期工作计划", 2024, "2025-01-31"),
        ("某某区教育局2024年工作要点", 2024, "2024-12-31"),
    ],
)
def test_school_year_is_the_year_it_starts_and_items_fall_due_at_its_end(title: str, year: int, due: str) -> None:
    d = parse_to_dict(parse_plan(title + "\n" + BODY))
    assert d["year"] == year
    assert d["sections"][0]["items"][1]["due"] == due


def test_school_year_plan_is_flagged_with_how_dates_are_read() -> None:
    h = _head("某某中学2023学年工作计划")
    assert any("学年" in f and "2024-08-31" in f for f in h["flags"])


def test_school_plan_is_issued_by_the_school() -> None:
    h = _head("某某市第一中学2024学年工作计划", "某某市第一中学\n2024年8月30日")
    assert h["issuer"] == "某某市第一中学"


def test_no_doc_number_is_none() -> None:
    assert _head("某某区教育局2024年工作要点")["doc_number"] is None


def test_a_doc_number_cited_in_the_cover_letter_is_not_the_plans() -> None:
    h = _head("某某县教育局\n关于报送2024年工作计划的函\n市教育局：\n"
              "根据《关于做好计划编制的通知》（某教办〔2023〕9号）要求，现将我局计划报送如下：")
    assert h["doc_number"] is None
    assert _head("文　　号：某教〔2024〕第5号\n某某区教育局2024年工作要点")["doc_number"] == "某教〔2024〕第5号"


def test_a_stored_plans_period_comes_back_from_its_title() -> None:
    assert plan_period("某某区2023—2024学年度第一学期教育工作计划", 2023) == Period(2023, True, 1)
    assert plan_period("某某中学2023學年工作計劃", 2023) == Period(2023, True, 0)
    assert plan_period("某某区教育局2024年工作要点", 2024) == Period(2024)
    assert plan_period(None, None) == Period(None)


def test_a_notice_that_is_the_plan_itself_is_titled_by_its_subject() -> None:
    h = _head("某某区教育局关于做好2024年寒假安全工作的通知\n各中小学：\n现就做好寒假安全工作通知如下：")
    assert (h["title"], h["issuer"], h["year"]) == ("关于做好2024年寒假安全工作的通知", "某某区教育局", 2024)


@pytest.mark.parametrize(
    ("title", "due"),
    [
        ("某区教育局2024年上半年工作计划", "2024-06-30"),
        ("某区教育局2024年第一季度重点工作安排", "2024-03-31"),
        ("某区教育局2024年3月份工作安排", "2024-03-31"),
        ("某区教育局2024年下半年工作计划", "2024-12-31"),
    ],
)
def test_a_plan_for_part_of_the_year_falls_due_at_its_end(title: str, due: str) -> None:
    d = parse_to_dict(parse_plan(title + "\n" + BODY))
    assert d["year"] == 2024
    assert d["sections"][0]["items"][1]["due"] == due
    assert plan_period(title, 2024).end() == date.fromisoformat(due)
