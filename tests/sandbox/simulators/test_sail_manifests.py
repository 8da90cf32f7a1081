"""The Sail operator stand-in's data (grader/sandbox/simulators/sail/manifests.py) and the
OSSM 3 injector (sail/injection.py), read against the Sail operator's docs (docs/README.adoc:
"Update Strategy", "IstioRevisionTag resource"), the upstream injector webhook
(manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml) and the
gateway sample (chart/samples/ingress-gateway.yaml). The webhook selectors are evaluated
here as the API server evaluates a LabelSelector."""

from __future__ import annotations

import base64
import json

import pytest

from grader.sandbox.simulators.injector import OSSM3_PROXY_IMAGE, review_response
from grader.sandbox.simulators.sail.manifests import (
    cni_objects,
    cni_required,
    revision_body,
    revision_name,
    revision_objects,
    webhook,
)

CA = b"-----BEGIN CERTIFICATE-----\n"


def istio(name: str = "default", strategy: str | None = None, version: str | None = None) -> dict:
    spec: dict = {"namespace": "istio-system"}
    if strategy:
        spec["updateStrategy"] = {"type": strategy}
    if version:
        spec["version"] = version
    return {"apiVersion": "sailoperator.io/v1", "kind": "Istio", "metadata": {"name": name, "uid": "u-1"}, "spec": spec}


@pytest.mark.parametrize("obj, expected", [
    (istio(), "default"),
    (istio(strategy="InPlace", version="v1.30.2"), "default"),
    (istio(strategy="RevisionBased", version="v1.30.3"), "default-v1-30-3"),
    (istio(strategy="RevisionBased", version="v1.30-latest"), "default-v1-30-3"),
    (istio("prod", strategy="RevisionBased", version="v1.28.10"), "prod-v1-28-10"),
])
def test_revision_names(obj, expected):
    assert revision_name(obj) == expected


def test_revision_body_sets_namespace_and_revision_values():
    body = revision_body(istio(strategy="RevisionBased", version="v1.30-latest"))
    assert body["metadata"]["name"] == "default-v1-30-3"
    assert body["spec"]["version"] == "v1.30.3"
    assert body["spec"]["values"]["revision"] == "default-v1-30-3"
    assert body["spec"]["values"]["global"]["istioNamespace"] == "istio-system"
    assert body["metadata"]["ownerReferences"][0]["kind"] == "Istio"
    assert "revision" not in revision_body(istio())["spec"]["values"]


def test_revision_objects_istiod_names():
    rev = {"kind": "IstioRevision", "metadata": {"name": "default", "uid": "r"},
           "spec": {"namespace": "istio-system", "version": "v1.30.3", "values": {}}}
    names = {(o["kind"], o["metadata"]["name"]) for o in revision_objects(rev)}
    assert ("Deployment", "istiod") in names and ("ConfigMap", "istio") in names
    rev["metadata"]["name"] = "default-v1-30-3"
    names = {(o["kind"], o["metadata"]["name"]) for o in revision_objects(rev)}
    assert ("Deployment", "istiod-default-v1-30-3") in names


def test_cni_daemonset_and_openshift_profile_needs_cni():
    objs = cni_objects({"kind": "IstioCNI", "metadata": {"name": "default", "uid": "c"},
                        "spec": {"namespace": "istio-cni"}})
    ds = next(o for o in objs if o["kind"] == "DaemonSet")
    assert ds["metadata"] == ds["metadata"] | {"name": "istio-cni-node", "namespace": "istio-cni"}
    assert cni_required({}) and not cni_required({"pilot": {"cni": {"enabled": False}}})


# -- the webhook's selectors, evaluated ------------------------------------------------------
def _matches(sel: dict, labels: dict) -> bool:
    for e in sel.get("matchExpressions", []):
        k, op, vals = e["key"], e["operator"], e.get("values", [])
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def injecting(webhooks: list[dict], ns: dict, pod: dict) -> list[str]:
    """The revisions whose webhook fires for a pod (by the URL each hook calls)."""
    out = []
    for wh in webhooks:
        for h in wh["webhooks"]:
            if _matches(h["namespaceSelector"], ns) and _matches(h["objectSelector"], pod):
                out.append(h["clientConfig"]["url"].rsplit("/", 1)[1])
    return out


