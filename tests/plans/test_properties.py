"""Property tests: the parser never raises and never loses text, whatever it is given."""

from __future__ import annotations

import unicodedata
from collections import Counter

import pytest

from backend.plans.parser import parse_file, parse_plan, parse_to_dict
from backend.plans.parsing.lines import int_to_cn
from backend.plans.parsing.model import PlanInputError

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# pieces of real plans, so that random text also contains headings, numbers, owners, dates …
FRAGMENTS = [
    "一、", "二、", "三、", "五、", "十二、", "（一）", "（二）", "(三)", "1.", "2.", "3、", "12.", "(1)", "（2）",
    "①", "②", "⑳", "第一部分", "第二部分 ", "一是", "二是", "三是", "第一，", "\n", "\n\n", "\r\n", "。", "，",
    "、", "：", ":", "；", "（", "）", "责任单位：", "牵头单位:", "配合单位：", "（责任单位：组干科、机关党委）",
    "（牵头）", "由办公室牵头", "6月底前", "20196月底前", "2019年", "年底前", "今年底前", "上半年", "下半年",
    "秋季开学前", "第一季度", "10月中旬前", "9月前", "年内", "3.1万个", "26所", "85%以上", "不低于", "力争",
    "2—3个", "每月", "每季度", "每学期", "每学年", "月通报、季点评、年考核", "工作要点", "2020年度教育工作要點",
    "關于印發《2020年工作要点》的通知", "太仓市教育局", "市教育局", "全区", "全市", "发布机构:市教育局", "上一篇",
    "附件：", "扫一扫", "- 2 -", "第 3 页 共 5 页", "彩88-欢迎您", "2021年2月20日", "個", "學期", "牽頭單位：",
    "\x00", "\x0c", "\u3000", "\xa0", "\u200b", "\ufeff", "😀", "👩\u200d👩\u200d👧", "\u2028", "\x85", "《", "》",
    "“", "”", "一、二年级", "行动一：", "专项行动二 ", "任务一：", "——任务1：", "任务2.", "第一阶段：",
    "第二阶段（3月）", "（牵头单位：办公室）", "（2025年6月底前）",
]

plan_text = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(max_size=30),
        st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4E80), max_size=20),
    ),
    max_size=60,
).map("".join)


def _significant(text: str) -> Counter[str]:
    """Characters that carry text: neither whitespace nor punctuation (numbering delimiters, closing 。)."""
    return Counter(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P")
                   and ch != "\ufeff")  # a byte-order mark marks the encoding, it is not text


def _circled(n: int) -> str:
    if 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    if 21 <= n <= 35:
        return chr(0x3251 + n - 21)
    if 36 <= n <= 50:
        return chr(0x32B1 + n - 36)
    return ""


def _kept(d: dict) -> Counter[str]:
    parts = [d["title"] or "", d["issuer"] or "", *d["discarded"]]
    for s in d["sections"]:
        parts += [s["label"], s["title"]]
        for item in s["items"]:
            parts += [item["title"], item["text"], item["label"] or ""]
            if item["group"]:  # a heading kept as the group of the items under it (a month, a project)
                parts += [item["group"]["label"], item["group"]["title"]]
            if item["number"] is not None:
                n = item["number"]
                parts += [str(n), int_to_cn(n), _circled(n)]
    return _significant("\n".join(parts))


def _assert_nothing_lost(text: str, d: dict) -> None:
    source = _significant(text)
    kept = _kept(d)
    missing = {ch: n - kept[ch] for ch, n in source.items() if kept[ch] < n}
    assert not missing, missing


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_text)
def test_never_raises_and_never_loses_text(text: str) -> None:
    d = parse_to_dict(parse_plan(text))
    _assert_nothing_lost(text, d)
    for s in d["sections"]:
        for item in s["items"]:
            assert item["due"] is None or item["due"] >= (item["deadline"] or "")
            for t in item["targets"]:
                assert isinstance(t["value"], int | float)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_unicode(text: str) -> None:
    d = parse_to_dict(parse_plan(text))
    _assert_nothing_lost(text, d)


@settings(max_examples=100, deadline=None)
@given(plan_text, st.integers(min_value=1990, max_value=2100))
def test_default_year_fills_due(text: str, year: int) -> None:
    d = parse_to_dict(parse_plan(text, default_year=year))
    assert d["year"] is not None
    for s in d["sections"]:
        for item in s["items"]:
            assert item["due"] is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([None, "a.txt", "a.docx", "a.pdf", "a.html", "a.doc", "plan"]))
def test_parse_file_never_raises_anything_but_plan_input_error(data: bytes, name: str | None) -> None:
    try:
        plan = parse_file(data, name)
    except PlanInputError as exc:
        assert str(exc)
    else:
        assert plan.encoding is None or plan.encoding in {"utf-8", "gb18030", "big5", "utf-16", "utf-32"}


@settings(max_examples=150, deadline=None)
@given(plan_text, st.sampled_from(["utf-8", "gb18030", "utf-16", "utf-16-le", "utf-8-sig"]))
def test_encodings_round_trip(text: str, codec: str) -> None:
    text = text.replace("\x00", "")
    if codec == "utf-16-le" and not ("\n" in text and len(text) >= 20):
        return  # without a byte order mark, UTF-16 is only recognisable from its zero bytes (ASCII, newlines)
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        return
    if codec == "gb18030":
        try:
            data.decode("utf-8")
            return  # these few bytes are valid UTF-8 too: no decoder can tell which was meant
        except UnicodeDecodeError:
            pass
    try:
        plan = parse_file(data, "plan.txt")
    except PlanInputError:
        return  # empty, or so much control text that it does not look like a text file
    _assert_nothing_lost(text if codec != "gb18030" else data.decode("gb18030"), parse_to_dict(plan))
