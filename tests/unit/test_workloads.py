"""Check types of grader.checks.workloads: service-port, ingress-endpoint, route-target,
namespace-sidecars, namespace-member, peer-authentication-policy, virtualservice-gateway
and virtualservice-hosts.

The base scenario (tests/fixtures/workloads/base) is the sandbox's own state with the labs
solved, dumped from the API server; each test changes what a student would change.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from check_fixtures import run

from grader import kinds as K
from grader.checks.workloads import istio_protocol
from grader.model import Outcome, Status
from grader.snapshot import Snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workloads"
NS = "webapp"


@functools.cache
def _base() -> tuple[dict, ...]:
    docs: list[dict] = []
    for f in sorted((FIXTURES / "base").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict))
    return tuple(docs)


def _key(o: dict) -> tuple[str, str, str]:
    md = o.get("metadata") or {}
    return o.get("kind", ""), md.get("namespace") or "", md.get("name") or ""


@pytest.fixture
def objs() -> list[dict]:
    return copy.deepcopy(list(_base()))


def get(objs: list[dict], kind: str, name: str, ns: str = NS) -> dict:
    for o in objs:
        if _key(o) == (kind, ns if kind != "Namespace" else "", name):
            return o
    raise KeyError((kind, ns, name))


def find(objs: list[dict], kind: str, prefix: str, ns: str = NS) -> dict:
    """The first object of a kind whose name starts with prefix (pods and ReplicaSets)."""
    return next(o for o in objs if o["kind"] == kind and (o["metadata"].get("namespace") or "") == ns
                and o["metadata"]["name"].startswith(prefix))


def drop(objs: list[dict], kind: str, name: str, ns: str = NS) -> list[dict]:
    return [o for o in objs if _key(o) != (kind, ns if kind != "Namespace" else "", name)]


def snap(objs: list[dict], **kw: Any) -> Snapshot:
    return Snapshot.from_objects(copy.deepcopy(objs), **kw)


def check(name: str, objs: list[dict], snap_kw: dict | None = None, **params: Any) -> Outcome:
    out = run(name, snap(objs, **(snap_kw or {})), **params)
    assert isinstance(out, Outcome)
    assert "unexpected content could not be evaluated" not in out.reason, out.reason
    assert out.reason, name
    return out


def strip_sidecar(pod: dict) -> None:
    """A pod as it runs when the injector did not touch it."""
    pod["spec"]["containers"] = [c for c in pod["spec"]["containers"] if c["name"] != "istio-proxy"]
    pod["status"]["containerStatuses"] = [c for c in pod["status"]["containerStatuses"] if c["name"] != "istio-proxy"]
    for key in ("sidecar.istio.io/status", "k8s.v1.cni.cncf.io/networks", "kubectl.kubernetes.io/default-container"):
        pod["metadata"].get("annotations", {}).pop(key, None)
    for key in ("security.istio.io/tlsMode", "service.istio.io/canonical-name",
                "service.istio.io/canonical-revision", "maistra-version"):
        pod["metadata"]["labels"].pop(key, None)


def no_annotation(dep: dict) -> None:
    dep["spec"]["template"]["metadata"].pop("annotations", None)


def not_member(objs: list[dict]) -> list[dict]:
    """webapp without its ServiceMeshMember and without the operator's label."""
    objs = drop(objs, "ServiceMeshMember", "default")
    get(objs, "Namespace", "webapp")["metadata"]["labels"].pop("maistra.io/member-of")
    return objs


def pa(name: str, mode: Any, ns: str = NS, ts: str = "2026-11-26T09:00:00Z", selector: dict | None = None,
       **spec: Any) -> dict:
    body: dict = {"mtls": {"mode": mode}} if mode is not None else {}
    if selector:
        body["selector"] = {"matchLabels": selector}
    body.update(spec)
    return {"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": ts}, "spec": body}


# -- istio_protocol ---------------------------------------------------------------------------
@pytest.mark.parametrize("port, expected", [
    ({"name": "http", "port": 80}, ("http", "name")),
    ({"name": "http-web", "port": 80}, ("http", "name")),
    ({"name": "HTTP", "port": 80}, ("http", "name")),
    ({"name": "http2", "port": 80}, ("http2", "name")),
    ({"name": "grpc", "port": 80}, ("grpc", "name")),
    ({"name": "grpc-web-x", "port": 80}, ("grpc-web", "name")),
    ({"name": "tcp-db", "port": 80}, ("tcp", "name")),
    ({"name": "web", "port": 80}, ("unsupported", "name")),
    ({"name": "webhttp", "port": 80}, ("unsupported", "name")),
    ({"port": 80}, ("unsupported", "name")),
    ({"name": "web", "port": 80, "appProtocol": "http"}, ("http", "appProtocol")),
    ({"name": "http", "port": 80, "appProtocol": "tcp"}, ("tcp", "appProtocol")),  # appProtocol wins
    ({"name": "web", "port": 80, "appProtocol": "kubernetes.io/h2c"}, ("http2", "appProtocol")),
    ({"name": "http", "port": 80, "protocol": "UDP"}, ("udp", "protocol")),
    ({"name": "udp-dns", "port": 5353}, ("unsupported", "name")),
    ({"name": "db", "port": 3306}, ("tcp", "name")),  # well-known port
    ({"name": ["x"], "port": "80"}, ("unsupported", "name")),
])
def test_istio_protocol(port, expected):
    assert istio_protocol(port) == expected


