"""Server-side SVG charts: no JavaScript library, readable on a phone, printable into a PDF.

Each chart scales to its container (a viewBox, width 100%), says what it shows to a screen reader (role="img",
an aria-label and a <title>), and is meant to sit beside a table of the same numbers, which is the accessible
and exact form. Text is drawn in a CJK font so WeasyPrint embeds nothing else.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
INK, MUTED, GRID = "#1f2328", "#57606a", "#d0d7de"
PALETTE = ("#9e1b14", "#0b57d0", "#1a7f37", "#7d4e00")
LIGHT_COLOURS = {"green": "#1a7f37", "yellow": "#d4a72c", "red": "#b3261e"}


@dataclass(frozen=True)
class Segment:
    label: str
    value: float
    colour: str


# The room a point's value needs ("66.7%" at 12 px); closer points are labelled every other one.
VALUE_LABEL_WIDTH = 36


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _open(width: int, height: int, label: str, css_class: str) -> str:
    label = escape(label)
    return (f'<svg class="chart {css_class}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{label}" '
            f'font-family="{escape(FONT)}" font-size="13"><title>{label}</title>')


def _text(x: float, y: float, value: str, *, anchor: str = "start", fill: str = INK, size: int = 13,
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" font-size="{size}" '
            f'font-weight="{weight}">{escape(value)}</text>')


def bar_chart(rows: Sequence[tuple[str, float | None]], *, label: str, suffix: str = "",
              max_value: float | None = None) -> Markup:
    """Horizontal bars, one per row (a long unit name gets its own line above its bar, so 390 px is enough)."""
    width, bar_h, gap = 360, 14, 38
    top = 8
    height = top + gap * max(len(rows), 1) + 4
    peak = max_value if max_value is not None else max([v or 0 for _n, v in rows] + [1])
    track = width - 60
    parts = [_open(width, height, label, "bar-chart")]
    if not rows:
        parts.append(_text(0, top + 14, "—", fill=MUTED))
    for index, (name, value) in enumerate(rows):
        y = top + index * gap
        parts.append(_text(0, y + 12, name[:24], size=14))
        length = 0 if not value or peak <= 0 else max(1.0, track * min(value, peak) / peak)
        parts.append(f'<rect x="0" y="{y + 18}" width="{track}" height="{bar_h}" fill="#eef1f4" rx="2"/>')
        parts.append(f'<rect x="0" y="{y + 18}" width="{length:.1f}" height="{bar_h}" fill="{PALETTE[0]}" rx="2"/>')
        parts.append(_text(track + 6, y + 30, _number(value) + (suffix if value is not None else ""), size=13))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — every text in it went through escape()


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *, label: str,
               suffix: str = "", max_value: float | None = None, x_unit: str = "") -> Markup:
    """Lines over the same x labels (months), with a point at each and its value where there is room (every
    point on a short line; every other one, and the last, on a phone-narrow year); a None leaves a gap."""
    width, height = 360, 200
    axis, right, top, bottom = 34, 12, 26, 24
    left: float = axis
    values = [v for _name, points in series for v in points if v is not None]
    # Counts get whole-number grid lines: the peak is rounded up to a multiple of the four grid steps.
    peak = max_value if max_value is not None else 4 * math.ceil(max(values + [4]) / 4)
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(labels), 1)  # each label in the middle of its own slot, clear of the y axis
    left += step / 2
    parts = [_open(width, height, label, "line-chart")]
    for tick in range(5):
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{axis}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}" '
                     'stroke-width="1"/>')
        parts.append(_text(axis - 4, y + 4, f"{peak * tick / 4:g}", anchor="end", fill=MUTED, size=11))
    for index, name in enumerate(labels):
        parts.append(_text(left + step * index, height - 6, name, anchor="middle", fill=MUTED, size=12))
    for number, (name, points) in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        coords = [(left + step * i, top + plot_h - plot_h * min(v, peak) / peak if peak else top + plot_h, v)
                  for i, v in enumerate(points) if v is not None]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _v in coords)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        every = 1 if step >= VALUE_LABEL_WIDTH else 2
        for i, (x, y, v) in enumerate(coords):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
            if (len(coords) - 1 - i) % every == 0:
                parts.append(_text(x, y - 7, _number(v) + suffix, anchor="middle", fill=colour, size=12))
        parts.append(f'<rect x="{axis + 110 * number}" y="4" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(axis + 110 * number + 16, 14, name, size=13))
    if x_unit:
        parts.append(_text(width - right, 14, x_unit, anchor="end", fill=MUTED, size=11))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — every text in it went through escape()


def stacked_bar(segments: Sequence[Segment], *, label: str) -> Markup:
    """One bar split by share (e.g. green / yellow / red lights), with a legend of labels and counts under it."""
    width, height, bar_h = 360, 64, 26
    total = sum(s.value for s in segments)
    parts = [_open(width, height, label, "stacked-bar")]
    x = 0.0
    if total <= 0:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{bar_h}" fill="#eef1f4" rx="3"/>')
    for segment in segments:
        if total > 0 and segment.value > 0:
            length = width * segment.value / total
            parts.append(f'<rect x="{x:.1f}" y="0" width="{length:.1f}" height="{bar_h}" fill="{segment.colour}"/>')
            x += length
    for index, segment in enumerate(segments):
        lx = index * (width / max(len(segments), 1))
        parts.append(f'<rect x="{lx:.1f}" y="{bar_h + 14}" width="12" height="12" fill="{segment.colour}"/>')
        parts.append(_text(lx + 16, bar_h + 25, f"{segment.label} {_number(segment.value)}", size=14))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — every text in it went through escape()
