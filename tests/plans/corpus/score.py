"""The checks a real plan is judged by, counted over the corpus of test documents in this folder.

`<document>.expected.json` beside each document holds hand-counted ground truth: title, year, issuer, and per
section its label, title, number of items and first and last item titles; `deadlines` (due dates), `targets`
((value, unit) pairs that must be among the item's targets) and `leads` (lead owners, in order) are keyed by the
item's title or by its position in the document ("#3" is the third item). `groups` (the item's group title) and
`sources` (`text`, `table`, `calendar`) are keyed the same way. Each fact is one check; `score` says which
failed.

Run `python -m tests.plans.corpus.score [NAME…]` to print every document's score and what failed.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.plans.parser import parse_file, parse_to_dict

HERE = Path(__file__).parent
EXPECTED: dict[str, dict[str, Any]] = {
    p.name.removesuffix(".expected.json"): json.loads(p.read_text("utf-8"))
    for p in sorted(HERE.glob("*.expected.json"))
}


@dataclass
class Score:
    passed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.passed + len(self.failures)

    def check(self, what: str, got: Any, want: Any) -> None:
        if got == want:
            self.passed += 1
        else:
            self.failures.append(f"{what}: got {got!r}, want {want!r}")


def _norm(text: str | None) -> str | None:
    return None if text is None else re.sub(r"\s+", "", text).rstrip("。.")


def _find(items: list[dict], key: str) -> dict | None:
    if key.startswith("#"):
        n = int(key[1:])
        return items[n - 1] if 0 < n <= len(items) else None
    return next((i for i in items if _norm(i["title"]) == _norm(key)), None)


def parse(name: str) -> dict[str, Any]:
    return parse_to_dict(parse_file((HERE / name).read_bytes(), name))


def score(name: str, want: dict[str, Any], got: dict[str, Any] | None = None) -> Score:
    got = parse(name) if got is None else got
    s = Score()
    for key in ("title", "issuer"):
        if key in want:
            s.check(key, _norm(got[key]), _norm(want[key]))
    s.check("year", got["year"], want["year"])
    sections = got["sections"]
    s.check("sections", len(sections), len(want["sections"]))
    for n, (ws, gs) in enumerate(zip(want["sections"], sections + [None] * len(want["sections"]), strict=False), 1):
        items = gs["items"] if gs else []
        s.check(f"section {n} title", _norm(gs["title"]) if gs else None, _norm(ws["title"]))
        s.check(f"section {n} items", len(items), ws["items"])
        s.check(f"section {n} first item", _norm(items[0]["title"]) if items else None, _norm(ws["first"]))
        s.check(f"section {n} last item", _norm(items[-1]["title"]) if items else None, _norm(ws["last"]))
    items = [i for sec in sections for i in sec["items"]]
    for key, due in want.get("deadlines", {}).items():
        item = _find(items, key)
        s.check(f"due of {key}", item and item["due"], due)
    for key, pairs in want.get("targets", {}).items():
        item = _find(items, key)
        found = {(t["value"], t["unit"]) for t in item["targets"]} if item else set()
        for value, unit in pairs:
            s.check(f"target {value}{unit} of {key}", (value, unit) in found, True)
    for key, leads in want.get("leads", {}).items():
        item = _find(items, key)
        s.check(f"lead of {key}", item and item["owners"]["lead"], leads)
    for key, group in want.get("groups", {}).items():
        item = _find(items, key)
        s.check(f"group of {key}", _norm(item["group"]["title"]) if item and item["group"] else None, _norm(group))
    for key, source in want.get("sources", {}).items():
        item = _find(items, key)
        s.check(f"source of {key}", item and item["source"], source)
    return s


def main(names: list[str]) -> int:
    passed = total = 0
    for name in names or sorted(EXPECTED):
        s = score(name, EXPECTED[name])
        passed, total = passed + s.passed, total + s.total
        print(f"{name}: {s.passed}/{s.total}")
        for failure in s.failures:
            print(f"    {failure}")
    print(f"all: {passed}/{total} = {passed / max(total, 1):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
