"""Which numbering level of a plan becomes its sections, its groups and its items (docs/PLAN_IMPORT.md, "How the
levels are chosen"): items are the finest level that carries its own owners or deadline."""

from __future__ import annotations

from backend.plans.parser import parse_plan, parse_to_dict


def _parse(text: str) -> dict:
    return parse_to_dict(parse_plan(text))


def _items(d: dict) -> list[dict]:
    return [i for s in d["sections"] for i in s["items"]]


def _rows(d: dict) -> list[tuple[str, str | None]]:
    return [(i["title"], i["group"]["title"] if i["group"] else None) for i in _items(d)]


THREE_LEVELS = """某区教育局2025年工作要点
一、加强党的建设
（一）强化政治建设
1.深化理论学习。组织专题学习12次。（牵头单位：办公室，支撑单位：组织科）
2.加强意识形态工作。每半年研判一次。（牵头单位：宣传科）
（二）夯实基层党建
3.创建党建品牌。培育品牌20个。（牵头单位：组织科）
二、推进优质均衡
（一）扩大学位供给
4.新建学校。新增学位3200个，8月31日前投入使用。（牵头单位：计财科）
5.改造校舍。完成维修12所。（牵头单位：基建办）
（二）促进学前教育发展
6.扩大普惠资源。新增公办园4所。（牵头单位：学前科）
"""


def test_tasks_that_name_their_owners_are_the_items_and_their_heading_the_group() -> None:
    d = _parse(THREE_LEVELS)
    assert [s["title"] for s in d["sections"]] == ["加强党的建设", "推进优质均衡"]
    assert _rows(d) == [
        ("深化理论学习", "强化政治建设"),
        ("加强意识形态工作", "强化政治建设"),
        ("创建党建品牌", "夯实基层党建"),
        ("新建学校", "扩大学位供给"),
        ("改造校舍", "扩大学位供给"),
        ("扩大普惠资源", "促进学前教育发展"),
    ]
    first, *_rest, new_school, _repair, last = _items(d)
    assert first["owners"] == {"lead": ["办公室"], "co": ["组织科"]}
    assert first["group"] == {"label": "一", "title": "强化政治建设"}
    assert new_school["due"] == "2025-08-31"
    assert last["owners"]["lead"] == ["学前科"]
    assert not any("编号不连续" in f for i in _items(d) for f in i["flags"])


def test_without_owners_below_the_groups_they_stay_the_items_with_measures() -> None:
    d = _parse(
        "某县教育局2024年工作要点\n一、加强党的建设\n（一）落实主体责任。年内完成换届（责任单位：组织股）。\n"
        "1.开展党史学习，每月一次。\n2.建立党建台账，第一季度完成。\n（二）加强意识形态工作（责任单位：办公室）。\n"
        "二、推进均衡发展\n（一）扩大学位供给（责任单位：计财股）。\n（二）提升教育质量（责任单位：教研室）。\n"
    )
    assert _rows(d) == [("落实主体责任", None), ("加强意识形态工作", None), ("扩大学位供给", None),
                        ("提升教育质量", None)]
    assert [m["label"] for m in _items(d)[0]["measures"]] == ["1", "2"]


def test_tasks_numbered_again_in_each_group_with_owners_on_their_own_line() -> None:
    d = _parse(
        "某市教育局2024年工作要点\n一、加强党的领导\n（一）加强政治建设\n1.深化学习。组织学习。\n牵头单位：机关党委\n"
        "2.加强阵地管理。排查风险。\n牵头单位：宣传处　　配合单位：办公室\n（二）加强干部队伍建设\n"
        "1.优化班子结构。调整配备。\n牵头单位：组织处\n（三）推进从严治党。开展考核。（牵头单位：机关纪委）\n"
        "二、发展基础教育\n（一）发展学前教育\n1.扩大资源。新建幼儿园12所。\n牵头单位：基教处\n"
        "2.提升质量。开展评估。\n牵头单位：基教处\n"
    )
    assert _rows(d) == [
        ("深化学习", "加强政治建设"),
        ("加强阵地管理", "加强政治建设"),
        ("优化班子结构", "加强干部队伍建设"),
        ("推进从严治党", None),  # a group heading with no tasks under it is an item itself
        ("扩大资源", "发展学前教育"),
        ("提升质量", "发展学前教育"),
    ]
    assert [i["owners"]["lead"] for i in _items(d)] == [["机关党委"], ["宣传处"], ["组织处"], ["机关纪委"],
                                                         ["基教处"], ["基教处"]]
    assert not any("编号不连续" in f for i in _items(d) for f in i["flags"])


