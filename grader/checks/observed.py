"""Observed check types: what came back from real requests (grader.probe), not the configuration.

Each check type here declares the requests it needs as a `Probe` built from its own parameters
(`probe_for`); grading sends every lab's probes once before judging (grader.probe.gather) and
these checks judge the recorded answers, pure functions of the snapshot like every check.

Which version answered: the answering pod's `version` label (or another label), found in the
snapshot by the pod name the response carries in `x-lab-pod`. The sandbox's apps always name
themselves; on a real cluster an app names itself only if it sets that header, so a split that
cannot be attributed to pods is SKIPped with that reason (the configuration check still judges
the weights).

No traffic (offline grading, `--no-traffic`, an unreachable gateway): every observed check is
SKIP with the reason, and grading leaves its points out of the total (grader.grading).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from grader import kinds as K
from grader.checks.framework import bad_param, check, cli_name, int_param, str_params
from grader.mesh.durations import parse_duration
from grader.mesh.workloads import pod_ready
from grader.model import Outcome, failed, passed, skipped
from grader.objects import name_of, ref
from grader.observations import Answer, Observation, Probe
from grader.snapshot import Snapshot, labels_of
from grader.text import format_labels, short

CONFIDENCE = 0.99
PROBES: dict[str, Callable[..., Probe]] = {}
READS = (K.POD,)
NEEDS = (K.POD,)


def observes(name: str) -> Callable[[Callable[..., Probe]], Callable[..., Probe]]:
    """Register the probe builder of check type `name`: params -> the requests it needs."""
    def deco(fn: Callable[..., Probe]) -> Callable[..., Probe]:
        PROBES[name] = fn
        return fn
    return deco


def probe_for(check_name: str, params: dict) -> Probe | None:
    """The requests a check of this type with these params needs (None: not an observed check)."""
    fn = PROBES.get(check_name)
    if fn is None:
        return None
    try:
        return fn(**params)
    except (TypeError, ValueError):
        return None   # a bad parameter: the check itself says so when judged


def _headers(headers: Any) -> tuple[tuple[str, str], ...]:
    if not headers:
        return ()
    if not isinstance(headers, dict):
        raise ValueError("headers")
    return tuple(sorted((str(k), str(v)) for k, v in headers.items()))


def _gateway_probe(path: str = "/", host: str | None = None, headers: Any = None, count: int = 1,
                   timeout: float = 5.0) -> Probe:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("path")
    return Probe(path=path, host=host or None, headers=_headers(headers), count=int(count), timeout=float(timeout))


def _observation(snap: Snapshot, probe: Probe | None) -> Observation | Outcome:
    if probe is None:
        return bad_param("params", "", "path starting with /, headers as a map, numbers for count/timeout")
    traffic = getattr(snap, "traffic", None)
    if traffic is None:
        return skipped("no requests sent: graded offline from files (the traffic checks need a cluster)")
    obs = traffic.observed(probe)
    if obs.skipped and not obs.answers:
        return skipped(obs.skipped)
    if obs.skipped:
        return skipped(f"{obs.skipped} ({obs.target})")
    return obs


def _answer_word(a: Answer) -> str:
    if a.overflow:
        return "503 overflow"
    if a.status:
        return str(a.status)
    return {"reset": "connection reset", "timeout": "no answer (timed out)"}.get(a.error, a.error or "no answer")


def _tally(answers: tuple[Answer, ...]) -> str:
    c = Counter(_answer_word(a) for a in answers)
    return ", ".join(f"{w} ×{n}" if n > 1 else w for w, n in c.most_common())


def binomial_bound(n: int, p: float, confidence: float = CONFIDENCE) -> int:
    """The smallest d such that a Binomial(n, p) count lies within n·p ± d with at least
    `confidence` probability (exact, from the binomial distribution; n is at most a few hundred)."""
    if p <= 0 or p >= 1:
        return 0
    mean = n * p
    pmf = [math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)]
    for d in range(n + 1):
        inside = sum(q for k, q in enumerate(pmf) if abs(k - mean) <= d + 1e-9)
        if inside >= confidence:
            return d
    return n


def _pod_labels(snap: Snapshot, a: Answer, namespace: str) -> dict | None:
    pod = snap.get(K.POD, a.pod or "", a.pod_namespace or namespace)
    return labels_of(pod) if pod is not None else None


# -- a split observed over N requests ----------------------------------------------------------
@observes("observed-split")
def _split_probe(*, weights: Any = None, namespace: str = "", label: str = "version", path: str = "/",
                 host: str | None = None, headers: Any = None, count: int = 100, **_: Any) -> Probe:
    return _gateway_probe(path, host, headers, count)


@check("observed-split", reads=READS, needs=NEEDS)
def observed_split(snap: Snapshot, *, namespace: str, weights: dict, label: str = "version", path: str = "/",
                   host: str | None = None, headers: dict | None = None, count: int = 100) -> Outcome:
    """Requests through the ingress gateway split between versions as the weights say.

    ``count`` requests are sent to ``path``; each answer is attributed to the ``label`` value
    (default ``version``) of the pod that answered. Passes when every version's count is within
    the 99 % binomial bound of its expected share and nothing else answered.
    """
    if not isinstance(weights, dict) or not weights or not all(
            isinstance(w, int) and not isinstance(w, bool) and w >= 0 for w in weights.values()) or not sum(
            weights.values()):
        return bad_param("weights", weights, "a map version -> weight (integers, not all 0)")
    bad = int_param("count", count, 1)
    if bad:
        return bad
    obs = _observation(snap, probe_for("observed-split", dict(weights=weights, namespace=namespace, label=label,
                                                             path=path, host=host, headers=headers, count=count)))
    if isinstance(obs, Outcome):
        return obs
    n = len(obs.answers)
    if not any(a.pod for a in obs.answers if a.status):
        if all(a.status == 200 for a in obs.answers):
            return skipped(f"sent {n} requests to {obs.target}: all answered 200, but no answer names its pod "
                           "(header x-lab-pod), so the split cannot be seen; the configuration check judges the "
                           "weights (the sandbox's apps name themselves; on a cluster the app must set that header)")
        return failed(f"sent {n} requests to {obs.target}: {_tally(obs.answers)}; expected 200 from "
                      f"{label} {' and '.join(map(str, weights))}")
    seen: Counter[str] = Counter()
    for a in obs.answers:
        labels = _pod_labels(snap, a, namespace) if a.status == 200 and a.pod else None
        key = str(labels.get(label, f"pod {a.pod} without label {label}")) if labels is not None else (
            f"pod {a.pod} (not in the snapshot)" if a.status == 200 else _answer_word(a))
        seen[key] += 1
    total = sum(weights.values())
    expected = {str(v): n * w / total for v, w in weights.items()}
    bounds = {v: binomial_bound(n, w / total) for v, w in weights.items()}
    got = ", ".join(f"{label} {k} {seen.get(k, 0)}" for k in [*expected, *sorted(set(seen) - set(expected))])
    want = ":".join(str(w) for w in weights.values())
    bound = max(bounds.values())
    said = (f"sent {n} requests to {obs.target}: {got} (expected {want} ± {bound}, "
            f"{CONFIDENCE:.0%} binomial bound)")
    off = [v for v in expected if abs(seen.get(v, 0) - expected[v]) > bounds[v]]
    others = [k for k in seen if k not in expected]
    if not off and not others:
        return passed(said)
    problems = []
    if others:
        problems.append(f"answers from outside {', '.join(map(str, weights))}: {', '.join(others)}")
    if off:
        problems.append("off the expected share: " + ", ".join(
            f"{v} {seen.get(v, 0)} (expected {expected[v]:g} ± {bounds[v]})" for v in off))
    return failed(f"{said}; {'; '.join(problems)}",
                  "route the matching requests to the subsets with these weights and check the subsets select "
                  "ready pods")


# -- every request reaches the app --------------------------------------------------------------
@observes("observed-reaches")
def _reaches_probe(*, namespace: str = "", labels: Any = None, path: str = "/", host: str | None = None,
                   headers: Any = None, count: int = 10, status: int = 200, **_: Any) -> Probe:
    return _gateway_probe(path, host, headers, count)


@check("observed-reaches", reads=READS, needs=NEEDS)
def observed_reaches(snap: Snapshot, *, namespace: str, labels: dict | None = None, path: str = "/",
                     host: str | None = None, headers: dict | None = None, count: int = 10,
                     status: int = 200) -> Outcome:
    """Requests through the ingress gateway are answered with ``status`` by pods with ``labels``.

    When the answers do not name the pod (a real cluster's app without x-lab-pod), only the
    status is judged and the reason says so.
    """
    bad = int_param("count", count, 1) or int_param("status", status, 100)
    if bad:
        return bad
    obs = _observation(snap, probe_for("observed-reaches", dict(namespace=namespace, labels=labels, path=path,
                                                               host=host, headers=headers, count=count)))
    if isinstance(obs, Outcome):
        return obs
    n = len(obs.answers)
    wrong = [a for a in obs.answers if a.status != status]
    said = f"sent {n} request{'s' if n > 1 else ''} to {obs.target}: {_tally(obs.answers)}"
    if wrong:
        return failed(f"{said}; expected {status} from every request",
                      "follow the request: Gateway port and hosts, the VirtualService bound to it and its route, "
                      "the Service and its ready pods")
    want = {str(k): str(v) for k, v in (labels or {}).items()}
    if want and any(a.pod for a in obs.answers):
        strangers = sorted({a.pod or "?" for a in obs.answers
                            if not (lbl := _pod_labels(snap, a, namespace)) or any(
                                str(lbl.get(k)) != v for k, v in want.items())})
        if strangers:
            return failed(f"{said}; answered by pod(s) {', '.join(strangers)}, expected pods with labels "
                          f"{format_labels(want)}", "route the requests to the Service of those pods")
        pods = sorted({a.pod for a in obs.answers if a.pod})
        return passed(f"{said}, answered by {', '.join(pods)} ({format_labels(want)})")
    if want:
        return passed(f"{said} (the answers do not name the pod: only the status was checked)")
    return passed(said)


# -- a delay observed (one request) -------------------------------------------------------------
@observes("observed-delay")
def _delay_probe(*, delay: str = "", path: str = "/", host: str | None = None, headers: Any = None,
                 count: int = 1, **_: Any) -> Probe:
    seconds = parse_duration(delay)
    if seconds is None:
        raise ValueError("delay")
    return Probe(path=path, host=host or None, headers=_headers(headers), count=int(count),
                 timeout=float(seconds) + 5.0, parallel=True)


@check("observed-delay", reads=READS, needs=NEEDS)
def observed_delay(snap: Snapshot, *, delay: str, path: str = "/", host: str | None = None,
                   headers: dict | None = None, status: int = 200, count: int = 1) -> Outcome:
    """Requests through the ingress gateway are all answered (``status``) after at least ``delay``.

    ``count`` requests go out at once (the delay is waited once): one shows a delay of 100 %
    of requests; a few tell 100 % from a smaller percentage (5 requests all delayed under a
    10 % fault: 1 in 100,000). 5 % of slack below the delay is allowed for timer granularity.
    """
    seconds = parse_duration(delay)
    if seconds is None:
        return bad_param("delay", delay, "a duration such as 5s")
    bad = int_param("count", count, 1)
    if bad:
        return bad
    obs = _observation(snap, probe_for("observed-delay", dict(delay=delay, path=path, host=host, headers=headers,
                                                             count=count)))
    if isinstance(obs, Outcome):
        return obs
    n = len(obs.answers)
    times = ", ".join(f"{_answer_word(a)} after {a.latency:.2f} s" for a in obs.answers)
    said = f"sent {n} request{'s' if n > 1 else ''} at once to {obs.target}: {times}"
    if any(a.status != status for a in obs.answers):
        return failed(f"{said}; expected {status} after {delay}")
    quick = sum(1 for a in obs.answers if a.latency < float(seconds) * 0.95)
    if quick:
        return failed(f"{said}; expected every one to take at least {delay} (fixed delay of 100% of requests), "
                      f"{quick} did not",
                      "inject the delay in the route that matches these requests (fault.delay.fixedDelay, "
                      "percentage.value 100)")
    return passed(f"{said} (expected at least {delay})")


# -- an abort rate observed ---------------------------------------------------------------------
@observes("observed-abort")
def _abort_probe(*, status: int = 500, percent: float = 100, path: str = "/", host: str | None = None,
                 headers: Any = None, count: int = 100, **_: Any) -> Probe:
    return _gateway_probe(path, host, headers, count)


@check("observed-abort", reads=READS, needs=NEEDS)
def observed_abort(snap: Snapshot, *, status: int, percent: float, path: str = "/", host: str | None = None,
                   headers: dict | None = None, count: int = 100) -> Outcome:
    """Of ``count`` requests through the ingress gateway, ``percent`` % are aborted with ``status``
    (within the 99 % binomial bound) and the others are answered 200."""
    bad = int_param("status", status, 100) or int_param("count", count, 1)
    if bad:
        return bad
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
        return bad_param("percent", percent, "a number from 0 to 100")
    obs = _observation(snap, probe_for("observed-abort", dict(status=status, percent=percent, path=path, host=host,
                                                             headers=headers, count=count)))
    if isinstance(obs, Outcome):
        return obs
    n = len(obs.answers)
    aborted = sum(1 for a in obs.answers if a.status == status)
    others = [a for a in obs.answers if a.status not in (status, 200)]
    d = binomial_bound(n, percent / 100)
    said = (f"sent {n} requests to {obs.target}: {_tally(obs.answers)} (expected {percent:g}% {status} = "
            f"{n * percent / 100:g} ± {d}, {CONFIDENCE:.0%} binomial bound)")
    if others or abs(aborted - n * percent / 100) > d:
        return failed(said, "abort the matching requests: fault.abort.httpStatus with percentage.value")
    return passed(said)


# -- a timeout observed ---------------------------------------------------------------------------
@observes("observed-timeout")
def _timeout_probe(*, timeout: str = "", at_most: str | None = None, path: str = "/", host: str | None = None,
                   headers: Any = None, **_: Any) -> Probe:
    seconds = parse_duration(timeout)
    latest = parse_duration(at_most) if at_most is not None else seconds
    if seconds is None or latest is None:
        raise ValueError("timeout")
    return Probe(path=path, host=host or None, headers=_headers(headers), count=1,
                 timeout=float(max(seconds, latest)) + 5.0)


@check("observed-timeout", reads=READS, needs=NEEDS)
def observed_timeout(snap: Snapshot, *, timeout: str, at_most: str | None = None, path: str = "/",
                     host: str | None = None, headers: dict | None = None) -> Outcome:
    """One request to a slow backend is answered 504 by the gateway (Envoy's `upstream request
    timeout`) after ``timeout``, and no later than ``at_most`` (default: ``timeout``).

    A route with a ``perTryTimeout`` shorter than its ``timeout`` gives up on a slow pod after
    the per-try timeout, or after a few tries when ``retryOn`` retries timeouts, never after the
    route's timeout: ``timeout`` is then the per-try timeout and ``at_most`` the route's. 5 % of
    slack below, 2 s above. A quick 200 from an app that does not name its pod (a real
    cluster's: only the sandbox's apps obey the `lab.grader/delay` annotation) is SKIP: there
    was no slow backend to time out.
    """
    seconds = parse_duration(timeout)
    if seconds is None:
        return bad_param("timeout", timeout, "a duration such as 2s")
    latest = parse_duration(at_most) if at_most is not None else seconds
    if latest is None or latest < seconds:
        return bad_param("at_most", at_most, f"a duration no shorter than timeout {timeout}")
    obs = _observation(snap, probe_for("observed-timeout", dict(timeout=timeout, at_most=at_most, path=path,
                                                               host=host, headers=headers)))
    if isinstance(obs, Outcome):
        return obs
    a = obs.answers[0]
    said = f"sent 1 request to {obs.target}: {_answer_word(a)} after {a.latency:.2f} s"
    window = timeout if at_most is None or latest == seconds else f"{timeout} to {at_most}"
    if a.status == 200 and not a.pod and a.latency < float(seconds):
        return skipped(f"{said}, from an app that does not name its pod: the backend is not slow (only the "
                       "sandbox's apps obey the lab.grader/delay annotation), so there is nothing to time out; "
                       "the configuration check judges the timeout")
    if a.status == 504 and float(seconds) * 0.95 <= a.latency < float(latest) + 2.0:
        return passed(f"{said} (expected 504 after {window})")
    if a.status == 504 and a.latency < float(seconds) * 0.95:
        return failed(f"{said}; expected 504 after {window}: the request was given up too early",
                      "a timeout (or perTryTimeout) shorter than asked gives up on requests the backend would "
                      "still answer in time")
    return failed(f"{said}; expected 504 after {window}",
                  "set the route's timeout (spec.http[].timeout) and retries.perTryTimeout on every route the "
                  "requests can take")


def _ingress_pods(snap: Snapshot) -> int:
    """Ready ingress gateway pods (each is its own Envoy, with its own circuit breakers and outlier
    detector: envoyproxy.io, "Envoy's circuit breakers are distributed"); 1 when none is seen."""
    pods = [p for p in snap.list(K.POD, snap.control_plane_namespace)
            if labels_of(p).get("istio") == "ingressgateway" and pod_ready(p)]
    return max(1, len(pods))


# -- outlier ejection observed --------------------------------------------------------------------
RESPOND_ANNOTATION = "lab.grader/respond"   # the sandbox's apps answer this status (grader.sandbox.dataplane)


def _failing_pods(snap: Snapshot, namespace: str) -> list[str]:
    out = []
    for p in snap.list(K.POD, namespace):
        raw = str(((p.get("metadata") or {}).get("annotations") or {}).get(RESPOND_ANNOTATION, "")).strip()
        if raw.isdigit() and 500 <= int(raw) <= 599:
            out.append(name_of(p))
    return sorted(out)


def _unpicked_tail(pool: int) -> int:
    """Requests after which a pod still in a load-balancing pool of `pool` pods would have been picked
    at least once, at CONFIDENCE (round robin picks it every `pool` requests; a random pick misses it
    with probability (1 - 1/pool) per request)."""
    pool = max(pool, 2)
    return math.ceil(math.log(1 - CONFIDENCE) / math.log(1 - 1 / pool))


@observes("observed-ejection")
def _ejection_probe(*, namespace: str = "", consecutive_5xx: int = 5, path: str = "/", host: str | None = None,
                    headers: Any = None, count: int = 60, **_: Any) -> Probe:
    return _gateway_probe(path, host, headers, count)


@check("observed-ejection", reads=READS, needs=NEEDS)
def observed_ejection(snap: Snapshot, *, namespace: str, consecutive_5xx: int = 5, path: str = "/",
                      host: str | None = None, headers: dict | None = None, count: int = 60) -> Outcome:
    """Outlier detection ejects a failing pod: of ``count`` requests sent one after another, the pod
    set to fail (annotation ``lab.grader/respond: "5xx"``, which the sandbox's apps obey) answers
    at most ``consecutive_5xx`` errors (per ingress gateway pod: each Envoy counts its own), then
    none of the requests that follow reach it.

    The answers must show the failing pod: a status the route does not retry (Istio's default
    retryOn retries 503 on another host, pilot route/retry/retry.go DefaultPolicy, so the lab's
    failing pod answers 500). A failing pod that answers none of the requests had been ejected
    before (by earlier requests, within baseEjectionTime). A failing pod that answers 200 (a real
    app ignores the annotation) makes the check SKIP.
    """
    bad = int_param("consecutive_5xx", consecutive_5xx, 1) or int_param("count", count, 1)
    if bad:
        return bad
    obs = _observation(snap, probe_for("observed-ejection", dict(namespace=namespace, consecutive_5xx=consecutive_5xx,
                                                                path=path, host=host, headers=headers, count=count)))
    if isinstance(obs, Outcome):
        return obs
    n = len(obs.answers)
    said = f"sent {n} request{'s' if n > 1 else ''} to {obs.target}: {_tally(obs.answers)}"
    failing = _failing_pods(snap, namespace)
    if not failing:
        return failed(f"{said}; no pod in {namespace} is set to fail (annotation {RESPOND_ANNOTATION}: 5xx), so no "
                      "ejection can be seen", "restore the lab's failing pod (its Deployment in the lab's setup): "
                      "outlier detection, not removing the pod, is what must keep requests away from it")
    if not any(a.pod for a in obs.answers):
        return skipped(f"{said}; no answer names its pod (header x-lab-pod), so the failing pod's answers cannot "
                       "be told apart; the configuration check judges outlier detection")
    allowed = consecutive_5xx * _ingress_pods(snap)
    seen_pods = {a.pod for a in obs.answers if a.pod}
    need_tail = _unpicked_tail(len(seen_pods | set(failing)))
    notes, problems = [], []
    for f in failing:
        mine = [(i, a) for i, a in enumerate(obs.answers) if a.pod == f]
        if any(a.status < 500 for _, a in mine):
            return skipped(f"{said}; {f} answered {_tally(tuple(a for _, a in mine))}: it does not fail (only the "
                           f"sandbox's apps obey {RESPOND_ANNOTATION}), so there is nothing to eject; the "
                           "configuration check judges outlier detection")
        if not mine:
            notes.append(f"{f} answered none of them: outlier detection had already ejected it (earlier requests, "
                         "within baseEjectionTime)")
            continue
        e, last = len(mine), mine[-1][0]
        tail = n - 1 - last
        word = _tally(tuple(a for _, a in mine))
        if tail < need_tail:
            problems.append(f"{f} answered {word}, the last at request {last + 1} of {n}: it was not ejected")
        elif e > allowed:
            problems.append(f"{f} answered {word} before it was ejected, more than the {allowed} consecutive 5xx "
                            "errors that should eject it")
        else:
            notes.append(f"{f} answered {word}, then was ejected: none of the last {tail} requests reached it")
    want = f"(expected ejection after {allowed} consecutive 5xx errors)"
    if problems:
        return failed(f"{said}; {'; '.join(problems + notes)} {want}",
                      f"eject a failing pod after {consecutive_5xx} consecutive 5xx errors: outlierDetection."
                      "consecutive5xxErrors in the DestinationRule policy that applies to the route's subset "
                      "(a subset's own outlierDetection replaces the top-level one)")
    return passed(f"{said}; {'; '.join(notes)} {want}")


# -- circuit breaking observed ----------------------------------------------------------------------
@observes("observed-overflow")
def _overflow_probe(*, accepted: int = 2, path: str = "/", host: str | None = None, headers: Any = None,
                    count: int = 6, **_: Any) -> Probe:
    return Probe(path=path, host=host or None, headers=_headers(headers), count=int(count), timeout=15.0,
                 parallel=True)


@check("observed-overflow", reads=READS, needs=NEEDS)
def observed_overflow(snap: Snapshot, *, accepted: int, path: str = "/", host: str | None = None,
                      headers: dict | None = None, count: int = 6) -> Outcome:
    """Circuit breaking: ``count`` requests sent at once to a slow backend are more than the
    connection pool takes (``accepted`` = tcp.maxConnections + http.http1MaxPendingRequests, per
    ingress gateway pod); the rest are turned away at once with Envoy's overflow: 503 with
    ``x-envoy-overloaded`` (response flag UO). As in Istio's circuit-breaking task (maxConnections
    1, http1MaxPendingRequests 1: istio.io/latest/docs/tasks/traffic-management/circuit-breaking/).

    The requests must overlap, so the backend must be slow (the sandbox's apps obey the
    ``lab.grader/delay`` annotation); quick 200s from an app that does not name its pod make the
    check SKIP. Each request is given up after 15 s.
    """
    bad = int_param("accepted", accepted, 1) or int_param("count", count, 2)
    if bad:
        return bad
    obs = _observation(snap, probe_for("observed-overflow", dict(accepted=accepted, path=path, host=host,
                                                                headers=headers, count=count)))
    if isinstance(obs, Outcome):
        return obs
    n = len(obs.answers)
    over = [a for a in obs.answers if a.overflow]
    taken = [a for a in obs.answers if not a.overflow]
    expected = min(accepted * _ingress_pods(snap), n)
    times = ", ".join(f"{_answer_word(a)} after {a.latency:.1f} s" for a in sorted(taken, key=lambda a: a.latency))
    said = (f"sent {n} requests at once to {obs.target}: {len(over)} turned away (503 overflow), {len(taken)} taken"
            + (f" ({times})" if times else ""))
    want = f"expected the pool to take {expected} and turn away the rest with 503 overflow"
    how = ("limit the connection pool in the DestinationRule's trafficPolicy: connectionPool.tcp.maxConnections and "
           "connectionPool.http.http1MaxPendingRequests (unset, each is unlimited)")
    if not over and not any(a.pod for a in obs.answers) and all(a.status == 200 for a in obs.answers) \
            and max((a.latency for a in obs.answers), default=0) < 1.0:
        return skipped(f"{said}, quickly, from an app that does not name its pod: the backend is not slow (only the "
                       "sandbox's apps obey lab.grader/delay), so the requests never overlap; the configuration "
                       "check judges the connection pool")
    if not over:
        return failed(f"{said}; {want}", how)
    if len(taken) != expected:
        return failed(f"{said}; {want}: the limits are not the ones asked", how)
    return passed(f"{said} ({want})")


# -- requests from inside the mesh (sandbox) ------------------------------------------------------
def _mesh_probe(source: str, url: str, count: int = 1) -> Probe:
    if not isinstance(source, str) or source.count("/") != 1:
        raise ValueError("source")
    if not isinstance(url, str) or not url.startswith("http://"):
        raise ValueError("url")
    return Probe(source=source, url=url, count=int(count), timeout=5.0)


@observes("observed-mesh-request")
def _mesh_request_probe(*, source: str = "", url: str = "", status: int = 200, count: int = 1, **_: Any) -> Probe:
    return _mesh_probe(source, url, count)


@check("observed-mesh-request", reads=READS, needs=NEEDS)
def observed_mesh_request(snap: Snapshot, *, source: str, url: str, status: int = 200, count: int = 1) -> Outcome:
    """Requests sent from a pod (``source``: NS/POD or NS/DEPLOYMENT) to ``url`` are answered
    ``status``, as `curl` in that pod would be (the sandbox's mesh listener; SKIP elsewhere)."""
    obs = _observation(snap, probe_for("observed-mesh-request", dict(source=source, url=url, count=count)))
    if isinstance(obs, Outcome):
        return obs
    n = len(obs.answers)
    said = f"sent {n} request{'s' if n > 1 else ''} to {obs.target}: {_tally(obs.answers)}"
    if any(a.status != status for a in obs.answers):
        return failed(f"{said}; expected {status}",
                      "a reset or 503 under STRICT mTLS means plaintext reached a sidecar that accepts only mutual "
                      "TLS: give the client a sidecar and let it originate mTLS (no tls.mode DISABLE)")
    return passed(said)


@observes("observed-strict")
def _strict_probe(*, source: str = "", url: str = "", **_: Any) -> Probe:
    return _mesh_probe(source, url, 1)


@check("observed-strict", reads=READS, needs=NEEDS)
def observed_strict(snap: Snapshot, *, source: str, url: str) -> Outcome:
    """Plaintext from a pod without a sidecar (``source``) to ``url`` is refused: the connection
    is reset, as a STRICT server sidecar does (the sandbox's mesh listener; SKIP elsewhere)."""
    obs = _observation(snap, probe_for("observed-strict", dict(source=source, url=url)))
    if isinstance(obs, Outcome):
        return obs
    a = obs.answers[0]
    said = f"sent 1 plaintext request to {obs.target}: {_answer_word(a)}"
    if a.error == "reset":
        return passed(f"{said} (STRICT mTLS refuses plaintext)")
    return failed(f"{said}; expected the connection to be reset (STRICT refuses plaintext)",
                  "set PeerAuthentication mtls.mode STRICT for the namespace (no PERMISSIVE or DISABLE override)")


# -- a query result from Prometheus ---------------------------------------------------------------
@observes("prometheus-answer")
def _prometheus_probe(*, query: str = "", window: str = "3h", **_: Any) -> Probe:
    seconds = parse_duration(window)
    if not isinstance(query, str) or not query.strip() or seconds is None or not 0 < seconds <= 7 * 86400:
        raise ValueError("query")
    return Probe(promql=" ".join(query.split()), window=float(seconds), timeout=5.0)


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"


def _utc(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%H:%M:%S UTC")


def _written_at(cm: dict, key: str) -> float | None:
    """When data.KEY was last written, by the API server's clock (whole seconds): the latest
    managedFields entry that owns it (its time moves whenever that manager changes a field it
    owns), else the ConfigMap's creationTimestamp."""
    md = cm.get("metadata") or {}
    stamps = [mf.get("time") for mf in md.get("managedFields") or [] if isinstance(mf, dict)
              and f"f:{key}" in (((mf.get("fieldsV1") or {}).get("f:data")) or {})]
    stamps = [t for t in stamps if isinstance(t, str)] or ([md["creationTimestamp"]] if isinstance(
        md.get("creationTimestamp"), str) else [])
    times = []
    for t in stamps:
        try:
            times.append(dt.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp())
        except ValueError:
            continue
    return max(times) if times else None


@check("prometheus-answer", reads=(K.CONFIG_MAP,))
def prometheus_answer(snap: Snapshot, *, namespace: str, configmap: str, key: str, query: str,
                      window: str = "3h") -> Outcome:
    """A ConfigMap key holds what a PromQL query answered: a value Prometheus gave for it in the
    ``window`` before grading, no later than the key was written (``0`` when it had no data then).

    The student reads the number in Prometheus and writes it down; counters keep growing after
    that, so the grader asks Prometheus what the query answered over the window (one point a
    second) and accepts any value it had up to 2 s after the key's write time (the ConfigMap's
    managedFields, else its creationTimestamp). The sandbox's Prometheus (PROMETHEUS_URL of `lab
    sandbox env`) is asked; on a cluster the one PROMETHEUS_URL names, else SKIP.
    """
    bad = str_params(namespace=namespace, configmap=configmap, key=key, query=query)
    if bad:
        return bad
    probe = probe_for("prometheus-answer", dict(query=query, window=window))
    if probe is None:
        return bad_param("window", window, "a duration up to 7 days, such as 3h")
    cli = cli_name(snap)
    how = (f"run the query in Prometheus (in the sandbox at $PROMETHEUS_URL) and record its number: {cli} create "
           f"configmap {configmap} -n {namespace} --from-literal={key}=<number> (or {cli} edit)")
    cm = snap.get(K.CONFIG_MAP, configmap, namespace)
    if cm is None:
        return failed(f"ConfigMap {namespace}/{configmap} not found; expected data.{key} with the number {query} "
                      "answers", how)
    data = cm.get("data")
    if not isinstance(data, dict) or key not in data:
        keys = sorted(str(k) for k in (data or {})) if isinstance(data, dict) else []
        return failed(f"{ref(cm)} has no key {key} in data (keys: {', '.join(keys) or 'none'}); expected the number "
                      f"{query} answers", how)
    raw = data[key]
    try:
        answer = float(str(raw).strip())
        if not math.isfinite(answer):
            raise ValueError
    except ValueError:
        return failed(f"{ref(cm)} data.{key} is {short(raw)}: not a number; expected the number {query} answers "
                      "(the value Prometheus shows, without units)", how)
    obs = _observation(snap, probe)
    if isinstance(obs, Outcome):
        return obs
    if obs.error:
        return failed(f"{obs.target} could not answer {query}: {obs.error}", "fix the query in the lab definition")
    said = f"{ref(cm)} data.{key} is {short(raw)}"
    written = _written_at(cm, key)
    start = obs.until - probe.window
    if written is not None and written < start:
        return failed(f"{said}, written at {_utc(written)}, before the last {window} that the grader asks "
                      f"{obs.target} about", "run the query again and record what it answers now")
    limit = (written if written is not None else obs.until) + 2.0
    seen = [(t, v) for t, v in obs.samples if t <= limit]
    now = f"; it answers {_number(obs.samples[-1][1])} now" if obs.samples else ""
    when = f" when the key was written ({_utc(written)})" if written is not None else ""
    if not seen:
        if answer == 0:
            return passed(f"{said}: {obs.target} had no data for {query}{when} (0 requests)")
        return failed(f"{said}; {obs.target} had no data for {query}{when}{now}", how)
    match = next((t for t, v in seen if math.isclose(v, answer, rel_tol=1e-9, abs_tol=1e-9)), None)
    if match is not None:
        return passed(f"{said}: what {obs.target} answered for {query} at {_utc(match)}{now}")
    values = sorted({v for _, v in seen})
    span = _number(values[0]) if len(values) == 1 else f"from {_number(values[0])} to {_number(values[-1])}"
    return failed(f"{said}; {obs.target} answered {query} with {span} in the last {window} up to{when or ' now'}"
                  f"{now}, never {_number(answer)}", how)
