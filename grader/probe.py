"""Traffic for grading: the requests a lab's observed checks declare, sent once before judging.

Checks are pure functions of a snapshot, so the requests are gathered here, in one place, like
the snapshot itself: each observed check type (grader.checks.observed) turns its parameters into
a `Probe`; this module sends every distinct probe once (bounded in count and time) and records
what came back in a `Traffic` that the snapshot carries (`snapshot.traffic`). The API server is
not involved: requests go to the ingress gateway (or, in the sandbox, through the data plane's
mesh listener as a pod would send them).

Where requests go:
- the sandbox: its data plane's gateway port on loopback (the port `lab sandbox env` exports as
  GATEWAY_URL), found from the sandbox state next to the kubeconfig graded;
- a real cluster: the host of the ingress gateway's Route (`istio-ingressgateway` in the control
  plane namespace, OpenShift), else the ingress Service's load-balancer address.

PromQL probes ask Prometheus instead (its HTTP API, GET /api/v1/query_range): the sandbox's
(PROMETHEUS_URL of `lab sandbox env`), or on a real cluster the one PROMETHEUS_URL names (the
mesh's own sits behind OpenShift's OAuth proxy).
"""

from __future__ import annotations

import http.client
import json
import math
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader import kinds as K
from grader.objects import name_of
from grader.observations import Answer, Observation, Probe, Traffic, not_sent

__all__ = ["Answer", "Destination", "Observation", "Probe", "Traffic", "cluster_destination", "gather", "not_sent",
           "sandbox_destination"]

POD_HEADER = "x-lab-pod"             # the sandbox's apps name the answering pod (grader.sandbox.dataplane)
POD_NS_HEADER = "x-lab-pod-namespace"
# a request Envoy's circuit breaker dropped: 503 with this header and body (envoyproxy.io, HTTP router filter)
OVERLOADED_HEADER = "x-envoy-overloaded"
OVERFLOW_BODY = b"reset reason: overflow"
BUDGET_S = 30.0                      # the whole round of requests stops after this long
INGRESS = "istio-ingressgateway"