INPLACE = [webhook("default", "default", None, "istio-system", "https://x/inject", CA, None)]
REVBASED = [webhook("default-v1-30-3", "default-v1-30-3", None, "istio-system", "https://x/inject", CA, None)]
TAGGED = REVBASED + [webhook("default", "default-v1-30-3", "default", "istio-system", "https://x/inject", CA, None)]


@pytest.mark.parametrize("hooks, ns, pod, expected", [
    (INPLACE, {"istio-injection": "enabled"}, {}, ["default"]),
    (INPLACE, {}, {"sidecar.istio.io/inject": "true"}, ["default"]),
    (INPLACE, {"istio.io/rev": "default"}, {}, ["default"]),
    (INPLACE, {"istio-injection": "enabled"}, {"sidecar.istio.io/inject": "false"}, []),
    (INPLACE, {}, {}, []),
    # RevisionBased: only istio.io/rev=<revision> works ...
    (REVBASED, {"istio-injection": "enabled"}, {}, []),
    (REVBASED, {}, {"sidecar.istio.io/inject": "true"}, []),
    (REVBASED, {"istio.io/rev": "default-v1-30-3"}, {}, ["default-v1-30-3"]),
    (REVBASED, {}, {"istio.io/rev": "default-v1-30-3"}, ["default-v1-30-3"]),
    # ... unless an IstioRevisionTag named default points at it
    (TAGGED, {"istio-injection": "enabled"}, {}, ["default-v1-30-3"]),
    # both labels: istio-injection wins (the istio.io/rev hooks need istio-injection absent)
    (REVBASED, {"istio-injection": "enabled", "istio.io/rev": "default-v1-30-3"}, {}, []),
    (INPLACE, {"istio-injection": "enabled", "istio.io/rev": "other"}, {}, ["default"]),
])
def test_which_revision_injects(hooks, ns, pod, expected):
    assert injecting(hooks, ns, pod) == expected


def test_revision_and_tag_webhook_names():
    assert INPLACE[0]["metadata"]["name"] == "istio-sidecar-injector"
    assert REVBASED[0]["metadata"]["name"] == "istio-sidecar-injector-default-v1-30-3-istio-system"
    assert TAGGED[1]["metadata"]["name"] == "istio-revision-tag-default"


# -- what the injector does --------------------------------------------------------------------
def review(pod: dict, revision: str) -> dict:
    resp = review_response("ossm3", {"request": {"uid": "1", "operation": "CREATE", "object": pod}}, revision)
    patch = json.loads(base64.b64decode(resp["response"]["patch"]))
    return {(p["path"]): p["value"] for p in patch}


def test_sidecar_injection_with_cni():
    pod = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}
    out = review(pod, "default-v1-30-3")
    assert [c["name"] for c in out["/spec/containers"]] == ["web", "istio-proxy"]
    assert [c["name"] for c in out["/spec/initContainers"]] == ["istio-validation"]
    ann = out["/metadata/annotations"]
    assert ann["istio.io/rev"] == "default-v1-30-3"
    assert ann["k8s.v1.cni.cncf.io/networks"] == "istio-cni"
    assert json.loads(ann["sidecar.istio.io/status"])["revision"] == "default-v1-30-3"


def test_gateway_template_replaces_image_auto_and_adds_no_sidecar():
    pod = {"metadata": {"labels": {"istio": "ingressgateway", "sidecar.istio.io/inject": "true"},
                        "annotations": {"inject.istio.io/templates": "gateway"}},
           "spec": {"containers": [{"name": "istio-proxy", "image": "auto"}]}}
    out = review(pod, "default")
    (proxy,) = out["/spec/containers"]
    assert proxy["image"] == OSSM3_PROXY_IMAGE and "router" in proxy["args"]
    assert "/spec/initContainers" not in out
    assert json.loads(out["/metadata/annotations"]["sidecar.istio.io/status"])["containers"] == ["istio-proxy"]
