"""Observed check types judge recorded answers (grader.observations), as the snapshot carries them."""

from __future__ import annotations

import datetime as dt

import pytest
from harness import find_prefix, run, scenario, snap_of

from grader.checks.observed import binomial_bound, probe_for
from grader.model import Status
from grader.observations import Answer, Observation, Traffic, not_sent
from grader.snapshot import Snapshot

SPLIT = {"namespace": "webapp", "weights": {"v1": 80, "v2": 20}}
EJECT_PARAMS = {"namespace": "webapp", "consecutive_5xx": 5}


def with_answers(check: str, params: dict, answers: list[Answer], objs: list[dict] | None = None) -> Snapshot:
    """The solved canary lab's snapshot, with these answers recorded for the check's probe."""
    snap = snap_of(objs or scenario())
    probe = probe_for(check, params)
    assert probe is not None
    snap.traffic = Traffic(where="http://127.0.0.1:1", sent=len(answers),
                           observations={probe: Observation(probe, "http://127.0.0.1:1/", tuple(answers))})
    return snap


def pods() -> tuple[str, str]:
    objs = scenario()
    return (find_prefix(objs, "Pod", "web-v1")["metadata"]["name"], find_prefix(objs, "Pod", "web-v2")["metadata"]["name"])


def split_answers(v1: int, v2: int) -> list[Answer]:
    p1, p2 = pods()
    return [Answer(200, p1, "webapp", 0.001)] * v1 + [Answer(200, p2, "webapp", 0.001)] * v2


@pytest.mark.parametrize(("v1", "v2", "status"), [(80, 20, Status.PASS), (70, 30, Status.PASS), (90, 10, Status.PASS),
                                                  (69, 31, Status.FAIL), (100, 0, Status.FAIL), (50, 50, Status.FAIL)])
def test_split_within_the_binomial_bound(v1: int, v2: int, status: Status) -> None:
    out = run("observed-split", with_answers("observed-split", SPLIT, split_answers(v1, v2)), **SPLIT)
    assert out.status is status, out.reason
    assert f"sent 100 requests to http://127.0.0.1:1/: version v1 {v1}, version v2 {v2}" in out.reason
    assert "(expected 80:20 ± 10, 99% binomial bound)" in out.reason


def test_split_names_answers_that_are_not_a_version() -> None:
    answers = split_answers(78, 20) + [Answer(503), Answer(503)]
    out = run("observed-split", with_answers("observed-split", SPLIT, answers), **SPLIT)
    assert out.status is Status.FAIL
    assert "answers from outside v1, v2: 503" in out.reason


def test_split_without_pod_names_is_skipped_with_the_reason() -> None:
    """A real cluster's app that does not name itself: the split cannot be seen."""
    out = run("observed-split", with_answers("observed-split", SPLIT, [Answer(200)] * 100), **SPLIT)
    assert out.status is Status.SKIP
    assert "no answer names its pod (header x-lab-pod)" in out.reason


def test_binomial_bound_is_exact() -> None:
    # P(70 <= X <= 90) >= 99 % for Binomial(100, 0.8): Istio's own tests accept ±10 in 100
    assert binomial_bound(100, 0.8) == 10
    assert binomial_bound(1000, 0.8) == binomial_bound(1000, 0.2) == 33
    assert binomial_bound(100, 0.5) == 13
    assert binomial_bound(100, 1.0) == 0      # 100 % means every request
    assert binomial_bound(1, 0.5) == 1


@pytest.mark.parametrize(("aborted", "status"), [(50, Status.PASS), (40, Status.PASS), (36, Status.FAIL), (0, Status.FAIL),
                                                 (100, Status.FAIL)])
def test_abort_rate(aborted: int, status: Status) -> None:
    params = {"status": 500, "percent": 50}
    answers = [Answer(500)] * aborted + [Answer(200, "p")] * (100 - aborted)
    out = run("observed-abort", with_answers("observed-abort", params, answers), **params)
    assert out.status is status, out.reason
    assert "expected 50% 500 = 50 ± 13, 99% binomial bound" in out.reason


@pytest.mark.parametrize(("latency", "code", "status"), [(5.01, 200, Status.PASS), (0.01, 200, Status.FAIL),
                                                         (5.01, 503, Status.FAIL)])
