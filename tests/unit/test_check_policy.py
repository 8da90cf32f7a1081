"""resource-field, peer-authentication-mode, no-mtls-disable and outlier-detection."""

from __future__ import annotations

import pytest

from grader.model import Status

OD = {"namespace": "webapp", "host": "web"}


def _pa(name, ns, mode, ts="2024-05-03T00:00:00Z", selector=None):
    spec = {"mtls": {"mode": mode}} if mode is not None else {}
    if selector:
        spec["selector"] = {"matchLabels": selector}
    return {
        "apiVersion": "security.istio.io/v1beta1",
        "kind": "PeerAuthentication",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": ts},
        "spec": spec,
    }


# -- resource-field ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, path, expected",
    [
        ("DestinationRule", "spec.subsets.1.labels.version", "v2"),
        ("DestinationRule", "spec.subsets[1].labels.version", "v2"),
        ("destinationrules", "spec.trafficPolicy.outlierDetection.consecutive5xxErrors", 5),
        ("VirtualService", "spec.http.0.route.1.weight", 20),
        ("VirtualService", "spec.gateways", ["web-gateway"]),
        ("Deployment", "spec.template.metadata.annotations.sidecar.istio.io/inject", "true"),
    ],
)
def test_field_pass(variant, check, kind, path, expected):
    name = "web-v2" if kind == "Deployment" else "web"
    out = check("resource-field", variant(), kind=kind, namespace="webapp", name=name, path=path, expected=expected)
    assert out.status is Status.PASS, out.reason


def test_field_cluster_scoped(variant, check):
    out = check(
        "resource-field",
        variant(),
        kind="Namespace",
        name="webapp",
        path="metadata.labels.maistra.io/member-of",
        expected="istio-system",
    )
    assert out.ok


def test_field_mismatch(variant, check):
    out = check(
        "resource-field",
        variant("vs-weights-70-30.yaml"),
        kind="VirtualService",
        namespace="webapp",
        name="web",
        path="spec.http.0.route.0.weight",
        expected=80,
    )
    assert out.status is Status.FAIL
    assert out.reason == "VirtualService webapp/web spec.http.0.route.0.weight is 70; expected 80"


def test_field_type_mismatch(variant, check):
    out = check(
        "resource-field",
        variant("vs-weight-string.yaml"),
        kind="VirtualService",
        namespace="webapp",
        name="web",
        path="spec.http[0].route[0].weight",
        expected=80,
    )
    assert out.status is Status.FAIL
    assert "is '80' (a str, not a int); expected 80" in out.reason


def test_field_bool_is_not_int(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "VirtualService", "web")["spec"]["http"][0]["route"][0]["weight"] = True
    out = check(
        "resource-field",
        make_snap(objs),
        kind="VirtualService",
        namespace="webapp",
        name="web",
        path="spec.http.0.route.0.weight",
        expected=1,
    )
    assert out.status is Status.FAIL


def test_field_missing_path(variant, check):
    out = check(
        "resource-field",
        variant(),
        kind="VirtualService",
        namespace="webapp",
        name="web",
        path="spec.http.0.timeout",
        expected="5s",
    )
    assert out.status is Status.FAIL
    assert (
        out.reason
        == "VirtualService webapp/web has no field spec.http.0.timeout (missing at spec.http.0.timeout); expected '5s'"
    )
    out = check(
        "resource-field",
        variant(),
        kind="VirtualService",
        namespace="webapp",
        name="web",
        path="spec.http.7.timeout",
        expected="5s",
    )
    assert "missing at spec.http.7" in out.reason


def test_field_missing_object_and_unknown_kind(variant, check):
    out = check(
        "resource-field", variant(), kind="VirtualService", namespace="webapp", name="nope", path="spec", expected={}
    )
    assert out.status is Status.FAIL and out.reason == "VirtualService webapp/nope not found"
    out = check("resource-field", variant(), kind="Widget", namespace="webapp", name="x", path="spec", expected=1)
    assert out.status is Status.FAIL and "check parameter kind is 'Widget'" in out.reason


def test_field_unread_and_unserved_kind(variant, check):
    snap = variant()
    snap.read_kinds.discard("Route")
    assert (
        check("resource-field", snap, kind="Route", namespace="webapp", name="x", path="spec", expected=1).status
        is Status.ERROR
    )
    snap.missing_kinds.add("Route")
    out = check("resource-field", snap, kind="Route", namespace="webapp", name="x", path="spec", expected=1)
    assert out.status is Status.FAIL and "does not serve Route" in out.reason


