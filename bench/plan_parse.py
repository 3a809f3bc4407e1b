"""Benchmark of the plan parser: parse time per document and documents per second.

    .venv/bin/python bench/plan_parse.py [FILE_OR_DIR ...] [--repeat N]

Without arguments it parses the sample plans (tests/plans/samples), the test
documents under tests/plans/documents and the corpus (tests/plans/corpus), then a generated 300 KB HTML page
holding a 100-row task table (budget: 500 ms). Each document is decoded and parsed `--repeat` times (after one
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


def table_page(rows: int = 100, size: int = 300 * 1024) -> bytes:
    """A government web page of about `size` bytes: chrome, a script, an intro and a task table of `rows` rows
    with merged 项目 cells and long 具体内容 cells."""
    measure = "组织各学校对照标准逐项自查，建立问题清单和整改台账，实行销号管理，确保按期完成整改任务并形成长效机制。"
    cells = max(1, (size - 20 * 1024) // rows // len(measure.encode()) - 1)
    body = []
    for n in range(1, rows + 1):
        project = f'<td rowspan="5">重点项目{n // 5 + 1}</td>' if n % 5 == 1 else ""
        body.append(f"<tr><td>{n}</td>{project}<td>推进第{n}项重点工作，完成学校建设{n}所</td>"
                    f"<td>{measure * cells}</td><td>2024年{n % 12 + 1}月底前</td><td>基础教育科</td>"
                    f"<td>计划财务科、安全管理科</td></tr>")
    head = ("<tr><th>序号</th><th>项目</th><th>任务</th><th>具体内容</th><th>完成时间</th><th>负责处室</th>"
            "<th>配合处室</th></tr>")
    chrome = "".join(f'<li><a href="/c/{i}">栏目{i}</a></li>' for i in range(200))
    page = (f"<html><head><title>某市教育局2024年重点工作任务清单</title><script>{'var a=1;' * 500}</script></head>"
            f"<body><ul>{chrome}</ul><h1>某市教育局2024年重点工作任务清单</h1><p>现将任务清单公布如下。</p>"
            f"<table>{head}{''.join(body)}</table><p>某市教育局</p><p>2024年2月1日</p></body></html>")
    return page.encode()


def _default_paths() -> list[Path]:
    paths: list[Path] = []
    for folder in (ROOT / "tests" / "plans" / "samples",
                   ROOT / "tests" / "plans" / "documents",
                   ROOT / "tests" / "plans" / "corpus"):
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
    blobs = [(p.name, p.read_bytes()) for p in paths]
    if not args.paths:
        blobs.append(("generated 100-row table page.html", table_page()))
    for name, data in blobs:  # warm-up: imports, OpenCC tables, compiled patterns
        parse_file(data, name)
    print(f"{'document':<34} {'KB':>6} {'items':>5} {'median ms':>10} {'best ms':>8}")
    total_runs = 0
    total_time = 0.0
    for name, data in blobs:
        times = []
        plan = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            plan = parse_file(data, name)
            times.append(time.perf_counter() - t0)
        total_runs += len(times)
        total_time += sum(times)
        n_items = len(plan.items) if plan else 0
        print(f"{name[:34]:<34} {len(data) / 1024:6.1f} {n_items:5d} {statistics.median(times) * 1000:10.2f} "
              f"{min(times) * 1000:8.2f}")
    print(f"\n{len(blobs)} documents, {total_runs} parses in {total_time:.2f} s: "
          f"{total_runs / total_time:.1f} documents/second, mean {total_time / total_runs * 1000:.2f} ms per document")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
