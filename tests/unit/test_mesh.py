"""Istio/Kubernetes semantics in grader.mesh."""

from __future__ import annotations

from fractions import Fraction

import pytest

from grader import mesh as M
from grader.snapshot import Snapshot, name_of


# -- selectors ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "selector, labels, expected",
    [
        ({"matchLabels": {"app": "web"}}, {"app": "web", "version": "v1"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "api"}, False),
        ({}, {"anything": "x"}, True),  # empty LabelSelector matches everything
        ({"matchExpressions": [{"key": "version", "operator": "In", "values": ["v1", "v2"]}]}, {"version": "v2"}, True),
        ({"matchExpressions": [{"key": "version", "operator": "In", "values": ["v1"]}]}, {"version": "v2"}, False),
        ({"matchExpressions": [{"key": "version", "operator": "NotIn", "values": ["v1"]}]}, {"app": "web"}, True),
        ({"matchExpressions": [{"key": "version", "operator": "NotIn", "values": ["v1"]}]}, {"version": "v1"}, False),
        ({"matchExpressions": [{"key": "canary", "operator": "Exists"}]}, {"canary": ""}, True),
        ({"matchExpressions": [{"key": "canary", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}, {}, True),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "version", "operator": "In", "values": ["v1"]}],
            },
            {"app": "web", "version": "v1"},
            True,
        ),
        ({"matchExpressions": [{"key": "x", "operator": "Gt", "values": ["1"]}]}, {"x": "2"}, False),
        ({"matchExpressions": "app=web"}, {"app": "web"}, False),
        ({"matchLabels": "app=web"}, {"app": "web"}, False),
        ("app=web", {"app": "web"}, False),
        (None, {"app": "web"}, False),
    ],
)
def test_label_selector(selector, labels, expected):
    assert M.label_selector_matches(selector, labels) is expected


def test_map_selector_and_auto_detection():
    assert M.map_selector_matches({"istio": "ingressgateway"}, {"istio": "ingressgateway", "app": "x"})
    assert not M.map_selector_matches({"istio": "ingressgateway"}, {"istio": "ingress"})
    assert not M.map_selector_matches({}, {"a": "b"})  # an empty Service selector selects nothing
    assert M.map_selector_matches({}, {"a": "b"}, empty_matches=True)  # a subset without labels: all pods
    assert M.map_selector_matches({"inject": True}, {"inject": "true"})  # YAML bool vs API string
    assert M.selector_matches({"matchLabels": {"app": "web"}}, {"app": "web"})
    assert M.selector_matches({"app": "web"}, {"app": "web"})
    assert not M.selector_matches({"app": "web"}, "app=web")


# -- pods of a Deployment ---------------------------------------------------------------
def test_deployment_pods_uses_current_replicaset(objs, make_snap, get):
    snap = make_snap(objs)
    dep = get(objs, "Deployment", "web-v1")
    pods = M.deployment_pods(snap, dep)
    # the terminating pod of the old ReplicaSet is excluded
    assert sorted(name_of(p) for p in pods) == ["web-v1-7d9f8b6c5d-m4t8z", "web-v1-7d9f8b6c5d-x2k9p"]
    assert name_of(M.current_replicaset(snap, dep)) == "web-v1-7d9f8b6c5d"


def test_deployment_pods_excludes_old_replicaset_pods(objs, make_snap, get):
    old = get(objs, "Pod", "web-v1-5c7b9d8f46-b6q5r")
    del old["metadata"]["deletionTimestamp"]  # an old pod still running, not terminating
    pods = M.deployment_pods(make_snap(objs), get(objs, "Deployment", "web-v1"))
    assert "web-v1-5c7b9d8f46-b6q5r" not in [name_of(p) for p in pods]


def test_deployment_pods_without_replicasets_uses_selector(objs, make_snap, get):
    no_rs = [o for o in objs if o["kind"] != "ReplicaSet"]
    pods = M.deployment_pods(make_snap(no_rs), get(no_rs, "Deployment", "web-v2"))
    assert [name_of(p) for p in pods] == ["web-v2-84b6fd7c9b-h8j2c"]