# -- peer-authentication-mode ----------------------------------------------------------------------
def test_pa_strict_pass(variant, check):
    out = check("peer-authentication-mode", variant("pa-webapp-strict.yaml"), namespace="webapp")
    assert out.status is Status.PASS
    assert "PeerAuthentication webapp/default (namespace-wide, spec.mtls.mode)" in out.reason


def test_pa_mesh_permissive_fails(variant, check):
    out = check("peer-authentication-mode", variant(), namespace="webapp")
    assert out.status is Status.FAIL
    assert out.reason.startswith(
        "effective mTLS mode for namespace webapp is PERMISSIVE, set by PeerAuthentication istio-system/default "
        "(mesh-wide, spec.mtls.mode); expected STRICT"
    )
    assert "PeerAuthentication default in namespace webapp" in out.hint


def test_pa_mesh_wide_strict_pass(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "PeerAuthentication", "default", "istio-system")["spec"]["mtls"]["mode"] = "STRICT"
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp")
    assert out.ok and "mesh-wide" in out.reason


def test_pa_no_policy_default_permissive(load_scenario, make_snap, check):
    objs = [o for o in load_scenario() if o["kind"] != "PeerAuthentication"]
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp")
    assert (
        out.status is Status.FAIL
        and "no PeerAuthentication sets a mode, so the default PERMISSIVE applies" in out.reason
    )
    assert check("peer-authentication-mode", make_snap(objs), namespace="webapp", mode="PERMISSIVE").ok


def test_pa_unset_inherits(load_scenario, make_snap, check):
    objs = load_scenario() + [_pa("default", "webapp", "UNSET")]
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL
    assert "PeerAuthentication webapp/default (namespace) has mode UNSET and inherits" in out.reason
    objs = load_scenario() + [_pa("default", "webapp", None)]  # no mtls at all: UNSET
    assert "UNSET" in check("peer-authentication-mode", make_snap(objs), namespace="webapp").reason


def test_pa_oldest_wins(load_scenario, make_snap, check):
    objs = load_scenario() + [
        _pa("permissive", "webapp", "PERMISSIVE", ts="2024-05-03T00:00:00Z"),
        _pa("strict", "webapp", "STRICT", ts="2024-05-04T00:00:00Z"),
    ]
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL
    assert "set by PeerAuthentication webapp/permissive" in out.reason
    assert "PeerAuthentication webapp/strict is ignored: the oldest namespace-wide policy" in out.reason


def test_pa_workload_level(load_scenario, make_snap, check):
    objs = load_scenario("pa-webapp-strict.yaml") + [
        _pa("web-v2", "webapp", "PERMISSIVE", selector={"app": "web", "version": "v2"})
    ]
    snap = make_snap(objs)
    assert check("peer-authentication-mode", snap, namespace="webapp").ok
    out = check("peer-authentication-mode", snap, namespace="webapp", workload_labels={"app": "web", "version": "v2"})
    assert out.status is Status.FAIL
    assert "workloads {app: web, version: v2} in namespace webapp is PERMISSIVE" in out.reason
    assert "PeerAuthentication webapp/web-v2 (workload selector" in out.reason
    assert check(
        "peer-authentication-mode", snap, namespace="webapp", workload_labels={"app": "web", "version": "v1"}
    ).ok


def test_pa_selector_in_root_namespace_ignored(load_scenario, make_snap, check):
    objs = load_scenario() + [_pa("web", "istio-system", "STRICT", selector={"app": "web"})]
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp", workload_labels={"app": "web"})
    assert out.status is Status.FAIL
    assert (
        "PeerAuthentication istio-system/web has a selector in the root namespace istio-system, which Istio ignores"
        in out.reason
    )


def test_pa_invalid_mode(load_scenario, make_snap, check):
    objs = load_scenario() + [_pa("default", "webapp", "STRICTT")]
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL
    assert (
        "PeerAuthentication webapp/default spec.mtls.mode is 'STRICTT'; expected one of UNSET, DISABLE, PERMISSIVE, "
        "STRICT" in out.reason
    )


def test_pa_custom_root_namespace(load_scenario, make_snap, check):
    objs = load_scenario() + [_pa("default", "mesh-cp", "STRICT")]
    out = check("peer-authentication-mode", make_snap(objs, control_plane_namespace="mesh-cp"), namespace="webapp")
    assert out.ok and "mesh-cp/default" in out.reason


