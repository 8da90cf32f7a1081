"""The Sail operator simulator against a real ossm3 sandbox (kube-apiserver, controller-manager,
scheduler + simulators): OLM-lite installs servicemeshoperator3, then Istio, IstioCNI and
IstioRevisionTag get the status shapes of sail-operator api/v1 (istio_types.go,
istiocni_types.go, istiorevisiontag_types.go), and the revisions inject as docs/README.adoc says."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config

from tests.conftest import _binaries_or_skip

pytestmark = pytest.mark.sandbox
TIMEOUT = 60
G, V = "sailoperator.io", "v1"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.ApiClient]:
    from grader.sandbox.control_plane import Sandbox
    _binaries_or_skip()
    sb = Sandbox(root=tmp_path_factory.mktemp("ossm3-sim"))
    sb.up(flavour="ossm3", timeout=120)
    try:
        yield config.new_client_from_config(config_file=str(sb.kubeconfig))
    finally:
        sb.down(purge=True)


def until(fn: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def get(api: client.ApiClient, plural: str, name: str) -> dict:
    return client.CustomObjectsApi(api).get_cluster_custom_object(G, V, plural, name)


def conds(obj: dict) -> dict[str, dict]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def ns(api: client.ApiClient, name: str, labels: dict | None = None) -> None:
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name, "labels": labels or {}}})


def test_operator_istio_cni_and_injection(api: client.ApiClient):
    co = client.CustomObjectsApi(api)
    co.create_namespaced_custom_object("operators.coreos.com", "v1alpha1", "openshift-operators", "subscriptions", {
        "apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
        "metadata": {"name": "servicemeshoperator3", "namespace": "openshift-operators"},
        "spec": {"channel": "stable", "name": "servicemeshoperator3", "source": "redhat-operators",
                 "sourceNamespace": "openshift-marketplace"}})
    until(lambda: any((c.get("status") or {}).get("phase") == "Succeeded" for c in co.list_namespaced_custom_object(
        "operators.coreos.com", "v1alpha1", "openshift-operators", "clusterserviceversions")["items"]
        if c["metadata"]["name"] == "servicemeshoperator3.v3.4.0"), "CSV servicemeshoperator3.v3.4.0 Succeeded")
    ns(api, "istio-system")
    co.create_cluster_custom_object(G, V, "istios", {"apiVersion": f"{G}/{V}", "kind": "Istio",
                                                     "metadata": {"name": "default"}, "spec": {}})
    # the CRD defaults fill in namespace, strategy and version; without IstioCNI: not healthy
    istio = until(lambda: (lambda o: o if "DependenciesHealthy" in conds(o) else None)(get(api, "istios", "default")),
                  "Istio status")
    assert istio["spec"] == {"namespace": "istio-system", "updateStrategy": {"type": "InPlace"},
                             "version": "v1.30-latest"}
    st = istio["status"]
    assert set(st) <= {"observedGeneration", "conditions", "state", "activeRevisionName", "revisions"}
    assert st["activeRevisionName"] == "default"
    assert conds(istio)["DependenciesHealthy"]["reason"] == "IstioCNINotFound"
    assert st["state"] in ("IstiodNotReady", "IstioCNINotFound")
    # IstioCNI default → DaemonSet → Ready → Istio Healthy
    ns(api, "istio-cni")
    co.create_cluster_custom_object(G, V, "istiocnis", {"apiVersion": f"{G}/{V}", "kind": "IstioCNI",
                                                        "metadata": {"name": "default"}, "spec": {}})
    cni = until(lambda: (lambda o: o if conds(o).get("Ready", {}).get("status") == "True" else None)(
        get(api, "istiocnis", "default")), "IstioCNI Ready")
    assert cni["status"]["state"] == "Healthy"
    istio = until(lambda: (lambda o: o if (o.get("status") or {}).get("state") == "Healthy" else None)(
        get(api, "istios", "default")), "Istio Healthy")
    assert istio["status"]["revisions"] == {"total": 1, "ready": 1, "inUse": 0}
    assert {t: c["status"] for t, c in conds(istio).items()} == {
        "Reconciled": "True", "Ready": "True", "DependenciesHealthy": "True"}
    # a wrongly named IstioCNI is not reconciled
    co.create_cluster_custom_object(G, V, "istiocnis", {"apiVersion": f"{G}/{V}", "kind": "IstioCNI",
                                                        "metadata": {"name": "cni"}, "spec": {}})
    bad = until(lambda: (lambda o: o if o.get("status") else None)(get(api, "istiocnis", "cni")), "IstioCNI cni")
    assert conds(bad)["Reconciled"]["status"] == "False" and "must be 'default'" in conds(bad)["Reconciled"]["message"]
    # injection by the namespace label of revision default; the revision is then in use
    ns(api, "app", {"istio-injection": "enabled"})
    core = client.CoreV1Api(api)
    pod = until(lambda: _create(core, "app"), "pod in app")
    assert [c.name for c in pod.spec.containers] == ["c", "istio-proxy"]
    assert pod.metadata.annotations["istio.io/rev"] == "default"
    until(lambda: get(api, "istios", "default")["status"]["revisions"]["inUse"] == 1, "revision in use")
    # RevisionBased: a second revision default-v1-30-3; istio-injection alone no longer reaches it
    co.patch_cluster_custom_object(G, V, "istios", "default", {"spec": {"updateStrategy": {"type": "RevisionBased"}}})
    until(lambda: get(api, "istios", "default")["status"].get("activeRevisionName") == "default-v1-30-3",
          "active revision default-v1-30-3")
    until(lambda: get(api, "istiorevisions", "default-v1-30-3").get("status"), "revision status")
    ns(api, "rb", {"istio.io/rev": "default-v1-30-3"})
    pod = until(lambda: _create(core, "rb"), "pod in rb")
    assert pod.metadata.annotations["istio.io/rev"] == "default-v1-30-3"
    assert [c.name for c in pod.spec.init_containers] == ["istio-validation"]
    # the tag `default` makes istio-injection=enabled reach the new revision
    co.create_cluster_custom_object(G, V, "istiorevisiontags", {
        "apiVersion": f"{G}/{V}", "kind": "IstioRevisionTag", "metadata": {"name": "default"},
        "spec": {"targetRef": {"kind": "Istio", "name": "default"}}})
    tag = until(lambda: (lambda o: o if o.get("status") else None)(get(api, "istiorevisiontags", "default")), "tag")
    assert tag["status"]["istioRevision"] == "default-v1-30-3"
    assert tag["status"]["istiodNamespace"] == "istio-system"


def _create(core: client.CoreV1Api, namespace: str):
    try:
        return core.create_namespaced_pod(namespace, {"metadata": {"generateName": "p-"},
                                                      "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    except client.ApiException:
        return None


def _gateway_pod(core: client.CoreV1Api, namespace: str, injected: bool):
    meta: dict = {"generateName": "gw-", "labels": {"istio": "ingressgateway"}}
    if injected:
        meta["labels"]["sidecar.istio.io/inject"] = "true"
        meta["annotations"] = {"inject.istio.io/templates": "gateway"}
    try:
        return core.create_namespaced_pod(namespace, {"metadata": meta, "spec": {
            "containers": [{"name": "istio-proxy", "image": "auto"}]}})
    except client.ApiException:
        return None


def test_a_gateway_pod_runs_only_once_injection_replaced_image_auto(api: client.ApiClient):
    """`image: auto` is a placeholder only injection replaces: a node cannot pull it, so an
    uninjected gateway pod stays Pending in ImagePullBackOff (and serves nothing). Runs after the
    test above, which made Istio `default`."""
    core = client.CoreV1Api(api)
    ns(api, "gw-plain")
    ns(api, "gw-injected", {"istio-injection": "enabled"})
    plain = until(lambda: _gateway_pod(core, "gw-plain", injected=False), "plain gateway pod")
    injected = until(lambda: _gateway_pod(core, "gw-injected", injected=True), "injected gateway pod")
    assert injected.spec.containers[0].image != "auto"

    def status(pod):
        got = core.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace).status
        return got if got.container_statuses else None

    st = until(lambda: status(plain), "the kubelet's status of the plain pod")
    assert st.phase == "Pending"
    assert st.container_statuses[0].state.waiting.reason == "ImagePullBackOff"
    assert {c.type: c.status for c in st.conditions}["Ready"] == "False"
    st = until(lambda: status(injected), "the kubelet's status of the injected pod")
    assert st.phase == "Running" and {c.type: c.status for c in st.conditions}["Ready"] == "True"