# -- where the requests go ----------------------------------------------------------------------
@dataclass(frozen=True)
class Destination:
    """The ingress gateway's address; `mesh_ports` set in the sandbox (requests from pods); the
    Prometheus that PromQL probes ask."""

    scheme: str
    host: str
    port: int
    mesh_ports: dict | None = None
    prometheus: str | None = None      # base URL of a Prometheus to ask (PromQL probes)
    no_prometheus: str = ""            # else why there is none

    @property
    def base(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{self.host}" + ("" if self.port == default else f":{self.port}")


def sandbox_destination(kubeconfig: str | None, api_host: str) -> Destination | None | str:
    """The sandbox's data plane when the API server graded is a sandbox's: the one whose state
    sits next to the kubeconfig, or the user's sandbox (`lab sandbox up`); a string says why its
    data plane cannot be used; None when the cluster is not a sandbox."""
    from grader.sandbox.control_plane import Sandbox
    roots = [Path(kubeconfig).expanduser().resolve().parent] if kubeconfig and os.pathsep not in kubeconfig else []
    for sb in [Sandbox(root=r) for r in roots if (r / "state.json").exists()] + [Sandbox()]:
        if (sb.apiserver_url() or "").rstrip("/") != api_host.rstrip("/"):
            continue
        ports = sb.state().get("ports", {})
        if not sb.pid("dataplane") or "dataplane-gateway" not in ports:
            return ("the sandbox's data plane is not running (flavour without a mesh, or stopped); "
                    "run 'lab sandbox up' to start it")
        prom = f"http://127.0.0.1:{ports['prometheus']}" if sb.pid("prometheus") and "prometheus" in ports else None
        return Destination("http", "127.0.0.1", int(ports["dataplane-gateway"]), dict(ports), prom,
                           "" if prom else "the sandbox's Prometheus is not running (not installed: bash "
                           "grader/sandbox/install-prometheus.sh, then lab sandbox up)")
    return None


NO_CLUSTER_PROMETHEUS = ("no Prometheus to ask: the mesh's own sits behind OpenShift's OAuth proxy; set PROMETHEUS_URL "
                         "to a Prometheus API that answers without a login (e.g. through oc port-forward) to check "
                         "the answer")


def _cluster_prometheus() -> tuple[str | None, str]:
    url = os.environ.get("PROMETHEUS_URL", "").strip()
    return (url, "") if url.startswith(("http://", "https://")) else (None, NO_CLUSTER_PROMETHEUS)


def cluster_destination(snap) -> Destination | str:
    """A real cluster: the ingress gateway's Route host (OpenShift), else its Service's
    load-balancer address; a string says why neither is known."""
    ns = snap.control_plane_namespace
    if K.ROUTE.kind in snap.read_kinds:
        for r in snap.list(K.ROUTE, ns):
            spec = r.get("spec") or {}
            to = (spec.get("to") or {}).get("name")
            if (name_of(r) == INGRESS or to == INGRESS) and isinstance(spec.get("host"), str) and spec["host"]:
                tls = bool(spec.get("tls"))
                return Destination("https" if tls else "http", spec["host"], 443 if tls else 80, None,
                                   *_cluster_prometheus())
    if K.SERVICE.kind in snap.read_kinds:
        svc = snap.get(K.SERVICE, INGRESS, ns)
        for ing in (((svc or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            addr = ing.get("hostname") or ing.get("ip")
            if addr:
                return Destination("http", addr, 80, None, *_cluster_prometheus())
    return (f"no address for the ingress gateway: no Route {ns}/{INGRESS} with a host and no load-balancer "
            f"address on Service {ns}/{INGRESS}")


# -- sending -----------------------------------------------------------------------------------
class _Gateway:
    """One kept-alive connection to the ingress gateway per probe (Envoy balances each request,
    not each connection); reopened after an error or a `Connection: close`."""

    def __init__(self, dest: Destination, timeout: float) -> None:
        self.dest, self.timeout = dest, timeout
        self.conn: http.client.HTTPConnection | None = None

    def _open(self) -> http.client.HTTPConnection:
        if self.conn is None:
            d = self.dest
            if d.scheme == "https":
                # the grader tests routing, not the certificate (OpenShift routers often serve a self-signed one)
                ctx = ssl._create_unverified_context()  # noqa: S323
                self.conn = http.client.HTTPSConnection(d.host, d.port, timeout=self.timeout, context=ctx)
            else:
                self.conn = http.client.HTTPConnection(d.host, d.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def get(self, probe: Probe) -> Answer:
        d = self.dest
        t0 = time.perf_counter()
        conn = self._open()
        try:
            conn.putrequest("GET", probe.path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", probe.host or (d.host if d.port in (80, 443) else f"{d.host}:{d.port}"))
            for k, v in probe.headers:
                conn.putheader(k, v)
            conn.putheader("User-Agent", "lab-grade")
            conn.endheaders()
            r = conn.getresponse()
            body = r.read()
            if r.will_close:
                self.close()
            overflow = r.status == 503 and (r.getheader(OVERLOADED_HEADER, "").lower() == "true"
                                            or body.rstrip().endswith(OVERFLOW_BODY))
            return Answer(r.status, r.getheader(POD_HEADER), r.getheader(POD_NS_HEADER), time.perf_counter() - t0,
                          overflow=overflow)
        except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
            self.close()
            return Answer(0, latency=time.perf_counter() - t0, error="reset")
        except TimeoutError:
            self.close()
            return Answer(0, latency=time.perf_counter() - t0, error="timeout")
        except (OSError, http.client.HTTPException) as e:   # refused, no route, name not resolved
            self.close()
            return Answer(0, latency=time.perf_counter() - t0, error=f"refused ({getattr(e, 'strerror', None) or e})")


def _at_once(dest: Destination, probe: Probe) -> list[Answer]:
    """`count` requests at once, one connection and thread each (bounded by the probe's timeout)."""
    import threading
    answers: list[Answer | None] = [None] * max(1, probe.count)

    def one(i: int) -> None:
        gw = _Gateway(dest, probe.timeout)
        try:
            answers[i] = gw.get(probe)
        finally:
            gw.close()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(answers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(probe.timeout + 5)
    return [a or Answer(0, latency=probe.timeout, error="timeout") for a in answers]


def _from_pod(dest: Destination, probe: Probe) -> Answer:
    from grader.sandbox.dataplane.client import CURL_RESET, CURL_TIMEOUT, CurlError, send
    t0 = time.perf_counter()
    try:
        ans = send(dest.mesh_ports or {}, probe.url or "http://localhost/", probe.source,
                   headers=list(probe.headers), timeout=probe.timeout)
    except CurlError as e:
        error = {CURL_RESET: "reset", CURL_TIMEOUT: "timeout"}.get(e.code, f"refused ({e})")
        return Answer(0, latency=time.perf_counter() - t0, error=error)
    hdrs = {k.lower(): v for k, v in ans.headers}
    return Answer(ans.status, hdrs.get(POD_HEADER), hdrs.get(POD_NS_HEADER), time.perf_counter() - t0)


def query_range(base: str, promql: str, window: float, timeout: float = 5.0,
                end: int | None = None) -> tuple[tuple[tuple[float, float], ...], str]:
    """What `promql` answered over the `window` seconds up to `end` (default: now), one point a
    second where the window allows (Prometheus answers at most 11,000 points a series): the
    (time, value) points of its one series, or () and what Prometheus refused. OSError when it
    cannot be reached."""
    end = math.floor(time.time()) if end is None else end
    step = max(1, math.ceil(window / 11000))
    query = urllib.parse.urlencode({"query": promql, "start": end - int(window), "end": end, "step": step})
    req = urllib.request.Request(f"{base.rstrip('/')}/api/v1/query_range?{query}", headers={"User-Agent": "lab-grade"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:   # noqa: S310 - http(s) only, the user's URL
            body = json.loads(r.read())
    except urllib.error.HTTPError as e:   # 400 a bad query, 422 it failed to run: the answer says why
        try:
            body = json.loads(e.read())
        except ValueError:
            return (), f"Prometheus answered HTTP {e.code}"
    except ValueError:
        return (), "Prometheus did not answer JSON"
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("status") != "success" or not isinstance(data, dict):
        return (), f"Prometheus refused the query: {body.get('error') if isinstance(body, dict) else body}"
    result = data.get("result") or []
    if len(result) > 1:
        labels = ", ".join(f"{k}={v}" for k, v in sorted((result[0].get("metric") or {}).items()))
        return (), (f"the query answers {len(result)} series (e.g. {{{labels}}}), not one number: wrap it in sum(...)")
    values = (result[0].get("values") or []) if result else []
    return tuple((float(t), float(v)) for t, v in values), ""


def _ask_prometheus(dest: Destination, probe: Probe) -> Observation:
    target = f"Prometheus at {dest.prometheus}" if dest.prometheus else "Prometheus"
    if not dest.prometheus:
        return Observation(probe, target, skipped=dest.no_prometheus or "no Prometheus to ask")
    end = math.floor(time.time())
    try:
        samples, error = query_range(dest.prometheus, probe.promql or "", probe.window, probe.timeout, end)
    except (OSError, http.client.HTTPException) as e:   # refused, timed out, name not resolved
        return Observation(probe, target, skipped=f"{target} is unreachable ({getattr(e, 'reason', None) or e})")
    return Observation(probe, target, samples=samples, error=error, until=float(end))


SYNC_S = 10.0


def _sandbox_caught_up(dest: Destination, timeout: float) -> bool:
    """The sandbox's data plane: wait until it has every write made before the grade (what
    `lab sandbox wait` does). On a cluster istiod pushes a change to the proxies within about a
    second; the sandbox's data plane follows the API server's watch just as quickly, but a grade
    run right after a write (`lab solve && lab grade`) would otherwise race it."""
    from grader.sandbox.dataplane.client import wait
    port = (dest.mesh_ports or {}).get("dataplane-admin")
    return bool(port) and wait(int(port), timeout)


def gather(probes: Iterable[Probe], dest: Destination | str | None, budget: float = BUDGET_S) -> Traffic:
    """Send every distinct probe once and record the answers. `dest` a string: why the gateway
    cannot be reached (every probe SKIPs with it). A gateway that refuses the first request
    (nothing listening, name not resolved) makes the remaining gateway probes SKIP too."""
    unique = list(dict.fromkeys(probes))
    if isinstance(dest, str) or dest is None:
        return Traffic(skipped=dest or "no gateway to send requests to")
    out = Traffic(where=dest.base)
    deadline = time.monotonic() + budget
    if dest.mesh_ports and any(p.promql is None for p in unique):
        _sandbox_caught_up(dest, min(SYNC_S, budget / 3))
    unreachable = ""
    for probe in unique:
        if probe.promql is not None:   # a question to Prometheus, not a request to the mesh (not counted)
            out.observations[probe] = _ask_prometheus(dest, probe)
            continue
        mesh = probe.source is not None
        target = (f"{probe.url} from {probe.source}" if mesh else
                  f"{dest.base}{probe.path}" + (f" (Host: {probe.host})" if probe.host else ""))
        if mesh and dest.mesh_ports is None:
            out.observations[probe] = Observation(probe, target, skipped=(
                "requests from a pod are sent only in the sandbox (its data plane's mesh listener); on a cluster "
                f"run curl in that pod: oc exec deploy/{probe.source.split('/')[-1]} -n "
                f"{probe.source.split('/')[0]} -- curl -sv {probe.url}"))
            continue
        if unreachable and not mesh:
            out.observations[probe] = Observation(probe, target, skipped=unreachable)
            continue
        answers: list[Answer] = []
        gw = _Gateway(dest, probe.timeout)
        if probe.parallel and not mesh:
            answers = _at_once(dest, probe)
            out.sent += len(answers)
            out.observations[probe] = Observation(probe, target, tuple(answers))
            continue
        try:
            for _ in range(max(1, probe.count)):
                if time.monotonic() > deadline:
                    break
                a = _from_pod(dest, probe) if mesh else gw.get(probe)
                out.sent += 1
                answers.append(a)
                if not mesh and not answers[1:] and a.error.startswith("refused"):
                    unreachable = f"the ingress gateway at {dest.base} is unreachable ({a.error}); no traffic checked"
                    break
        finally:
            gw.close()
        if unreachable and not mesh:
            out.observations[probe] = Observation(probe, target, skipped=unreachable)
        elif len(answers) < probe.count:
            out.observations[probe] = Observation(probe, target, tuple(answers), skipped=(
                f"grading's traffic budget of {budget:g} s ran out after {len(answers)} of {probe.count} requests"))
        else:
            out.observations[probe] = Observation(probe, target, tuple(answers))
    return out