# -- service-port -----------------------------------------------------------------------------
SP = {"namespace": NS, "service": "web", "port": 80, "deployment": "web-v1"}


def _svc_port(objs: list[dict], **changes: Any) -> None:
    port = get(objs, "Service", "web")["spec"]["ports"][0]
    for k, v in changes.items():
        if v is None:
            port.pop(k, None)
        else:
            port[k] = v


def test_service_port_pass(objs):
    out = check("service-port", objs, **SP)
    assert out.status is Status.PASS
    assert "Service webapp/web port 80" in out.reason and "HTTP from its name" in out.reason
    assert "web-v1-" in out.reason and "targetPort 80 reaches container port 80" in out.reason


def test_service_port_named_web_fails_with_protocol_selection(objs):
    _svc_port(objs, name="web")
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL
    assert "Service webapp/web spec.ports[0] name 'web' (port 80)" in out.reason
    assert "protocol sniffing" in out.reason and "KIA0601" in out.reason
    assert "expected a name http" in out.reason
    assert "http" in out.hint


def test_service_port_app_protocol_counts(objs):
    _svc_port(objs, name="web", appProtocol="http")
    out = check("service-port", objs, **SP)
    assert out.ok and "from its appProtocol" in out.reason


@pytest.mark.parametrize("name", ["http-web", "http2", "grpc", "HTTP"])
def test_service_port_other_http_names(objs, name):
    _svc_port(objs, name=name)
    assert check("service-port", objs, **SP).ok


def test_service_port_tcp_name(objs):
    _svc_port(objs, name="tcp")
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL and "opaque TCP" in out.reason and "from the name" in out.reason


def test_service_port_exact_protocol_param(objs):
    _svc_port(objs, name="grpc")
    assert check("service-port", objs, **SP | {"protocol": "grpc"}).ok
    assert not check("service-port", objs, **SP | {"protocol": "http2"}).ok


def test_service_port_missing_port(objs):
    _svc_port(objs, port=8080)
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL
    assert "Service webapp/web spec.ports has no port 80 (ports: 8080->80)" in out.reason


def test_service_port_selector_mismatch(objs):
    get(objs, "Service", "web")["spec"]["selector"] = {"app": "webx"}
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL
    assert "spec.selector {app: webx} does not select the pods of Deployment webapp/web-v1" in out.reason


def test_service_port_without_selector(objs):
    del get(objs, "Service", "web")["spec"]["selector"]
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL and "spec.selector is not set" in out.reason
    out = check("service-port", objs, **{k: v for k, v in SP.items() if k != "deployment"})
    assert out.status is Status.FAIL and "spec.selector is not set" in out.reason


def test_service_port_target_port_not_a_container_port(objs):
    _svc_port(objs, targetPort=8080)
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL
    assert "Service webapp/web spec.ports[0].targetPort is 8080" in out.reason
    assert "containerPort 8080" in out.reason and "web:80 (http)" in out.reason


def test_service_port_named_target_port(objs):
    _svc_port(objs, targetPort="http")
    out = check("service-port", objs, **SP)
    assert out.ok and "resolves to container port 80" in out.reason
    _svc_port(objs, targetPort="www")
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL and "has a port named 'www'" in out.reason and "no endpoints" in out.reason


def test_service_port_default_target_port(objs):
    _svc_port(objs, targetPort=None)  # defaults to port
    assert check("service-port", objs, **SP).ok


def test_service_port_container_declares_no_ports(objs):
    pod = find(objs, "Pod", "web-v1-")
    del pod["spec"]["containers"][0]["ports"]
    out = check("service-port", objs, **SP)
    assert out.ok and "not verifiable" in out.reason


def test_service_port_missing_service_and_deployment(objs):
    out = check("service-port", drop(objs, "Service", "web"), **SP)
    assert out.status is Status.FAIL and "Service webapp/web not found" in out.reason
    out = check("service-port", drop(objs, "Deployment", "web-v1"), **SP)
    assert out.status is Status.FAIL and "Deployment webapp/web-v1 not found" in out.reason


