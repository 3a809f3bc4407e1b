"""Owners that are not one unit (各县区, 相关乡镇, 各学校, 局属各单位): kept as written on the item and listed apart so
the admin can map them to the units they stand for."""

from __future__ import annotations

import re

from .script import shadow

_COLLECTIVE = re.compile(
    r"^(?:各|相关|有关|所属|局属|局直属|直属|全体|所有|全[市区县])"
    r"|各(?:级|类|县|区|市|乡|镇|街道|学校|中小学|校|园|幼儿园|单位|部门|科室|处室|股室|学段)"
)


def is_collective(name: str) -> bool:
    """Whether an owner as written names a set of units (各学校) rather than one (基教科)."""
    return bool(_COLLECTIVE.search(shadow(name)))