def test_a_time_note_at_the_end_of_each_task_is_enough() -> None:
    d = _parse(
        "某区2025年教育工作要点\n一、提升质量\n（一）加强教学管理\n1.修订常规细则。（2025年3月底前）\n"
        "2.开展教学视导。（2025年11月）\n（二）深化评价改革\n3.完善评价办法。（长期坚持）\n"
        "二、加强保障\n（一）加强组织领导。\n（二）加强经费保障。\n"
    )
    assert [i["title"] for i in d["sections"][0]["items"]] == ["修订常规细则", "开展教学视导", "完善评价办法"]
    assert d["sections"][0]["items"][0]["due"] == "2025-03-31"
    assert [i["title"] for i in d["sections"][1]["items"]] == ["加强组织领导", "加强经费保障"]


def test_paren_numbers_are_the_sections_when_there_is_no_chinese_numbering() -> None:
    d = _parse(
        "某小学2024年工作计划\n（一）加强党建工作\n1.加强理论学习。每月一次。（责任部门：党政办）\n"
        "2.加强支部建设。（责任部门：党政办）\n（二）提升教学质量\n1.落实教学常规。（责任部门：教导处）\n"
        "2.推进课堂改革。（责任部门：教导处）\n"
    )
    assert [(s["label"], s["title"]) for s in d["sections"]] == [("一", "加强党建工作"), ("二", "提升教学质量")]
    assert _rows(d) == [("加强理论学习", None), ("加强支部建设", None), ("落实教学常规", None), ("推进课堂改革", None)]


def test_numbered_requirements_of_the_cover_letter_are_not_the_sections() -> None:
    d = _parse(
        "关于印发《某小学2025年工作计划》的通知\n各处室：\n现将计划印发给你们，并提出以下要求：\n"
        "一、提高思想认识。认真研究部署。\n二、加强督促检查。定期督查。\n某小学\n2025年2月10日\n"
        "某小学2025年工作计划\n（一）加强党建工作\n1.加强理论学习。每月一次。\n2.加强支部建设。创建品牌。\n"
        "（二）提升教学质量\n1.落实教学常规。每月检查。\n2.推进课堂改革。开展公开课。\n"
    )
    assert [s["title"] for s in d["sections"]] == ["加强党建工作", "提升教学质量"]
    assert "一、提高思想认识。认真研究部署。" in d["discarded"]


ACTION_PLAN = """某市2024年义务教育扩优提质行动方案
一、总体目标
到2025年底，新增学位2万个。
二、重点行动
行动一：学前教育普惠扩容行动
1.扩大公办资源。新建幼儿园20所。（牵头单位：基础教育处；配合单位：发展规划处）
2.规范民办园发展。（牵头单位：民办教育处）
行动二：教师队伍提升行动
3.培养骨干教师。遴选骨干教师500名。（牵头单位：教师工作处）
三、实施步骤
第一阶段：动员部署（2024年5月底前）。制定任务清单。
第二阶段（2024年6月—12月）：全面实施。各单位组织实施。
第三阶段：总结评估（2025年12月底前）。形成评估报告。
四、保障措施
（一）加强组织领导。成立领导小组。
（二）强化经费保障。足额安排经费。
"""


