"""Measures enumerated inside an item: 一是…二是…, (1)…(2)…, ①…②…, 第一，…第二，…, or line-start 1. 2. ."""

from __future__ import annotations

import re

from .lines import circled_value, cn_to_int
from .model import Measure

_B = r"(?:(?<=^)|(?<=[。;:,、\s)\]”\"]))"  # a measure label follows punctuation or starts a line
_STYLES: dict[str, re.Pattern[str]] = {
    "shi": re.compile(_B + r"(?P<n>[一二三四五六七八九十]{1,3})(?P<w>是|要|抓)", re.M),
    "par": re.compile(_B + r"\(\s*(?P<n>\d{1,2})\s*\)", re.M),
    "circ": re.compile(_B + "(?P<n>[\u2460-\u2473])", re.M),
    "pcn": re.compile(_B + r"\(\s*(?P<n>[一二三四五六七八九十]{1,3})\s*\)", re.M),
    "ord": re.compile(_B + r"第(?P<n>[一二三四五六七八九十]{1,3})\s*[,、:]", re.M),
    "ar": re.compile(r"^\s*(?P<n>\d{1,2})\s*[.、](?!\d)", re.M),
    "cn": re.compile(r"^\s*(?P<n>[一二三四五六七八九十]{1,3})\s*、", re.M),
}


def _value(style: str, m: re.Match[str]) -> int | None:
    n = m.group("n")
    if style == "circ":
        return circled_value(n)
    return cn_to_int(n)


def find_measures(sh: str, raw: str, exclude: tuple[str, ...] = ()) -> list[Measure]:
    """The longest numbered run starting at 1 (at least two members) of any one style."""
    best: list[tuple[int, int, str]] = []  # (label start, content start, label)
    for style, pattern in _STYLES.items():
        if style in exclude:
            continue
        run: list[tuple[int, int, str]] = []
        expect = 1
        for m in pattern.finditer(sh):
            v = _value(style, m)
            if v == expect:
                run.append((m.start(), m.end(), raw[m.start(): m.end()].strip()))
                expect += 1
        if len(run) >= 2 and (len(run) > len(best) or (len(run) == len(best) and run[0][0] < best[0][0])):
            best = run
    measures: list[Measure] = []
    for i, (_, content_start, label) in enumerate(best):
        end = best[i + 1][0] if i + 1 < len(best) else len(sh)
        line_end = sh.find("\n", content_start)
        if i + 1 == len(best) and line_end != -1:
            end = line_end
        text = raw[content_start:end].strip().lstrip("、.,，:：．").rstrip(";；,，、").strip()
        label = re.sub(r"^[(（\s]+|[)）、.,，:：．\s]+$", "", label) or label
        measures.append(Measure(label, text))
    return measures