def test_service_port_without_deployment_param(objs):
    out = check("service-port", objs, namespace=NS, service="web")
    assert out.ok and "web-v1-" in out.reason
    get(objs, "Service", "web")["spec"]["selector"] = {"app": "nothing"}
    out = check("service-port", objs, namespace=NS, service="web")
    assert out.status is Status.FAIL and "selects no running pod" in out.reason


@pytest.mark.parametrize("params", [{"port": "80"}, {"port": 0}, {"service": ""}, {"deployment": 3},
                                    {"protocol": None}])
def test_service_port_bad_params(objs, params):
    out = check("service-port", objs, **SP | params)
    assert out.status is Status.FAIL and "check parameter" in out.reason


# -- ingress-endpoint ---------------------------------------------------------------------------
def _route(objs: list[dict]) -> dict:
    return get(objs, "Route", "istio-ingressgateway", "istio-system")


def test_ingress_endpoint_route_pass(objs):
    out = check("ingress-endpoint", objs)
    assert out.status is Status.PASS
    assert "Route istio-system/istio-ingressgateway (host istio-ingressgateway-istio-system." in out.reason
    assert "Service istio-system/istio-ingressgateway port http2 (80->8080)" in out.reason
    assert "GATEWAY_URL=istio-ingressgateway-istio-system." in out.reason


def test_ingress_endpoint_route_missing(objs):
    out = check("ingress-endpoint", drop(objs, "Route", "istio-ingressgateway", "istio-system"))
    assert out.status is Status.FAIL
    assert "Route istio-system/istio-ingressgateway not found" in out.reason
    assert "oc expose svc/istio-ingressgateway --port=http2 -n istio-system" in out.hint


def test_ingress_endpoint_route_to_other_service(objs):
    _route(objs)["spec"]["to"]["name"] = "istio-egressgateway"
    out = check("ingress-endpoint", objs)
    assert out.status is Status.FAIL
    assert "spec.to is Service 'istio-egressgateway'; expected Service istio-ingressgateway" in out.reason


@pytest.mark.parametrize("target, ok", [(8080, True), ("8080", True), ("http2", True), (80, False),
                                        ("http", False), (None, False)])
def test_ingress_endpoint_route_target_port(objs, target, ok):
    if target is None:
        del _route(objs)["spec"]["port"]
    else:
        _route(objs)["spec"]["port"]["targetPort"] = target
    out = check("ingress-endpoint", objs)
    assert out.ok is ok, out.reason
    if not ok:
        assert "Route istio-system/istio-ingressgateway spec.port" in out.reason


def test_ingress_endpoint_route_not_admitted(objs):
    _route(objs)["status"] = {"ingress": [{"routerName": "default", "conditions": [
        {"type": "Admitted", "status": "False", "reason": "HostAlreadyClaimed", "message": "host already claimed"}]}]}
    out = check("ingress-endpoint", objs)
    assert out.status is Status.FAIL and "not admitted" in out.reason and "host already claimed" in out.reason


def test_ingress_endpoint_no_gateway_pods(objs):
    objs = [o for o in objs if not (o["kind"] == "Pod" and o["metadata"]["namespace"] == "istio-system")]
    out = check("ingress-endpoint", objs)
    assert out.status is Status.FAIL and "selects no running ingress gateway pod" in out.reason


def test_ingress_endpoint_service_missing(objs):
    out = check("ingress-endpoint", drop(objs, "Service", "istio-ingressgateway", "istio-system"))
    assert out.status is Status.FAIL and "Service istio-system/istio-ingressgateway not found" in out.reason


def test_ingress_endpoint_upstream_istio_uses_the_service(objs):
    objs = [o for o in objs if o["kind"] not in ("Route", "ServiceMeshControlPlane")]
    out = check("ingress-endpoint", objs, {"flavour": "istio"})
    assert out.status is Status.PASS
    assert "Service istio-system/istio-ingressgateway serves port 80" in out.reason
    assert "kubectl port-forward svc/istio-ingressgateway" in out.reason
    svc = get(objs, "Service", "istio-ingressgateway", "istio-system")
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}
    out = check("ingress-endpoint", objs, {"flavour": "istio"})
    assert "load balancer address 203.0.113.7" in out.reason
    svc["spec"]["ports"] = [p for p in svc["spec"]["ports"] if p["port"] != 80]
    out = check("ingress-endpoint", objs, {"flavour": "istio"})
    assert out.status is Status.FAIL and "has no port 80" in out.reason


def test_ingress_endpoint_route_kind_not_served(objs):
    s = snap(objs)
    s.missing_kinds.add("Route")
    out = run("ingress-endpoint", s)
    assert out.status is Status.FAIL and "does not serve Route" in out.reason


# -- route-target ---------------------------------------------------------------------------------
RT = {"namespace": NS, "virtualservice": "web", "host": "web", "port": 80, "gateway": "web-gateway"}


