"""Dates of China's lunar festivals (春节, 端午, 中秋), 2000–2050, for deadlines such as 春节前 and 中秋前.

One entry per year from 2000, each `MMDD` of 春节, 端午 and 中秋 in that order. Computed from new moons (Meeus) and
the principal solar terms (the month holding 雨水 is the first, 夏至 the fifth, 秋分 the eighth), checked against the
State Council's holiday notices 2004–2026 (chinese_calendar), with 2033–2034 (the leap eleventh month) set by hand.
A table, not a computation: the parser stays pure and fast.
"""

from __future__ import annotations

from datetime import date

_FIRST_YEAR = 2000
_TABLE = (  # 13 characters a year: three MMDD and a blank
    "020506060912 012406251001 021206150921 020106040911 012206220928 020906110918 012905311006 021806190925 "
    "020706080914 012605281003 021406160922 020306060912 012306230930 021006120919 013106020908 021906200927 "
    "020806090915 012805301004 021606180924 020506070913 012506251001 021206140921 020106030910 012206220929 "
    "021006100917 012905311006 021706190925 020606090915 012605281003 021306160922 020306050912 012306241001 "
    "021106120919 013106010908 021906200927 020806100916 012805301004 021506180924 020406070913 012405271002 "
    "021206140920 020106030910 012206220928 021006110917 013005311005 021706190925 020606080915 012605291004 "
    "021406150922 020206040911 012306230930 "
)
_ORDER = {"春节": 0, "端午": 1, "中秋": 2}


def lunar_festival(name: str, year: int) -> date | None:
    """The date of 春节, 端午 or 中秋 in `year` (None outside 2000–2050)."""
    at = 13 * (year - _FIRST_YEAR) + 4 * _ORDER.get(name, 0)
    if year < _FIRST_YEAR or at >= len(_TABLE) or name not in _ORDER:
        return None
    mmdd = _TABLE[at : at + 4]
    return date(year, int(mmdd[:2]), int(mmdd[2:]))
