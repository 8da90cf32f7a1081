"""Check types of grader/checks/resilience.py: fault-injection, route-timeout-retries,
connection-pool and outlier-detection, on the canary scenario with the step-9 variants on top."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from harness import (
    ABORT,
    DELAY,
    POOL,
    RESILIENCE,
    ROUTE,
    TO_V1,
    check,
    fails,
    find,
    judged,
    run,
    scenario,
    snap_of,
    vs_http,
)

from grader.model import Status

OD = {"namespace": "webapp", "host": "web"}


# -- fault-injection: delay ---------------------------------------------------------------------
def test_delay_pass():
    out = check("fault-injection", scenario("vs-fault-delay.yaml"), **DELAY)
    assert out.status is Status.PASS
    assert out.reason == ("VirtualService webapp/web spec.http[0] injects a fixed delay of 5s for 100% of requests "
                          "(every request through webapp/web-gateway takes it)")


@pytest.mark.parametrize("fixed", ["5000ms", "5.0s", "4s1000ms", "5000000us"])
def test_delay_duration_compared_as_duration(fixed):
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["fault"]["delay"]["fixedDelay"] = fixed
    out = check("fault-injection", objs, **DELAY)
    assert out.ok, out.reason


@pytest.mark.parametrize("value", [100, 100.0])
def test_delay_percentage_is_a_number(value):
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["fault"]["delay"]["percentage"]["value"] = value
    assert check("fault-injection", objs, **DELAY).ok


def test_delay_5ms():
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["fault"]["delay"]["fixedDelay"] = "5ms"
    reason = fails("fault-injection", objs, **DELAY)
    assert reason == "VirtualService webapp/web spec.http[0].fault.delay.fixedDelay is '5ms' (0.005s); expected 5s (5s)"


def test_delay_percentage_10():
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["fault"]["delay"]["percentage"]["value"] = 10
    reason = fails("fault-injection", objs, **DELAY)
    assert "spec.http[0].fault.delay.percentage.value is 10, i.e. 10% of requests; expected 100 (100%)" in reason
    assert "fraction" not in reason


def test_delay_fraction_instead_of_percent():
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["fault"]["delay"]["percentage"]["value"] = 1.0
    reason = fails("fault-injection", objs, **DELAY)
    assert "percentage.value is a percent from 0 to 100, not a fraction (for 100% write 100)" in reason


def test_delay_deprecated_integer_percent_still_counts():
    """route.go TranslateFault falls back to the integer delay.percent when percentage is unset."""
    objs = scenario("vs-fault-delay.yaml")
    delay = vs_http(objs)["fault"]["delay"]
    del delay["percentage"]
    delay["percent"] = 100
    out = check("fault-injection", objs, **DELAY)
    assert out.status is Status.PASS
    assert "delay.percent is deprecated" in out.reason and "prefer" in out.reason and "percentage.value" in out.reason


def test_delay_deprecated_integer_percent_wrong_value():
    objs = scenario("vs-fault-delay.yaml")
    delay = vs_http(objs)["fault"]["delay"]
    del delay["percentage"]
    delay["percent"] = 10
    reason = fails("fault-injection", objs, **DELAY)
    assert "spec.http[0].fault.delay.percent is 10, i.e. 10% of requests; expected 100" in reason
    assert "deprecated" in reason


def test_delay_percent_ignored_when_percentage_set():
    objs = scenario("vs-fault-delay.yaml")
    delay = vs_http(objs)["fault"]["delay"]
    delay["percent"] = 100
    delay["percentage"]["value"] = 10
    reason = fails("fault-injection", objs, **DELAY)
    assert "delay.percent (100) is ignored because" in reason and "percentage.value is 10" in reason


def test_delay_without_any_percentage_delays_nothing():
    objs = scenario("vs-fault-delay.yaml")
    del vs_http(objs)["fault"]["delay"]["percentage"]
    reason = fails("fault-injection", objs, **DELAY)
    assert "spec.http[0].fault.delay sets no percentage.value" in reason
    assert "0% of requests: nothing is delayed; expected 100%" in reason


def test_delay_percentage_without_value():
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["fault"]["delay"]["percentage"] = {}
    reason = fails("fault-injection", objs, **DELAY)
    assert "delay.percentage.value is not set, so pilot configures the delay for 0% of requests" in reason


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("100", "percentage.value is '100' (a string), not a number from 0 to 100"),
        (True, "percentage.value is true (a boolean)"),
        (150, "percentage.value is 150, outside 0-100"),
        (-1, "outside 0-100"),
    ],
)
def test_delay_percentage_ill_typed(value, fragment):
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["fault"]["delay"]["percentage"]["value"] = value
    assert fragment in fails("fault-injection", objs, **DELAY)


@pytest.mark.parametrize(
    "delay, fragment",
    [
        (None, "spec.http[0].fault.delay is not set; expected fixedDelay 5s for 100% of requests"),
        ("5s", "spec.http[0].fault.delay is '5s' (a string), not an object"),
        ({"percentage": {"value": 100}}, "delay.fixedDelay is not set; expected 5s"),
        ({"exponentialDelay": "5s", "percentage": {"value": 100}}, "exponentialDelay, which pilot does not support"),
        ({"fixedDelay": 5, "percentage": {"value": 100}}, "delay.fixedDelay is 5, not a duration; expected 5s"),
        ({"fixedDelay": "5", "percentage": {"value": 100}}, "delay.fixedDelay is '5' (a string), not a duration"),
    ],
)
def test_delay_shapes(delay, fragment):
    objs = scenario("vs-fault-delay.yaml")
    if delay is None:
        vs_http(objs)["fault"] = {"abort": {"httpStatus": 500, "percentage": {"value": 0}}}
    else:
        vs_http(objs)["fault"]["delay"] = delay
    assert fragment in fails("fault-injection", objs, **DELAY)


def test_no_fault_at_all():
    reason = fails("fault-injection", scenario("vs-resilience.yaml"), **DELAY)
    assert reason == (
        "VirtualService webapp/web spec.http[0] has no fault; expected a fixed delay of 5s for 100% of requests"
    )


def test_fault_only_on_a_header_entry():
    """Requests without the header take http[1], which has no fault: not every request is delayed."""
    reason = fails("fault-injection", scenario("vs-header-fault.yaml"), **DELAY)
    assert "spec.http[1] (it takes every request the entries before it leave) has no fault" in reason
    assert "spec.http[0]" not in reason  # the header entry is delayed as expected


def test_fault_after_a_header_match_is_effective():
    objs = scenario("vs-header-fault.yaml")
    vs_http(objs, 1)["fault"] = copy.deepcopy(vs_http(objs, 0)["fault"])
    out = check("fault-injection", objs, **DELAY)
    assert out.ok and "spec.http[0] and spec.http[1] inject" in out.reason
    assert "every route a request through webapp/web-gateway can take" in out.reason


def test_unexpected_abort_alongside_delay():
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["fault"]["abort"] = {"httpStatus": 500, "percentage": {"value": 50}}
    reason = fails("fault-injection", objs, **DELAY)
    assert "spec.http[0].fault.abort also aborts 50% of requests with 500; expected no abort" in reason
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["fault"]["abort"] = {"httpStatus": 500, "percentage": {"value": 0}}
    assert check("fault-injection", objs, **DELAY).ok  # 0% changes nothing


def test_fault_needs_a_bound_virtualservice():
    objs = scenario("vs-fault-delay.yaml")
    find(objs, "VirtualService", "web")["spec"]["gateways"] = ["mesh"]
    out = check("fault-injection", objs, **DELAY)
    assert out.status is Status.FAIL and "web-gateway" in out.reason


def test_fault_not_an_object():
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["fault"] = ["delay"]
    assert "spec.http[0].fault is [\"delay\"], not an object" in fails("fault-injection", objs, **DELAY)


# -- fault-injection: abort ----------------------------------------------------------------------
def test_abort_pass():
    out = check("fault-injection", scenario("vs-fault-abort.yaml"), **ABORT)
    assert out.status is Status.PASS
    assert out.reason == ("VirtualService webapp/web spec.http[0] injects HTTP 500 aborts for 50% of requests "
                          "(every request through webapp/web-gateway takes it)")


def test_abort_503():
    objs = scenario("vs-fault-abort.yaml")
    vs_http(objs)["fault"]["abort"]["httpStatus"] = 503
    assert fails("fault-injection", objs, **ABORT) == (
        "VirtualService webapp/web spec.http[0].fault.abort.httpStatus is 503; expected 500"
    )


def test_abort_fraction():
    objs = scenario("vs-fault-abort.yaml")
    vs_http(objs)["fault"]["abort"]["percentage"]["value"] = 0.5
    reason = fails("fault-injection", objs, **ABORT)
    assert "spec.http[0].fault.abort.percentage.value is 0.5, i.e. 0.5% of requests; expected 50 (50%)" in reason
    assert "percentage.value is a percent from 0 to 100, not a fraction (for 50% write 50)" in reason


def test_abort_integer_percent_is_not_an_api_field():
    objs = scenario("vs-fault-abort.yaml")
    abort = vs_http(objs)["fault"]["abort"]
    del abort["percentage"]
    abort["percent"] = 50
    reason = fails("fault-injection", objs, **ABORT)
    assert "spec.http[0].fault.abort.percent (50) is not a field of the Istio API" in reason
    assert "no request is aborted" in reason and "use" in reason and "percentage.value" in reason


@pytest.mark.parametrize(
    "abort, fragment",
    [
        ({"grpcStatus": "UNAVAILABLE", "percentage": {"value": 50}}, "uses grpcStatus 'UNAVAILABLE'; expected "
                                                                     "httpStatus 500"),
        ({"percentage": {"value": 50}}, "abort.httpStatus is not set; expected 500"),
        ({"httpStatus": "500", "percentage": {"value": 50}}, "abort.httpStatus is '500' (a string), not an integer"),
        ({"httpStatus": 500}, "abort sets no percentage.value, so pilot configures the abort for 0% of requests"),
    ],
)
def test_abort_shapes(abort, fragment):
    objs = scenario("vs-fault-abort.yaml")
    vs_http(objs)["fault"]["abort"] = abort
    assert fragment in fails("fault-injection", objs, **ABORT)


def test_unexpected_delay_alongside_abort():
    objs = scenario("vs-fault-abort.yaml")
    vs_http(objs)["fault"]["delay"] = {"fixedDelay": "5s", "percent": 100}
    assert "fault.delay also delays 100% of requests; expected no delay" in fails("fault-injection", objs, **ABORT)


def test_delay_and_abort_together():
    objs = scenario("vs-fault-abort.yaml")
    vs_http(objs)["fault"]["delay"] = {"fixedDelay": "5s", "percentage": {"value": 100}}
    out = check("fault-injection", objs, **DELAY, abort={"status": 500, "percent": 50})
    assert out.ok and "5s for 100% and HTTP 500 aborts for 50% of requests" in out.reason


@pytest.mark.parametrize(
    "params, name",
    [
        ({}, "delay/abort"),
        ({"delay": {"fixed": "5", "percent": 100}}, "delay.fixed"),
        ({"delay": {"fixed": "5s", "percent": 101}}, "delay.percent"),
        ({"delay": {"fixed": "5s"}}, "delay"),
        ({"abort": {"status": 700, "percent": 5}}, "abort.status"),
        ({"abort": {"status": 500, "percent": "5"}}, "abort.percent"),
    ],
)
def test_fault_bad_params(params, name):
    out = check("fault-injection", scenario("vs-fault-delay.yaml"), **ROUTE, **params)
    assert out.status is Status.FAIL and out.reason.startswith(f"check parameter {name} is")


# -- route-timeout-retries ------------------------------------------------------------------------
def test_timeout_retries_pass():
    out = check("route-timeout-retries", scenario("vs-resilience.yaml"), **RESILIENCE)
    assert out.status is Status.PASS
    assert out.reason == (
        "VirtualService webapp/web spec.http[0] has timeout 10s, retries.attempts 3, retries.perTryTimeout 2s "
        "(every request through webapp/web-gateway takes it)"
    )


def test_timeout_retries_equivalent_durations():
    objs = scenario("vs-resilience.yaml")
    http = vs_http(objs)
    http["timeout"], http["retries"]["perTryTimeout"] = "10000ms", "2000ms"
    http["retries"]["retryOn"] = "5xx,connect-failure"
    assert check("route-timeout-retries", objs, **RESILIENCE).ok


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"timeout": "1s"}, "spec.http[0].timeout is '1s' (1s); expected 10s"),
        ({"timeout": None}, "spec.http[0].timeout is not set, so the route has no timeout (it is disabled by default)"),
        ({"timeout": 10}, "spec.http[0].timeout is 10 (a number), not a duration; expected 10s"),
        ({"timeout": "10"}, "spec.http[0].timeout is '10' (a string), not a duration"),
        ({"retries": None}, "spec.http[0].retries is not set, so the mesh default retry policy applies (2 attempts"),
        ({"retries": "3"}, "spec.http[0].retries is '3' (a string), not an object"),
        ({"retries": {"attempts": 3}}, "retries.perTryTimeout is not set, so each attempt may use the whole route"),
        ({"retries": {"perTryTimeout": "2s"}}, "retries.attempts is not set, which disables retries"),
        ({"retries": {"attempts": 0, "perTryTimeout": "2s"}}, "retries.attempts is 0, which disables retries"),
        ({"retries": {"attempts": 5, "perTryTimeout": "2s"}}, "retries.attempts is 5; expected 3"),
        ({"retries": {"attempts": "3", "perTryTimeout": "2s"}}, "retries.attempts is '3' (a string), not an integer"),
        ({"retries": {"attempts": 3, "perTryTimeout": "20s"}}, "retries.perTryTimeout is '20s' (20s); expected 2s"),
    ],
)
def test_timeout_retries_failures(change, fragment):
    objs = scenario("vs-resilience.yaml")
    http = vs_http(objs)
    for k, v in change.items():
        if v is None:
            del http[k]
        else:
            http[k] = v
    reason = fails("route-timeout-retries", objs, **RESILIENCE)
    assert fragment in reason, reason


def test_timeout_retries_only_what_is_asked():
    objs = scenario("vs-resilience.yaml")
    del vs_http(objs)["retries"]
    assert check("route-timeout-retries", objs, **ROUTE, timeout="10s", attempts=None, per_try_timeout=None).ok


def test_timeout_retries_on_a_header_entry_only():
    """The header entry has them, the catch-all every other request takes does not."""
    objs = scenario("vs-header-fault.yaml")
    vs_http(objs, 0).update({"timeout": "10s", "retries": {"attempts": 3, "perTryTimeout": "2s"}})
    reason = fails("route-timeout-retries", objs, **RESILIENCE)
    assert "spec.http[1].timeout is not set" in reason and "spec.http[0]." not in reason


def test_timeout_retries_on_an_entry_no_request_reaches():
    """An entry after the catch-all is never reached: its settings do not count."""
    objs = scenario("vs-resilience.yaml")
    http = find(objs, "VirtualService", "web")["spec"]["http"]
    http.insert(0, {"route": copy.deepcopy(http[0]["route"])})
    reason = fails("route-timeout-retries", objs, **RESILIENCE)
    assert "spec.http[0].timeout is not set" in reason
    assert "spec.http[1] sets retries, but no request through webapp/web-gateway reaches it" in reason


@pytest.mark.parametrize(
    "params, name",
    [
        ({"timeout": "ten seconds"}, "timeout"),
        ({"per_try_timeout": 2}, "per_try_timeout"),
        ({"attempts": 0}, "attempts"),
        ({"timeout": None, "attempts": None, "per_try_timeout": None}, "timeout/attempts/per_try_timeout"),
    ],
)
def test_timeout_retries_bad_params(params, name):
    out = check("route-timeout-retries", scenario("vs-resilience.yaml"), **(RESILIENCE | params))
    assert out.status is Status.FAIL and out.reason.startswith(f"check parameter {name} is")


# -- connection-pool --------------------------------------------------------------------------------
def test_connection_pool_pass():
    out = check("connection-pool", scenario("dr-resilience.yaml"), **POOL)
    assert out.status is Status.PASS
    assert out.reason == (
        "DestinationRule webapp/web spec.trafficPolicy.connectionPool sets tcp.maxConnections: 100, "
        "http.http1MaxPendingRequests: 50, http.maxRequestsPerConnection: 2, and no subset or port-level policy "
        "replaces it"
    )


def test_connection_pool_missing():
    reason = fails("connection-pool", scenario(), **POOL)
    assert reason == (
        "DestinationRule webapp/web spec.trafficPolicy.connectionPool is not set; expected tcp.maxConnections: 100, "
        "http.http1MaxPendingRequests: 50, http.maxRequestsPerConnection: 2"
    )


@pytest.mark.parametrize(
    "section, field, value, fragment",
    [
        ("tcp", "maxConnections", 10, "spec.trafficPolicy.connectionPool.tcp.maxConnections is 10; expected 100"),
        ("http", "http1MaxPendingRequests", "50", "http.http1MaxPendingRequests is '50' (a string), not an integer"),
        ("http", "maxRequestsPerConnection", None, "http.maxRequestsPerConnection is not set (unlimited (0) by "
                                                   "default); expected 2"),
    ],
)
def test_connection_pool_names_the_field(section, field, value, fragment):
    objs = scenario("dr-resilience.yaml")
    cp = find(objs, "DestinationRule", "web")["spec"]["trafficPolicy"]["connectionPool"]
    if value is None:
        del cp[section][field]
    else:
        cp[section][field] = value
    reason = fails("connection-pool", objs, **POOL)
    assert fragment in reason
    assert reason.count("expected") == 1  # only the field that differs


def test_connection_pool_field_in_the_wrong_section():
    objs = scenario("dr-resilience.yaml")
    cp = find(objs, "DestinationRule", "web")["spec"]["trafficPolicy"]["connectionPool"]
    cp["http"]["maxConnections"] = cp["tcp"].pop("maxConnections")
    reason = fails("connection-pool", objs, **POOL)
    assert (
        "spec.trafficPolicy.connectionPool.tcp.maxConnections is not set; maxConnections is set at "
        "spec.trafficPolicy.connectionPool.http.maxConnections instead, where Istio does not read it; expected 100"
    ) in reason


def test_connection_pool_only_in_a_subset():
    objs = scenario("dr-resilience.yaml")
    dr = find(objs, "DestinationRule", "web")
    dr["spec"]["subsets"][0]["trafficPolicy"] = {"connectionPool": dr["spec"]["trafficPolicy"].pop("connectionPool")}
    reason = fails("connection-pool", objs, **POOL)
    assert "spec.trafficPolicy.connectionPool is not set" in reason
    assert "spec.subsets[0].trafficPolicy.connectionPool is set, but it applies only to subset v1" in reason


def test_connection_pool_subset_override_replaces_whole_pool():
    objs = scenario("dr-resilience.yaml")
    dr = find(objs, "DestinationRule", "web")
    dr["spec"]["subsets"][1]["trafficPolicy"] = {"connectionPool": {"http": {"http1MaxPendingRequests": 50,
                                                                              "maxRequestsPerConnection": 2}}}
    reason = fails("connection-pool", objs, **POOL)
    assert "spec.subsets[1].trafficPolicy.connectionPool.tcp.maxConnections is not set" in reason
    assert "replaces the top-level connection pool for subset v2" in reason
    # an override with the same values changes nothing
    dr["spec"]["subsets"][1]["trafficPolicy"] = copy.deepcopy({"connectionPool": dr["spec"]["trafficPolicy"]
                                                                ["connectionPool"]})
    assert check("connection-pool", objs, **POOL).ok


def test_connection_pool_port_level_override():
    objs = scenario("dr-resilience.yaml")
    tp = find(objs, "DestinationRule", "web")["spec"]["trafficPolicy"]
    tp["portLevelSettings"] = [{"port": {"number": 8080}, "connectionPool": {"tcp": {"maxConnections": 1}}}]
    reason = fails("connection-pool", objs, **POOL)
    assert "portLevelSettings[0].connectionPool.tcp.maxConnections is 1; expected 100" in reason
    assert "for port 8080" in reason


def test_connection_pool_oldest_rule_with_traffic_policy_wins():
    objs = scenario("dr-resilience.yaml")
    newer = copy.deepcopy(find(objs, "DestinationRule", "web"))
    newer["metadata"].update(name="web-pool", creationTimestamp="2024-05-03T00:00:00Z")
    del newer["spec"]["subsets"]
    older = find(objs, "DestinationRule", "web")
    del older["spec"]["trafficPolicy"]["connectionPool"]
    reason = fails("connection-pool", objs + [newer], **POOL)
    assert reason.startswith("DestinationRule webapp/web spec.trafficPolicy.connectionPool is not set")
    assert "DestinationRule webapp/web-pool also sets spec.trafficPolicy.connectionPool" in reason
    # when the older rule sets no trafficPolicy at all, the newer one's counts
    del older["spec"]["trafficPolicy"]
    out = check("connection-pool", objs + [newer], **POOL)
    assert out.ok and "web-pool" in out.reason


def test_connection_pool_subset_of_fields_and_no_rule():
    objs = scenario("dr-resilience.yaml")
    find(objs, "DestinationRule", "web")["spec"]["trafficPolicy"]["connectionPool"]["tcp"]["maxConnections"] = 7
    assert check("connection-pool", objs, **(POOL | {"max_connections": None})).ok
    out = check("connection-pool", objs, **(POOL | {"host": "api"}))
    assert out.status is Status.FAIL and "no DestinationRule in namespace webapp has spec.host api" in out.reason


@pytest.mark.parametrize("value", ["100", 0, True, 1.5])
def test_connection_pool_bad_params(value):
    out = check("connection-pool", scenario("dr-resilience.yaml"), **(POOL | {"max_connections": value}))
    assert out.status is Status.FAIL and out.reason.startswith("check parameter max_connections is")


def test_outlier_detection_still_judged_by_the_library_check():
    """The resilience lab reuses outlier-detection: the guide's consecutiveErrors trap."""
    objs = scenario("dr-resilience.yaml")
    od = find(objs, "DestinationRule", "web")["spec"]["trafficPolicy"]["outlierDetection"]
    od["consecutiveErrors"] = od.pop("consecutive5xxErrors")
    out = check("outlier-detection", objs, namespace="webapp", host="web")
    assert out.status is Status.PASS and "is deprecated and ignored by pilot" in out.reason


