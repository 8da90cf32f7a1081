"""The Service Mesh operator simulator against a real sandbox (etcd, kube-apiserver 1.20,
controller-manager, scheduler + simulators): OLM-lite → CSV → SMCP → SMMR/SMM → injection,
and the upstream-Istio flavour's injection rules (istio-discovery mutatingwebhook.yaml of each product)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.conftest import _binaries_or_skip

pytestmark = pytest.mark.sandbox

CP_NS = "istio-system"
OPERATORS_NS = "openshift-operators"
MAISTRA = "maistra.io"
TIMEOUT = 90


# -- sandboxes -------------------------------------------------------------------------------
def _start(root: Path, flavour: str):
    from grader.sandbox.control_plane import Sandbox
    _binaries_or_skip()
    sb = Sandbox(root=root)
    try:
        sb.up(flavour=flavour, timeout=120)
    except Exception:
        sb.down(purge=True)
        raise
    return sb


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Module-local ossm2 sandbox (this module needs a cluster without the operator at first)."""
    sb = _start(tmp_path_factory.mktemp("sb"), "ossm2")
    yield sb
    sb.down(purge=True)


@pytest.fixture(scope="module")
def api(sandbox) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(sandbox.kubeconfig))


# -- helpers ---------------------------------------------------------------------------------
def _d(api: client.ApiClient, obj: Any) -> dict:
    return obj if isinstance(obj, dict) else api.sanitize_for_serialization(obj)


def wait_state(api: client.ApiClient, list_fn: Callable, cond: Callable[[list[dict]], Any],
               timeout: float = TIMEOUT, what: str = "", **kw: Any) -> Any:
    """List, then follow the watch, until cond(current items) is truthy; return its value."""
    deadline = time.monotonic() + timeout
    items: dict[str, dict] = {}
    while True:
        listing = _d(api, list_fn(**kw))
        items = {i["metadata"]["uid"]: i for i in listing.get("items") or []}
        result = cond(list(items.values()))
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        w = watch.Watch()
        for ev in w.stream(list_fn, resource_version=listing["metadata"]["resourceVersion"],
                           timeout_seconds=max(1, int(remaining)), **kw):
            if ev["type"] == "ERROR":
                break
            obj = _d(api, ev["object"])
            if ev["type"] == "DELETED":
                items.pop(obj["metadata"]["uid"], None)
            else:
                items[obj["metadata"]["uid"]] = obj
            result = cond(list(items.values()))
            if result:
                w.stop()
                return result
            if time.monotonic() > deadline:
                w.stop()
                break
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"timed out after {timeout}s waiting for {what or cond}; last state: "
                         f"{[(_brief(i)) for i in items.values()]}")


def _brief(obj: dict) -> dict:
    return {"name": obj["metadata"].get("name"), "labels": obj["metadata"].get("labels"),
            "status": obj.get("status")}


def stays(api: client.ApiClient, list_fn: Callable, bad: Callable[[list[dict]], Any], seconds: float,
          **kw: Any) -> None:
    """Assert that bad(items) stays falsy for `seconds` (a watch with a timeout, not a sleep)."""
    listing = _d(api, list_fn(**kw))
    items = {i["metadata"]["uid"]: i for i in listing.get("items") or []}
    assert not bad(list(items.values())), list(items.values())
    w = watch.Watch()
    for ev in w.stream(list_fn, resource_version=listing["metadata"]["resourceVersion"],
                       timeout_seconds=int(seconds), **kw):
        obj = _d(api, ev["object"])
        if ev["type"] == "DELETED":
            items.pop(obj["metadata"]["uid"], None)
        else:
            items[obj["metadata"]["uid"]] = obj
        assert not bad(list(items.values())), obj


def one(name: str) -> Callable[[list[dict]], dict | None]:
    return lambda items: next((i for i in items if i["metadata"]["name"] == name), None)


def cond_of(obj: dict | None, ctype: str) -> dict:
    return next((c for c in ((obj or {}).get("status") or {}).get("conditions") or [] if c["type"] == ctype), {})