def test_delay_of_one_request(latency: float, code: int, status: Status) -> None:
    params = {"delay": "5s"}
    out = run("observed-delay", with_answers("observed-delay", params, [Answer(code, "p", latency=latency)]), **params)
    assert out.status is status, out.reason
    assert f"sent 1 request at once to http://127.0.0.1:1/: {code} after {latency:.2f} s" in out.reason


def test_timeout_wants_504() -> None:
    params = {"timeout": "2s"}
    ok = run("observed-timeout", with_answers("observed-timeout", params, [Answer(504, latency=2.0)]), **params)
    slow = run("observed-timeout", with_answers("observed-timeout", params, [Answer(200, "p", latency=3.0)]), **params)
    assert ok.status is Status.PASS and slow.status is Status.FAIL, (ok, slow)


@pytest.mark.parametrize(("answer", "status", "said"), [
    (Answer(504, latency=2.01), Status.PASS, "504 after 2.01 s (expected 504 after 2s to 10s)"),
    (Answer(504, latency=8.02), Status.PASS, "504 after 8.02 s"),      # retryOn 5xx: four tries of 2 s
    (Answer(504, latency=1.0), Status.FAIL, "504 after 1.00 s; expected 504 after 2s to 10s: the request was "
                                            "given up too early"),    # a 1 s route timeout
    (Answer(504, latency=12.5), Status.FAIL, "expected 504 after 2s to 10s"),
    (Answer(200, "p", latency=3.0), Status.FAIL, "200 after 3.00 s; expected 504"),   # no perTryTimeout
    (Answer(503, latency=0.01), Status.FAIL, "503 after 0.01 s"),     # no subset: 503 NC
    (Answer(200, latency=0.01), Status.SKIP, "the backend is not slow"),   # a real cluster's nginx
])
def test_timeout_between_the_per_try_timeout_and_the_route_timeout(answer: Answer, status: Status, said: str) -> None:
    params = {"timeout": "2s", "at_most": "10s", "path": "/index.html"}
    out = run("observed-timeout", with_answers("observed-timeout", params, [answer]), **params)
    assert out.status is status, out.reason
    assert said in out.reason and "sent 1 request to http://127.0.0.1:1/" in out.reason


def test_timeout_probe_waits_for_the_latest_answer() -> None:
    assert probe_for("observed-timeout", {"timeout": "2s", "at_most": "10s"}).timeout == 15.0
    assert probe_for("observed-timeout", {"timeout": "2s"}).timeout == 7.0
    out = run("observed-timeout", snap_of(scenario()), timeout="2s", at_most="1s")
    assert out.status is Status.FAIL and "check parameter" in out.reason


def test_reaches_names_the_wrong_pods_and_statuses() -> None:
    p1, _ = pods()
    params = {"namespace": "webapp", "labels": {"version": "v2"}}
    wrong_pod = run("observed-reaches", with_answers("observed-reaches", params, [Answer(200, p1, "webapp")] * 10),
                    **params)
    assert wrong_pod.status is Status.FAIL and f"answered by pod(s) {p1}" in wrong_pod.reason
    p404 = run("observed-reaches", with_answers("observed-reaches", params, [Answer(404)] * 10), **params)
    assert p404.status is Status.FAIL and "404 ×10; expected 200 from every request" in p404.reason


def test_strict_wants_a_reset() -> None:
    params = {"source": "webapp/legacy", "url": "http://web.webapp/"}
    reset = run("observed-strict", with_answers("observed-strict", params, [Answer(0, error="reset")]), **params)
    answered = run("observed-strict", with_answers("observed-strict", params, [Answer(200, "p")]), **params)
    assert reset.status is Status.PASS and answered.status is Status.FAIL
    assert "sent 1 plaintext request to http://127.0.0.1:1/: 200; expected the connection to be reset" in answered.reason


def test_mesh_request_reports_a_reset() -> None:
    params = {"source": "webapp/legacy", "url": "http://web.webapp/"}
    out = run("observed-mesh-request", with_answers("observed-mesh-request", params, [Answer(0, error="reset")]),
              **params)
    assert out.status is Status.FAIL and "connection reset; expected 200" in out.reason


