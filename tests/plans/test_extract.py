"""Targets, deadlines, recurring duties, owners and numbering labels, one phrase at a time."""

from __future__ import annotations

from datetime import date

import pytest

from backend.plans.parsing.deadlines import find_deadlines, find_recurrence
from backend.plans.parsing.lines import cn_to_int, find_label, int_to_cn
from backend.plans.parsing.owners import find_owners
from backend.plans.parsing.script import detect_script, matches_across_scripts, shadow
from backend.plans.parsing.targets import find_targets


def _targets(text: str) -> list[tuple[int | float, str, str | None]]:
    found, _ = find_targets(shadow(text), text)
    return [(t.value, t.unit, t.comparator) for t in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("增加学位3.1万个", [(31000, "个", None)]),
        ("改造校舍25.8万平方米", [(258000, "平方米", None)]),
        ("新建學校3所以上", [(3, "所", "以上")]),
        ("再建15個黨建新品牌", [(15, "个", None)]),
        ("覆盖率达到95%以上", [(95, "%", "以上")]),
        ("覆盖率达９５％", [(95, "%", "达到")]),
        ("比例不低于15%", [(15, "%", "不低于")]),
        ("力争创建示范校3所", [(3, "所", "力争")]),
        ("培训3000人次左右", [(3000, "人次", "左右")]),
        ("创建2—3个基地", [(2, "个", "区间")]),
        ("新增教室44间，建成考点8个、考场277个", [(44, "间", None), (8, "个", None), (277, "个", None)]),
        ("巩固率达到99.5%", [(99.5, "%", "达到")]),
        ("打造200多门课程", [(200, "门", "以上")]),
        ("投入资金1.5亿元", [(150000000, "元", None)]),
        ("招聘教师1,200名", [(1200, "名", None)]),
    ],
)
def test_targets(text: str, expected: list) -> None:
    assert _targets(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2020年全市", "完成第五期工程", "前10名", "《教育部等8部门关于…的意见》", "十四五规划", "4:6标准",
        "2019514", "316工程", "5621计划", "招生“4+4”模式", "1+5模式",
    ],
)
def test_not_targets(text: str) -> None:
    assert _targets(text) == []


def _deadlines(text: str, year: int | None = 2021) -> tuple[list[date], list[str]]:
    found, flags = find_deadlines(shadow(text), text, year)
    return [d.date for d in found], flags


@pytest.mark.parametrize(
    ("text", "expected", "flag"),
    [
        ("6月底前完成", date(2021, 6, 30), None),
        ("2021年6月底前完成", date(2021, 6, 30), None),
        ("20216月底前完成", date(2021, 6, 30), "缺字"),
        ("年底前完成", date(2021, 12, 31), None),
        ("今年底前完成", date(2021, 12, 31), None),
        ("2021年年底前整改到位", date(2021, 12, 31), None),
        ("力争到今年底", date(2021, 12, 31), None),
        ("上半年完成", date(2021, 6, 30), None),
        ("下半年启动", date(2021, 12, 31), None),
        ("秋季开学前投入使用", date(2021, 8, 31), "秋季开学前"),
        ("春季开学前", date(2021, 2, 28), "含糊"),
        ("第一季度完成", date(2021, 3, 31), None),
        ("三季度末", date(2021, 9, 30), None),
        ("6月30日前报送", date(2021, 6, 30), None),
        ("截至9月15日", date(2021, 9, 15), None),
        ("10月中旬前", date(2021, 10, 20), "中旬"),
        ("9月前完成", date(2021, 8, 31), "含糊"),
        ("十二月底前", date(2021, 12, 31), None),
        ("年内完成", date(2021, 12, 31), None),
        ("明年底前完成", date(2022, 12, 31), "超出计划年度"),
        ("完成时限：11月", date(2021, 11, 30), None),
        ("6月份底前", date(2021, 6, 30), None),
    ],
)
def test_deadlines(text: str, expected: date, flag: str | None) -> None:
    dates, flags = _deadlines(text)
    assert dates == [expected]
    if flag:
        assert any(flag in f for f in flags), flags


@pytest.mark.parametrize(
    "text",
    [
        "去年底已完成", "2019年底前已完成", "五年内完成", "3月召开会议", "每年年初", "9月前后", "前三季度",
        "学年末", "每学年开学前后组织",
    ],
)
def test_not_deadlines(text: str) -> None:
    dates, flags = _deadlines(text)
    assert dates == [] and not any("含糊" in f for f in flags), (dates, flags)