def _dest(objs: list[dict], i: int = 0) -> dict:
    return get(objs, "VirtualService", "web")["spec"]["http"][0]["route"][i]["destination"]


def test_route_target_pass(objs):
    out = check("route-target", objs, **RT)
    assert out.status is Status.PASS
    assert "VirtualService webapp/web spec.http[0]" in out.reason and "Service webapp/web port 80" in out.reason


def test_route_target_port_is_a_target_port(objs):
    get(objs, "Service", "web")["spec"]["ports"][0]["targetPort"] = 8080
    _dest(objs)["port"]["number"] = 8080
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL
    assert "spec.http[0].route[0].destination.port.number is 8080" in out.reason
    assert "that is a targetPort" in out.reason and "503" in out.reason


def test_route_target_port_not_exposed(objs):
    _dest(objs)["port"]["number"] = 9090
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "port.number is 9090, which Service webapp/web does not expose" in out.reason


def test_route_target_port_omitted(objs):
    del _dest(objs)["port"]
    assert check("route-target", objs, **RT).ok  # single-port Service
    get(objs, "Service", "web")["spec"]["ports"].append({"name": "http-admin", "port": 8081, "targetPort": 8081})
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "IST0112" in out.reason


def test_route_target_wrong_host(objs):
    _dest(objs)["host"] = "web-v1"
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL
    assert "destination.host is 'web-v1' (web-v1.webapp.svc.cluster.local) and gets 100%" in out.reason


def test_route_target_service_missing(objs):
    out = check("route-target", drop(objs, "Service", "web"), **RT)
    assert out.status is Status.FAIL and "Service webapp/web does not exist (KIA1101)" in out.reason


def test_route_target_fqdn_host_and_zero_weight_decoy(objs):
    route = get(objs, "VirtualService", "web")["spec"]["http"][0]["route"]
    route[0]["destination"]["host"] = "web.webapp.svc.cluster.local"
    route[0]["weight"] = 100
    route.append({"destination": {"host": "elsewhere", "port": {"number": 80}}, "weight": 0})
    assert check("route-target", objs, **RT).ok


def test_route_target_no_plain_route(objs):
    http = get(objs, "VirtualService", "web")["spec"]["http"]
    http[0]["match"] = [{"headers": {"end-user": {"exact": "jason"}}}]
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "no spec.http entry of VirtualService webapp/web matches" in out.reason
    get(objs, "VirtualService", "web")["spec"]["http"] = []
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "has no spec.http routes" in out.reason


def test_route_target_string_weight(objs):
    get(objs, "VirtualService", "web")["spec"]["http"][0]["route"][0]["weight"] = "100"
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "route[0].weight is '100'" in out.reason


def test_route_target_vs_missing(objs):
    out = check("route-target", drop(objs, "VirtualService", "web"), **RT)
    assert out.status is Status.FAIL and "VirtualService webapp/web not found" in out.reason


def test_route_target_redirect(objs):
    entry = get(objs, "VirtualService", "web")["spec"]["http"][0]
    del entry["route"]
    entry["redirect"] = {"uri": "/v2"}
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "has no route; it uses redirect" in out.reason


# -- namespace-sidecars ----------------------------------------------------------------------------
NSC = {"namespace": NS, "deployments": ["web-v1", "legacy"]}


def test_namespace_sidecars_pass(objs):
    out = check("namespace-sidecars", objs, **NSC)
    assert out.status is Status.PASS
    assert "all 2 pod(s) in namespace webapp carry an istio-proxy sidecar (Deployments legacy, web-v1)" in out.reason


def test_namespace_sidecars_legacy_without_sidecar_ossm(objs):
    strip_sidecar(find(objs, "Pod", "legacy-"))
    no_annotation(get(objs, "Deployment", "legacy"))
    out = check("namespace-sidecars", objs, **NSC)
    assert out.status is Status.FAIL
    assert "1 of 2 pod(s) in namespace webapp run without an istio-proxy sidecar (legacy-" in out.reason
    assert "STRICT" in out.reason
    assert 'the pod template of Deployment webapp/legacy lacks annotation ' \
           'sidecar.istio.io/inject: "true"' in out.reason
    assert "oc patch deployment/legacy" in out.hint


def test_namespace_sidecars_pods_predate_injection(objs):
    strip_sidecar(find(objs, "Pod", "legacy-"))
    out = check("namespace-sidecars", objs, **NSC)
    assert out.status is Status.FAIL and "created before injection was enabled" in out.reason
    assert "oc rollout restart deployment/legacy -n webapp" in out.hint


