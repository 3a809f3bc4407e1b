"""Cell values as text and the comparison form of names (full-width, traditional and spacing folded)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from ..parsing.script import to_simplified


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def key(text: str) -> str:
    """Comparison form: NFKC (full-width → ASCII), simplified characters, no whitespace."""
    return re.sub(r"\s+", "", to_simplified(nfkc(text)))


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("_x000D_", "")
    text = text.replace("\xa0", " ").replace("\u200b", "").replace("\ufeff", "")
    return "\n".join(line.strip() for line in text.strip().split("\n")).strip()
