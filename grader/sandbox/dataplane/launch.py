"""How `lab sandbox up` starts the data plane and Prometheus (command lines, config, readiness)."""

from __future__ import annotations

import shutil
import sys
import urllib.request
from pathlib import Path

SCRAPE_INTERVAL = "2s"


def prometheus_binary() -> str | None:
    """Debian's prometheus (grader/sandbox/install-prometheus.sh), or any prometheus on PATH."""
    return shutil.which("prometheus")


def prometheus_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def prometheus_config(admin_port: int) -> str:
    return ("# Written by `lab sandbox up`: Prometheus scrapes the sandbox data plane's Istio metrics.\n"
            f"global:\n  scrape_interval: {SCRAPE_INTERVAL}\n  evaluation_interval: 15s\n"
            "scrape_configs:\n- job_name: lab-sandbox-dataplane\n  metrics_path: /metrics\n"
            f"  static_configs:\n  - targets: ['127.0.0.1:{admin_port}']\n")


def argv(root: Path, ports: dict) -> dict[str, list[str]]:
    out = {"dataplane": [sys.executable, "-m", "grader.sandbox.dataplane", f"--state-dir={root}",
                         f"--gateway-port={ports['dataplane-gateway']}", f"--mesh-port={ports['dataplane-mesh']}",
                         f"--pods-port={ports['dataplane-pods']}", f"--admin-port={ports['dataplane-admin']}"]}
    prom = prometheus_binary()
    if prom:
        d = root / "prometheus"
        (d / "data").mkdir(parents=True, exist_ok=True)
        (d / "prometheus.yml").write_text(prometheus_config(ports["dataplane-admin"]))
        out["prometheus"] = [prom, f"--config.file={d / 'prometheus.yml'}", f"--storage.tsdb.path={d / 'data'}",
                             f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                             "--storage.tsdb.retention.time=2d", "--log.level=warn"]
    return out
