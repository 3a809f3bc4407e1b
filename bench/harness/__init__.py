"""The harness every benchmark script shares: where results go, the databases, the servers as subprocesses, the
load generators, the measurements and the report helpers. Each script keeps only what it measures."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
