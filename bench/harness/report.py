"""Helpers for the printed tables and the JSON results: number formats, CJK-aware padding, means and slopes, and
a summary of a server's JSON log."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def pad(text: str, width: int) -> str:
    """Left-justifies to a display width: a CJK character takes two columns."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB), in MB per minute."""
    if len(points) < 3:
        return None
    mx = statistics.fmean(p[0] for p in points)
    my = statistics.fmean(p[1] for p in points)
    var = sum((x - mx) ** 2 for x, _y in points)
    return round(60 * sum((x - mx) * (y - my) for x, y in points) / var, 2) if var else None


def log_summary(path: Path) -> dict:
    """ERROR / CRITICAL / WARNING lines of a JSON log (and any raw traceback lines), by message."""
    levels: Counter = Counter()
    messages: Counter = Counter()
    tracebacks = 0
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("Traceback"):
                tracebacks += 1
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            level = entry.get("level", "")
            levels[level] += 1
            if level in ("ERROR", "CRITICAL", "WARNING"):
                messages[f"{level} {entry.get('logger', '')}: {str(entry.get('message', ''))[:160]}"] += 1
    return {"lines_by_level": dict(levels), "raw_tracebacks": tracebacks,
            "messages": [{"message": m, "count": n} for m, n in messages.most_common(20)]}