class Mesh:
    """Thin helpers over the API, acting like a student with oc."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.adm = client.AdmissionregistrationV1Api(api)

    def namespace(self, name: str, labels: dict | None = None) -> None:
        try:
            self.core.create_namespace({"metadata": {"name": name, "labels": labels or {}}})
        except ApiException as e:
            if e.status != 409:
                raise

    def create(self, group: str, version: str, plural: str, ns: str, body: dict) -> dict:
        return self.custom.create_namespaced_custom_object(group, version, ns, plural, body)

    def smcp(self, ns: str, name: str, spec: dict) -> dict:
        return self.create(MAISTRA, "v2", "servicemeshcontrolplanes", ns, {
            "apiVersion": "maistra.io/v2", "kind": "ServiceMeshControlPlane",
            "metadata": {"name": name, "namespace": ns}, "spec": spec})

    def smmr(self, ns: str, members: list[str], name: str = "default") -> dict:
        return self.create(MAISTRA, "v1", "servicemeshmemberrolls", ns, {
            "apiVersion": "maistra.io/v1", "kind": "ServiceMeshMemberRoll",
            "metadata": {"name": name, "namespace": ns}, "spec": {"members": members}})

    def wait_custom(self, version: str, plural: str, ns: str, cond: Callable, what: str = "",
                    timeout: float = TIMEOUT) -> Any:
        return wait_state(self.api, self.custom.list_namespaced_custom_object, cond, timeout=timeout, what=what,
                          group=MAISTRA, version=version, namespace=ns, plural=plural)

    def wait_smcp(self, ns: str, name: str, pred: Callable[[dict], bool], what: str = "",
                  timeout: float = TIMEOUT) -> dict:
        def cond(items: list[dict]) -> dict | None:
            o = one(name)(items)
            return o if o and pred(o) else None
        return self.wait_custom("v2", "servicemeshcontrolplanes", ns, cond, what or f"SMCP {ns}/{name}", timeout)

    def wait_smmr(self, ns: str, pred: Callable[[dict], bool], what: str = "", name: str = "default") -> dict:
        def cond(items: list[dict]) -> dict | None:
            o = one(name)(items)
            return o if o and pred(o) else None
        return self.wait_custom("v1", "servicemeshmemberrolls", ns, cond, what or f"SMMR {ns}/{name}")

    def wait_namespace(self, name: str, pred: Callable[[dict | None], bool], what: str = "") -> None:
        wait_state(self.api, self.core.list_namespace, lambda items: pred(one(name)(items)) or None,
                   what=what or f"namespace {name}")

    def deployment(self, ns: str, name: str, pod_labels: dict | None = None,
                   pod_annotations: dict | None = None) -> None:
        labels = {"app": name, **(pod_labels or {})}
        self.apps.create_namespaced_deployment(ns, {
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": labels, "annotations": pod_annotations or {}},
                                  "spec": {"containers": [{"name": "web", "image": "quay.io/lab/web:1",
                                                           "ports": [{"containerPort": 8080}]}]}}}})

    def running_pod(self, ns: str, app: str) -> dict:
        def cond(items: list[dict]) -> dict | None:
            for p in items:
                st = p.get("status") or {}
                if p["metadata"].get("deletionTimestamp") or st.get("phase") != "Running":
                    continue
                cs = st.get("containerStatuses") or []
                if cs and all(c.get("ready") for c in cs):
                    return p
            return None
        return wait_state(self.api, self.core.list_namespaced_pod, cond, what=f"running pod app={app} in {ns}",
                          namespace=ns, label_selector=f"app={app}")


def containers(pod: dict) -> list[str]:
    return [c["name"] for c in pod["spec"]["containers"]]


def init_containers(pod: dict) -> list[str]:
    return [c["name"] for c in pod["spec"].get("initContainers") or []]


# -- fixtures for the ossm2 flow --------------------------------------------------------------
@pytest.fixture(scope="module")
def mesh(api) -> Mesh:
    return Mesh(api)


@pytest.fixture(scope="module")
def operator(mesh: Mesh) -> dict:
    """Install the Service Mesh operator the OpenShift way: a Subscription; OLM makes the CSV."""
    mesh.namespace(OPERATORS_NS)
    try:
        mesh.create("operators.coreos.com", "v1alpha1", "subscriptions", OPERATORS_NS, {
            "apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
            "metadata": {"name": "servicemeshoperator", "namespace": OPERATORS_NS},
            "spec": {"channel": "stable", "name": "servicemeshoperator", "source": "redhat-operators",
                     "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Automatic"}})
    except ApiException as e:
        if e.status != 409:
            raise

    def succeeded(items: list[dict]) -> dict | None:
        return next((c for c in items if c["metadata"]["name"].startswith("servicemeshoperator")
                     and (c.get("status") or {}).get("phase") == "Succeeded"), None)
    return wait_state(mesh.api, mesh.custom.list_cluster_custom_object, succeeded, what="servicemeshoperator CSV",
                      group="operators.coreos.com", version="v1alpha1", plural="clusterserviceversions")


BASIC_SPEC = {
    "version": "v2.5",
    "tracing": {"type": "Jaeger", "sampling": 10000},
    "addons": {"kiali": {"enabled": True, "name": "kiali"}, "prometheus": {"enabled": True},
               "grafana": {"enabled": True}},
    "security": {"dataPlane": {"mtls": True}},
}
ALL_COMPONENTS = sorted(["grafana", "istio-discovery", "istio-egress", "istio-ingress", "kiali", "prometheus",
                         "tracing"])


def is_ready(smcp: dict) -> bool:
    return cond_of(smcp, "Ready").get("status") == "True"


@pytest.fixture(scope="module")
def basic(mesh: Mesh, operator) -> dict:
    mesh.namespace(CP_NS)
    mesh.smcp(CP_NS, "basic", BASIC_SPEC)
    return mesh.wait_smcp(CP_NS, "basic", is_ready, "SMCP basic Ready")


# -- tests: ossm2 -------------------------------------------------------------------------------
def test_smcp_without_operator_gets_no_status_until_the_csv_succeeds(mesh: Mesh, request):
    mesh.namespace("early-system")
    mesh.smcp("early-system", "early", {"version": "v2.5", "gateways": {"egress": {"enabled": False}},
                                         "tracing": {"type": "None"},
                                         "addons": {"kiali": {"enabled": False}, "grafana": {"enabled": False},
                                                    "prometheus": {"enabled": False}}})
    # no operator is running: nothing answers, so the status stays empty
    stays(mesh.api, mesh.custom.list_namespaced_custom_object,
          lambda items: any(i.get("status") for i in items), 6,
          group=MAISTRA, version="v2", namespace="early-system", plural="servicemeshcontrolplanes")
    assert mesh.apps.list_namespaced_deployment("early-system").items == []

    request.getfixturevalue("operator")
    smcp = mesh.wait_smcp("early-system", "early", is_ready, "early SMCP Ready after the operator arrived")
    assert smcp["status"]["readiness"]["components"]["ready"] == ["istio-discovery", "istio-ingress"]
    # the namespace goes, SMCP and all (garbage collector + namespace controller, nothing stuck)
    mesh.core.delete_namespace("early-system")
    mesh.wait_namespace("early-system", lambda ns: ns is None, "early-system deleted")
    wait_state(mesh.api, mesh.adm.list_mutating_webhook_configuration,
               lambda items: not any(i["metadata"]["name"] == "istio-sidecar-injector-early-early-system"
                                     for i in items) or None, what="early webhook removed")


def test_smcp_reaches_ready_with_the_real_status_shape(mesh: Mesh, basic: dict):
    st = basic["status"]
    conds = {c["type"]: c for c in st["conditions"]}
    assert [c["type"] for c in st["conditions"]] == ["Installed", "Reconciled", "Ready"]
    assert (conds["Installed"]["status"], conds["Installed"]["reason"]) == ("True", "InstallSuccessful")
    assert (conds["Reconciled"]["status"], conds["Reconciled"]["reason"]) == ("True", "ReconcileSuccessful")
    assert conds["Ready"]["reason"] == "ComponentsReady"
    assert conds["Ready"]["message"] == "All component deployments are Available"
    assert all(c.get("lastTransitionTime") for c in st["conditions"])
    assert st["readiness"]["components"] == {"ready": ALL_COMPONENTS, "unready": [], "pending": []}
    assert st["annotations"]["readyComponentCount"] == f"{len(ALL_COMPONENTS)}/{len(ALL_COMPONENTS)}"
    assert st["observedGeneration"] == basic["metadata"]["generation"]
    assert st["chartVersion"] == "2.5.2" and st["operatorVersion"]
    applied = st["appliedSpec"]
    assert applied["version"] == "v2.5" and applied["security"]["dataPlane"]["mtls"] is True
    assert applied["addons"]["kiali"]["enabled"] is True and applied["tracing"]["type"] == "Jaeger"


def test_control_plane_objects_are_real_and_owned(mesh: Mesh, basic: dict):
    uid = basic["metadata"]["uid"]
    deps = {d.metadata.name: d for d in mesh.apps.list_namespaced_deployment(CP_NS).items}
    assert set(deps) >= {"istiod-basic", "istio-ingressgateway", "istio-egressgateway", "kiali", "prometheus",
                         "jaeger", "grafana"}
    for d in deps.values():
        labels = d.metadata.labels
        assert labels["maistra.io/owner"] == CP_NS and labels["maistra-version"] == "2.5.2"
        assert labels["app.kubernetes.io/managed-by"] == "maistra-istio-operator"
        assert labels["app.kubernetes.io/part-of"] == "istio"
        ref = d.metadata.owner_references[0]
        assert (ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == \
            ("ServiceMeshControlPlane", "basic", uid, True, True)
        assert d.status.available_replicas == 1
    assert deps["istiod-basic"].metadata.labels["app.kubernetes.io/component"] == "istio-discovery"
    assert deps["jaeger"].metadata.labels["app.kubernetes.io/component"] == "tracing"
    gw = deps["istio-ingressgateway"].spec.template
    assert gw.metadata.labels["istio"] == "ingressgateway" and gw.metadata.labels["app"] == "istio-ingressgateway"
    assert gw.spec.containers[0].image == "registry.redhat.io/openshift-service-mesh/proxyv2-rhel8:2.5.2"
    gw_pod = mesh.running_pod(CP_NS, "istio-ingressgateway")
    assert containers(gw_pod) == ["istio-proxy"]  # the control plane namespace is never injected

    svcs = {s.metadata.name: s for s in mesh.core.list_namespaced_service(CP_NS).items}
    ports = {p.name: (p.port, p.target_port) for p in svcs["istio-ingressgateway"].spec.ports}
    assert ports == {"status-port": (15021, 15021), "http2": (80, 8080), "https": (443, 8443)}
    assert {p.name: p.port for p in svcs["istiod-basic"].spec.ports}["https-webhook"] == 443
    assert {"kiali", "prometheus", "jaeger-query", "grafana", "istio-egressgateway"} <= set(svcs)

    routes = {r["metadata"]["name"]: r for r in mesh.custom.list_namespaced_custom_object(
        "route.openshift.io", "v1", CP_NS, "routes")["items"]}
    assert set(routes) >= {"kiali", "prometheus", "jaeger", "grafana", "istio-ingressgateway"}
    assert routes["kiali"]["spec"]["host"] == f"kiali-{CP_NS}.apps.sandbox.lab"
    assert routes["kiali"]["spec"]["tls"]["termination"] == "reencrypt"

    pa = mesh.custom.get_namespaced_custom_object("security.istio.io", "v1beta1", CP_NS, "peerauthentications",
                                                  "default")
    assert pa["spec"]["mtls"]["mode"] == "STRICT"
    drs = {d["metadata"]["name"]: d["spec"] for d in mesh.custom.list_namespaced_custom_object(
        "networking.istio.io", "v1beta1", CP_NS, "destinationrules")["items"]}
    assert drs["default"]["trafficPolicy"]["tls"]["mode"] == "ISTIO_MUTUAL"
    assert drs["api-server"]["host"] == "kubernetes.default.svc.cluster.local"
    assert drs["api-server"]["trafficPolicy"]["tls"]["mode"] == "DISABLE"

    hook = mesh.adm.read_mutating_webhook_configuration(f"istio-sidecar-injector-basic-{CP_NS}")
    exprs = {e.key: (e.operator, e.values) for e in hook.webhooks[0].namespace_selector.match_expressions}
    assert exprs["maistra.io/member-of"] == ("In", [CP_NS])
    ns_labels = mesh.core.read_namespace(CP_NS).metadata.labels
    assert ns_labels.get("maistra.io/member-of") == CP_NS and "maistra.io/ignore-namespace" in ns_labels


def test_member_roll_configures_members_and_pending_namespaces(mesh: Mesh, basic: dict):
    mesh.namespace("webapp")
    mesh.smmr(CP_NS, ["webapp", "later"])
    smmr = mesh.wait_smmr(CP_NS, lambda o: (o.get("status") or {}).get("configuredMembers") == ["webapp"],
                          "webapp configured")
    st = smmr["status"]
    assert st["members"] == ["later", "webapp"] and st["pendingMembers"] == ["later"]
    assert st["annotations"]["configuredMemberCount"] == "1/2"
    assert cond_of(smmr, "Ready")["status"] == "False"
    later = next(m for m in st["memberStatuses"] if m["namespace"] == "later")
    assert later["conditions"][0]["reason"] == "NamespaceNotExists"

    smm = mesh.custom.get_namespaced_custom_object(MAISTRA, "v1", "webapp", "servicemeshmembers", "default")
    assert smm["metadata"]["annotations"]["maistra.io/created-by"]
    assert smm["spec"]["controlPlaneRef"] == {"name": "basic", "namespace": CP_NS}
    assert cond_of(smm, "Reconciled")["status"] == "True" and cond_of(smm, "Ready")["status"] == "True"
    assert mesh.core.read_namespace("webapp").metadata.labels["maistra.io/member-of"] == CP_NS

    # the missing member appears: it is configured then
    mesh.namespace("later")
    smmr = mesh.wait_smmr(CP_NS, lambda o: cond_of(o, "Ready").get("status") == "True", "SMMR Ready")
    st = smmr["status"]
    assert cond_of(smmr, "Ready")["reason"] == "Configured"
    assert cond_of(smmr, "Ready")["message"] == "All namespaces have been configured successfully"
    assert st["configuredMembers"] == ["later", "webapp"] and st["pendingMembers"] == []
    assert st["annotations"]["configuredMemberCount"] == "2/2"
    assert st["observedGeneration"] == smmr["metadata"]["generation"]
    assert st["meshGeneration"] == basic["status"]["observedGeneration"]


def test_removing_a_member_deletes_its_smm_and_label(mesh: Mesh, basic: dict):
    mesh.custom.patch_namespaced_custom_object(MAISTRA, "v1", CP_NS, "servicemeshmemberrolls", "default",
                                               {"spec": {"members": ["webapp"]}})
    mesh.wait_namespace("later", lambda ns: ns is not None and
                        "maistra.io/member-of" not in (ns["metadata"].get("labels") or {}), "later unlabelled")
    wait_state(mesh.api, mesh.custom.list_namespaced_custom_object, lambda items: not items or None,
               what="SMM in later deleted", group=MAISTRA, version="v1", namespace="later",
               plural="servicemeshmembers")
    smmr = mesh.wait_smmr(CP_NS, lambda o: (o.get("status") or {}).get("members") == ["webapp"]
                          and cond_of(o, "Ready").get("status") == "True")
    assert smmr["status"]["annotations"]["configuredMemberCount"] == "1/1"


def test_sidecar_injection_needs_the_pod_opt_in(mesh: Mesh, basic: dict):
    mesh.wait_namespace("webapp", lambda ns: (ns or {}).get("metadata", {}).get("labels", {}).get(
        "maistra.io/member-of") == CP_NS)
    mesh.deployment("webapp", "web-injected", pod_annotations={"sidecar.istio.io/inject": "true"})
    mesh.deployment("webapp", "web-plain")
    pod = mesh.running_pod("webapp", "web-injected")
    assert containers(pod) == ["web", "istio-proxy"]
    assert "sidecar.istio.io/status" in pod["metadata"]["annotations"]
    assert len(pod["status"]["containerStatuses"]) == 2
    assert all(c["ready"] for c in pod["status"]["containerStatuses"])
    plain = mesh.running_pod("webapp", "web-plain")
    assert containers(plain) == ["web"]
    assert "sidecar.istio.io/status" not in (plain["metadata"].get("annotations") or {})


def test_istio_injection_label_alone_does_not_inject_on_ossm2(mesh: Mesh, basic: dict):
    mesh.core.patch_namespace("webapp", {"metadata": {"labels": {"istio-injection": "enabled"}}})
    mesh.deployment("webapp", "web-labelled-ns")
    pod = mesh.running_pod("webapp", "web-labelled-ns")
    assert containers(pod) == ["web"]
    mesh.core.patch_namespace("webapp", {"metadata": {"labels": {"istio-injection": None}}})


def test_member_of_label_comes_back(mesh: Mesh, basic: dict):
    mesh.core.patch_namespace("webapp", {"metadata": {"labels": {"maistra.io/member-of": None}}})
    mesh.wait_namespace("webapp", lambda ns: (ns or {}).get("metadata", {}).get("labels", {}).get(
        "maistra.io/member-of") == CP_NS, "member-of label restored")


def test_member_label_without_a_member_is_removed_at_the_relist(mesh: Mesh, basic: dict):
    """A relist shows no deletions: an SMM deleted between two watches must still take its
    namespace out of the mesh. A namespace labelled member-of with no SMM stands for that missed
    delete; the operator's periodic relist (30 s) finds and unlabels it."""
    mesh.namespace("stale")
    mesh.core.patch_namespace("stale", {"metadata": {"labels": {"maistra.io/member-of": CP_NS}}})
    mesh.wait_namespace("stale", lambda ns: ns is not None and
                        "maistra.io/member-of" not in (ns["metadata"].get("labels") or {}),
                        "stale member-of label removed")