# -- robustness: odd content never raises ----------------------------------------------------------
CHECKS = [
    ("fault-injection", DELAY),
    ("fault-injection", ABORT),
    ("route-destination", TO_V1),
    ("route-timeout-retries", RESILIENCE),
    ("connection-pool", POOL),
]
ODD = [None, "", "5s", 0, -1, 10**40, 1.5, float("nan"), float("inf"), True, [], {}, [None, {"a": 1}], {"value": "x"}]
PATHS = [
    ("VirtualService", ("spec", "http", 0)),
    ("VirtualService", ("spec", "http", 0, "fault")),
    ("VirtualService", ("spec", "http", 0, "fault", "delay")),
    ("VirtualService", ("spec", "http", 0, "fault", "delay", "fixedDelay")),
    ("VirtualService", ("spec", "http", 0, "fault", "delay", "percentage")),
    ("VirtualService", ("spec", "http", 0, "fault", "delay", "percentage", "value")),
    ("VirtualService", ("spec", "http", 0, "fault", "delay", "percent")),
    ("VirtualService", ("spec", "http", 0, "fault", "abort")),
    ("VirtualService", ("spec", "http", 0, "timeout")),
    ("VirtualService", ("spec", "http", 0, "retries")),
    ("VirtualService", ("spec", "http", 0, "retries", "attempts")),
    ("VirtualService", ("spec", "http", 0, "route")),
    ("DestinationRule", ("spec", "trafficPolicy")),
    ("DestinationRule", ("spec", "trafficPolicy", "connectionPool")),
    ("DestinationRule", ("spec", "trafficPolicy", "connectionPool", "tcp")),
    ("DestinationRule", ("spec", "trafficPolicy", "connectionPool", "http", "maxRequestsPerConnection")),
    ("DestinationRule", ("spec", "subsets")),
    ("DestinationRule", ("spec", "subsets", 0)),
]


