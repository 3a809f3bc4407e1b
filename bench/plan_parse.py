"""Benchmark of the plan parser: parse time per document and documents per second.

    .venv/bin/python bench/plan_parse.py [FILE_OR_DIR ...] [--repeat N]

Without arguments it parses the sample plans (tests/plans/samples) and the test
documents under tests/plans/documents. Each document is decoded and parsed `--repeat` times (after one
warm-up run); the median and best times are printed, then the throughput over all documents.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.plans.parser import parse_file  # noqa: E402

SUFFIXES = {".txt", ".docx", ".pdf", ".html", ".htm"}


def _default_paths() -> list[Path]:
    paths: list[Path] = []
    for folder in (ROOT / "tests" / "plans" / "samples",
                   ROOT / "tests" / "plans" / "documents"):
        if folder.is_dir():
            paths += sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    return paths


def _expand(args: list[str]) -> list[Path]:
    out: list[Path] = []
    for a in args:
        p = Path(a)
        out += sorted(q for q in p.iterdir() if q.suffix.lower() in SUFFIXES) if p.is_dir() else [p]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    paths = _expand(args.paths) if args.paths else _default_paths()
    if not paths:
        print("no documents found", file=sys.stderr)
        return 1
    blobs = [(p, p.read_bytes()) for p in paths]
    for p, data in blobs:  # warm-up: imports, OpenCC tables, compiled patterns
        parse_file(data, p.name)
    print(f"{'document':<34} {'KB':>6} {'items':>5} {'median ms':>10} {'best ms':>8}")
    total_runs = 0
    total_time = 0.0
    for p, data in blobs:
        times = []
        plan = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            plan = parse_file(data, p.name)
            times.append(time.perf_counter() - t0)
        total_runs += len(times)
        total_time += sum(times)
        n_items = len(plan.items) if plan else 0
        print(f"{p.name[:34]:<34} {len(data) / 1024:6.1f} {n_items:5d} {statistics.median(times) * 1000:10.2f} "
              f"{min(times) * 1000:8.2f}")
    print(f"\n{len(blobs)} documents, {total_runs} parses in {total_time:.2f} s: "
          f"{total_runs / total_time:.1f} documents/second, mean {total_time / total_runs * 1000:.2f} ms per document")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