def test_directly_created_member_joins_the_member_roll(mesh: Mesh, basic: dict):
    mesh.namespace("direct")
    mesh.create(MAISTRA, "v1", "servicemeshmembers", "direct", {
        "apiVersion": "maistra.io/v1", "kind": "ServiceMeshMember",
        "metadata": {"name": "default", "namespace": "direct"},
        "spec": {"controlPlaneRef": {"name": "basic", "namespace": CP_NS}}})
    mesh.wait_namespace("direct", lambda ns: (ns or {}).get("metadata", {}).get("labels", {}).get(
        "maistra.io/member-of") == CP_NS, "direct labelled")
    smmr = mesh.wait_smmr(CP_NS, lambda o: "direct" in ((o.get("status") or {}).get("configuredMembers") or []))
    assert "direct" not in (smmr["spec"].get("members") or [])
    assert smmr["status"]["members"] == ["direct", "webapp"]
    # deleting the member takes the namespace out of the mesh again
    mesh.custom.delete_namespaced_custom_object(MAISTRA, "v1", "direct", "servicemeshmembers", "default")
    mesh.wait_namespace("direct", lambda ns: ns is not None and
                        "maistra.io/member-of" not in (ns["metadata"].get("labels") or {}), "direct unlabelled")
    mesh.wait_smmr(CP_NS, lambda o: (o.get("status") or {}).get("members") == ["webapp"])