def test_bare_start_of_term_is_flagged_not_guessed() -> None:
    dates, flags = _deadlines("开学前完成排查")
    assert dates == []
    assert any("开学前" in f and "未推算" in f for f in flags)


def test_deadline_without_year_is_flagged() -> None:
    dates, flags = _deadlines("6月底前完成", year=None)
    assert dates == [] and any("无法推算" in f for f in flags)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("每学期开展一次检查", ["每学期"]),
        ("每學年開展一次", ["每學年"]),
        ("建立月通报、季点评、年考核机制", ["月通报、季点评、年考核"]),
        ("每季度召开联席会，每月报送进展", ["每季度", "每月"]),
        ("按季度通报进展", ["按季度"]),
        ("实行周调度、月通报", ["周调度、月通报"]),
        ("每个月开展一次", ["每个月"]),
        ("完成3月通报", []),
        ("三年考核", []),
        ("常态化开展", []),
    ],
)
def test_recurrence(text: str, expected: list[str]) -> None:
    assert find_recurrence(shadow(text), text) == expected


@pytest.mark.parametrize(
    ("text", "lead", "co"),
    [
        ("（责任单位：组干科、机关党委）", ["组干科", "机关党委"], []),
        ("(责任单位:组干科,机关党委)", ["组干科", "机关党委"], []),
        ("牵头单位：办公室；配合单位：各学校、教研室", ["办公室"], ["各学校", "教研室"]),
        ("牵头单位：基教科 配合单位：财务科 完成时限：6月底", ["基教科"], ["财务科"]),
        ("（责任单位：计财股（牵头）、基建办）", ["计财股"], ["基建办"]),
        ("【牵头单位：人事科，责任单位：各县（市、区）教育局】", ["人事科"], ["各县（市、区）教育局"]),
        ("由政策法规科牵头，各学校配合", ["政策法规科"], ["各学校"]),
        ("（牽頭單位：組織科；配合單位：各學校）", ["組織科"], ["各學校"]),
        ("加强党建工作。", [], []),
    ],
)
def test_owners(text: str, lead: list[str], co: list[str]) -> None:
    owners, _ = find_owners(shadow(text), text)
    assert (owners.lead, owners.co) == (lead, co)


@pytest.mark.parametrize(
    ("line", "kind", "value"),
    [
        ("一、加强党建", "cn", 1),
        ("十二、保障措施", "cn", 12),
        ("（三）扩大供给", "pcn", 3),
        ("(三)扩大供给", "pcn", 3),
        ("3.强化意识形态", "ar", 3),
        ("3. 强化意识形态", "ar", 3),
        ("3、强化意识形态", "ar", 3),
        ("3．强化意识形态", "ar", 3),
        ("（2）推进改革", "par", 2),
        ("2)推进改革", "par", 2),
        ("②推进改革", "circ", 2),
        ("第二部分 重点任务", "part", 2),
        ("第三章 保障", "part", 3),
        ("一加强党的领导", "cn", 1),
        ("12加强队伍建设", "ar", 12),
    ],
)
def test_labels(line: str, kind: str, value: int) -> None:
    label = find_label(line, shadow(line))
    assert label is not None and (label.kind, label.value) == (kind, value)


@pytest.mark.parametrize(
    "line",
    [
        "3.1万个学位", "2020年全市", "一是加强", "一流大学", "一、二年级学生", "2019年工作要点", "两、三", "01.xx",
        "1所学校", "100 所学校", "三年行动计划",
    ],
)
def test_not_labels(line: str) -> None:
    assert find_label(line, shadow(line)) is None


def test_numerals() -> None:
    assert [cn_to_int(s) for s in ("一", "十", "十二", "二十", "二十三", "一百")] == [1, 10, 12, 20, 23, 100]
    assert [int_to_cn(n) for n in (1, 10, 12, 20, 23)] == ["一", "十", "十二", "二十", "二十三"]
    assert cn_to_int("甲") is None


def test_scripts() -> None:
    assert shadow("學期（１）") == "学期(1)"
    assert len(shadow("堅持黨建引領")) == len("堅持黨建引領")
    assert detect_script("堅持黨建引領，落實全面從嚴治黨") == "traditional"
    assert detect_script("坚持党建引领") == "simplified"
    assert matches_across_scripts("推進黨建融合力工程", "党建融合")