def test_deployment_pods_pod_template_hash_when_no_owner_refs(objs, make_snap, get):
    pod = get(objs, "Pod", "web-v2-84b6fd7c9b-h8j2c")
    del pod["metadata"]["ownerReferences"]
    assert len(M.deployment_pods(make_snap(objs), get(objs, "Deployment", "web-v2"))) == 1


def test_deployment_pods_revision_not_yet_listed(objs, make_snap, get):
    dep = get(objs, "Deployment", "web-v2")
    dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "3"
    assert M.deployment_pods(make_snap(objs), dep) == []


def test_deployment_pods_highest_revision_without_annotation(objs, make_snap, get):
    dep = get(objs, "Deployment", "web-v1")
    del dep["metadata"]["annotations"]
    snap = make_snap(objs)
    assert name_of(M.current_replicaset(snap, dep)) == "web-v1-7d9f8b6c5d"


def test_deployment_pods_missing_selector(objs, make_snap, get):
    dep = get(objs, "Deployment", "web-v1")
    dep["spec"]["selector"] = None
    assert M.deployment_pods(make_snap(objs), dep) == []


# -- pod readiness and sidecars -----------------------------------------------------------
def test_pod_ready_and_problem(objs, get):
    pod = get(objs, "Pod", "web-v2-84b6fd7c9b-h8j2c")
    assert M.pod_ready(pod)
    assert M.pod_problem(pod) == ""
    pod["status"]["conditions"][1]["status"] = "False"
    pod["status"]["containerStatuses"][1]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    assert not M.pod_ready(pod)
    assert "ImagePullBackOff" in M.pod_problem(pod)
    pod["status"] = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/3 nodes are available"}],
    }
    assert M.pod_problem(pod).startswith("is Pending")
    assert "0/3 nodes" in M.pod_problem(pod)


def test_pod_ready_needs_running_phase():
    pod = {"status": {"phase": "Succeeded", "conditions": [{"type": "Ready", "status": "True"}]}}
    assert not M.pod_ready(pod)
    assert not M.pod_ready({"status": "Running"})


def test_sidecar_status_regular(objs, get):
    sc = M.sidecar_status(get(objs, "Pod", "web-v1-7d9f8b6c5d-x2k9p"))
    assert sc.present and sc.ready and sc.annotated and not sc.native and sc.ok


def test_sidecar_status_native(load_scenario, get):
    objs = load_scenario("v2-native-sidecar.yaml")
    sc = M.sidecar_status(get(objs, "Pod", "web-v2-84b6fd7c9b-h8j2c"))
    assert sc.present and sc.native and sc.ready and sc.ok


def test_sidecar_init_container_without_restart_policy_is_not_a_sidecar():
    pod = {
        "metadata": {"annotations": {M.SIDECAR_STATUS_ANNOTATION: "{}"}},
        "spec": {"initContainers": [{"name": "istio-proxy"}], "containers": [{"name": "app"}]},
        "status": {"initContainerStatuses": [{"name": "istio-proxy", "ready": True}]},
    }
    assert not M.sidecar_status(pod).present


def test_sidecar_not_ready_or_not_annotated(objs, get):
    pod = get(objs, "Pod", "web-v1-7d9f8b6c5d-x2k9p")
    pod["status"]["containerStatuses"][0]["ready"] = False
    assert not M.sidecar_status(pod).ready
    del pod["metadata"]["annotations"][M.SIDECAR_STATUS_ANNOTATION]
    assert not M.sidecar_status(pod).annotated
    assert not M.sidecar_status(pod).ok


@pytest.mark.parametrize(
    "value, expected",
    [
        ("true", True),
        ("yes", True),
        ("On", True),
        ("y", True),
        (True, True),
        ("false", False),
        ("enabled", False),
        (None, False),
        ("", False),
    ],
)
def test_inject_value(value, expected):
    assert M.inject_value_true(value) is expected


