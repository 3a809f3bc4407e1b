"""Matching unit names as written in a table to the bureau's units: exact, fuzzy candidates, or unknown."""

from __future__ import annotations

import difflib

from .model import UnitMatch
from .text import key

_GENERIC = {"科", "室", "处", "股", "中心", "学校", "单位", "部门", "科室", "处室", "股室", "局", "各", "相关", "有关"}
_MIN_RATIO = 0.6


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _abbreviates(short: str, long: str) -> bool:
    """基教科 ↔ 基础教育科, 计财科 ↔ 计划财务科: same first and last character, the rest in order."""
    return (
        len(short) >= 2
        and len(short) < len(long)
        and short[0] == long[0]
        and short[-1] == long[-1]
        and _is_subsequence(short, long)
    )


def _score(name: str, unit: str) -> float:
    """0 (unrelated) to 0.99: containment (办公室 ↔ 局办公室), abbreviation (基教科 ↔ 基础教育科), difflib ratio."""
    if not name or not unit:
        return 0.0
    short, long = sorted((name, unit), key=len)
    score = 0.0
    if short not in _GENERIC and len(short) >= 2 and short in long:
        score = max(score, 0.7 + 0.25 * len(short) / len(long))
    if _abbreviates(short, long):
        score = max(score, 0.6 + 0.3 * len(short) / len(long))
    ratio = difflib.SequenceMatcher(None, name, unit, autojunk=False).ratio()
    if ratio >= _MIN_RATIO:
        score = max(score, ratio)
    return round(min(score, 0.99), 3)


def match_units(names: list[str], units: list[tuple[str, str]]) -> list[UnitMatch]:
    """Match each name (as written in a table) against the bureau's units, given as (id, name).

    exact: equal once spaces, full-width forms and traditional characters are folded (one unit only);
    fuzzy: candidates (id, name, score in 0–1), best first, for a person to confirm; unknown: nothing close.
    """
    keyed = [(uid, uname, key(uname)) for uid, uname in units]
    out: list[UnitMatch] = []
    for name in names:
        k = key(name or "")
        if not k:
            out.append(UnitMatch(name=name, status="unknown"))
            continue
        same = [(uid, uname) for uid, uname, uk in keyed if uk == k]
        if len(same) == 1:
            uid, uname = same[0]
            out.append(UnitMatch(name=name, status="exact", unit_id=uid, candidates=[(uid, uname, 1.0)]))
            continue
        if same:  # two units with the same name: someone must choose
            out.append(UnitMatch(name=name, status="fuzzy", candidates=[(uid, uname, 1.0) for uid, uname in same]))
            continue
        scored = [(uid, uname, _score(k, uk)) for uid, uname, uk in keyed]
        candidates = sorted((c for c in scored if c[2] >= _MIN_RATIO), key=lambda c: (-c[2], c[1]))[:5]
        if candidates:
            out.append(UnitMatch(name=name, status="fuzzy", candidates=candidates))
        else:
            out.append(UnitMatch(name=name, status="unknown"))
    return out