@pytest.mark.parametrize("check,params", [("observed-split", SPLIT), ("observed-delay", {"delay": "5s"}),
                                          ("observed-abort", {"status": 500, "percent": 50}),
                                          ("observed-strict", {"source": "webapp/legacy", "url": "http://web.webapp/"}),
                                          ("observed-ejection", EJECT_PARAMS), ("observed-overflow", {"accepted": 2})])
def test_no_traffic_is_a_skip_with_the_reason(check: str, params: dict) -> None:
    offline = snap_of(scenario())
    out = run(check, offline, **params)
    assert out.status is Status.SKIP and "graded offline from files" in out.reason
    refused = snap_of(scenario())
    refused.traffic = not_sent("--no-traffic given: no requests sent")
    out = run(check, refused, **params)
    assert out.status is Status.SKIP and out.reason == "--no-traffic given: no requests sent"


@pytest.mark.parametrize("params", [{"namespace": "webapp", "weights": {}}, {"namespace": "webapp", "weights": "80/20"},
                                    {"namespace": "webapp", "weights": {"v1": 80}, "path": "nope"}])
def test_bad_parameters_are_the_lab_definition_s(params: dict) -> None:
    out = run("observed-split", snap_of(scenario()), **params)
    assert out.status is Status.FAIL and "check parameter" in out.reason


# -- observed-ejection: a failing pod stops receiving requests --------------------------------------
EJECT = {"namespace": "webapp", "consecutive_5xx": 5, "count": 60, "path": "/healthz"}
BAD = "web-v1-bad-6f7d9-x2k4q"


def with_failing_pod(respond: str = "500") -> list[dict]:
    import copy
    objs = scenario()
    bad = copy.deepcopy(find_prefix(objs, "Pod", "web-v1"))
    bad["metadata"]["name"] = BAD
    bad["metadata"].setdefault("annotations", {})["lab.grader/respond"] = respond
    return [*objs, bad]


def round_robin(n: int, bad_until: int | None, bad_status: int = 500, skip_bad: bool = False) -> list[Answer]:
    """n requests over web-v1, web-v2 and the failing pod in turn; the failing pod answers until it
    has answered `bad_until` times (None: never ejected), then leaves the rotation."""
    p1, p2 = pods()
    out, bad_seen, i = [], 0, 0
    while len(out) < n:
        pool = [p1, p2] if skip_bad or (bad_until is not None and bad_seen >= bad_until) else [p1, p2, BAD]
        pod = pool[i % len(pool)]
        i += 1
        if pod == BAD:
            bad_seen += 1
            out.append(Answer(bad_status, BAD, "webapp", 0.001))
        else:
            out.append(Answer(200, pod, "webapp", 0.001))
    return out


@pytest.mark.parametrize(("answers", "status", "said"), [
    (round_robin(60, 5), Status.PASS, f"{BAD} answered 500 ×5, then was ejected: none of the last 45 requests"),
    (round_robin(60, 3), Status.PASS, f"{BAD} answered 500 ×3, then was ejected"),    # errors counted before grading
    (round_robin(60, 0, skip_bad=True), Status.PASS, f"{BAD} answered none of them: outlier detection had already"),
    (round_robin(60, 10), Status.FAIL, f"{BAD} answered 500 ×10 before it was ejected, more than the 5 consecutive"),
    (round_robin(60, None), Status.FAIL, f"{BAD} answered 500 ×20, the last at request 60 of 60: it was not ejected"),
])
def test_ejection_judges_how_many_errors_the_failing_pod_answered(answers, status, said) -> None:
    out = run("observed-ejection", with_answers("observed-ejection", EJECT, answers, with_failing_pod()), **EJECT)
    assert out.status is status, out.reason
    assert said in out.reason and "sent 60 requests to http://127.0.0.1:1/: 200 ×" in out.reason
    assert "(expected ejection after 5 consecutive 5xx errors)" in out.reason


def test_ejection_counts_per_ingress_gateway_pod() -> None:
    """Each ingress gateway pod is its own Envoy with its own outlier detector: two let 10 errors through."""
    import copy
    objs = with_failing_pod()
    gw = copy.deepcopy(find_prefix(objs, "Pod", "istio-ingressgateway", ns="istio-system"))
    gw["metadata"]["name"] += "-second"
    out = run("observed-ejection", with_answers("observed-ejection", EJECT, round_robin(60, 10), [*objs, gw]), **EJECT)
    assert out.status is Status.PASS and "(expected ejection after 10 consecutive 5xx errors)" in out.reason