def test_namespace_sidecars_upstream_opt_out(objs):
    strip_sidecar(find(objs, "Pod", "legacy-"))
    dep = get(objs, "Deployment", "legacy")
    no_annotation(dep)
    dep["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] = "false"
    get(objs, "Namespace", "webapp")["metadata"]["labels"]["istio-injection"] = "enabled"
    out = check("namespace-sidecars", objs, {"flavour": "istio"}, **NSC)
    assert out.status is Status.FAIL and "sets label sidecar.istio.io/inject=false" in out.reason


def test_namespace_sidecars_deleted_workload_does_not_count(objs):
    objs = [o for o in objs if not o["metadata"]["name"].startswith("legacy")]
    out = check("namespace-sidecars", objs, **NSC)
    assert out.status is Status.FAIL and "Deployment webapp/legacy not found" in out.reason
    assert check("namespace-sidecars", objs, namespace=NS).ok


def test_namespace_sidecars_scaled_to_zero(objs):
    objs = [o for o in objs if not (o["kind"] == "Pod" and o["metadata"]["name"].startswith("legacy"))]
    out = check("namespace-sidecars", objs, **NSC)
    assert out.status is Status.FAIL and "Deployment webapp/legacy has no current pods" in out.reason


def test_namespace_sidecars_ignores_terminating_and_finished_pods(objs):
    pod = find(objs, "Pod", "legacy-")
    strip_sidecar(pod)
    pod["metadata"]["deletionTimestamp"] = "2026-11-26T09:00:00Z"
    job_pod = copy.deepcopy(pod)
    del job_pod["metadata"]["deletionTimestamp"]
    job_pod["metadata"]["name"] = "migrate-x1"
    job_pod["metadata"]["ownerReferences"] = [{"kind": "Job", "name": "migrate", "apiVersion": "batch/v1"}]
    job_pod["status"]["phase"] = "Succeeded"
    out = check("namespace-sidecars", objs + [job_pod], namespace=NS)
    assert out.ok, out.reason


def test_namespace_sidecars_bare_pod(objs):
    pod = copy.deepcopy(find(objs, "Pod", "legacy-"))
    strip_sidecar(pod)
    pod["metadata"]["name"] = "debug"
    del pod["metadata"]["ownerReferences"]
    out = check("namespace-sidecars", objs + [pod], namespace=NS)
    assert out.status is Status.FAIL and "pod debug has no controller and no sidecar" in out.reason


def test_namespace_sidecars_empty_namespace(objs):
    objs = [o for o in objs if o["kind"] != "Pod" or o["metadata"]["namespace"] != NS]
    out = check("namespace-sidecars", objs, namespace=NS)
    assert out.ok and "no running pods" in out.reason


@pytest.mark.parametrize("value", ["legacy", [""], [1], {}])
def test_namespace_sidecars_bad_params(objs, value):
    out = check("namespace-sidecars", objs, namespace=NS, deployments=value)
    assert out.status is Status.FAIL and "check parameter deployments" in out.reason


# -- namespace-member ------------------------------------------------------------------------------
NM = {"namespace": NS, "control_plane": "istio-system"}


def test_namespace_member_pass_through_smm(objs):
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.PASS
    assert "label maistra.io/member-of=istio-system, through ServiceMeshMember webapp/default" in out.reason


def test_namespace_member_not_a_member(objs):
    out = check("namespace-member", not_member(objs), **NM)
    assert out.status is Status.FAIL
    assert "Namespace webapp is not a member of the mesh: there is no ServiceMeshMember default in webapp" in out.reason
    assert "ServiceMeshMemberRoll istio-system/default spec.members [] does not include it" in out.reason
    assert "the sidecar injection webhook never sees its pods" in out.reason
    assert "ServiceMeshMember default in webapp" in out.hint


def test_namespace_member_without_member_roll(objs):
    objs = drop(not_member(objs), "ServiceMeshMemberRoll", "default", "istio-system")
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.FAIL and "there is no ServiceMeshMemberRoll default in istio-system" in out.reason


@pytest.mark.parametrize("roll, via", [
    ({"members": ["webapp"]}, "spec.members"),
    ({"members": ["*"]}, 'spec.members ["*"]'),
    ({"memberSelectors": [{"matchLabels": {"team": "web"}}]}, "spec.memberSelectors[0]"),
])
def test_namespace_member_through_member_roll(objs, roll, via):
    objs = drop(objs, "ServiceMeshMember", "default")
    get(objs, "ServiceMeshMemberRoll", "default", "istio-system")["spec"] = roll
    get(objs, "Namespace", "webapp")["metadata"]["labels"]["team"] = "web"
    out = check("namespace-member", objs, **NM)
    assert out.ok and f"through ServiceMeshMemberRoll istio-system/default {via}" in out.reason


def test_namespace_member_label_set_by_hand(objs):
    objs = drop(objs, "ServiceMeshMember", "default")
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.FAIL
    assert "carries label maistra.io/member-of=istio-system, but nothing makes it a member" in out.reason
    assert "a hand-set label does not make a working member" in out.reason


def test_namespace_member_misnamed_smm(objs):
    objs = not_member(objs)
    smm = copy.deepcopy(next(o for o in _base() if o["kind"] == "ServiceMeshMember"))
    smm["metadata"]["name"] = "webapp"
    out = check("namespace-member", objs + [smm], **NM)
    assert out.status is Status.FAIL
    assert "ServiceMeshMember webapp/webapp is ignored: a ServiceMeshMember must be named default" in out.reason


def test_namespace_member_smm_wrong_control_plane(objs):
    objs = not_member(objs)
    smm = copy.deepcopy(next(o for o in _base() if o["kind"] == "ServiceMeshMember"))
    smm["spec"]["controlPlaneRef"] = {"name": "basic", "namespace": "istio-system2"}
    out = check("namespace-member", objs + [smm], **NM)
    assert out.status is Status.FAIL
    assert "ServiceMeshMember webapp/default spec.controlPlaneRef.namespace is 'istio-system2'" in out.reason
    smm["spec"]["controlPlaneRef"] = {"name": "full", "namespace": "istio-system"}
    out = check("namespace-member", objs + [smm], **NM)
    assert "spec.controlPlaneRef.name is 'full', but the ServiceMeshControlPlane in istio-system is basic" \
        in out.reason


def test_namespace_member_smm_not_configured_yet(objs):
    get(objs, "Namespace", "webapp")["metadata"]["labels"].pop("maistra.io/member-of")
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.FAIL
    assert "has no label maistra.io/member-of=istio-system yet: the operator has not configured it" in out.reason
    smm = get(objs, "ServiceMeshMember", "default")
    smm["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "ErrorConfiguringNamespace",
                                    "message": "already a member of other-mesh"}]
    out = check("namespace-member", objs, **NM)
    assert "ServiceMeshMember webapp/default is not Ready (ErrorConfiguringNamespace" in out.reason


