"""The preview's level changes as pure edits of a draft: groups become items, items' measures become items, and
back; merge, split and move keep an item's group and source. Nothing an edit does loses a word of the plan."""

from datetime import date
from pathlib import Path

import pytest

from backend.errors import InvalidInput
from backend.plans import document as drafts
from backend.plans.parser import Group, Item, Owners, ParsedPlan, Section, Target, parse_file, parse_plan
from tests.support.samples import SAMPLES

POLITICS = Group("一", "抓好政治建设")
BRANCHES = Group("二", "抓好基层组织建设")
MEASURED = """某区教育局2025年工作要点
一、推进教育现代化
1.新改扩建中小学26所，9月底前完成规划。一是完成选址，5月底前报批；二是开工建设10所。（牵头单位：发展规划科）
2.实施强校工程，培育优质学校8所。（牵头单位：基础教育科）
二、加强队伍建设
3.开展教师培训。一是新教师培训不少于120学时；二是骨干教师研修。（牵头单位：教师发展中心）
"""


def grouped_plan() -> ParsedPlan:
    """A three-level plan as the parser gives it: 一、 parts, （一） groups (two rows of a table), 1. tasks with
    their own owners; and a month calendar."""
    items = [
        Item(1, "深化理论学习",
             "深化理论学习，6月底前开展专题学习不少于12次。（牵头单位：办公室；配合单位：组织人事科）",
             group=POLITICS, deadline=date(2025, 6, 30), owners=Owners(["办公室"], ["组织人事科"]),
             targets=[Target(12, "次", "不少于", "开展专题学习不少于12次")]),
        Item(2, "加强意识形态工作", "加强意识形态工作，9月底前完成专项检查。（牵头单位：宣传科；配合单位：办公室）",
             group=POLITICS, deadline=date(2025, 9, 30), owners=Owners(["宣传科"], ["办公室"])),
        Item(3, "推进党支部标准化建设", "推进党支部标准化建设，5月底前达标20个。（牵头单位：组织人事科）",
             group=BRANCHES, source="table", deadline=date(2025, 5, 31), owners=Owners(["组织人事科"]),
             targets=[Target(20, "个", None, "达标20个")]),
        Item(4, "开展主题党日", "开展主题党日活动。（牵头单位：组织人事科）", group=BRANCHES, source="table",
             owners=Owners(["组织人事科"])),
        Item(5, "做好信访工作", "做好信访工作。（牵头单位：办公室）", owners=Owners(["办公室"])),
    ]
    calendar = [Item(6, "召开年度工作会议", "召开年度工作会议。", source="calendar", deadline=date(2025, 1, 31))]
    return ParsedPlan(title="某区教育局2025年工作要点", issuer="某区教育局", year=2025, sections=[
        Section("一", "加强党的建设", items), Section("二", "一月份", calendar)])


def _grouped() -> dict:
    return drafts.from_parse(grouped_plan())


def _words(document: dict) -> str:
    """Every item's text in order, without white space: what the plan says."""
    return "".join("".join(i["text"].split()) for s in document["sections"] for i in s["items"])


def _count(document: dict) -> int:
    return sum(len(s["items"]) for s in document["sections"])


def _titles(section: dict) -> list[str]:
    return [i["title"] for i in section["items"]]


def test_the_draft_keeps_each_items_group_and_source():
    items = _grouped()["sections"][0]["items"]
    assert [i["group"] for i in items] == [{"label": "一", "title": "抓好政治建设"}] * 2 + [
        {"label": "二", "title": "抓好基层组织建设"}] * 2 + [None]
    assert [i["source"] for i in items] == ["text", "text", "table", "table", "text"]
    assert _grouped()["sections"][1]["items"][0]["source"] == "calendar"


def test_groups_become_items_whose_measures_are_the_groups_items():
    before = _grouped()
    after = drafts.edit(before, "groups_to_items")
    section = after["sections"][0]
    assert _titles(section) == ["抓好政治建设", "抓好基层组织建设", "做好信访工作"]
    politics, branches, letters = section["items"]
    assert [m["text"] for m in politics["measures"]] == [i["text"] for i in before["sections"][0]["items"][:2]]
    assert politics["owners"] == {"lead": ["办公室", "宣传科"], "co": ["组织人事科"]}  # 办公室 leads one: not co
    assert politics["deadline"] == "2025-09-30"  # the latest of its items'
    assert [t["value"] for t in politics["targets"]] == [12]
    assert politics["group"] is None and politics["number"] == 1
    assert branches["deadline"] is None, "one of its items states no deadline: due at the year's end, not 5-31"
    assert branches["source"] == "table"
    assert letters == before["sections"][0]["items"][4]
    assert _words(after) == _words(before)
    assert before["sections"][0]["items"][0]["group"] is not None, "the edit returns a new draft"