def _everything() -> list[dict]:
    objs = scenario("vs-fault-delay.yaml", "dr-resilience.yaml")
    vs_http(objs).update({"timeout": "10s", "retries": {"attempts": 3, "perTryTimeout": "2s"}})
    vs_http(objs)["fault"]["abort"] = {"httpStatus": 500, "percentage": {"value": 50}}
    return objs


@pytest.mark.parametrize("kind, path", PATHS, ids=lambda p: p if isinstance(p, str) else ".".join(map(str, p)))
def test_odd_values_never_raise(kind, path):
    for value in ODD:
        objs = _everything()
        target = find(objs, kind, "web")
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = copy.deepcopy(value)
        snap = snap_of(objs)
        for name, params in CHECKS:
            out = run(name, snap, **params)
            assert out.status in (Status.PASS, Status.FAIL), (name, path, value, out)
            assert judged(out), (name, path, value)


def test_empty_snapshot_and_odd_params_never_raise():
    for name, params in CHECKS:
        out = run(name, snap_of([]), **params)
        assert out.status is Status.FAIL and out.reason
        for key in params:
            for value in ODD:
                out = run(name, snap_of(_everything()), **(params | {key: copy.deepcopy(value)}))
                assert judged(out), (name, key, value, out.reason)


# -- Istio's own samples (tests/../shared/istio-corpus) ---------------------------------------------
def _corpus(shared_dir: Path, name: str) -> list[dict]:
    path = shared_dir / "istio-corpus" / "samples" / "istio-release-1.16" / "bookinfo" / "networking" / name
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


