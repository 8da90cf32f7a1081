"""Each traffic lab's "Verify it yourself" requests, sent to the sandbox's data plane (flavour ossm2):
after `lab start` the broken or missing configuration shows in the traffic, after `lab solve` the
traffic is what the task asks for. Requests are bounded in count and time."""

from __future__ import annotations

import math
import re
import subprocess
import time
from collections import Counter

import pytest

from grader.probe import query_range
from grader.sandbox.dataplane.client import CURL_RESET, CURL_TIMEOUT, CurlError, send, wait

from .helpers import by_id, grade_json, run

pytestmark = pytest.mark.sandbox


def _within_binomial(count: int, n: int, p: float, z: float = 4.0) -> bool:
    return abs(count - n * p) <= z * math.sqrt(n * p * (1 - p))


def _pod(ans) -> str:
    return {k.lower(): v for k, v in ans.headers}.get("x-lab-pod", "")


@pytest.fixture
def lab(sandbox, kubeconfig):
    """start/solve a lab on the session sandbox, waiting until the data plane has the result."""
    started: list[str] = []

    def do(verb: str, name: str) -> dict:
        code, _, err = run(kubeconfig, verb, name)
        assert code == 0, err
        if verb == "start":
            started.append(name)
        ports = sandbox.state()["ports"]
        assert wait(ports["dataplane-admin"], 20)
        return ports
    yield do
    for name in started:
        run(kubeconfig, "finish", name)


def _status(ports: dict, url: str, **kw) -> int | str:
    try:
        return send(ports, url, **kw).status
    except CurlError as e:
        return "reset" if e.code == CURL_RESET else f"curl {e.code}"


def test_gateway_lab_answers_200_through_the_gateway_once_solved(lab):
    ports = lab("start", "gateway")
    gw = f"http://127.0.0.1:{ports['dataplane-gateway']}/"
    assert _status(ports, gw) != 200
    ports = lab("solve", "gateway")
    ans = send(ports, gw)
    assert ans.status == 200 and _pod(ans).startswith("web-v1-") and b"Welcome to nginx!" in ans.body


def test_canary_lab_splits_80_20_over_100_requests(lab):
    lab("start", "canary")
    ports = lab("solve", "canary")
    t0 = time.monotonic()
    seen = Counter(_pod(send(ports, f"http://127.0.0.1:{ports['dataplane-gateway']}/"))[:6] for _ in range(100))
    assert time.monotonic() - t0 < 5
    assert set(seen) == {"web-v1", "web-v2"} and _within_binomial(seen["web-v2"], 100, 0.2), seen


def test_fault_delay_lab_holds_requests_for_the_configured_5s(lab):
    lab("start", "fault-delay")
    ports = lab("solve", "fault-delay")
    with pytest.raises(CurlError) as e:   # bounded: one request, given up after 1 s
        send(ports, f"http://127.0.0.1:{ports['dataplane-gateway']}/", timeout=1.0)
    assert e.value.code == CURL_TIMEOUT


def test_fault_abort_lab_aborts_about_half_with_500(lab):
    lab("start", "fault-abort")
    ports = lab("solve", "fault-abort")
    codes = Counter(send(ports, f"http://127.0.0.1:{ports['dataplane-gateway']}/").status for _ in range(100))
    assert set(codes) == {200, 500} and _within_binomial(codes[500], 100, 0.5), codes


def test_resilience_lab_per_try_timeout_answers_504_for_the_slow_web(lab):
    """The lab's setup makes web-v1 slow (lab.grader/delay: 3s): 200 after 3 s until the route has
    its timeouts, then 504 after the 2 s perTryTimeout."""
    ports = lab("start", "resilience")
    gw = f"http://127.0.0.1:{ports['dataplane-gateway']}/"
    t0 = time.monotonic()
    ans = send(ports, gw, timeout=8)
    took = time.monotonic() - t0
    # web-v1 answers 200, web-v1-bad 500 (not yet ejected: no outlier detection at start)
    assert (ans.status, _pod(ans).startswith("web-v1-bad-")) in ((200, False), (500, True)) and 2.9 < took < 4.0, \
        (ans.status, took)
    ports = lab("solve", "resilience")
    t0 = time.monotonic()
    ans = send(ports, gw, timeout=8)
    took = time.monotonic() - t0
    assert (ans.status, ans.body) == (504, b"upstream request timeout") and 1.9 < took < 3.0, (ans.status, took)


