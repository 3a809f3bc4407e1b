"""wrk as the load generator for GET paths: Debian's, installed with apt-get if missing, with a Lua script that
prints its figures (p50/p95/p99 and the errors) as one JSON line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

from bench.harness import RESULTS

LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
    .. '"timeout":%d,"p50":%d,"p95":%d,"p99":%d,"mean":%.1f,"max":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
"""


def ensure_wrk() -> str | None:
    if shutil.which("wrk"):
        return shutil.which("wrk")
    print("wrk is missing: apt-get install -y wrk", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "wrk"]):
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # noqa: S603
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


def wrk(wrk_path: str, url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict:
    """One wrk run against `url`; its figures (latencies in µs)."""
    script = RESULTS / "run-report.lua"
    script.write_text(LUA)
    command = [wrk_path, f"-t{min(2, concurrency)}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=False)  # noqa: S603
    match = re.search(r"WRKJSON (\{.*\})", out.stdout)
    if not match:
        raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
    return json.loads(match.group(1))