def test_one_section_changes_and_the_others_stay():
    before = _grouped()
    after = drafts.edit(before, "groups_to_items", section_key=before["sections"][0]["key"])
    assert after["sections"][1] == before["sections"][1]
    with pytest.raises(InvalidInput, match="没有分组"):
        drafts.edit(before, "groups_to_items", section_key=before["sections"][1]["key"])


def test_measures_become_items_under_their_old_item():
    before = drafts.from_parse(parse_plan(MEASURED))
    after = drafts.edit(before, "measures_to_items")
    first = after["sections"][0]
    assert _titles(first) == ["新改扩建中小学26所，9月底前完成规划", "完成选址，5月底前报批", "开工建设10所",
                              "实施强校工程，培育优质学校8所"]
    whole, site, build, strong = first["items"]
    assert whole["group"] == site["group"] == build["group"] == {"label": "1", "title": whole["title"]}
    assert whole["deadline"] == "2025-09-30" and [t["value"] for t in whole["targets"]] == [26], (
        "what the item says before its steps is an item of its own, with its own target and deadline")
    assert strong["group"] is None, "an item without measures stays as it was"
    assert site["deadline"] == "2025-05-31", "a deadline in a step belongs to that step's item"
    assert build["deadline"] == "2025-09-30", "a step without one keeps its old item's"
    assert (site["due"], build["due"]) == ("2025-05-31", "2025-09-30")
    assert [t["value"] for t in build["targets"]] == [10]
    assert site["owners"]["lead"] == build["owners"]["lead"] == ["发展规划科"]
    assert _titles(after["sections"][1]) == ["开展教师培训", "新教师培训不少于120学时", "骨干教师研修"]
    assert _words(after) == _words(before)
    assert drafts.level_actions(first["items"]) == (1, 0)


def test_a_level_down_and_up_again_gives_the_same_groups_and_texts():
    grouped = _grouped()
    there_and_back = drafts.edit(drafts.edit(grouped, "groups_to_items"), "measures_to_items")
    for original, again in zip(grouped["sections"][0]["items"], there_and_back["sections"][0]["items"], strict=True):
        assert (again["group"], again["text"]) == (original["group"], original["text"])
        assert again["owners"]["lead"] == original["owners"]["lead"]


def test_a_group_of_one_item_goes_up_and_down_again():
    document = _grouped()
    alone = drafts.edit(document, "remove", key=document["sections"][0]["items"][3]["key"])
    up = drafts.edit(alone, "groups_to_items")
    assert [len(i["measures"]) for i in up["sections"][0]["items"]] == [2, 1, 0]
    down = drafts.edit(up, "measures_to_items")
    assert [i["group"] for i in down["sections"][0]["items"]] == [i["group"] for i in alone["sections"][0]["items"]]
    assert _words(down) == _words(alone)


def test_nothing_to_cut_is_said_not_done():
    with pytest.raises(InvalidInput, match="无法拆为条目"):
        drafts.edit(_grouped(), "measures_to_items")


def test_merge_split_and_move_keep_the_group_and_source():
    document = _grouped()
    items = document["sections"][0]["items"]
    merged = drafts.edit(document, "merge", key=items[2]["key"])
    kept = merged["sections"][0]["items"][2]
    assert (kept["group"], kept["source"]) == (items[2]["group"], "table")
    assert kept["deadline"] == "2025-05-31" and [t["value"] for t in kept["targets"]] == [20], "found again"
    split = drafts.edit(merged, "split", key=kept["key"], at="1")
    assert [(i["group"], i["source"]) for i in split["sections"][0]["items"][2:4]] == [(items[2]["group"], "table")] * 2
    moved = drafts.edit(document, "move", key=items[0]["key"], section_key=document["sections"][1]["key"])
    assert moved["sections"][1]["items"][-1]["group"] == items[0]["group"]
    assert _words(split) == _words(document)


REAL = sorted(SAMPLES.glob("*.txt")) + sorted((Path(__file__).parent / "documents").glob("*.txt"))


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_on_real_plans_measures_down_and_up_again_lose_nothing(path):
    """Every plan the parser is tested on: its items cut into their measures and put together again are the same
    items, with the same words; a plan none of whose items lists two measures says so."""
    before = drafts.from_parse(parse_file(path.read_bytes(), path.name))
    try:
        down = drafts.edit(before, "measures_to_items")
    except InvalidInput:
        assert not any(drafts.level_actions(s["items"])[1] for s in before["sections"])
        return
    assert _count(down) > _count(before)
    up = drafts.edit(down, "groups_to_items")
    assert [_titles(s) for s in up["sections"]] == [_titles(s) for s in before["sections"]]
    assert _words(before) == _words(down) == _words(up)
    assert all(len(i["title"]) <= 40 for s in down["sections"] for i in s["items"] if i["group"])


@pytest.mark.parametrize(("label", "heading"), [("一", "（一）抓好"), ("3", "3. 抓好"), ("行动一", "行动一 抓好"),
                                                ("", "抓好"), (None, "抓好")])
def test_a_group_heading_reads_as_the_document_wrote_it(label, heading):
    assert drafts.group_heading(label, "抓好") == heading
