"""Istio's standard metrics, kept in memory and served in Prometheus' text format.

istio_requests_total (counter) and istio_request_duration_milliseconds (histogram) with the
standard labels and Istio's default buckets (istio.io/latest/docs/reference/config/metrics/).
"""

from __future__ import annotations

import bisect
import threading

LABELS = ("reporter", "source_workload", "source_workload_namespace", "source_principal", "source_app",
          "source_version", "source_canonical_service", "source_canonical_revision", "source_cluster",
          "destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
          "destination_version", "destination_service", "destination_service_name",
          "destination_service_namespace", "destination_canonical_service", "destination_canonical_revision",
          "destination_cluster", "request_protocol", "response_code", "grpc_response_status", "response_flags",
          "connection_security_policy")
BUCKETS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
           1800000, 3600000)


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple, int] = {}
        self.hist: dict[tuple, list] = {}   # labels -> [bucket counts..., sum, count]

    def record(self, labels: tuple, ms: float) -> None:
        self.requests[labels] = self.requests.get(labels, 0) + 1
        h = self.hist.get(labels)
        if h is None:
            h = self.hist[labels] = [0] * (len(BUCKETS) + 2)
        i = bisect.bisect_left(BUCKETS, ms)
        if i < len(BUCKETS):
            h[i] += 1
        h[-2] += ms
        h[-1] += 1

    def render(self) -> bytes:
        out = ["# HELP istio_requests_total Requests seen by the mesh's proxies (lab sandbox data plane).",
               "# TYPE istio_requests_total counter"]
        for labels, n in list(self.requests.items()):
            out.append(f"istio_requests_total{{{self._fmt(labels)}}} {n}")
        out += ["# HELP istio_request_duration_milliseconds Request duration (lab sandbox data plane).",
                "# TYPE istio_request_duration_milliseconds histogram"]
        for labels, h in list(self.hist.items()):
            lab = self._fmt(labels)
            acc = 0
            for b, c in zip(BUCKETS, h, strict=False):
                acc += c
                out.append(f'istio_request_duration_milliseconds_bucket{{{lab},le="{b}"}} {acc}')
            out.append(f'istio_request_duration_milliseconds_bucket{{{lab},le="+Inf"}} {h[-1]}')
            out.append(f"istio_request_duration_milliseconds_sum{{{lab}}} {h[-2]:.3f}")
            out.append(f"istio_request_duration_milliseconds_count{{{lab}}} {h[-1]}")
        return ("\n".join(out) + "\n").encode()

    @staticmethod
    def _fmt(labels: tuple) -> str:
        return ",".join(f'{k}="{_esc(str(v))}"' for k, v in zip(LABELS, labels, strict=False))