def test_ejection_skips_when_the_failing_pod_does_not_fail_and_fails_when_it_is_gone() -> None:
    out = run("observed-ejection", with_answers("observed-ejection", EJECT, round_robin(60, None, bad_status=200),
                                                with_failing_pod()), **EJECT)
    assert out.status is Status.SKIP and f"{BAD} answered 200 ×20: it does not fail" in out.reason
    out = run("observed-ejection", with_answers("observed-ejection", EJECT, [Answer(200)] * 60, with_failing_pod()),
              **EJECT)
    assert out.status is Status.SKIP and "no answer names its pod" in out.reason
    out = run("observed-ejection", with_answers("observed-ejection", EJECT, round_robin(60, 0, skip_bad=True)), **EJECT)
    assert out.status is Status.FAIL and "no pod in webapp is set to fail (annotation lab.grader/respond: 5xx)" in out.reason


# -- observed-overflow: requests beyond the connection pool are turned away ----------------------------
OVERFLOW = {"accepted": 2, "count": 6, "path": "/"}


def burst(taken: list[tuple[int, float]], overflowed: int) -> list[Answer]:
    p1, _ = pods()
    return [Answer(503, latency=0.01, overflow=True)] * overflowed + [Answer(s, p1 if s == 200 else None, "webapp", t)
                                                                     for s, t in taken]


@pytest.mark.parametrize(("answers", "status", "said"), [
    (burst([(504, 2.0), (504, 4.0)], 4), Status.PASS,
     "sent 6 requests at once to http://127.0.0.1:1/: 4 turned away (503 overflow), 2 taken (504 after 2.0 s, 504 after "
     "4.0 s) (expected the pool to take 2 and turn away the rest with 503 overflow)"),
    (burst([(504, 2.0)] * 6, 0), Status.FAIL, "0 turned away (503 overflow), 6 taken"),
    (burst([(504, 2.0)] * 3, 3), Status.FAIL, "3 taken (504 after 2.0 s, 504 after 2.0 s, 504 after 2.0 s); expected "
                                              "the pool to take 2 and turn away the rest with 503 overflow: the limits"),
    (burst([(503, 0.01)] * 6, 0), Status.FAIL, "6 taken (503 after 0.0 s"),     # a 503 that is no overflow
])
def test_overflow_wants_the_pool_to_take_exactly_its_limit(answers, status, said) -> None:
    out = run("observed-overflow", with_answers("observed-overflow", OVERFLOW, answers), **OVERFLOW)
    assert out.status is status, out.reason
    assert said in out.reason


def test_overflow_skips_a_backend_that_answers_at_once_and_probes_at_once() -> None:
    out = run("observed-overflow", with_answers("observed-overflow", OVERFLOW, [Answer(200, latency=0.01)] * 6),
              **OVERFLOW)
    assert out.status is Status.SKIP and "the backend is not slow" in out.reason
    probe = probe_for("observed-overflow", OVERFLOW)
    assert probe.parallel and probe.count == 6 and probe.timeout == 15.0


# -- prometheus-answer: a number the student read in Prometheus ------------------------------------
QUERY = 'sum(istio_requests_total{reporter="destination", destination_workload="web-v1"})'
ANSWER = {"namespace": "webapp", "configmap": "lab-answers", "key": "web-requests", "query": QUERY}
T0 = 1_800_000_000.0       # the ConfigMap's write time in these tests (2027-01-15T08:00:00Z)