def test_resilience_lab_ejects_web_v1_bad_and_overflows_the_pool(lab):
    """Solved: web-v1-bad's 500s (quick path /healthz) stop after 5, outlier detection ejects it; six
    requests at once to the slow / find a pool of 1 connection + 1 pending request: 4 turned away with
    503 overflow (x-envoy-overloaded), 2 answered 504 by the perTryTimeout (bounded: 6 requests, 8 s)."""
    import concurrent.futures
    lab("start", "resilience")
    ports = lab("solve", "resilience")
    gw = f"http://127.0.0.1:{ports['dataplane-gateway']}"
    t0 = time.monotonic()
    answers = [send(ports, f"{gw}/healthz", timeout=2) for _ in range(60)]
    assert time.monotonic() - t0 < 3
    bad = [i for i, a in enumerate(answers) if _pod(a).startswith("web-v1-bad-")]
    assert len(bad) == 5 and bad[-1] < 20 and all(answers[i].status == 500 for i in bad), bad
    assert {a.status for i, a in enumerate(answers) if i not in bad} == {200}
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        burst = list(pool.map(lambda _: send(ports, f"{gw}/", timeout=8), range(6)))
    over = [("x-envoy-overloaded", "true") in [(k.lower(), v) for k, v in a.headers] for a in burst]
    assert over.count(True) == 4
    assert all(a.status == 503 and a.body.endswith(b"reset reason: overflow") for a, o in zip(burst, over, strict=True) if o)
    assert sorted(a.status for a, o in zip(burst, over, strict=True) if not o) == [504, 504]


def test_fix_gateway_lab_serves_www_example_com_only_once_fixed(lab):
    ports = lab("start", "fix-gateway")
    assert _status(ports, "http://www.example.com/") != 200
    ports = lab("solve", "fix-gateway")
    assert send(ports, "http://www.example.com/").status == 200


def test_fix_mtls_lab_traffic_fails_until_fixed(lab):
    ports = lab("start", "fix-mtls")
    assert _status(ports, "http://web/", source="webapp/legacy") == "reset"       # plaintext under STRICT
    broken = send(ports, "http://web/", source="webapp/web-v1")                   # DR tls DISABLE -> STRICT
    assert broken.status == 503 and b"connection termination" in broken.body
    ports = lab("solve", "fix-mtls")
    assert send(ports, "http://web/", source="webapp/legacy").status == 200
    assert send(ports, "http://web/", source="webapp/web-v1").status == 200


def test_mtls_lab_requests_between_sidecars_use_mutual_tls(lab):
    lab("start", "mtls")
    ports = lab("solve", "mtls")
    assert send(ports, "http://web.webapp/", source="webapp/web-v1").status == 200


def test_observability_lab_answer_is_what_prometheus_counted(lab, kubeconfig):
    """Requests through the gateway are counted by web-v1's sidecar and scraped by the sandbox's
    Prometheus; the number read then is accepted after more requests came in, one never
    answered is not."""
    ports = lab("start", "observability")
    prom = f"http://127.0.0.1:{ports['prometheus']}"
    query = ('sum(istio_requests_total{reporter="destination", destination_workload="web-v1", '
             'destination_workload_namespace="webapp"})')
    before = (query_range(prom, query, 60)[0] or [(0, 0.0)])[-1][1]   # earlier labs' requests to webapp/web-v1
    for _ in range(7):
        assert send(ports, f"http://127.0.0.1:{ports['dataplane-gateway']}/").status == 200
    deadline = time.monotonic() + 15   # Prometheus scrapes every 2 s
    while time.monotonic() < deadline and (query_range(prom, query, 60)[0] or [(0, 0.0)])[-1][1] < before + 7:
        time.sleep(0.5)
    lab("solve", "observability")
    for _ in range(3):                 # more requests: the counter moves on, the recorded number stays right
        send(ports, f"http://127.0.0.1:{ports['dataplane-gateway']}/")
    _, report = grade_json(kubeconfig, "observability")
    answer = by_id(report)["requests-answer"]
    assert answer["status"] == "pass", answer
    recorded = re.search(r"data.web-requests is '(\d+)': what Prometheus at (\S+) answered", answer["reason"])
    assert recorded and int(recorded.group(1)) >= before + 7 and recorded.group(2) == prom, answer
    subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "patch", "configmap", "lab-answers", "-n", "webapp",
                    "--type", "merge", "-p", '{"data":{"web-requests":"123456789"}}'],
                   check=True, capture_output=True, timeout=30)
    _, report = grade_json(kubeconfig, "observability")
    assert by_id(report)["requests-answer"]["status"] == "fail"
    assert "never 123456789" in by_id(report)["requests-answer"]["reason"]
