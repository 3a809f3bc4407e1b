# ruff: noqa: E501  (one table row per line reads like the table)
"""Writes the .docx documents of the corpus (committed beside this script) with python-docx, so their tables'
merged cells are Word's own (w:vMerge, w:gridSpan): `python -m tests.plans.corpus.make_docx`."""

from __future__ import annotations

from pathlib import Path

import docx

HERE = Path(__file__).parent


def _table(document, header: list[str], rows: list[list[str | None]]):
    """A table; a None cell is merged with the cell above it, a row of one cell spans the table."""
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for r, row in enumerate(rows, 1):
        cells = table.rows[r].cells
        if len(row) == 1:
            merged = cells[0].merge(cells[-1])
            merged.text = row[0] or ""
            continue
        for c, text in enumerate(row):
            if text is None:
                table.cell(r - 1, c).merge(cells[c])
            else:
                cells[c].text = text
    return table


def school_breakdown() -> docx.Document:
    d = docx.Document()
    d.add_paragraph("某某市第一中学2024年度工作任务分解表")
    d.add_paragraph("（2024年1月15日校长办公会议通过）")
    header = ["序号", "项目", "子项目", "工作任务", "完成时限", "责任处室", "负责人"]
    rows: list[list[str | None]] = [
        ["1", "党建引领", "组织建设", "完成党支部换届选举", "2024年3月底前", "党政办公室", "王明"],
        ["2", None, None, "发展青年教师入党积极分子5名", "2024年6月", "党政办公室", "王明"],
        ["3", None, "师德建设", "开展师德师风专题教育活动", "每学期", "党政办公室", "王明"],
        ["4", "教育教学", "课堂改革", "推进“大单元”教学设计，每个学科形成案例10个", "2024年11月", "教务处", "李华"],
        ["5", None, None, "组织青年教师教学比武", "10月底前", "教务处", "李华"],
        ["6", None, "质量监测", "完成高三三轮模拟考试质量分析", "2024年5月20日前", "教务处", "李华"],
        ["7", None, None, "高考本科上线率达到85%", "2024年7月", "教务处", "李华"],
        ["8", "德育工作", "主题教育", "开展“十八岁成人礼”活动", "2024年5月", "政教处", "张强"],
        ["9", None, None, "组织学生社会实践活动，参与率100%", "暑假期间", "政教处、团委", "张强"],
        ["10", None, "心理健康", "开展全体学生心理健康筛查", "2024年10月15日前", "心理健康中心", "张强"],
        ["11", "后勤保障", "校园建设", "完成学生宿舍楼改造", "2024年8月25日前", "总务处", "赵刚"],
        ["12", None, None, "建成智慧食堂", "2024年12月", "总务处", "赵刚"],
        ["13", None, "安全管理", "每月开展一次校园安全隐患排查", "每月", "总务处（牵头）、保卫科", "赵刚"],
    ]
    _table(d, header, rows)
    d.add_paragraph("注：各处室于每月25日前报送任务完成情况。")
    return d