MESH = {"namespace": "default", "gateway": "mesh"}


def test_corpus_header_matched_delay_is_not_what_plain_requests_get(shared_dir):
    """bookinfo virtual-service-ratings-test-delay.yaml delays only end-user jason's requests."""
    objs = _corpus(shared_dir, "virtual-service-ratings-test-delay.yaml")
    reason = fails("fault-injection", objs, **MESH, host="ratings", delay={"fixed": "7s", "percent": 100})
    assert "spec.http[1] (it takes every request the entries before it leave) has no fault" in reason
    assert "spec.http[0]." not in reason  # jason's entry is delayed as asked; the others are not


def test_corpus_abort_sample(shared_dir):
    """bookinfo fault-injection-details-v1.yaml aborts every request with 555 (percentage.value 100)."""
    objs = _corpus(shared_dir, "fault-injection-details-v1.yaml")
    assert check("fault-injection", objs, **MESH, host="details", abort={"status": 555, "percent": 100}).ok
    assert check("route-destination", objs, **MESH, host="details", subset="v1").ok
    reason = fails("fault-injection", objs, **MESH, host="details", abort={"status": 500, "percent": 100})
    assert "spec.http[0].fault.abort.httpStatus is 555; expected 500" in reason


# -- outlier-detection ----------------------------------------------------------------------------------
def test_outlier_pass(variant, check):
    out = check("outlier-detection", variant(), **OD)
    assert out.status is Status.PASS and "DestinationRule webapp/web" in out.reason


