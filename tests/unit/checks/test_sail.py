"""OSSM 3 checks: istio-ready, istiocni-ready, istio-spec, istiocni-spec, ossm3-namespace.

The fixtures under tests/fixtures/checks/ossm3/ were captured from `lab sandbox up --flavour
ossm3` (the Sail operator simulator), whose status shapes follow sail-operator api/v1.
"""

from __future__ import annotations

import copy

import pytest
from harness import check, docs

from grader.model import Status


def healthy() -> list[dict]:
    return docs("ossm3/healthy.yaml")


def with_ns_labels(objs: list[dict], ns: str, labels: dict) -> list[dict]:
    objs = copy.deepcopy(objs)
    for o in objs:
        if o["kind"] == "Namespace" and o["metadata"]["name"] == ns:
            o["metadata"]["labels"] = {"kubernetes.io/metadata.name": ns, **labels}
    return objs


def istio(objs: list[dict]) -> dict:
    return next(o for o in objs if o["kind"] == "Istio")


def test_istio_ready_passes_on_a_healthy_control_plane():
    out = check("istio-ready", healthy())
    assert out.status is Status.PASS, out
    assert "status.state Healthy" in out.reason and "activeRevisionName default" in out.reason


def test_istio_ready_without_istiocni_names_the_dependency():
    out = check("istio-ready", docs("ossm3/no-cni.yaml"))
    assert out.status is Status.FAIL
    assert "condition DependenciesHealthy is False (IstioCNINotFound" in out.reason
    assert "create IstioCNI default" in out.hint


def test_istio_ready_with_a_wrongly_named_istiocni_says_it_must_be_default():
    out = check("istio-ready", docs("ossm3/revision-based-wrong-cni.yaml"))
    assert out.status is Status.FAIL
    assert "IstioCNI cni does not count, it must be named default" in out.hint


def test_istio_ready_missing_and_unreconciled():
    out = check("istio-ready", [o for o in healthy() if o["kind"] != "Istio"])
    assert out.status is Status.FAIL and "Istio default not found" in out.reason
    objs = healthy()
    istio(objs).pop("status")
    out = check("istio-ready", objs)
    assert out.status is Status.FAIL and "has no status" in out.reason


def test_istiocni_ready():
    assert check("istiocni-ready", healthy()).status is Status.PASS
    out = check("istiocni-ready", docs("ossm3/revision-based-wrong-cni.yaml"))
    assert out.status is Status.FAIL
    assert "found IstioCNI cni" in out.reason and "named default" in out.reason


def test_istiocni_not_ready_names_the_daemonset_reason():
    objs = healthy()
    cni = next(o for o in objs if o["kind"] == "IstioCNI")
    for c in cni["status"]["conditions"]:
        if c["type"] == "Ready":
            c.update(status="False", reason="DaemonSetNotReady", message="not all istio-cni-node pods are ready")
    out = check("istiocni-ready", objs)
    assert out.status is Status.FAIL and "condition Ready is False (DaemonSetNotReady" in out.reason


@pytest.mark.parametrize("fields, ok", [
    ({"namespace": "istio-system", "updateStrategy.type": "InPlace"}, True),
    ({"version": "v1.30-latest"}, True),
    ({"updateStrategy.type": "RevisionBased"}, False),
    ({"values.meshConfig.discoverySelectors": [{"matchLabels": {"mesh": "on"}}]}, False),
])
def test_istio_spec(fields, ok):
    out = check("istio-spec", healthy(), fields=fields)
    assert (out.status is Status.PASS) == ok, out


def test_istio_spec_defaults_count_when_left_out():
    objs = healthy()
    istio(objs)["spec"].pop("updateStrategy")
    out = check("istio-spec", objs, fields={"updateStrategy.type": "InPlace"})
    assert out.status is Status.PASS and "not set; the default is 'InPlace'" in out.reason


def test_istiocni_spec():
    assert check("istiocni-spec", healthy(), fields={"namespace": "istio-cni"}).status is Status.PASS


def test_namespace_with_istio_injection_on_inplace_default_is_injected():
    out = check("ossm3-namespace", healthy(), namespace="a")
    assert out.status is Status.PASS and "honoured by revision default" in out.reason


def test_namespace_without_labels_is_not_injected():
    out = check("ossm3-namespace", healthy(), namespace="b")
    assert out.status is Status.FAIL and "neither label istio-injection=enabled nor istio.io/rev" in out.reason


def revision_based(objs: list[dict], keep_old: bool = False) -> None:
    """The Istio switched to RevisionBased: its revision is default-v1-30-3; the old revision
    `default` is gone (no longer in use) unless `keep_old`."""
    i = istio(objs)
    i["spec"]["updateStrategy"] = {"type": "RevisionBased"}
    i["status"]["activeRevisionName"] = "default-v1-30-3"
    old = next(o for o in objs if o["kind"] == "IstioRevision" and o["metadata"]["name"] == "default")
    new = copy.deepcopy(old)
    new["metadata"]["name"] = "default-v1-30-3"
    objs.append(new)
    if not keep_old:
        objs.remove(old)


def test_an_old_revision_still_in_use_still_injects():
    """The Sail operator keeps revision `default` (and its webhook) while it is in use: a namespace
    with istio-injection=enabled is still injected, by the old revision."""
    objs = healthy()
    revision_based(objs, keep_old=True)
    out = check("ossm3-namespace", objs, namespace="a")
    assert out.status is Status.PASS and "honoured by revision default" in out.reason, out