def test_namespace_member_other_mesh_and_ignored(objs):
    labels = get(objs, "Namespace", "webapp")["metadata"]["labels"]
    labels["maistra.io/member-of"] = "other-mesh"
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.FAIL and "it belongs to the control plane in other-mesh" in out.reason
    labels["maistra.io/member-of"] = "istio-system"
    labels["maistra.io/ignore-namespace"] = "ignore"
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.FAIL and "maistra.io/ignore-namespace" in out.reason


@pytest.mark.parametrize("namespace", ["istio-system", "openshift-monitoring", "kube-system"])
def test_namespace_member_excluded_namespaces(objs, namespace):
    out = check("namespace-member", objs, namespace=namespace)
    assert out.status is Status.FAIL and "can never be a mesh member" in out.reason


def test_namespace_member_namespace_missing(objs):
    out = check("namespace-member", objs, namespace="shop")
    assert out.status is Status.FAIL and "Namespace shop does not exist" in out.reason


def test_namespace_member_without_maistra_api(objs):
    s = snap([o for o in objs if not o["apiVersion"].startswith("maistra.io")], flavour="istio")
    s.missing_kinds |= {"ServiceMeshMember", "ServiceMeshMemberRoll", "ServiceMeshControlPlane"}
    out = run("namespace-member", s, **NM)
    assert out.status is Status.FAIL and "does not serve ServiceMeshMember" in out.reason


# -- peer-authentication-policy -----------------------------------------------------------------
PAP = {"namespace": NS, "mode": "STRICT", "level": "namespace"}


def test_pa_policy_pass(objs):
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.PASS
    assert "PeerAuthentication webapp/default (namespace-wide) sets spec.mtls.mode STRICT" in out.reason


def test_pa_policy_only_mesh_wide_strict(objs):
    objs = drop(objs, "PeerAuthentication", "default")
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.FAIL
    assert "namespace webapp has no namespace-wide PeerAuthentication" in out.reason
    assert "set by PeerAuthentication istio-system/default (mesh-wide, spec.mtls.mode)" in out.reason
    assert "only because of that default" in out.reason
    assert "create PeerAuthentication default in namespace webapp with spec.mtls.mode: STRICT" in out.hint
    # the effective level accepts the mesh-wide default
    assert check("peer-authentication-policy", objs, **PAP | {"level": "effective"}).ok


@pytest.mark.parametrize("mode, needle", [
    ("PERMISSIVE", "PeerAuthentication webapp/default spec.mtls.mode is PERMISSIVE; expected STRICT"),
    ("DISABLE", "spec.mtls.mode is DISABLE; expected STRICT"),
    (None, "spec.mtls.mode is not set (UNSET), so the policy inherits the mesh-wide mode"),
    ("STRICTT", "spec.mtls.mode is 'STRICTT'; expected one of UNSET, DISABLE, PERMISSIVE, STRICT"),
])
def test_pa_policy_wrong_mode(objs, mode, needle):
    objs = drop(objs, "PeerAuthentication", "default") + [pa("default", mode)]
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.FAIL and needle in out.reason