def test_outlier_durations_semantic(load_scenario, get, make_snap, check):
    objs = load_scenario()
    od = get(objs, "DestinationRule", "web")["spec"]["trafficPolicy"]["outlierDetection"]
    od["interval"], od["baseEjectionTime"] = "30000ms", "0.5m"
    assert check("outlier-detection", make_snap(objs), **OD).ok
    assert check("outlier-detection", make_snap(objs), **OD, interval="0.5m", base_ejection_time="30000ms").ok


def test_outlier_only_consecutive_errors(variant, check):
    """The guide's consecutiveErrors: 5 works because 5 is Envoy's default: a pass with a note."""
    out = check("outlier-detection", variant("dr-consecutive-errors.yaml"), **OD)
    assert out.status is Status.PASS
    assert ("DestinationRule webapp/web spec.trafficPolicy.outlierDetection.consecutiveErrors (5) is deprecated and "
            "ignored by pilot" in out.reason)
    assert "only because 5 is the default; write consecutive5xxErrors: 5" in out.reason
    out = check("outlier-detection", variant("dr-consecutive-errors.yaml"), **{**OD, "consecutive_5xx": 3})
    assert out.status is Status.FAIL
    assert "sets no consecutive5xxErrors, so Envoy's default applies: pods are ejected after 5" in out.reason


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"consecutive5xxErrors": 3}, "spec.trafficPolicy.outlierDetection.consecutive5xxErrors is 3; expected 5"),
        ({"consecutive5xxErrors": "5"}, "consecutive5xxErrors is '5' (not an integer); expected 5"),
        ({"consecutive5xxErrors": 0}, "consecutive5xxErrors is 0, which disables ejection on 5xx errors"),
        ({"consecutive5xxErrors": -1}, "consecutive5xxErrors is -1 (negative); expected 5"),
        ({"interval": "10s"}, "spec.trafficPolicy.outlierDetection.interval is '10s' (10s); expected 30s"),
        ({"interval": None}, "outlierDetection.interval is not set, so Envoy's default 10s applies; expected 30s"),
        ({"baseEjectionTime": "3 minutes"}, "baseEjectionTime is '3 minutes', not a duration; expected 30s"),
        ({"baseEjectionTime": 30}, "baseEjectionTime is 30, not a duration"),
    ],
)
def test_outlier_failures(load_scenario, get, make_snap, check, change, fragment):
    objs = load_scenario()
    od = get(objs, "DestinationRule", "web")["spec"]["trafficPolicy"]["outlierDetection"]
    for k, v in change.items():
        if v is None:
            od.pop(k)
        else:
            od[k] = v
    out = check("outlier-detection", make_snap(objs), **OD)
    assert out.status is Status.FAIL
    assert out.reason.startswith("DestinationRule webapp/web")
    assert fragment in out.reason


def test_outlier_missing(load_scenario, get, make_snap, check):
    objs = load_scenario()
    del get(objs, "DestinationRule", "web")["spec"]["trafficPolicy"]
    out = check("outlier-detection", make_snap(objs), **OD)
    assert out.status is Status.FAIL
    assert (
        out.reason
        == "DestinationRule webapp/web spec.trafficPolicy.outlierDetection is not set; expected consecutive5xxErrors: 5"
    )


def test_outlier_no_rule(variant, check):
    out = check("outlier-detection", variant(), namespace="webapp", host="api")
    assert out.status is Status.FAIL and "no DestinationRule in namespace webapp has spec.host api" in out.reason


def test_outlier_skip_durations_and_bad_params(variant, check):
    assert check("outlier-detection", variant(), **OD, interval=None, base_ejection_time=None).ok
    assert "check parameter interval" in check("outlier-detection", variant(), **OD, interval="soon").reason
    assert "check parameter consecutive_5xx" in check("outlier-detection", variant(), **OD, consecutive_5xx="5").reason