# -- hosts --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "host, ns, fqdn",
    [
        ("web", "webapp", "web.webapp.svc.cluster.local"),
        ("web", "istio-system", "web.istio-system.svc.cluster.local"),  # the RULE's namespace
        ("web.webapp", "other", "web.webapp.svc.cluster.local"),
        ("web.webapp.svc", "other", "web.webapp.svc.cluster.local"),
        ("web.webapp.svc.cluster.local", "other", "web.webapp.svc.cluster.local"),
        ("Web.WebApp.svc.cluster.local.", "other", "web.webapp.svc.cluster.local"),
        ("www.example.com", "webapp", "www.example.com"),
        ("*", "webapp", "*"),
        ("*.example.com", "webapp", "*.example.com"),
        (None, "webapp", ""),
        (80, "webapp", ""),
    ],
)
def test_resolve_host(host, ns, fqdn):
    assert M.resolve_host(host, ns) == fqdn


def test_service_of_host():
    assert M.service_of_host("web.webapp.svc.cluster.local") == ("webapp", "web")
    assert M.service_of_host("www.example.com") is None
    assert M.service_of_host("*.webapp.svc.cluster.local") is None


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("*", "anything.example.com", True),
        ("*.example.com", "web.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("web.example.com", "*.example.com", True),
        ("*.example.com", "*.api.example.com", True),
        ("*.api.example.com", "*.example.com", True),
        ("*.a.com", "*.b.com", False),
        ("web.example.com", "WEB.example.com", True),
        ("web.example.com", "www.example.com", False),
        (None, "*", False),
    ],
)
def test_host_matches(a, b, expected):
    assert M.host_matches(a, b) is expected


# -- gateways ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ref, ns, key",
    [
        ("web-gateway", "webapp", "webapp/web-gateway"),
        ("istio-system/public", "webapp", "istio-system/public"),
        ("./web-gateway", "webapp", "webapp/web-gateway"),
        ("web-gateway.istio-system.svc.cluster.local", "webapp", "istio-system/web-gateway"),
        ("mesh", "webapp", "mesh"),
        (None, "webapp", ""),
    ],
)
def test_resolve_gateway_ref(ref, ns, key):
    assert M.resolve_gateway_ref(ref, ns) == key


def test_vs_gateways_default_mesh():
    vs = {"metadata": {"name": "v", "namespace": "webapp"}, "spec": {"hosts": ["web"]}}
    assert M.vs_gateways(vs) == ["mesh"]
    vs["spec"]["gateways"] = []
    assert M.vs_gateways(vs) == ["mesh"]
    vs["spec"]["gateways"] = ["web-gateway", "mesh"]
    assert M.vs_gateways(vs) == ["webapp/web-gateway", "mesh"]


def test_vs_hosts_in_gateway_namespace_scoped_hosts():
    gw = {
        "metadata": {"name": "g", "namespace": "istio-system"},
        "spec": {"servers": [{"port": {"number": 80}, "hosts": ["webapp/*.example.com", "./admin.example.com"]}]},
    }
    vs = {"metadata": {"name": "v", "namespace": "webapp"}, "spec": {"hosts": ["web.example.com"]}}
    assert M.vs_hosts_in_gateway(vs, gw)
    vs["metadata"]["namespace"] = "other"
    assert not M.vs_hosts_in_gateway(vs, gw)
    vs["spec"]["hosts"] = ["admin.example.com"]
    vs["metadata"]["namespace"] = "istio-system"
    assert M.vs_hosts_in_gateway(vs, gw)


def test_gateway_pods_any_namespace_and_service_ports(objs, make_snap, get):
    snap = make_snap(objs)
    gw = get(objs, "Gateway", "web-gateway")
    pods = M.gateway_pods(snap, gw)
    assert [name_of(p) for p in pods] == ["istio-ingressgateway-6c8f7b9d4f-q7w2n"]
    services = M.services_selecting(snap, pods)
    assert [name_of(s) for s in services] == ["istio-ingressgateway"]
    assert {80, 8080, 443, 8443, 15021} <= M.service_exposed_ports(services[0], pods)


def test_service_named_target_port_resolves_on_pods(objs, get):
    svc = get(objs, "Service", "istio-ingressgateway", "istio-system")
    svc["spec"]["ports"] = [{"name": "http2", "port": 80, "targetPort": "http2"}]
    pod = get(objs, "Pod", "istio-ingressgateway-6c8f7b9d4f-q7w2n", "istio-system")
    assert M.service_exposed_ports(svc, [pod]) == {80, 8080}