def test_member_roll_without_control_plane(mesh: Mesh, operator):
    mesh.namespace("lonely-system")
    mesh.smmr("lonely-system", ["webapp"])
    smmr = mesh.wait_smmr("lonely-system", lambda o: bool(cond_of(o, "Ready")))
    assert (cond_of(smmr, "Ready")["status"], cond_of(smmr, "Ready")["reason"]) == ("False", "ErrSMCPMissing")
    assert smmr["status"]["configuredMembers"] == []
    mesh.smmr("lonely-system", [], name="wrong-name")
    bad = mesh.wait_smmr("lonely-system", lambda o: bool(cond_of(o, "Ready")), name="wrong-name")
    assert cond_of(bad, "Ready")["reason"] == "ErrInvalidName"


def test_second_smcp_is_rejected_and_deleting_the_smcp_cleans_up(mesh: Mesh, operator):
    ns = "mesh2-system"
    mesh.namespace(ns)
    small = {"version": "v2.5", "tracing": {"type": "None"}, "gateways": {"egress": {"enabled": False}},
             "addons": {"kiali": {"enabled": False}, "grafana": {"enabled": False}, "prometheus": {"enabled": False}}}
    mesh.smcp(ns, "first", small)
    mesh.wait_smcp(ns, "first", is_ready)
    mesh.smcp(ns, "second", small)
    second = mesh.wait_smcp(ns, "second", lambda o: bool(cond_of(o, "Reconciled")))
    assert (cond_of(second, "Reconciled")["status"], cond_of(second, "Reconciled")["reason"]) == \
        ("False", "ErrMultipleSMCPs")
    mesh.custom.delete_namespaced_custom_object(MAISTRA, "v2", ns, "servicemeshcontrolplanes", "second")
    # a member created directly creates the member roll, as the real member controller does
    mesh.namespace("m2-app")
    mesh.create(MAISTRA, "v1", "servicemeshmembers", "m2-app", {
        "apiVersion": "maistra.io/v1", "kind": "ServiceMeshMember",
        "metadata": {"name": "default", "namespace": "m2-app"},
        "spec": {"controlPlaneRef": {"name": "first", "namespace": ns}}})
    smmr = mesh.wait_smmr(ns, lambda o: cond_of(o, "Ready").get("reason") == "Configured")
    assert smmr["metadata"]["annotations"]["maistra.io/created-by"]
    assert smmr["status"]["members"] == ["m2-app"] and not smmr["spec"].get("members")
    assert {d.metadata.name for d in mesh.apps.list_namespaced_deployment(ns).items} == \
        {"istiod-first", "istio-ingressgateway"}

    mesh.custom.delete_namespaced_custom_object(MAISTRA, "v2", ns, "servicemeshcontrolplanes", "first")
    # the real garbage collector removes what the SMCP owned
    wait_state(mesh.api, mesh.apps.list_namespaced_deployment, lambda items: not items or None,
               what="deployments garbage-collected", namespace=ns)
    wait_state(mesh.api, mesh.adm.list_mutating_webhook_configuration,
               lambda items: not any(i["metadata"]["name"] == f"istio-sidecar-injector-first-{ns}" for i in items)
               or None, what="webhook removed")
    smmr = mesh.wait_smmr(ns, lambda o: cond_of(o, "Ready").get("reason") == "ErrSMCPMissing")
    assert cond_of(smmr, "Ready")["status"] == "False"


