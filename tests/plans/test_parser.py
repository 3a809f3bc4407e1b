"""The plan parser against the hand-counted ground truth of the sample plans (expected.json)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from backend.plans.parser import ParsedPlan, parse_file, parse_plan, parse_to_dict, to_simplified

ROOT = Path(__file__).resolve().parents[2]


def _samples_dir() -> Path | None:
    candidates = [
        os.environ.get("LUOSHI_PLAN_SAMPLES", ""),
        ROOT / "tests" / "plans" / "samples",
        ROOT / "samples" / "plans",
        ROOT.parent / "shared" / "samples" / "plans",
    ]
    for c in candidates:
        if c and (Path(c) / "expected.json").is_file():
            return Path(c)
    return None


SAMPLES = _samples_dir()
EXPECTED = json.loads((SAMPLES / "expected.json").read_text("utf-8"))["documents"] if SAMPLES else {}
needs_samples = pytest.mark.skipif(SAMPLES is None, reason="sample plans not found")
NAMES = sorted(EXPECTED) or ["(none)"]

_cache: dict[str, dict] = {}


def _parsed(name: str) -> dict:
    if name not in _cache:
        assert SAMPLES is not None
        plan = parse_file((SAMPLES / name).read_bytes(), name)
        assert isinstance(plan, ParsedPlan)
        _cache[name] = parse_to_dict(plan)
    return _cache[name]


def _numbered(d: dict) -> dict[int, dict]:
    return {i["number"]: i for s in d["sections"] for i in s["items"] if i["number"] is not None}


@needs_samples
@pytest.mark.parametrize("name", NAMES)
def test_issuer_year_title(name: str) -> None:
    exp, d = EXPECTED[name], _parsed(name)
    assert to_simplified(d["issuer"] or "") == exp["issuer"]
    assert d["year"] == exp["year"]
    assert d["encoding"] == "utf-8"
    if exp.get("title_contains"):
        assert exp["title_contains"] in (d["title"] or "")


@needs_samples
@pytest.mark.parametrize("name", NAMES)
def test_sections(name: str) -> None:
    exp, d = EXPECTED[name], _parsed(name)
    assert [(s["label"], s["title"]) for s in d["sections"]] == [(s["label"], s["title"]) for s in exp["sections"]]


@needs_samples
@pytest.mark.parametrize("name", NAMES)
def test_numbered_items(name: str) -> None:
    exp, d = EXPECTED[name], _parsed(name)
    got = [
        (item["number"], item["title"], k + 1)
        for k, s in enumerate(d["sections"])
        for item in s["items"]
        if item["number"] is not None
    ]
    assert got == [(i["number"], i["title"], i["section"]) for i in exp["items"]]


@needs_samples
@pytest.mark.parametrize("name", NAMES)
def test_sections_without_items_become_one_item(name: str) -> None:
    d = _parsed(name)
    for s in d["sections"]:
        assert s["items"], s
        if any(i["number"] is None for i in s["items"]):
            assert len(s["items"]) == 1
            assert s["items"][0]["title"] == s["title"]
            assert s["items"][0]["text"]


@needs_samples
@pytest.mark.parametrize("name", NAMES)
def test_measure_counts(name: str) -> None:
    exp, d = EXPECTED[name], _parsed(name)
    items = _numbered(d)
    for i in exp["items"]:
        if "measures" in i:
            assert len(items[i["number"]]["measures"]) == i["measures"], i


@needs_samples
@pytest.mark.parametrize("name", NAMES)
def test_targets(name: str) -> None:
    exp, d = EXPECTED[name], _parsed(name)
    items = _numbered(d)
    for number, pairs in exp["targets"].items():
        got = [(t["value"], t["unit"]) for t in items[int(number)]["targets"]]
        for value, unit in pairs:
            assert (value, unit) in got, (number, value, unit, got)


@needs_samples
@pytest.mark.parametrize("name", NAMES)
def test_deadlines_and_due(name: str) -> None:
    exp, d = EXPECTED[name], _parsed(name)
    items = _numbered(d)
    for number, due in exp["deadlines"].items():
        assert items[int(number)]["due"] == due
    year_end = f"{exp['year']}-12-31"
    for s in d["sections"]:
        for item in s["items"]:
            # due is always filled: the stated deadline, or the end of the plan's year
            assert item["due"] == (item["deadline"] or year_end)


@needs_samples
@pytest.mark.parametrize("name", NAMES)
def test_recurring(name: str) -> None:
    exp, d = EXPECTED[name], _parsed(name)
    items = _numbered(d)
    for key, words in exp["recurring"].items():
        section = int(key.split(":")[1]) if key.startswith("section:") else None
        item = d["sections"][section - 1]["items"][0] if section else items[int(key)]
        assert item["recurrence"] is not None and words in item["recurrence"], (key, item["recurrence"])


@needs_samples
@pytest.mark.parametrize("name", NAMES)
def test_nothing_vanishes(name: str) -> None:
    """Every line of the sample is in the header, a section heading, an item or the discarded part."""
    assert SAMPLES is not None
    d = _parsed(name)
    text = (SAMPLES / name).read_text("utf-8")
    kept = "".join(
        [d["title"] or "", d["issuer"] or ""]
        + d["discarded"]
        + [s["title"] for s in d["sections"]]
        + [i["text"] for s in d["sections"] for i in s["items"]]
    )
    kept = "".join(kept.split())
    for line in text.splitlines():
        line = "".join(line.split())
        if line:
            body = re.sub(r"^(?:[一二三四五六七八九十]+、|\d+\.)", "", line)
            assert body[-12:] in kept, line[:40]


@needs_samples
def test_traditional_sample_keeps_its_script() -> None:
    d = _parsed("000_c7232f6de0a13980.txt")
    assert d["sections"][0]["title"] == "堅持黨建引領,落實全面從嚴治黨"
    assert "彩88" not in d["sections"][-1]["items"][-1]["text"]
    assert any("彩88" in x for x in d["discarded"])
    # units come out simplified
    units = {t["unit"] for s in d["sections"] for i in s["items"] for t in i["targets"]}
    assert "个" in units and "個" not in units


@needs_samples
def test_damaged_date_is_flagged() -> None:
    item = _numbered(_parsed("001_a731d4828302f3e6.txt"))[8]
    assert item["deadline"] == "2019-06-30"
    assert any("20196月底前" in f for f in item["flags"])


@needs_samples
def test_duplicate_section_number_is_flagged() -> None:
    d = _parsed("002_667994beb315eca0.txt")
    assert "编号不连续：五之后是五" in d["flags"]
    assert [s["label"] for s in d["sections"]] == ["一", "二", "三", "四", "五", "五", "七"]


@needs_samples
def test_cover_letter_and_chrome_are_discarded_not_lost() -> None:
    d = _parsed("001_a731d4828302f3e6.txt")
    assert any(x.startswith("现将") for x in d["discarded"])
    assert any("扫一扫" in x for x in d["discarded"])
    assert d["title"] == "2019年工作要点"


@needs_samples
def test_shape_is_json_serialisable() -> None:
    d = _parsed("003_b8ce0ceb39984800.txt")
    assert set(d) >= {"title", "issuer", "year", "encoding", "discarded", "sections"}
    item = d["sections"][1]["items"][0]
    assert set(item) >= {"number", "title", "text", "measures", "targets", "deadline", "due", "recurrence", "owners",
                         "flags"}
    assert set(item["owners"]) == {"lead", "co"}
    assert {"label", "text"} == set(item["measures"][0])
    assert {"value", "unit", "comparator", "text"} == set(item["targets"][0])
    json.dumps(d, ensure_ascii=False)
    target = next(t for t in item["targets"] if t["unit"] == "个")
    assert target["value"] == 31000 and isinstance(target["value"], int)
    assert "3.1万" in target["text"]


def test_parse_plan_on_text() -> None:
    plan = parse_plan("2024年工作要点\n一、加强党建\n1.抓好学习。每月学习一次。\n2.建好队伍。6月底前完成。")
    d = parse_to_dict(plan)
    assert d["year"] == 2024 and d["title"] == "2024年工作要点"
    items = d["sections"][0]["items"]
    assert [(i["number"], i["title"]) for i in items] == [(1, "抓好学习"), (2, "建好队伍")]
    assert items[0]["recurrence"] == "每月" and items[0]["deadline"] is None and items[0]["due"] == "2024-12-31"
    assert items[1]["deadline"] == "2024-06-30"
    assert d["encoding"] is None


def test_default_year_is_used_and_flagged() -> None:
    d = parse_to_dict(parse_plan("一、加强党建\n1.抓好学习。年底前完成。\n二、建好队伍\n2.培训。", default_year=2030))
    assert d["year"] == 2030
    assert any("默认年份" in f for f in d["flags"])
    assert d["sections"][0]["items"][0]["deadline"] == "2030-12-31"


def test_unknown_year_is_flagged_never_guessed() -> None:
    d = parse_to_dict(parse_plan("一、加强党建\n1.抓好学习。6月底前完成。\n二、建好队伍\n2.培训。"))
    assert d["year"] is None
    assert "未识别到年份" in d["flags"]
    item = d["sections"][0]["items"][0]
    assert item["deadline"] is None and item["due"] is None
    assert any("无法推算" in f for f in item["flags"])


def test_to_simplified() -> None:
    assert to_simplified("堅持黨建引領") == "坚持党建引领"
    assert to_simplified("个") == "个"
    assert to_simplified("") == ""
