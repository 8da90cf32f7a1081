#!/usr/bin/env python3
"""Grading with traffic: how long the traffic checks' requests take through the sandbox gateway
(100 and 1,000 requests as grader.probe sends them: one kept-alive connection, one after the
other), and `lab grade canary` with and without traffic (median of 5 runs).

    python benchmarks/traffic.py        # starts its own sandbox (flavour istio), prints JSON and a table
"""

from __future__ import annotations

import json
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


def main() -> int:
    from dataplane import solved_canary  # the same solved-canary sandbox as the data plane's benchmark
    with solved_canary("lab-traffic-bench-") as (sb, env):
        r = measure(sb, env)
    print(json.dumps(r, indent=2))
    return 0

if __name__ == "__main__":
    sys.exit(main())