def test_smcp_reports_unready_components(mesh: Mesh, operator):
    """No pod can start (a ResourceQuota of 0 pods): installed, reconciled, but not Ready."""
    ns = "quota-system"
    mesh.namespace(ns)
    mesh.core.create_namespaced_resource_quota(ns, {"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}})
    mesh.smcp(ns, "q", {"tracing": {"type": "None"}, "gateways": {"egress": {"enabled": False}},
                        "addons": {"kiali": {"enabled": False}, "grafana": {"enabled": False},
                                   "prometheus": {"enabled": False}}})
    smcp = mesh.wait_smcp(ns, "q", lambda o: cond_of(o, "Reconciled").get("status") == "True"
                          and (o["status"].get("readiness") or {}).get("components", {}).get("unready"))
    assert smcp["status"]["readiness"]["components"] == {
        "ready": [], "unready": ["istio-discovery", "istio-ingress"], "pending": []}
    assert (cond_of(smcp, "Ready")["status"], cond_of(smcp, "Ready")["reason"]) == ("False", "ComponentsNotReady")
    assert cond_of(smcp, "Ready")["message"] == \
        "the following components are not fully available: [istio-discovery istio-ingress]"
    assert smcp["status"]["annotations"]["readyComponentCount"] == "0/2"
    assert smcp["spec"].get("version") is None and smcp["status"]["appliedSpec"]["version"] == "v2.5"
    mesh.core.delete_namespace(ns)
    mesh.wait_namespace(ns, lambda o: o is None, f"{ns} deleted")


def test_member_namespace_deletion_completes(mesh: Mesh, basic: dict):
    mesh.core.delete_namespace("webapp")
    mesh.wait_namespace("webapp", lambda ns: ns is None, "webapp deleted (not stuck Terminating)")
    smmr = mesh.wait_smmr(CP_NS, lambda o: (o.get("status") or {}).get("pendingMembers") == ["webapp"])
    assert smmr["status"]["configuredMembers"] == []
    assert cond_of(smmr, "Ready")["status"] == "False"


# -- upstream Istio flavour ---------------------------------------------------------------------
def test_upstream_istio_injection_rules(tmp_path_factory: pytest.TempPathFactory):
    sb = _start(tmp_path_factory.mktemp("sb-istio"), "istio")
    try:
        api = config.new_client_from_config(config_file=str(sb.kubeconfig))
        m = Mesh(api)
        # istio-system as istioctl leaves it: istiod and the ingress gateway Available
        wait_state(api, m.apps.list_namespaced_deployment,
                   lambda items: {d["metadata"]["name"] for d in items
                                  if (d.get("status") or {}).get("availableReplicas") == 1}
                   >= {"istiod", "istio-ingressgateway"} or None, what="istio-system available",
                   namespace="istio-system")
        assert not any(c.metadata.name.startswith("servicemeshcontrolplanes")
                       for c in client.ApiextensionsV1Api(api).list_custom_resource_definition().items)
        svc = m.core.read_namespaced_service("istio-ingressgateway", "istio-system")
        assert {p.name: (p.port, p.target_port) for p in svc.spec.ports} == \
            {"status-port": (15021, 15021), "http2": (80, 8080), "https": (443, 8443)}

        m.namespace("injected", {"istio-injection": "enabled"})
        m.deployment("injected", "web")
        m.deployment("injected", "web-optout", pod_labels={"sidecar.istio.io/inject": "false"})
        pod = m.running_pod("injected", "web")
        assert containers(pod) == ["web", "istio-proxy"] and init_containers(pod) == ["istio-init"]
        assert "sidecar.istio.io/status" in pod["metadata"]["annotations"]
        assert all(c["ready"] for c in pod["status"]["containerStatuses"])
        assert containers(m.running_pod("injected", "web-optout")) == ["web"]

        m.namespace("plain")
        m.deployment("plain", "web-annotated", pod_annotations={"sidecar.istio.io/inject": "true"})
        m.deployment("plain", "web-labelled", pod_labels={"sidecar.istio.io/inject": "true"})
        assert containers(m.running_pod("plain", "web-annotated")) == ["web"]
        assert containers(m.running_pod("plain", "web-labelled")) == ["web", "istio-proxy"]
    finally:
        sb.down(purge=True)