# -- effective route -------------------------------------------------------------------------
def _vs(*http):
    return {"metadata": {"name": "web", "namespace": "webapp"}, "spec": {"hosts": ["*"], "http": list(http)}}


@pytest.mark.parametrize(
    "match, applies",
    [
        (None, True),
        ([], True),
        ([{"uri": {"prefix": "/"}}], True),
        ([{"uri": {"regex": ".*"}}], True),
        ([{"uri": {"regex": "/.*"}}], True),
        ([{"uri": {"exact": "/"}}], True),
        ([{"uri": {"prefix": "/api"}}], False),
        ([{"uri": {"exact": "/productpage"}}, {"uri": {"prefix": "/"}}], True),
        ([{"headers": {"end-user": {"exact": "jason"}}}], False),
        ([{"uri": {"prefix": "/"}, "headers": {"x": {"exact": "1"}}}], False),
        ([{"queryParams": {"canary": {"exact": "1"}}}], False),
        ([{"method": {"exact": "GET"}}], True),
        ([{"method": {"exact": "POST"}}], False),
        ([{"uri": {"regex": "("}}], False),  # invalid regex: no match, no crash
        ([{"sourceLabels": {"app": "tester"}}], False),
        ([{"withoutHeaders": {"x-debug": {}}}], True),
        ("not-a-list", False),
    ],
)
def test_http_route_matches_plain_get(match, applies):
    http = {"route": [{"destination": {"host": "web"}}]}
    if match is not None:
        http["match"] = match
    assert M.http_route_matches_plain_get(http) is applies


def test_effective_route_skips_header_only_entry():
    vs = _vs(
        {"match": [{"headers": {"end-user": {"exact": "jason"}}}], "route": []},
        {"route": [{"destination": {"host": "web"}}]},
    )
    idx, entry = M.effective_http_route(vs)
    assert idx == 1


def test_effective_route_gateway_condition():
    vs = _vs({"match": [{"gateways": ["web-gateway"]}], "route": []}, {"route": []})
    assert M.effective_http_route(vs, "webapp/web-gateway")[0] == 0
    assert M.effective_http_route(vs, "webapp/other")[0] == 1
    assert M.effective_http_route(_vs({"match": [{"uri": {"prefix": "/x"}}]})) is None


# -- weights ---------------------------------------------------------------------------------
def _dest(subset, weight=None, host="web"):
    d = {"destination": {"host": host, "subset": subset}}
    if weight is not None:
        d["weight"] = weight
    return d


def test_route_weights_relative():
    rw = M.route_weights([_dest("v1", 80), _dest("v2", 30)], "webapp")
    assert rw.ok
    assert [s.share for s in rw.shares] == [Fraction(8, 11), Fraction(3, 11)]
    assert M.percent(rw.shares[0].share) == "72.7%"
    assert M.percent(rw.shares[1].share) == "27.3%"
    assert rw.shares[0].host == "web.webapp.svc.cluster.local"


def test_route_weights_single_destination_gets_everything():
    rw = M.route_weights([_dest("v1")], "webapp")
    assert rw.ok and rw.shares[0].share == 1
    assert M.percent(rw.shares[0].share) == "100%"


def test_route_weights_missing_weight_counts_zero():
    rw = M.route_weights([_dest("v1", 100), _dest("v2")], "webapp")
    assert [s.share for s in rw.shares] == [1, 0]


@pytest.mark.parametrize("bad", ["80", -5, 80.5, True, None, [80], {"w": 1}])
def test_route_weights_invalid(bad):
    route = [_dest("v1", 20), {"destination": {"host": "web", "subset": "v2"}, "weight": bad}]
    rw = M.route_weights(route, "webapp")
    if bad is None:  # missing weight: counts as 0
        assert rw.ok
        return
    assert not rw.ok
    assert rw.errors[0][0] == "route[1].weight"


def test_route_weights_total_zero_and_not_a_list():
    assert not M.route_weights([_dest("v1", 0), _dest("v2", 0)], "webapp").ok
    assert not M.route_weights("web", "webapp").ok
    assert not M.route_weights([], "webapp").ok