def test_action_plan_tasks_are_grouped_under_their_action_and_phases_are_items() -> None:
    d = _parse(ACTION_PLAN)
    assert [s["title"] for s in d["sections"]] == ["总体目标", "重点行动", "实施步骤", "保障措施"]
    actions, steps = d["sections"][1]["items"], d["sections"][2]["items"]
    assert [(i["title"], i["group"]) for i in actions] == [
        ("扩大公办资源", {"label": "行动一", "title": "学前教育普惠扩容行动"}),
        ("规范民办园发展", {"label": "行动一", "title": "学前教育普惠扩容行动"}),
        ("培养骨干教师", {"label": "行动二", "title": "教师队伍提升行动"}),
    ]
    assert actions[0]["owners"] == {"lead": ["基础教育处"], "co": ["发展规划处"]}
    # a phase is one item; its title leaves the date note (before or after the colon) to its text
    assert [i["title"] for i in steps] == ["动员部署", "全面实施", "总结评估"]
    assert steps[0]["due"] == "2024-05-31"
    assert all(i["group"] is None for i in steps)


def test_dash_numbered_tasks_under_special_actions() -> None:
    d = _parse(
        "某市心理健康专项行动方案\n一、工作目标\n到2025年底配备率达到100%。\n二、专项行动\n"
        "专项行动一：课程建设行动\n——任务1：开齐心理课程。每两周1课时。（牵头单位：基础教育处）\n"
        "——任务2：推进学科融合。评选案例50个。（牵头单位：教科院）\n专项行动二：监测预警行动\n"
        "——任务3：开展心理测评。每学年一次。（牵头单位：德育处）\n"
    )
    tasks = d["sections"][1]["items"]
    assert [(i["title"], i["group"]["label"]) for i in tasks] == [
        ("开齐心理课程", "专项行动一"), ("推进学科融合", "专项行动一"), ("开展心理测评", "专项行动二"),
    ]


def test_headings_that_end_in_a_full_stop_or_run_into_their_paragraph() -> None:
    d = _parse(
        "某区教育局2024年工作要点\n一、加强党的全面领导。落实全面从严治党主体责任。（牵头科室：党建办）\n"
        "二、扩大优质学位供给　加快项目建设，新增学位4200个。（牵头科室：规划科）\n"
        "三、深化课堂教学改革\n。推进新课程实施，评选优秀案例100个。（牵头科室：教研室）\n"
    )
    assert [s["title"] for s in d["sections"]] == ["加强党的全面领导", "扩大优质学位供给", "深化课堂教学改革"]
    lessons = d["sections"][2]["items"][0]
    assert lessons["title"] == "深化课堂教学改革"
    assert lessons["text"].startswith("深化课堂教学改革。推进新课程实施")
    assert lessons["owners"]["lead"] == ["教研室"]


def test_a_task_title_set_apart_from_its_description_by_a_line_starting_with_a_full_stop() -> None:
    d = _parse(THREE_LEVELS.replace("1.深化理论学习。组织", "1.深化理论学习\n。组织"))
    first = _items(d)[0]
    assert first["title"] == "深化理论学习"
    assert first["owners"]["lead"] == ["办公室"]
    assert len(_items(d)) == 6


def test_dated_sub_steps_of_a_task_that_names_its_owners_stay_its_measures() -> None:
    d = _parse(
        "某区教育局2025年工作要点\n一、扩大资源\n（一）推进学校建设\n1.新建学校。新增学位3200个。（牵头单位：计财科）\n"
        "（1）完成立项。（2025年3月底前）\n（2）开工建设。（2025年6月底前）\n"
        "2.改造校舍。完成维修12所。（牵头单位：基建办）\n（1）完成设计。（2025年4月底前）\n（2）完成施工。（2025年8月底前）\n"
        "二、提升质量\n（一）深化课堂改革\n3.推进新课标。开展培训。（牵头单位：教研室）\n"
    )
    new_school, repair, _lessons = _items(d)
    assert (new_school["title"], new_school["group"]["title"]) == ("新建学校", "推进学校建设")
    assert [m["label"] for m in new_school["measures"]] == ["1", "2"]
    assert new_school["due"] == "2025-06-30"  # the latest of its steps' dates
    assert repair["owners"]["lead"] == ["基建办"]