def answered(value: str | None, samples: list[tuple[float, float]], written: float = T0, error: str = "",
             until: float = T0 + 600, configmap: bool = True) -> Snapshot:
    """A snapshot with ConfigMap lab-answers (data.web-requests written at `written`) and what
    Prometheus answered for the query."""
    objs = scenario()
    if configmap:
        stamp = dt.datetime.fromtimestamp(written, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        objs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "lab-answers", "namespace": "webapp", "creationTimestamp": "2027-01-01T00:00:00Z",
                                  "managedFields": [{"manager": "kubectl-patch", "operation": "Update", "time": stamp,
                                                     "fieldsV1": {"f:data": {"f:web-requests": {}}}},
                                                    {"manager": "kubectl-create", "operation": "Update",
                                                     "time": "2027-01-01T00:00:00Z",
                                                     "fieldsV1": {"f:data": {".": {}, "f:kiali": {}}}}]},
                     "data": {"kiali": "k"} | ({"web-requests": value} if value is not None else {})})
    snap = snap_of(objs)
    probe = probe_for("prometheus-answer", ANSWER)
    assert probe is not None and probe.promql == QUERY and probe.window == 3 * 3600
    snap.traffic = Traffic(where="http://127.0.0.1:1", observations={probe: Observation(
        probe, "Prometheus at http://127.0.0.1:9", samples=tuple(samples), error=error, until=until)})
    return snap


COUNTER = [(T0 - 30, 5.0), (T0 - 10, 12.0), (T0 + 1, 12.0), (T0 + 60, 40.0)]


@pytest.mark.parametrize(("value", "samples", "status", "said"), [
    ("12", COUNTER, Status.PASS, "data.web-requests is '12': what Prometheus at http://127.0.0.1:9 answered for "
                                 f"{QUERY} at 07:59:50 UTC; it answers 40 now"),
    ("5.0", COUNTER, Status.PASS, "at 07:59:30 UTC"),        # read a while before it was written
    ("40", COUNTER, Status.FAIL, "answered sum(istio_requests_total{reporter=\"destination\", "
                                 "destination_workload=\"web-v1\"}) with from 5 to 12 in the last 3h up to when the "
                                 "key was written (08:00:00 UTC); it answers 40 now, never 40"),   # after it was written
    ("7", COUNTER, Status.FAIL, "never 7"),
    ("0", [(T0 + 60, 40.0)], Status.PASS, "had no data for"),   # the first requests came after it was written
    ("0", [], Status.PASS, "had no data for"),
    ("3", [], Status.FAIL, "had no data for"),
    ("12 requests", COUNTER, Status.FAIL, "data.web-requests is '12 requests': not a number"),
    (None, COUNTER, Status.FAIL, "has no key web-requests in data (keys: kiali)"),
])
def test_prometheus_answer_is_a_value_the_query_had_when_it_was_written(value, samples, status, said) -> None:
    out = run("prometheus-answer", answered(value, samples), **ANSWER)
    assert out.status is status, out.reason
    assert said in out.reason, out.reason


def test_prometheus_answer_written_before_the_window_asks_again() -> None:
    out = run("prometheus-answer", answered("12", COUNTER, until=T0 + 4 * 3600), **ANSWER)
    assert out.status is Status.FAIL and "written at 08:00:00 UTC, before the last 3h" in out.reason
    assert "run the query again" in out.hint


def test_prometheus_answer_names_a_query_prometheus_refused() -> None:
    out = run("prometheus-answer", answered("12", [], error="the query answers 2 series"), **ANSWER)
    assert out.status is Status.FAIL and "could not answer" in out.reason and "2 series" in out.reason


def test_prometheus_answer_without_prometheus_is_a_skip_but_a_missing_answer_fails() -> None:
    snap = answered("12", COUNTER)
    snap.traffic = not_sent("--no-traffic given: no requests sent")
    assert run("prometheus-answer", snap, **ANSWER).status is Status.SKIP
    probe = probe_for("prometheus-answer", ANSWER)
    snap.traffic = Traffic(where="http://127.0.0.1:1", observations={probe: Observation(
        probe, "Prometheus", skipped="the sandbox's Prometheus is not running")})
    out = run("prometheus-answer", snap, **ANSWER)
    assert out.status is Status.SKIP and out.reason == "the sandbox's Prometheus is not running"
    missing = answered(None, COUNTER, configmap=False)
    missing.traffic = not_sent("--no-traffic given: no requests sent")
    out = run("prometheus-answer", missing, **ANSWER)
    assert out.status is Status.FAIL and "ConfigMap webapp/lab-answers not found; expected data.web-requests" in out.reason


def test_prometheus_answer_bad_window_is_the_lab_definition_s() -> None:
    out = run("prometheus-answer", answered("12", COUNTER), **ANSWER, window="forever")
    assert out.status is Status.FAIL and "check parameter window" in out.reason