def test_revision_based_with_only_istio_injection_gets_no_sidecar():
    objs = healthy()
    revision_based(objs)
    out = check("ossm3-namespace", objs, namespace="a")
    assert out.status is Status.FAIL
    assert "no revision or IstioRevisionTag is named default" in out.reason
    assert "istio.io/rev=default-v1-30-3" in out.hint


def test_revision_tag_default_restores_istio_injection():
    objs = healthy()
    revision_based(objs)
    objs.append({"apiVersion": "sailoperator.io/v1", "kind": "IstioRevisionTag", "metadata": {"name": "default"},
                 "spec": {"targetRef": {"kind": "Istio", "name": "default"}}})
    out = check("ossm3-namespace", objs, namespace="a")
    assert out.status is Status.PASS and "revision default-v1-30-3" in out.reason


def test_both_labels_istio_injection_wins():
    objs = with_ns_labels(healthy(), "b", {"istio-injection": "enabled", "istio.io/rev": "nope"})
    out = check("ossm3-namespace", objs, namespace="b")
    assert out.status is Status.PASS and "istio-injection wins" in out.reason


def test_istio_io_rev_naming_the_revision():
    out = check("ossm3-namespace", with_ns_labels(healthy(), "b", {"istio.io/rev": "default"}), namespace="b")
    assert out.status is Status.PASS
    out = check("ossm3-namespace", with_ns_labels(healthy(), "b", {"istio.io/rev": "v1-30"}), namespace="b")
    assert out.status is Status.FAIL and "names no revision or tag" in out.reason


def test_discovery_selectors_must_select_the_namespace_and_the_control_plane():
    objs = with_ns_labels(healthy(), "a", {"istio-injection": "enabled", "mesh": "on"})
    istio(objs)["spec"]["values"] = {"meshConfig": {"discoverySelectors": [{"matchLabels": {"mesh": "on"}}]}}
    out = check("ossm3-namespace", objs, namespace="a")
    assert out.status is Status.FAIL
    assert "leave out its own namespace istio-system" in out.reason
    objs = with_ns_labels(objs, "istio-system", {"mesh": "on"})
    assert check("ossm3-namespace", objs, namespace="a").status is Status.PASS
    objs = with_ns_labels(objs, "a", {"istio-injection": "enabled"})
    out = check("ossm3-namespace", objs, namespace="a")
    assert out.status is Status.FAIL and "do not select Namespace a" in out.reason


# -- gateway-injected (ossm3/gateway.yaml: the gateway-3 solution and gw-auto, not injected) --------
def gateway() -> list[dict]:
    return docs("ossm3/gateway.yaml")


def test_gateway_injected_passes_on_the_solution():
    out = check("gateway-injected", gateway(), namespace="istio-ingress", deployment="istio-ingressgateway")
    assert out.status is Status.PASS, out
    assert "gateway template" in out.reason


def test_gateway_without_injection_label_keeps_image_auto():
    out = check("gateway-injected", gateway(), namespace="istio-ingress", deployment="gw-auto")
    assert out.status is Status.FAIL
    assert "image auto is never replaced" in out.reason and "were not injected" in out.reason
    assert 'sidecar.istio.io/inject: "true"' in out.hint


def test_gateway_without_template_annotation_is_named():
    objs = gateway()
    dep = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "istio-ingressgateway")
    dep["spec"]["template"]["metadata"].pop("annotations")
    objs = [o for o in objs if o["kind"] != "Pod" or not o["metadata"]["name"].startswith("istio-ingressgateway")]
    out = check("gateway-injected", objs, namespace="istio-ingress", deployment="istio-ingressgateway")
    assert out.status is Status.FAIL
    assert "lacks annotation inject.istio.io/templates: gateway" in out.reason and "has no pods" in out.reason


def test_gateway_deployment_missing():
    out = check("gateway-injected", gateway(), namespace="istio-ingress", deployment="nope")
    assert out.status is Status.FAIL and "Deployment istio-ingress/nope not found" in out.reason


# -- robustness: odd content never crashes a check ----------------------------------------------------
ROBUST: list[tuple[str, dict]] = [
    ("istio-ready", {}),
    ("istiocni-ready", {}),
    ("istio-spec", {"fields": {"namespace": "istio-system", "values.meshConfig.discoverySelectors": []}}),
    ("istiocni-spec", {"fields": {"namespace": "istio-cni"}}),
    ("ossm3-namespace", {"namespace": "a"}),
    ("ossm3-namespace", {"namespace": "istio-ingress"}),
    ("gateway-injected", {"namespace": "istio-ingress", "deployment": "istio-ingressgateway"}),
]
ODD = [None, "", 0, -1, True, [], {}, [None, "x", {"a": []}], {"status": "True"}]
BASE = docs("ossm3/healthy.yaml") + docs("ossm3/gateway.yaml")[1:]


def _paths(value, prefix=(), depth=4):
    if depth == 0:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if prefix == () and k in ("kind", "apiVersion"):
                continue
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,), depth - 1)
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,), depth - 1)


@pytest.mark.parametrize("index", range(len(BASE)), ids=lambda i: f"{BASE[i]['kind']}-{BASE[i]['metadata']['name']}")
def test_odd_values_never_raise(index):
    from harness import judged, run, snap_of
    for path in list(_paths(BASE[index])):
        for value in ODD:
            objs = list(BASE)
            objs[index] = copy.deepcopy(BASE[index])
            target = objs[index]
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = copy.deepcopy(value)
            snap = snap_of(objs)
            for name, params in ROBUST:
                out = run(name, snap, **params)
                assert judged(out), (name, path, value, out)