def test_a_level_that_carries_nothing_is_passed_through_to_the_tasks_below() -> None:
    d = _parse(
        "某市教育局2025年工作要点\n第一部分 党的建设\n一、政治建设\n（一）理论武装\n"
        "1.学习全会精神。（牵头单位：办公室）\n2.开展干部轮训。（牵头单位：组织处）\n"
        "二、作风建设\n（一）纪律教育\n1.开展警示教育。（牵头单位：纪检组）\n"
        "第二部分 教育发展\n一、学前教育\n（一）扩大资源\n"
        "1.新建幼儿园。（牵头单位：基教处）\n2.提升保教质量。（牵头单位：基教处）\n"
    )
    assert [s["title"] for s in d["sections"]] == ["党的建设", "教育发展"]
    assert _rows(d) == [
        ("学习全会精神", "理论武装"),
        ("开展干部轮训", "理论武装"),
        ("开展警示教育", "纪律教育"),
        ("新建幼儿园", "扩大资源"),
        ("提升保教质量", "扩大资源"),
    ]
    assert "二、作风建设" in d["discarded"]  # a heading above the groups is kept among the discarded, not in an item


def test_groups_in_some_sections_and_tasks_straight_under_the_section_in_others() -> None:
    d = _parse(
        "某县教育局2025年工作要点\n一、党的建设\n（一）政治建设\n1.理论学习。（牵头单位：办公室）\n"
        "2.意识形态。（牵头单位：宣传股）\n（二）组织建设\n3.支部建设。（牵头单位：人事股）\n二、教育发展\n"
        "4.扩大学位。新增学位2000个。（牵头单位：计财股）\n5.提升质量。（牵头单位：教研室）\n三、安全稳定\n"
        "（一）校园安全\n6.安全排查。（牵头单位：安全股）\n（二）信访维稳\n7.信访工作。（牵头单位：办公室）\n"
    )
    assert _rows(d) == [
        ("理论学习", "政治建设"),
        ("意识形态", "政治建设"),
        ("支部建设", "组织建设"),  # (二) is a group, not the end of 意识形态's text
        ("扩大学位", None),
        ("提升质量", None),
        ("安全排查", "校园安全"),
        ("信访工作", "信访维稳"),
    ]
    assert "组织建设" not in _items(d)[1]["text"]
    assert d["discarded"] == []


def test_a_signed_plan_of_paragraph_sections_keeps_them_before_a_numbered_attachment() -> None:
    d = _parse(
        "关于印发《某县教育局2024年工作要点》的通知\n各学校：\n现将工作要点印发给你们，请认真贯彻落实。\n"
        "某县教育局2024年工作要点\n一、加强党的建设。全面落实从严治党主体责任，年内完成支部换届选举工作。\n"
        "二、推进均衡发展。新建学校3所，新增学位2400个，推进集团化办学改革。\n"
        "三、建设教师队伍。招聘教师120名，开展教师全员培训。\n"
        "某县教育局\n2024年2月20日\n附件\n重点任务分解\n一、党建任务\n（一）支部换届\n（二）党史学习\n"
        "二、发展任务\n（一）新建学校\n（二）集团化办学\n"
    )
    assert [s["title"] for s in d["sections"]] == ["加强党的建设", "推进均衡发展", "建设教师队伍"]


def test_tasks_ending_in_a_bare_unit_name_in_brackets_are_the_items() -> None:
    d = _parse(THREE_LEVELS.replace("（牵头单位：办公室，支撑单位：组织科）", "（办公室、组织科）")
               .replace("（牵头单位：宣传科）", "（宣传科）").replace("（牵头单位：组织科）", "（组织科）"))
    groups = [i["group"]["title"] if i["group"] else None for i in _items(d)]
    assert groups[:3] == ["强化政治建设", "强化政治建设", "夯实基层党建"]