def bureau_breakdown() -> docx.Document:
    d = docx.Document()
    d.add_paragraph("某某县教育体育局")
    d.add_paragraph("2025年重点工作任务分解表")
    header = ["序号", "重点任务", "工作措施", "牵头股室", "配合股室", "完成时间"]
    rows: list[list[str | None]] = [
        ["一、全面加强党的建设"],
        ["1", "深化理论武装", "落实党组理论学习中心组学习制度，全年集中学习12次。", "机关党委", "办公室", "2025年12月"],
        ["2", "建强基层党组织", "开展中小学校党组织领导的校长负责制落实情况评估。", "组织人事股", "机关党委", "2025年9月底前"],
        ["3", "推进全面从严治党", "开展“以案促改”警示教育活动。", "驻局纪检监察组", "机关党委", "6月底前"],
        ["二、扩大优质教育资源"],
        ["4", "实施学前教育普惠工程", "新建改扩建幼儿园4所，新增学位720个。", "计财股", "基础教育股", "2025年8月31日前"],
        ["5", "推进义务教育优质均衡", "完成县域义务教育优质均衡发展督导评估准备工作。", "督导室", "基础教育股、计财股", "2025年10月"],
        ["6", "办好县域普通高中", "县一中创建省级示范高中。", "基础教育股", "组织人事股", "12月底前"],
        ["7", "发展职业教育", "县职教中心新增专业2个，开展职业技能培训3000人次。", "职成教股", "人社局", "2025年11月"],
        ["三、建设高素质教师队伍"],
        ["8", "补充教师", "招聘新教师120名。", "组织人事股", "", "2025年8月"],
        ["9", "开展教师培训", "实施全员培训，培训教师不少于2000人次。", "师训中心", "组织人事股", "年底前"],
        ["10", "落实教师待遇", "确保教师平均工资收入不低于公务员平均工资收入水平。", "计财股", "", "长期坚持"],
        ["四、守牢安全稳定底线"],
        ["11", "校园安全治理", "开展校园安全专项整治行动，整改隐患。", "安全股", "各学校", "每季度"],
        ["12", "防溺水工作", "开展防溺水专题教育，签订安全承诺书100%。", "安全股", "基础教育股", "2025年5月"],
    ]
    _table(d, header, rows)
    d.add_paragraph("某某县教育体育局办公室  2025年2月18日印发")
    return d


def plan_with_table() -> docx.Document:
    d = docx.Document()
    d.add_paragraph("某某区教育局2024年工作要点")
    d.add_paragraph("2024年，全区教育系统以办好人民满意的教育为目标，重点抓好以下工作：")
    d.add_paragraph("一、坚持党建引领")
    d.add_paragraph("1.加强政治建设。深入学习贯彻党的二十大精神，全年开展理论学习12次。（责任单位：组织科）")
    d.add_paragraph("2.加强基层党建。建设党建示范校10所。（责任单位：机关党委）")
    d.add_paragraph("二、推进教育优质发展")
    d.add_paragraph("3.深化课程改革。6月底前出台区域课程改革实施意见。（责任单位：教研室）")
    d.add_paragraph("4.提升办学条件。完成薄弱学校改造20所。（责任单位：计财科）")
    d.add_paragraph("5.促进教育公平。资助困难学生3000人次。（责任单位：资助中心）")
    d.add_paragraph("三、2024年重点建设项目")
    d.add_paragraph("区教育局2024年重点建设项目如下表。")
    header = ["序号", "重点项目", "年度目标", "完成时间", "责任单位"]
    rows: list[list[str | None]] = [
        ["1", "滨江小学新建工程", "主体结构封顶，新增学位1080个", "2024年10月", "计财科"],
        ["2", "城南中学扩建工程", "建成并投入使用，新增学位900个", "2024年8月底前", "计财科"],
        ["3", "实验幼儿园分园", "完成装修，新增学位360个", "2024年8月", "计财科"],
        ["4", "教育城域网升级", "带宽提升至万兆", "2024年12月", "信息中心"],
        ["5", "校园食堂明厨亮灶", "覆盖学校100%", "2024年6月30日前", "后勤科"],
        ["6", "学校运动场改造", "改造运动场15片", "2024年9月", "体卫艺科"],
    ]
    _table(d, header, rows)
    d.add_paragraph("四、守住安全底线")
    d.add_paragraph("6.加强校园安全。开展安全隐患排查4次。（责任单位：安全科）")
    d.add_paragraph("7.维护教育稳定。建立矛盾纠纷排查化解机制。（责任单位：办公室）")
    d.add_paragraph("某某区教育局")
    d.add_paragraph("2024年1月20日")
    return d


DOCUMENTS = {
    "docx_breakdown_school.docx": school_breakdown,
    "docx_breakdown_bureau.docx": bureau_breakdown,
    "docx_plan_with_table.docx": plan_with_table,
}

if __name__ == "__main__":
    for name, build in DOCUMENTS.items():
        build().save(str(HERE / name))
        print(HERE / name)
