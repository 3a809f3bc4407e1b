"""Simplified / traditional characters.

`to_simplified` converts for matching and search (OpenCC t2s, phrase aware); the stored text is
never altered. `shadow` is a character-for-character simplification (same length, same offsets)
that also folds full-width digits and punctuation to ASCII, so the parser can run one set of
patterns over both scripts and map every match back to the text as written.
"""

from __future__ import annotations

import functools
import os
import re

_FULLWIDTH: dict[int, str | int] = {
    **{0xFF10 + i: ord("0") + i for i in range(10)},
    ord("（"): "(",
    ord("）"): ")",
    ord("："): ":",
    ord("，"): ",",
    ord("；"): ";",
    ord("．"): ".",
    ord("％"): "%",
    ord("！"): "!",
    ord("？"): "?",
    ord("﹪"): "%",
    ord("～"): "~",
    ord("－"): "-",
    ord("\u3000"): " ",
    ord("\xa0"): " ",
    ord("【"): "[",
    ord("】"): "]",
    ord("〔"): "[",
    ord("〕"): "]",
    ord("﹙"): "(",
    ord("﹚"): ")",
}


@functools.lru_cache(maxsize=1)
def _t2s_chars() -> dict[int, str]:
    """One-to-one traditional → simplified character map from OpenCC's dictionary."""
    table: dict[int, str] = {}
    try:
        import opencc  # opencc-python-reimplemented
    except ImportError:  # pragma: no cover - dependency missing: degrade to identity
        return table
    path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSCharacters.txt")
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 2:
                    continue
                src, dst = parts[0], parts[1].split(" ")[0]
                if len(src) == 1 and len(dst) == 1 and src != dst:
                    table[ord(src)] = dst
    except OSError:  # pragma: no cover
        pass
    return table


@functools.lru_cache(maxsize=1)
def _shadow_table() -> dict[int, str | int]:
    table: dict[int, str | int] = dict(_t2s_chars())
    table.update(_FULLWIDTH)
    return table


def shadow(text: str) -> str:
    """Same-length simplified, ASCII-punctuated copy of `text` for pattern matching."""
    return text.translate(_shadow_table())


@functools.lru_cache(maxsize=1)
def _converter():
    try:
        import opencc

        return opencc.OpenCC("t2s")
    except Exception:  # pragma: no cover - dependency missing
        return None


def to_simplified(text: str) -> str:
    """Simplified-character form of `text`, for matching and search only."""
    if not text:
        return text
    conv = _converter()
    if conv is None:  # pragma: no cover
        return text.translate(_t2s_chars())
    return conv.convert(text)


def matches_across_scripts(haystack: str, needle: str) -> bool:
    """True when `needle` occurs in `haystack`, whatever script either is written in."""
    return to_simplified(needle) in to_simplified(haystack)


@functools.lru_cache(maxsize=1)
def _traditional_re() -> re.Pattern[str] | None:
    chars = "".join(chr(c) for c in _t2s_chars() if c < 0x10000 and chr(c) not in "\\]^-[")
    return re.compile(f"[{chars}]") if chars else None


_CJK = re.compile("[\u4e00-\u9fff]")


def detect_script(text: str) -> str:
    """"traditional", "simplified" or "mixed", by the share of characters that simplify."""
    cjk = len(_CJK.findall(text))
    pattern = _traditional_re()
    trad = len(pattern.findall(text)) if pattern is not None and cjk else 0
    if cjk == 0 or trad == 0:
        return "simplified"
    share = trad / cjk
    if share > 0.08:
        return "traditional"
    return "mixed" if share > 0.01 else "simplified"
