"""Checks never raise on odd input: every mutation of the cluster yields an Outcome.

A check that hits an exception is caught by the framework's last-resort guard, which makes
it an ERROR ("grader error: ..."); these tests also require that the
guard was NOT needed, i.e. the check handled the odd value itself.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from harness import judged, run, scenario, set_at, snap_of
from harness import key as obj_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader import kinds as K
from grader.model import Outcome, Status
from grader.snapshot import Snapshot

CHECKS: list[tuple[str, dict]] = [
    (
        "workload-sidecar",
        {"namespace": "webapp", "deployment": "web-v2", "labels": {"version": "v2"}, "image": "nginx:alpine"},
    ),
    ("workload-sidecar", {"namespace": "webapp", "deployment": "web-v1", "min_ready": 2}),
    ("workload-ready", {"namespace": "webapp", "deployment": "web-v1"}),
    (
        "destinationrule-subsets",
        {"namespace": "webapp", "host": "web", "subsets": {"v1": {"version": "v1"}, "v2": {"version": "v2"}}},
    ),
    ("virtualservice-bound", {"namespace": "webapp", "host": "web", "gateway": "web-gateway"}),
    (
        "traffic-split",
        {"namespace": "webapp", "host": "web", "gateway": "web-gateway", "weights": {"v1": 80, "v2": 20}},
    ),
    ("gateway-bound", {"namespace": "webapp", "gateway": "web-gateway", "selector": {"istio": "ingressgateway"}}),
    (
        "resource-field",
        {
            "kind": "VirtualService",
            "namespace": "webapp",
            "name": "web",
            "path": "spec.http.0.route.1.weight",
            "expected": 20,
        },
    ),
    ("peer-authentication-mode", {"namespace": "webapp", "workload_labels": {"app": "web"}}),
    ("peer-authentication-mode", {"namespace": "webapp"}),
    ("no-mtls-disable", {"namespace": "webapp"}),
    ("outlier-detection", {"namespace": "webapp", "host": "web"}),
]

ODD_VALUES: list[Any] = [
    None,
    "",
    "80",
    "ünïcødé-✓",
    0,
    -1,
    10**40,
    1.5,
    True,
    [],
    {},
    [None, "x", 3, {"a": []}],
    {"matchLabels": "x", "number": "80", "name": ["v2"]},
    ["x"] * 2000,
    [{"destination": {"host": "web", "subset": "v1"}, "weight": "80"}] * 300,
]

# Fields a student (or an open CRD schema) can get wrong, per object: (kind, namespace, name, path)
TARGETS: list[tuple[str, str, str, tuple]] = [
    ("VirtualService", "webapp", "web", ("spec",)),
    ("VirtualService", "webapp", "web", ("spec", "hosts")),
    ("VirtualService", "webapp", "web", ("spec", "gateways")),
    ("VirtualService", "webapp", "web", ("spec", "gateways", 0)),
    ("VirtualService", "webapp", "web", ("spec", "http")),
    ("VirtualService", "webapp", "web", ("spec", "http", 0)),
    ("VirtualService", "webapp", "web", ("spec", "http", 0, "match")),
    ("VirtualService", "webapp", "web", ("spec", "http", 0, "route")),
    ("VirtualService", "webapp", "web", ("spec", "http", 0, "route", 0)),
    ("VirtualService", "webapp", "web", ("spec", "http", 0, "route", 1, "weight")),
    ("VirtualService", "webapp", "web", ("spec", "http", 0, "route", 0, "destination")),
    ("VirtualService", "webapp", "web", ("spec", "http", 0, "route", 0, "destination", "host")),
    ("VirtualService", "webapp", "web", ("spec", "http", 0, "route", 0, "destination", "subset")),
    ("DestinationRule", "webapp", "web", ("spec",)),
    ("DestinationRule", "webapp", "web", ("spec", "host")),
    ("DestinationRule", "webapp", "web", ("spec", "subsets")),
    ("DestinationRule", "webapp", "web", ("spec", "subsets", 1)),
    ("DestinationRule", "webapp", "web", ("spec", "subsets", 1, "name")),
    ("DestinationRule", "webapp", "web", ("spec", "subsets", 1, "labels")),
    ("DestinationRule", "webapp", "web", ("spec", "trafficPolicy")),
    ("DestinationRule", "webapp", "web", ("spec", "trafficPolicy", "outlierDetection")),
    ("DestinationRule", "webapp", "web", ("spec", "trafficPolicy", "outlierDetection", "interval")),
    ("DestinationRule", "webapp", "web", ("spec", "trafficPolicy", "outlierDetection", "consecutive5xxErrors")),
    ("Gateway", "webapp", "web-gateway", ("spec",)),
    ("Gateway", "webapp", "web-gateway", ("spec", "selector")),
    ("Gateway", "webapp", "web-gateway", ("spec", "servers")),
    ("Gateway", "webapp", "web-gateway", ("spec", "servers", 0, "port")),
    ("Gateway", "webapp", "web-gateway", ("spec", "servers", 0, "port", "number")),
    ("Gateway", "webapp", "web-gateway", ("spec", "servers", 0, "hosts")),
    ("Deployment", "webapp", "web-v2", ("spec",)),
    ("Deployment", "webapp", "web-v2", ("spec", "selector")),
    ("Deployment", "webapp", "web-v2", ("spec", "selector", "matchLabels")),
    ("Deployment", "webapp", "web-v2", ("spec", "template")),
    ("Deployment", "webapp", "web-v2", ("spec", "template", "metadata", "annotations")),
    ("Deployment", "webapp", "web-v2", ("spec", "template", "spec", "containers")),
    ("Deployment", "webapp", "web-v2", ("metadata", "annotations")),
    ("Deployment", "webapp", "web-v2", ("status",)),
    ("ReplicaSet", "webapp", "web-v2-84b6fd7c9b", ("metadata", "ownerReferences")),
    ("Pod", "webapp", "web-v2-84b6fd7c9b-h8j2c", ("metadata", "labels")),
    ("Pod", "webapp", "web-v2-84b6fd7c9b-h8j2c", ("metadata", "annotations")),
    ("Pod", "webapp", "web-v2-84b6fd7c9b-h8j2c", ("metadata", "ownerReferences")),
    ("Pod", "webapp", "web-v2-84b6fd7c9b-h8j2c", ("spec", "containers")),
    ("Pod", "webapp", "web-v2-84b6fd7c9b-h8j2c", ("status",)),
    ("Pod", "webapp", "web-v2-84b6fd7c9b-h8j2c", ("status", "conditions")),
    ("Pod", "webapp", "web-v2-84b6fd7c9b-h8j2c", ("status", "containerStatuses")),
    ("Pod", "istio-system", "istio-ingressgateway-6c8f7b9d4f-q7w2n", ("metadata", "labels")),
    ("Service", "istio-system", "istio-ingressgateway", ("spec", "ports")),
    ("Service", "istio-system", "istio-ingressgateway", ("spec", "ports", 1, "targetPort")),
    ("Service", "istio-system", "istio-ingressgateway", ("spec", "selector")),
    ("Service", "webapp", "web", ("spec", "selector")),
    ("Namespace", "", "webapp", ("metadata", "labels")),
    ("PeerAuthentication", "istio-system", "default", ("spec",)),
    ("PeerAuthentication", "istio-system", "default", ("spec", "mtls")),
    ("PeerAuthentication", "istio-system", "default", ("spec", "mtls", "mode")),
    ("PeerAuthentication", "istio-system", "default", ("metadata", "creationTimestamp")),
]

BASE = scenario("pa-webapp-strict.yaml")




def _assert_all_checks_cope(objs: list[dict], **snap_kw: Any) -> None:
    snap = snap_of(objs, **snap_kw)
    for name, params in CHECKS:
        out = run(name, snap, **params)
        assert isinstance(out, Outcome), name
        assert out.status in (Status.PASS, Status.FAIL, Status.SKIP), (name, out)
        assert judged(out), (name, out.reason)
        assert isinstance(out.reason, str) and out.reason, name


def test_base_scenario_passes_every_check():
    snap = snap_of(BASE)
    for name, params in CHECKS:
        out = run(name, snap, **params)
        assert out.ok, (name, out.reason)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t[0]}/{t[2]}:{'.'.join(map(str, t[3]))}")
def test_mutated_field_never_raises(target):
    kind, ns, name, path = target
    for value in ODD_VALUES:
        objs = copy.deepcopy(BASE)
        obj = next(o for o in objs if obj_key(o) == (kind, ns, name))
        assert set_at(obj, path, copy.deepcopy(value)), target
        _assert_all_checks_cope(objs)


@pytest.mark.parametrize("flavour", ["ossm2", "istio"])
def test_removed_objects_never_raise(flavour):
    kinds = sorted({o["kind"] for o in BASE})
    for kind in kinds:
        _assert_all_checks_cope([o for o in BASE if o["kind"] != kind], flavour=flavour)


def test_empty_snapshot_never_raises():
    _assert_all_checks_cope([])


@pytest.mark.parametrize("name, params", CHECKS, ids=[c[0] for c in CHECKS])
def test_odd_parameters_never_raise(name, params):
    snap = snap_of(BASE)
    for key in params:
        for value in ODD_VALUES[:13]:
            out = run(name, snap, **(params | {key: copy.deepcopy(value)}))
            assert isinstance(out, Outcome)
            assert judged(out), (name, key, value, out.reason)


# -- property-based: any JSON-like value at any path of any object ---------------------------
def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for k, v in value.items():
            if prefix == () and k in ("kind", "metadata"):
                continue  # Snapshot's own accessors assume a dict metadata and a str kind
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


ALL_PATHS = [(i, p) for i, o in enumerate(BASE) for p in _paths(o)]
ALL_PATHS += [
    (i, ("metadata", k))
    for i, o in enumerate(BASE)
    for k in ("labels", "annotations", "ownerReferences", "creationTimestamp", "deletionTimestamp")
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["80", "v2", "web", "*", "STRICT", "DISABLE", "30s", "mesh", "Running", "True"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "labels",
                    "host",
                    "subset",
                    "weight",
                    "route",
                    "match",
                    "mode",
                    "number",
                    "selector",
                    "matchLabels",
                    "hosts",
                    "port",
                    "tls",
                    "uri",
                    "prefix",
                    "regex",
                    "headers",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutations=st.lists(st.tuples(st.sampled_from(ALL_PATHS), json_values), min_size=1, max_size=4),
    flavour=st.sampled_from(["ossm2", "istio"]),
)
def test_property_any_mutation_never_raises(mutations, flavour):
    objs = copy.deepcopy(BASE)
    for (index, path), value in mutations:
        set_at(objs[index], path, value)
    _assert_all_checks_cope(objs, flavour=flavour)


# -- the sandbox scenario: odd values anywhere never crash a check
NS = "webapp"
SP = {"namespace": NS, "service": "web", "port": 80, "deployment": "web-v1"}
RT = {"namespace": NS, "virtualservice": "web", "host": "web", "port": 80, "gateway": "web-gateway"}
NSC = {"namespace": NS, "deployments": ["web-v1", "legacy"]}
NM = {"namespace": NS, "control_plane": "istio-system"}
PAP = {"namespace": NS, "mode": "STRICT", "level": "namespace"}
VG = {"namespace": NS, "virtualservice": "web", "gateway": "web-gateway"}
VH = VG | {"request_host": "www.example.com"}
SANDBOX_CHECKS: list[tuple[str, dict]] = [
    ("service-port", SP),
    ("service-port", {"namespace": NS, "service": "web"}),
    ("ingress-endpoint", {}),
    ("route-target", RT),
    ("namespace-sidecars", NSC),
    ("namespace-member", NM),
    ("peer-authentication-policy", PAP),
    ("peer-authentication-policy", PAP | {"level": "effective"}),
    ("virtualservice-gateway", VG),
    ("virtualservice-hosts", VH),
]
SANDBOX_ODD: list[Any] = [None, "", "80", 0, -1, 1.5, True, [], {}, [None, "x", 3, {"a": []}],
                  {"matchLabels": "x", "number": "80", "name": ["v2"]}, "ünïcødé"]
SANDBOX_TARGETS: list[tuple[str, str, str, tuple]] = [
    ("Service", NS, "web", ("spec",)),
    ("Service", NS, "web", ("spec", "ports")),
    ("Service", NS, "web", ("spec", "ports", 0)),
    ("Service", NS, "web", ("spec", "ports", 0, "name")),
    ("Service", NS, "web", ("spec", "ports", 0, "targetPort")),
    ("Service", NS, "web", ("spec", "selector")),
    ("Service", "istio-system", "istio-ingressgateway", ("spec", "ports")),
    ("Route", "istio-system", "istio-ingressgateway", ("spec",)),
    ("Route", "istio-system", "istio-ingressgateway", ("spec", "to")),
    ("Route", "istio-system", "istio-ingressgateway", ("spec", "port")),
    ("Route", "istio-system", "istio-ingressgateway", ("status",)),
    ("VirtualService", NS, "web", ("spec",)),
    ("VirtualService", NS, "web", ("spec", "hosts")),
    ("VirtualService", NS, "web", ("spec", "gateways")),
    ("VirtualService", NS, "web", ("spec", "http", 0, "route", 0, "destination")),
    ("VirtualService", NS, "web", ("spec", "http", 0, "route", 0, "destination", "port")),
    ("Gateway", NS, "web-gateway", ("spec", "servers")),
    ("Gateway", NS, "web-gateway", ("spec", "servers", 0, "hosts")),
    ("Namespace", "", "webapp", ("metadata", "labels")),
    ("ServiceMeshMember", NS, "default", ("spec",)),
    ("ServiceMeshMember", NS, "default", ("spec", "controlPlaneRef")),
    ("ServiceMeshMember", NS, "default", ("status",)),
    ("ServiceMeshMemberRoll", "istio-system", "default", ("spec",)),
    ("PeerAuthentication", NS, "default", ("spec",)),
    ("PeerAuthentication", NS, "default", ("spec", "mtls")),
    ("PeerAuthentication", NS, "default", ("metadata", "creationTimestamp")),
    ("Deployment", NS, "legacy", ("spec", "template")),
    ("Deployment", NS, "web-v1", ("spec", "selector")),
]




@pytest.mark.parametrize("target", SANDBOX_TARGETS, ids=lambda t: f"{t[0]}/{t[2]}:{'.'.join(map(str, t[3]))}")
def test_odd_values_never_crash(target):
    kind, ns, name, path = target
    for value in SANDBOX_ODD:
        objs = copy.deepcopy(list(scenario(base="sandbox")))
        obj = next(o for o in objs if obj_key(o) == (kind, ns, name))
        assert set_at(obj, path, copy.deepcopy(value)), target
        s = snap_of(objs)
        for cname, params in SANDBOX_CHECKS:
            out = run(cname, s, **params)
            assert out.status in (Status.PASS, Status.FAIL), (cname, value, out)
            assert judged(out), (cname, target, value, out.reason)


@pytest.mark.parametrize("flavour", ["ossm2", "istio"])
def test_removed_kinds_never_crash(flavour):
    for kind in sorted({o["kind"] for o in scenario(base="sandbox")}):
        s = snap_of([o for o in scenario(base="sandbox") if o["kind"] != kind], flavour=flavour)
        for cname, params in SANDBOX_CHECKS:
            out = run(cname, s, **params)
            assert judged(out), (kind, cname, out)


def test_unread_kind_is_an_error_not_a_verdict():
    s = Snapshot(flavour="ossm2")
    for k in K.ALL:
        if k is not K.SERVICE:
            s.mark_read(k)
    out = run("service-port", s, **SP)
    assert out.status is Status.ERROR and "Service" in out.reason


def test_base_fixture_passes_every_check():
    s = snap_of(list(scenario(base="sandbox")))
    for cname, params in SANDBOX_CHECKS:
        out = run(cname, s, **params)
        assert out.ok, (cname, out.reason)
    assert json.dumps([o["kind"] for o in scenario(base="sandbox")])  # the fixture is plain data