@pytest.mark.parametrize(
    "params", [{"mode": "strict-ish"}, {"mode": 1}, {"workload_labels": "app=web"}, {"namespace": None}]
)
def test_pa_bad_params(variant, check, params):
    out = check("peer-authentication-mode", variant(), **({"namespace": "webapp"} | params))
    assert out.status is Status.FAIL and "check parameter" in out.reason


# -- no-mtls-disable ------------------------------------------------------------------------------------
def test_no_disable_pass(variant, check):
    out = check("no-mtls-disable", variant("pa-webapp-strict.yaml"), namespace="webapp")
    assert out.status is Status.PASS


def test_disable_with_namespace_strict_fails(variant, check):
    out = check("no-mtls-disable", variant("dr-tls-disable.yaml"), namespace="webapp")
    assert out.status is Status.FAIL
    assert out.reason.startswith(
        "DestinationRule webapp/web sets spec.trafficPolicy.tls.mode DISABLE for web.webapp.svc.cluster.local while "
        "the "
        "effective mTLS mode of namespace webapp is STRICT"
    )
    assert "KIA0207" in out.reason


def test_disable_with_mesh_strict_fails(load_scenario, get, make_snap, check):
    objs = [
        o
        for o in load_scenario("dr-tls-disable.yaml")
        if not (o["kind"] == "PeerAuthentication" and o["metadata"]["namespace"] == "webapp")
    ]
    get(objs, "PeerAuthentication", "default", "istio-system")["spec"]["mtls"]["mode"] = "STRICT"
    out = check("no-mtls-disable", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL and "KIA0208" in out.reason


def test_disable_while_permissive_passes(load_scenario, make_snap, check):
    objs = [
        o
        for o in load_scenario("dr-tls-disable.yaml")
        if not (o["kind"] == "PeerAuthentication" and o["metadata"]["namespace"] == "webapp")
    ]
    out = check("no-mtls-disable", make_snap(objs), namespace="webapp")
    assert out.status is Status.PASS and "PERMISSIVE" in out.reason and "DISABLE" in out.reason


def test_disable_port_level_and_subset_level(load_scenario, get, make_snap, check):
    objs = load_scenario("dr-tls-disable.yaml")
    dr = get(objs, "DestinationRule", "web")
    dr["spec"]["trafficPolicy"] = {"portLevelSettings": [{"port": {"number": 8080}, "tls": {"mode": "DISABLE"}}]}
    dr["spec"]["subsets"][1]["trafficPolicy"] = {"tls": {"mode": "DISABLE"}}
    out = check("no-mtls-disable", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL
    assert "spec.trafficPolicy.portLevelSettings[0].tls.mode" in out.reason
    assert "spec.subsets[1].trafficPolicy.tls.mode" in out.reason


def test_disable_wildcard_rule_elsewhere(load_scenario, make_snap, check):
    objs = load_scenario("pa-webapp-strict.yaml") + [
        {
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "DestinationRule",
            "metadata": {"name": "plain", "namespace": "istio-system"},
            "spec": {"host": "*.webapp.svc.cluster.local", "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
        },
        {
            # Maistra's api-server rule: DISABLE toward the API server only, not webapp
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "DestinationRule",
            "metadata": {"name": "api-server", "namespace": "istio-system"},
            "spec": {"host": "kubernetes.default.svc.cluster.local", "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
        },
    ]
    out = check("no-mtls-disable", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL
    assert "DestinationRule istio-system/plain" in out.reason and "api-server" not in out.reason


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
    out = check("outlier-detection", variant("dr-consecutive-errors.yaml"), **OD)
    assert out.status is Status.FAIL
    assert "DestinationRule webapp/web sets spec.trafficPolicy.outlierDetection.consecutiveErrors (5)" in out.reason
    assert "pilot ignores it" in out.reason and "use consecutive5xxErrors" in out.reason


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"consecutive5xxErrors": 3}, "spec.trafficPolicy.outlierDetection.consecutive5xxErrors is 3; expected 5"),
        ({"consecutive5xxErrors": "5"}, "consecutive5xxErrors is '5' (not an integer); expected 5"),
        ({"consecutive5xxErrors": None}, "consecutive5xxErrors is not set; expected 5"),
        ({"interval": "10s"}, "spec.trafficPolicy.outlierDetection.interval is '10s' (10s); expected 30s"),
        ({"interval": None}, "outlierDetection.interval is not set; expected 30s"),
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
