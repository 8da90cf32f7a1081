"""Check types of grader/checks/generic.py: resource-field."""

from __future__ import annotations

import pytest

from grader.model import Status


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
