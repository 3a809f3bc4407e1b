"""The SVG charts: well-formed, named for screen readers, and safe with any unit name."""

import xml.etree.ElementTree as ET

from backend.core.charts import Segment, bar_chart, line_chart, stacked_bar

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 — our own output, the thing under test


def test_every_chart_is_a_named_image_that_scales():
    charts = [bar_chart([("办公室", 50.0), ("第二中学", 0.0)], label="按时报送率", suffix="%", max_value=100),
              line_chart(["1", "2", "3"], [("按时报送率", [40.0, None, 25.0])], label="趋势", suffix="%"),
              stacked_bar([Segment("绿灯", 3, "#1a7f37"), Segment("红灯", 1, "#b3261e")], label="红黄绿灯")]
    for chart, label in zip(charts, ("按时报送率", "趋势", "红黄绿灯"), strict=True):
        svg = parse(chart)
        assert svg.get("role") == "img" and svg.get("aria-label") == label
        assert svg.find(f"{SVG}title").text == label
        assert svg.get("viewBox") == svg.get("viewBox").strip() and svg.get("width") == "100%"


def test_bars_and_points_follow_the_numbers():
    svg = parse(bar_chart([("办公室", 50.0), ("第二中学", 0.0)], label="x", suffix="%", max_value=100))
    # The track is 300 wide: 50% of 100 → a 150-wide bar; 0 → no bar at all.
    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("fill") != "#eef1f4"]
    assert [float(r.get("width")) for r in bars] == [150.0, 0.0]
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["办公室", "50%", "第二中学", "0%"]
    line = parse(line_chart(["1", "2", "3"], [("累计办结", [0, 1, None])], label="x"))
    # A gap (None) draws no point; the count axis rounds up to 4 with whole-number steps 0, 1, 2, 3, 4.
    assert len(list(line.iter(f"{SVG}circle"))) == 2
    assert [t.text for t in line.iter(f"{SVG}text")][:5] == ["0", "1", "2", "3", "4"]


def test_names_are_escaped():
    svg = str(bar_chart([('<script>alert("x")</script>', 1.0)], label='a "quoted" <label>'))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert parse(svg).get("aria-label") == 'a "quoted" <label>'


def test_a_phone_narrow_year_labels_every_other_point_and_always_the_last():
    # Twelve months share 314 px: 26 px each, too narrow for "66.7%" side by side.
    values = [float(60 + m) for m in range(1, 13)]
    svg = parse(line_chart([str(m) for m in range(1, 13)], [("按时报送率", values)], label="x", suffix="%",
                           max_value=100, x_unit="横轴：月"))
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    shown = [t for t in texts if t.endswith("%") and t != "按时报送率"]
    # December and every other month back from it: 12, 10, 8, 6, 4, 2 → 72%, 70%, 68%, 66%, 64%, 62%.
    assert shown == ["62%", "64%", "66%", "68%", "70%", "72%"] and "横轴：月" in texts
    # Three months have room: every point keeps its value.
    short = parse(line_chart(["1", "2", "3"], [("按时报送率", [61.0, 62.0, 63.0])], label="x", suffix="%"))
    assert [t.text for t in short.iter(f"{SVG}text") if t.text.endswith("%")] == ["61%", "62%", "63%"]