def test_pa_policy_effective_level_permissive(objs):
    objs = drop(objs, "PeerAuthentication", "default") + [pa("default", "PERMISSIVE")]
    out = check("peer-authentication-policy", objs, **PAP | {"level": "effective"})
    assert out.status is Status.FAIL
    assert "effective mTLS mode of namespace webapp is PERMISSIVE, set by PeerAuthentication webapp/default " \
           "(namespace-wide" in out.reason


def test_pa_policy_selector_policy_is_not_namespace_wide(objs):
    objs = drop(objs, "PeerAuthentication", "default") + [pa("web", "STRICT", selector={"app": "web"})]
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.FAIL
    assert "web have a spec.selector, so they apply only to matching workloads" in out.reason


def test_pa_policy_oldest_namespace_policy_wins(objs):
    newer = pa("zz-permissive", "PERMISSIVE", ts="2027-01-01T00:00:00Z")
    out = check("peer-authentication-policy", objs + [newer], **PAP)
    assert out.ok and "PeerAuthentication webapp/zz-permissive (namespace-wide, mode 'PERMISSIVE') is ignored" \
        in out.reason
    older = pa("aa-permissive", "PERMISSIVE", ts="2020-01-01T00:00:00Z")
    out = check("peer-authentication-policy", objs + [older], **PAP)
    assert out.status is Status.FAIL and "webapp/aa-permissive spec.mtls.mode is PERMISSIVE" in out.reason
    assert "PeerAuthentication webapp/default (namespace-wide, mode 'STRICT') is ignored" in out.reason


def test_pa_policy_workload_override(objs):
    objs = objs + [pa("legacy-plain", "PERMISSIVE", selector={"app": "legacy"})]
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.FAIL
    assert "PeerAuthentication webapp/legacy-plain (spec.selector {app: legacy}) sets spec.mtls.mode 'PERMISSIVE' " \
           "for pod(s) legacy-" in out.reason


def test_pa_policy_workload_policy_matching_nothing_is_harmless(objs):
    objs = objs + [pa("ghost", "DISABLE", selector={"app": "ghost"})]
    assert check("peer-authentication-policy", objs, **PAP).ok


def test_pa_policy_port_level(objs):
    objs = objs + [pa("web-ports", "STRICT", selector={"app": "web"}, portLevelMtls={"80": {"mode": "PERMISSIVE"}})]
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.FAIL and "spec.portLevelMtls.80.mode is 'PERMISSIVE'" in out.reason


@pytest.mark.parametrize("params", [{"mode": "strictly"}, {"level": "mesh"}, {"namespace": ""}, {"mode": 1}])
def test_pa_policy_bad_params(objs, params):
    out = check("peer-authentication-policy", objs, **PAP | params)
    assert out.status is Status.FAIL and "check parameter" in out.reason


# -- virtualservice-gateway / virtualservice-hosts --------------------------------------------------
VG = {"namespace": NS, "virtualservice": "web", "gateway": "web-gateway"}
VH = VG | {"request_host": "www.example.com"}


def _vs(objs: list[dict]) -> dict:
    return get(objs, "VirtualService", "web")


def _gw(objs: list[dict]) -> dict:
    return get(objs, "Gateway", "web-gateway")


@pytest.mark.parametrize("gateways", [["web-gateway"], ["webapp/web-gateway"], ["mesh", "web-gateway"]])
def test_vs_gateway_pass(objs, gateways):
    _vs(objs)["spec"]["gateways"] = gateways
    out = check("virtualservice-gateway", objs, **VG)
    assert out.ok and "VirtualService webapp/web spec.gateways lists webapp/web-gateway, which exists" in out.reason


def test_vs_gateway_unknown_name(objs):
    _vs(objs)["spec"]["gateways"] = ["web-gw"]
    out = check("virtualservice-gateway", objs, **VG)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.gateways is [web-gw]; expected it to list webapp/web-gateway" in out.reason
    assert "spec.gateways[0] 'web-gw' refers to Gateway webapp/web-gw, which does not exist (IST0101, KIA1102)" \
        in out.reason


def test_vs_gateway_not_set(objs):
    del _vs(objs)["spec"]["gateways"]
    out = check("virtualservice-gateway", objs, **VG)
    assert out.status is Status.FAIL and "spec.gateways is not set, which means [mesh]" in out.reason


def test_vs_gateway_listed_but_missing(objs):
    out = check("virtualservice-gateway", drop(objs, "Gateway", "web-gateway"), **VG)
    assert out.status is Status.FAIL
    assert "lists webapp/web-gateway, but Gateway webapp/web-gateway does not exist" in out.reason


