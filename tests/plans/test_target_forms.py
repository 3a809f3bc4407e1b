"""Targets inside long measures, and the numbers that are not targets (dates, 文号, section numbers)."""

from __future__ import annotations

import pytest

from backend.plans.parsing.script import shadow
from backend.plans.parsing.targets import find_targets


def _targets(text: str) -> list[tuple[int | float, str, str | None]]:
    found, _flags = find_targets(shadow(text), text)
    return [(t.value, t.unit, t.comparator) for t in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("统筹推进城市更新，完成老旧小区改造12万平方米，同步完善配套设施", [(120000, "平方米", None)]),
        ("单位建筑面积能耗下降不低于10%", [(10, "%", "不低于")]),
        ("新建改扩建学校，新增学位3200个", [(3200, "个", None)]),
        ("普惠性幼儿园覆盖率达到95%以上", [(95, "%", "以上")]),
        ("培训教师1.2万人次", [(12000, "人次", None)]),
        ("建成30所", [(30, "所", None)]),
        ("交流教师比例提高5%—10%", [(5, "%", "区间")]),
    ],
)
def test_targets_in_measures(text: str, expected: list) -> None:
    assert _targets(text) == expected


@pytest.mark.parametrize(
    "text",
    ["某教发〔2024〕12号", "2024年6月30日前完成", "（2024年6月）", "3—5月完成检查", "6月1日到8月31日", "3.2.1 推进改革",
     "2023—2024学年", "二〇二四年"],
)
def test_dates_and_numbers_are_not_targets(text: str) -> None:
    assert _targets(text) == []
