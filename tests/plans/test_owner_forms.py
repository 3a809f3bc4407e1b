"""Owners as plans write them: roles in either script, (牵头) marks, 由X牵头，Y配合, bracketed 按职责分工负责, owner
lines above the item they belong to, and owners that are a set of units (各学校) kept for mapping."""

from __future__ import annotations

import pytest

from backend.plans.parser import parse_plan, parse_to_dict
from backend.plans.parsing.owners import find_owners
from backend.plans.parsing.script import shadow
from backend.plans.parsing.units import is_collective


@pytest.mark.parametrize(
    ("text", "lead", "co"),
    [
        ("（牽頭單位：組織科；配合單位：各學校）", ["組織科"], ["各學校"]),
        ("責任單位：德育處（牽頭）、基礎教育處", ["德育處"], ["基礎教育處"]),
        ("責任處室：人事處（牽頭）、財務處", ["人事處"], ["財務處"]),
        ("（牵头单位：组织人事科，支撑单位：信息中心、电教馆）", ["组织人事科"], ["信息中心", "电教馆"]),
        ("（牵头单位：基教科；参与部门：各学校）", ["基教科"], ["各学校"]),
        ("由政策法规科牵头，各学校配合", ["政策法规科"], ["各学校"]),
        ("（基教科牵头，财务科、各学校配合）", ["基教科"], ["财务科", "各学校"]),
        ("（教育部牵头，国家发展改革委、财政部等按职责分工负责）", ["教育部"], ["国家发展改革委", "财政部"]),
        ("（基教科牵头负责）", ["基教科"], []),
        ("深化改革（试点学校负责）。", ["试点学校"], []),
    ],
)
def test_owner_forms(text: str, lead: list[str], co: list[str]) -> None:
    owners, _flags = find_owners(shadow(text), text)
    assert (owners.lead, owners.co) == (lead, co)


def test_several_responsible_units_without_a_lead_are_flagged() -> None:
    text = "（市教育局、市财政局按职责分工负责）"
    owners, flags = find_owners(shadow(text), text)
    assert owners.lead == ["市教育局", "市财政局"]
    assert any("未注明牵头单位" in f for f in flags)


def _items(text: str) -> list[dict]:
    return [i for s in parse_to_dict(parse_plan(text))["sections"] for i in s["items"]]


def test_the_plan_lists_each_collective_owner_once() -> None:
    d = parse_to_dict(parse_plan(
        "2024年工作要点\n一、教学\n1.规范常规。（责任单位：各学校）\n2.提升质量。（责任单位：基教科、各学校）"
        "\n二、安全\n1.排查隐患。（责任单位：相关乡镇）\n2.防溺水教育。"
    ))
    assert d["collective_owners"] == ["各学校", "相关乡镇"]


def test_owner_lines_above_each_item_belong_to_the_item_below() -> None:
    items = _items(
        "2024年工作要点\n一、黨的建設\n牽頭單位：黨建辦　配合單位：各學校\n1.深化理論武裝。6月底前完成。\n"
        "牽頭單位：紀檢組\n2.加強廉政建設。\n牽頭單位：黨建辦\n3.推進支部建設。\n"
        "二、教育教學\n牽頭單位：教務處\n1.規範常規。\n牽頭單位：教科室\n2.推進課題研究。"
    )
    assert [i["owners"]["lead"] for i in items] == [["黨建辦"], ["紀檢組"], ["黨建辦"], ["教務處"], ["教科室"]]
    assert items[0]["owners"]["co"] == ["各學校"]


def test_owner_lines_after_each_item_stay_with_it() -> None:
    items = _items(
        "2024年工作要点\n一、教学\n1.规范常规。9月完成检查。\n责任科室：基础教育科\n2.提升质量。\n责任科室：教研室\n"
        "二、安全\n1.排查隐患。\n责任科室：安全科\n2.防溺水教育。\n责任科室：德育科"
    )
    assert [i["owners"]["lead"] for i in items] == [["基础教育科"], ["教研室"], ["安全科"], ["德育科"]]


def test_last_items_owner_line_above_is_kept_before_the_signature() -> None:
    items = _items(
        "2024年工作要点\n一、教学\n牵头单位：基础教育科\n1.规范常规。\n牵头单位：教研室\n2.提升质量。\n"
        "二、安全\n牵头单位：安全科\n1.排查隐患。\n牵头单位：德育科\n2.防溺水教育。\n"
        "某某区教育局办公室　2024年1月18日印发"
    )
    assert items[-1]["owners"]["lead"] == ["德育科"]


@pytest.mark.parametrize(
    "name", ["各县区", "相关乡镇", "各学校", "各中小学", "局属各单位", "各县（市、区）教育局", "有关科室"]
)
def test_sets_of_units_are_collective(name: str) -> None:
    assert is_collective(name)


@pytest.mark.parametrize("name", ["基础教育科", "某某市第一中学", "市财政局", "教研室", "党建办"])
def test_single_units_are_not_collective(name: str) -> None:
    assert not is_collective(name)


def test_collective_owners_are_listed_for_mapping() -> None:
    items = _items("2024年工作要点\n一、教学\n1.规范常规。（牵头单位：基教科；配合单位：各县区、財務科）\n2.提升质量。"
                   "（责任单位：各中小学）\n二、安全\n1.排查隐患。\n2.防溺水教育。")
    assert items[0]["owners"] == {"lead": ["基教科"], "co": ["各县区", "財務科"]}
    assert items[0]["collective_owners"] == ["各县区"]
    assert items[1]["collective_owners"] == ["各中小学"]
    assert items[2]["collective_owners"] == []


def test_roles_in_square_brackets_without_a_colon() -> None:
    text = "【牵头单位】市教育局【配合单位】市财政局、各县区"
    owners, _flags = find_owners(shadow(text), text)
    assert (owners.lead, owners.co) == (["市教育局"], ["市财政局", "各县区"])


def test_a_sentence_naming_the_lead_and_co_owners() -> None:
    text = "加强建设。市教育局牵头，市财政局、各县区配合。"
    owners, flags = find_owners(shadow(text), text)
    assert (owners.lead, owners.co) == (["市教育局"], ["市财政局", "各县区"])
    assert any("取自正文" in f for f in flags)


def test_one_owner_line_under_a_heading_is_not_the_first_items() -> None:
    items = _items(
        "2024年工作要点\n一、党建\n牵头单位：组织科\n1.抓好学习。（配合单位：办公室）\n2.建好队伍。（配合单位：人事科）\n"
        "二、安全\n1.排查隐患。（牵头单位：安全科）\n2.防溺水教育。（牵头单位：德育科）"
    )
    assert [i["owners"]["lead"] for i in items[:2]] == [[], []]