def test_route_weights_huge_values():
    rw = M.route_weights([_dest("v1", 10**30), _dest("v2", 10**30)], "webapp")
    assert rw.ok and rw.shares[0].share == Fraction(1, 2)


# -- durations --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, seconds",
    [
        ("30s", 30),
        ("30000ms", 30),
        ("0.5m", 30),
        ("1m30s", 90),
        ("1h", 3600),
        ("1.5s", Fraction(3, 2)),
        ("100us", Fraction(1, 10000)),
        ("250µs", Fraction(1, 4000)),
        ("10ns", Fraction(1, 10**8)),
        ("0", 0),
        (".5s", Fraction(1, 2)),
    ],
)
def test_parse_duration(text, seconds):
    assert M.parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["30", "-30s", "thirty", "", "30 s", "s", 30, None, ["30s"], "1d"])
def test_parse_duration_invalid(bad):
    assert M.parse_duration(bad) is None


# -- mTLS ---------------------------------------------------------------------------------------
def _pa(name, ns, mode=None, ts="2024-05-01T00:00:00Z", selector=None):
    spec = {}
    if mode is not None:
        spec["mtls"] = {"mode": mode}
    if selector is not None:
        spec["selector"] = {"matchLabels": selector}
    return {
        "apiVersion": "security.istio.io/v1beta1",
        "kind": "PeerAuthentication",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": ts},
        "spec": spec,
    }


def test_effective_mtls_default_permissive():
    d = M.effective_mtls(Snapshot.from_objects([]), "webapp")
    assert d.mode == "PERMISSIVE" and d.decided_by is None and d.level == "default"


def test_effective_mtls_precedence():
    objs = [
        _pa("default", "istio-system", "STRICT"),
        _pa("ns", "webapp", "PERMISSIVE"),
        _pa("wl", "webapp", "DISABLE", selector={"app": "web"}),
    ]
    snap = Snapshot.from_objects(objs)
    assert M.effective_mtls(snap, "webapp").mode == "PERMISSIVE"
    d = M.effective_mtls(snap, "webapp", {"app": "web", "version": "v1"})
    assert d.mode == "DISABLE" and d.level == "workload"
    assert M.effective_mtls(snap, "other").mode == "STRICT"


def test_effective_mtls_unset_inherits_and_oldest_wins():
    objs = [
        _pa("mesh", "istio-system", "STRICT"),
        _pa("old", "webapp", "UNSET", ts="2024-01-01T00:00:00Z"),
        _pa("new", "webapp", "DISABLE", ts="2024-06-01T00:00:00Z"),
    ]
    d = M.effective_mtls(Snapshot.from_objects(objs), "webapp")
    # the oldest namespace-wide policy is UNSET: it inherits STRICT from the mesh; "new" is ignored
    assert d.mode == "STRICT" and name_of(d.decided_by) == "mesh"
    assert any("UNSET" in n for n in d.notes)


def test_effective_mtls_selector_in_root_namespace_ignored():
    objs = [_pa("wl", "istio-system", "STRICT", selector={"app": "web"})]
    d = M.effective_mtls(Snapshot.from_objects(objs), "webapp", {"app": "web"})
    assert d.mode == "PERMISSIVE"


def test_effective_mtls_invalid_mode_reported():
    d = M.effective_mtls(Snapshot.from_objects([_pa("default", "webapp", "STRICTT")]), "webapp")
    assert d.invalid and d.invalid[0][1] == "STRICTT"


def test_subset_selects():
    assert M.subset_selects(None, {"app": "web"})
    assert M.subset_selects({}, {"app": "web"})
    assert M.subset_selects({"version": "v1"}, {"version": "v1", "app": "web"})
    assert not M.subset_selects({"version": "v1"}, {"version": "v2"})
    assert not M.subset_selects("version=v1", {"version": "v1"})
    # locality labels come from the node, which is not read: non-empty assumed to match
    assert M.subset_selects({"topology.kubernetes.io/region": "us-west-1", "version": "v1"}, {"version": "v1"})
    assert not M.subset_selects({"topology.kubernetes.io/region": ""}, {"version": "v1"})