def test_vs_gateway_vs_missing(objs):
    out = check("virtualservice-gateway", drop(objs, "VirtualService", "web"), **VG)
    assert out.status is Status.FAIL and "VirtualService webapp/web not found" in out.reason


def test_vs_hosts_pass_with_wildcards(objs):
    out = check("virtualservice-hosts", objs, **VH)
    assert out.ok and "and requests for www.example.com" in out.reason


def test_vs_hosts_mismatch(objs):
    _vs(objs)["spec"]["hosts"] = ["web.example.com"]
    _gw(objs)["spec"]["servers"][0]["hosts"] = ["www.example.com"]
    out = check("virtualservice-hosts", objs, **VH)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.hosts [web.example.com] match none of the hosts of Gateway " \
           "webapp/web-gateway spec.servers[*].hosts [www.example.com] (IST0132)" in out.reason


def test_vs_hosts_agree_but_not_on_the_site(objs):
    _vs(objs)["spec"]["hosts"] = ["web.example.com"]
    _gw(objs)["spec"]["servers"][0]["hosts"] = ["web.example.com"]
    out = check("virtualservice-hosts", objs, **VH)
    assert out.status is Status.FAIL
    assert "Gateway webapp/web-gateway spec.servers[*].hosts [web.example.com] do not accept requests for " \
           "www.example.com" in out.reason
    assert "VirtualService webapp/web spec.hosts [web.example.com] do not include www.example.com" in out.reason
    assert check("virtualservice-hosts", objs, **VG).ok  # without a request host they agree


def test_vs_hosts_namespace_scoped_gateway_host(objs):
    _gw(objs)["spec"]["servers"][0]["hosts"] = ["shop/*"]
    out = check("virtualservice-hosts", objs, **VG)
    assert out.status is Status.FAIL and "[shop/*]" in out.reason
    _gw(objs)["spec"]["servers"][0]["hosts"] = ["./www.example.com"]
    assert check("virtualservice-hosts", objs, **VH).ok


def test_vs_hosts_missing_objects(objs):
    del _vs(objs)["spec"]["hosts"]
    out = check("virtualservice-hosts", objs, **VH)
    assert out.status is Status.FAIL and "spec.hosts is not set" in out.reason
    out = check("virtualservice-hosts", drop(objs, "Gateway", "web-gateway"), **VH)
    assert out.status is Status.FAIL and "Gateway webapp/web-gateway not found" in out.reason


# -- robustness: odd values anywhere never crash a check ----------------------------------------
CHECKS: list[tuple[str, dict]] = [
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
ODD: list[Any] = [None, "", "80", 0, -1, 1.5, True, [], {}, [None, "x", 3, {"a": []}],
                  {"matchLabels": "x", "number": "80", "name": ["v2"]}, "ünïcødé"]
TARGETS: list[tuple[str, str, str, tuple]] = [
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


def _set(obj: Any, path: tuple, value: Any) -> bool:
    try:
        for step in path[:-1]:
            obj = obj[step]
        obj[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        return False
    return True


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t[0]}/{t[2]}:{'.'.join(map(str, t[3]))}")
def test_odd_values_never_crash(target):
    kind, ns, name, path = target
    for value in ODD:
        objs = copy.deepcopy(list(_base()))
        obj = next(o for o in objs if _key(o) == (kind, ns, name))
        assert _set(obj, path, copy.deepcopy(value)), target
        s = snap(objs)
        for cname, params in CHECKS:
            out = run(cname, s, **params)
            assert out.status in (Status.PASS, Status.FAIL), (cname, value, out)
            assert "unexpected content could not be evaluated" not in out.reason, (cname, target, value, out.reason)


@pytest.mark.parametrize("flavour", ["ossm2", "istio"])
def test_removed_kinds_never_crash(flavour):
    for kind in sorted({o["kind"] for o in _base()}):
        s = snap([o for o in _base() if o["kind"] != kind], flavour=flavour)
        for cname, params in CHECKS:
            out = run(cname, s, **params)
            assert "unexpected content" not in out.reason and out.reason, (kind, cname, out)


def test_unread_kind_is_an_error_not_a_verdict():
    s = Snapshot(flavour="ossm2")
    for k in K.ALL:
        if k is not K.SERVICE:
            s.mark_read(k)
    out = run("service-port", s, **SP)
    assert out.status is Status.ERROR and "Service" in out.reason


def test_base_fixture_passes_every_check():
    s = snap(list(_base()))
    for cname, params in CHECKS:
        out = run(cname, s, **params)
        assert out.ok, (cname, out.reason)
    assert json.dumps([o["kind"] for o in _base()])  # the fixture is plain data
