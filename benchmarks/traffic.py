#!/usr/bin/env python3
"""Traffic through the sandbox, in one solved-canary sandbox of its own (flavour istio):

- the data plane (benchmarks/dataplane.py): requests/s and p50/p99 through the ingress gateway
  against the same backends called directly, 64 keep-alive connections, in one run (as fast as
  it answers, then a fixed 2,000/s); its memory with 100 and 2,000 more pods;
- grading with traffic: the traffic checks' requests as grader.probe sends them (100 and 1,000,
  one kept-alive connection, one after the other) and `lab grade canary` with and without
  traffic (median of 5 runs).

The machine's load average is recorded before and after: the numbers depend on what else runs.

    python benchmarks/traffic.py        # prints JSON and the tables; `make bench` runs it too
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from grader.observations import Probe  # noqa: E402
from grader.probe import gather, sandbox_destination  # noqa: E402
from grader.sandbox.control_plane import Sandbox  # noqa: E402


def measure(sb: Sandbox, env: dict, runs: int = 5) -> dict:
    dest = sandbox_destination(str(sb.kubeconfig), sb.apiserver_url() or "")
    assert not isinstance(dest, str) and dest is not None, dest
    out: dict = {}
    for n in (100, 1000):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            traffic = gather([Probe(count=n)], dest)
            times.append(time.perf_counter() - t0)
            assert traffic.sent == n
        out[f"requests_{n}_s"] = round(statistics.median(times), 3)
    lab = [sys.executable, "-m", "grader", "grade", "canary", "-o", "json"]
    for name, extra in (("grade_with_traffic_s", []), ("grade_no_traffic_s", ["--no-traffic"])):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(lab + extra, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        out[name] = round(statistics.median(times), 3)
    return out


def render(r: dict) -> list[str]:
    g = r["grading"]
    return ["", "Grading with traffic (median of 5 runs):", "", "| measure | seconds |", "|---|---|",
            f"| 100 requests as `lab grade` sends them | {g['requests_100_s']} |",
            f"| 1,000 requests | {g['requests_1000_s']} |",
            f"| `lab grade canary -o json` (1,000 requests) | {g['grade_with_traffic_s']} |",
            f"| `lab grade canary -o json --no-traffic` | {g['grade_no_traffic_s']} |"]


def main() -> int:
    from dataplane import measure as dataplane_measure
    from dataplane import render as dataplane_render
    from dataplane import solved_canary
    r: dict = {"cpus": os.cpu_count(), "load_before": [round(x, 2) for x in os.getloadavg()]}
    with solved_canary("lab-traffic-bench-") as (sb, env):
        r["dataplane"] = dataplane_measure(sb, env)
        r["grading"] = measure(sb, env)
    r["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(r, indent=2))
    print(f"\nMachine: {r['cpus']} cores; load average (1, 5, 15 min) before {r['load_before']}, "
          f"after {r['load_after']}")
    print("\n".join(dataplane_render(r["dataplane"]) + render(r)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
