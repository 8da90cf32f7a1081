"""What requests to the mesh answered: the data grader.probe records and observed checks judge.

Pure data, no I/O: a `Probe` (the requests a check wants sent), an `Answer` per request, an
`Observation` per probe, and the `Traffic` of one grading round that the snapshot carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Probe:
    """Requests one check wants sent: `count` GETs of `path` with these headers, each given up
    after `timeout` seconds. With `source` (NS/POD or NS/DEPLOYMENT) the request is sent from
    inside the mesh to `url` as that pod would send it (the sandbox only); else through the
    ingress gateway with Host `host` (default: the gateway's own address). `parallel`: the
    requests go out at once, each on its own connection (a delay is then waited once). With
    `promql`, nothing is sent to the mesh: Prometheus is asked what the query answered over the
    last `window` seconds."""

    path: str = "/"
    host: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    count: int = 1
    timeout: float = 5.0
    source: str | None = None
    url: str | None = None
    parallel: bool = False      # send the `count` requests at once (slow answers: a delay of seconds)
    promql: str | None = None   # not a request to the mesh: this PromQL asked of Prometheus over the last
    window: float = 0.0         # `window` seconds (query_range), what its answers were


@dataclass(frozen=True)
class Answer:
    """One request's outcome: the HTTP status (0 when none came back), the pod that answered
    (from x-lab-pod, when the app names itself), seconds taken, and the transport error if any:
    `reset` (connection reset, as Envoy does for plaintext under STRICT), `refused`, `timeout`.
    `overflow`: a 503 the proxy's circuit breaker answered (Envoy's x-envoy-overloaded header, or
    its body "... reset reason: overflow")."""

    status: int
    pod: str | None = None
    pod_namespace: str | None = None
    latency: float = 0.0
    error: str = ""
    overflow: bool = False


@dataclass(frozen=True)
class Observation:
    probe: Probe
    target: str                        # what was requested, as the reasons show it
    answers: tuple[Answer, ...] = ()
    skipped: str = ""                  # why nothing was sent (the check is then SKIP)
    samples: tuple[tuple[float, float], ...] = ()   # a PromQL probe: (unix time, value), one a second
    error: str = ""                    # a PromQL probe: what Prometheus refused (a bad query, several series)
    until: float = 0.0                 # a PromQL probe: the end of the window asked about (unix time)


@dataclass
class Traffic:
    """Every observation of one grading round, and how many requests it took."""

    where: str = ""                    # the gateway's address, e.g. http://127.0.0.1:40123
    skipped: str = ""                  # set when no request was sent at all (--no-traffic, offline)
    observations: dict[Probe, Observation] = field(default_factory=dict)
    sent: int = 0

    def observed(self, probe: Probe) -> Observation:
        if self.skipped:
            return Observation(probe, "", skipped=self.skipped)
        return self.observations.get(probe) or Observation(probe, "", skipped="this probe was not sent (grader bug)")


def not_sent(reason: str) -> Traffic:
    return Traffic(skipped=reason)
