"""Whole real-style plans (three levels, tables, month calendars, every deadline form, 函 and 通知 wrappers)
against their hand-counted ground truth: every check of the .expected.json beside each document in
tests/plans/corpus must hold."""

from __future__ import annotations

import pytest

from tests.plans.corpus.score import EXPECTED, score


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_document_comes_out_right(name: str) -> None:
    result = score(name, EXPECTED[name])
    assert result.failures == [], f"{name}: {result.passed}/{result.total}"
