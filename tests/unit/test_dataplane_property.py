"""No student configuration crashes the data plane, and a broken object never breaks other routes.

Hypothesis throws mutated VirtualServices, DestinationRules and PeerAuthentications (any JSON where
the API server's schema would let it through, and beyond) at the routing core, next to a healthy
application in another namespace that must keep answering 200 from the right pod.
"""

from __future__ import annotations

from dataplane_world import World, from_pod, get, pod_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.sandbox.dataplane.proxy import RESET, Resp

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True),
                      st.text(max_size=12), st.sampled_from(["web", "v1", "v9", "*", "mesh", "5s", "-1s", "[", "(?P<",
                                                             "STRICT", "DISABLE", "SIMPLE", "ISTIO_MUTUAL", "503"]))
json_any = st.recursive(json_leaf, lambda c: st.one_of(st.lists(c, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), c, max_size=3)),
                        max_leaves=12)


def field(valid: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(valid, json_any)


string_match = st.fixed_dictionaries({}, optional={"exact": field(st.text(max_size=6)),
                                                   "prefix": field(st.sampled_from(["/", "/a"])),
                                                   "regex": field(st.sampled_from([".*", "[", "/a(b", "(a*)*b"]))})
destination = st.fixed_dictionaries({"host": field(st.sampled_from(["web", "web.chaos.svc.cluster.local", "nope"]))},
                                    optional={"subset": field(st.sampled_from(["v1", "v2", "v9"])),
                                              "port": field(st.fixed_dictionaries({"number": field(st.integers(0, 70000))}))})
http_route = st.fixed_dictionaries({}, optional={
    "match": field(st.lists(st.fixed_dictionaries({}, optional={
        "uri": field(string_match), "headers": field(st.dictionaries(st.text(max_size=5), field(string_match), max_size=2)),
        "method": field(string_match), "ignoreUriCase": field(st.booleans()),
        "queryParams": field(st.dictionaries(st.text(max_size=3), field(string_match), max_size=2))}), max_size=2)),
    "route": field(st.lists(st.fixed_dictionaries({"destination": field(destination)},
                                                  optional={"weight": field(st.integers(-5, 200))}), max_size=3)),
    "fault": field(st.fixed_dictionaries({}, optional={
        "delay": field(st.fixed_dictionaries({}, optional={"fixedDelay": field(st.sampled_from(["0.001s", "1ms", "x"])),
                                                            "percent": field(st.integers(-5, 200)),
                                                            "percentage": field(st.fixed_dictionaries(
                                                                {"value": field(st.floats(-5, 500))}))})),
        "abort": field(st.fixed_dictionaries({}, optional={"httpStatus": field(st.integers(-1, 1000)),
                                                            "percentage": field(st.fixed_dictionaries(
                                                                {"value": field(st.floats(-5, 500))}))}))})),
    "timeout": field(st.sampled_from(["0s", "0.05s", "1ms", "nope"])),
    "retries": field(st.fixed_dictionaries({}, optional={"attempts": field(st.integers(-2, 5)),
                                                          "perTryTimeout": field(st.sampled_from(["0.01s", "x"])),
                                                          "retryOn": field(st.sampled_from(["5xx", "503,reset", ""]))})),
    "redirect": field(st.fixed_dictionaries({}, optional={"uri": field(st.text(max_size=4)),
                                                           "redirectCode": field(st.integers(0, 600))})),
    "headers": json_any, "mirror": field(destination)})
vs_spec = st.fixed_dictionaries({"hosts": field(st.lists(st.sampled_from(["web", "web.chaos", "*", "*.chaos.svc.cluster.local"]),
                                                         max_size=2))},
                                optional={"gateways": field(st.lists(st.sampled_from(["mesh", "gw", "chaos/gw", "nope"]),
                                                                     max_size=2)),
                                          "http": field(st.lists(field(http_route), max_size=3))})
traffic_policy = st.fixed_dictionaries({}, optional={
    "tls": field(st.fixed_dictionaries({"mode": field(st.sampled_from(["DISABLE", "SIMPLE", "ISTIO_MUTUAL", "x"]))})),
    "connectionPool": field(st.fixed_dictionaries({}, optional={
        "tcp": field(st.fixed_dictionaries({}, optional={"maxConnections": field(st.integers(-1, 3))})),
        "http": field(st.fixed_dictionaries({}, optional={"http1MaxPendingRequests": field(st.integers(-1, 3)),
                                                          "http2MaxRequests": field(st.integers(-1, 3))}))})),
    "outlierDetection": field(st.fixed_dictionaries({}, optional={
        "consecutive5xxErrors": field(st.integers(-1, 6)), "consecutiveGatewayErrors": field(st.integers(-1, 6)),
        "baseEjectionTime": field(st.sampled_from(["1s", "x"])), "maxEjectionPercent": field(st.integers(-5, 200))})),
    "portLevelSettings": json_any})
dr_spec = st.fixed_dictionaries({"host": field(st.sampled_from(["web", "*", "web.chaos.svc.cluster.local"]))}, optional={
    "subsets": field(st.lists(st.fixed_dictionaries({"name": field(st.sampled_from(["v1", "v2"]))},
                                                    optional={"labels": field(st.dictionaries(
                                                        st.sampled_from(["version", "app"]), field(st.sampled_from(["v1", "v2"])),
                                                        max_size=2)), "trafficPolicy": field(traffic_policy)}), max_size=3)),
    "trafficPolicy": field(traffic_policy)})
pa_spec = st.fixed_dictionaries({}, optional={
    "selector": field(st.fixed_dictionaries({"matchLabels": field(st.dictionaries(st.sampled_from(["app"]),
                                                                                  field(st.just("web")), max_size=1))})),
    "mtls": field(st.fixed_dictionaries({"mode": field(st.sampled_from(["STRICT", "PERMISSIVE", "DISABLE", "UNSET", "x"]))})),
    "portLevelMtls": field(st.dictionaries(st.sampled_from(["80", "x", "-1"]),
                                           field(st.fixed_dictionaries({"mode": field(st.sampled_from(["STRICT", "DISABLE"]))})),
                                           max_size=2))})


def _world(vss: list, drs: list, pas: list) -> World:
    w = World()
    w.ingress()
    for ns in ("stable", "chaos"):
        app = "ok" if ns == "stable" else "web"
        w.pod(ns, f"{app}-v1-a", {"app": app, "version": "v1"})
        w.pod(ns, f"{app}-v2-b", {"app": app, "version": "v2"}, annotations={"lab.grader/respond": "503"}
              if ns == "chaos" else None)
        w.pod(ns, "client", {"app": "client"})
        w.pod(ns, "legacy", {"app": "legacy"}, sidecar=False)
        w.service(ns, app, {"app": app})
    w.add("DestinationRule", "stable", "ok", {"host": "ok", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]})
    w.add("VirtualService", "stable", "ok", {"hosts": ["ok"], "http": [
        {"route": [{"destination": {"host": "ok", "subset": "v1"}}]}]})
    w.add("Gateway", "stable", "gw", {"selector": {"istio": "ingressgateway"}, "servers": [
        {"port": {"number": 80, "protocol": "HTTP", "name": "http"}, "hosts": ["ok.example.com"]}]})
    w.add("VirtualService", "stable", "ok-gw", {"hosts": ["ok.example.com"], "gateways": ["gw"], "http": [
        {"route": [{"destination": {"host": "ok", "subset": "v1"}}]}]})
    w.add("Gateway", "chaos", "gw", {"selector": {"istio": "ingressgateway"}, "servers": [
        {"port": {"number": 80, "protocol": "HTTP", "name": "http"}, "hosts": ["*.chaos.example.com", "chaos/*"]}]})
    for i, spec in enumerate(vss):
        w.add("VirtualService", "chaos", f"vs{i}", spec)
    for i, spec in enumerate(drs):
        w.add("DestinationRule", "chaos", f"dr{i}", spec)
    for i, spec in enumerate(pas):
        w.add("PeerAuthentication", "chaos", f"pa{i}", spec)
    return w


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(field(vs_spec), max_size=3), st.lists(field(dr_spec), max_size=2), st.lists(field(pa_spec), max_size=2))
def test_mutated_configuration_never_crashes_and_other_routes_keep_serving(vss, drs, pas):
    dp = _world(vss, drs, pas).dataplane()
    for src in ("client", "legacy"):
        r = from_pod(dp, "chaos", src, "web")
        assert r == RESET or isinstance(r, Resp)
        r = from_pod(dp, "chaos", src, "web.chaos.svc.cluster.local", path="/a")
        assert r == RESET or isinstance(r, Resp)
    r = get(dp, host="x.chaos.example.com")
    assert r == RESET or isinstance(r, Resp)
    ok = from_pod(dp, "stable", "client", "ok")
    assert (ok.status, pod_of(ok)) == (200, "ok-v1-a")
    gw = get(dp, host="ok.example.com")
    assert (gw.status, pod_of(gw)) == (200, "ok-v1-a")
    dp.metrics.render()
