"""Check types of grader/checks/gateways.py: gateway-bound and virtualservice-bound (canary
scenario), ingress-endpoint, virtualservice-gateway and virtualservice-hosts (sandbox scenario)."""

from __future__ import annotations

import pytest
from harness import (
    NS,
    check,
    drop,
    find,
    run,
    snap_of,
)

from grader.model import Status

BOUND = {"namespace": "webapp", "host": "web", "gateway": "web-gateway"}
GW = {"namespace": "webapp", "gateway": "web-gateway"}


def _vs(objs, get):
    return get(objs, "VirtualService", "web")


# -- gateway-bound -----------------------------------------------------------------------------
def test_gateway_pass(variant, check):
    out = check("gateway-bound", variant(), **GW)
    assert out.status is Status.PASS
    assert "Gateway webapp/web-gateway selects istio-system/istio-ingressgateway-6c8f7b9d4f-q7w2n" in out.reason
    assert check("gateway-bound", variant(), **GW, selector={"istio": "ingressgateway"}).ok


def test_gateway_port_8080_is_target_port(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "Gateway", "web-gateway")["spec"]["servers"][0]["port"]["number"] = 8080
    assert check("gateway-bound", make_snap(objs), **GW).ok


def test_gateway_selector_matches_nothing(variant, check):
    out = check("gateway-bound", variant("gateway-bad-selector.yaml"), **GW)
    assert out.status is Status.FAIL
    assert (
        "Gateway webapp/web-gateway spec.selector {istio: ingress} matches no running pod in any namespace (IST0101)"
        in out.reason
    )
    assert "pods with label istio=ingressgateway: istio-system/istio-ingressgateway-6c8f7b9d4f-q7w2n" in out.reason


def test_gateway_selector_param_differs(variant, check):
    """The parameter names the pods clients reach; the Gateway selects others."""
    out = check("gateway-bound", variant(), **GW, selector={"istio": "ingress"})
    assert out.status is Status.FAIL
    assert (
        "Gateway webapp/web-gateway spec.selector {istio: ingressgateway} selects "
        "istio-system/istio-ingressgateway-6c8f7b9d4f-q7w2n, which are not the ingress gateway (pods labelled "
        "{istio: ingress})" in out.reason
    )


def test_gateway_equivalent_selector(load_scenario, get, make_snap, check):
    """app: istio-ingressgateway selects the same pods as istio: ingressgateway."""
    objs = load_scenario()
    get(objs, "Gateway", "web-gateway")["spec"]["selector"] = {"app": "istio-ingressgateway"}
    assert check("gateway-bound", make_snap(objs), **GW, selector={"istio": "ingressgateway"}).ok


def test_gateway_pod_not_running(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "Pod", "istio-ingressgateway-6c8f7b9d4f-q7w2n", "istio-system")["status"]["phase"] = "Pending"
    out = check("gateway-bound", make_snap(objs), **GW)
    assert out.status is Status.FAIL and "which is Pending" in out.reason


def test_gateway_no_ingress_pods_at_all(load_scenario, make_snap, check):
    objs = [o for o in load_scenario() if not (o["kind"] == "Pod" and o["metadata"]["namespace"] == "istio-system")]
    out = check("gateway-bound", make_snap(objs), **GW)
    assert out.status is Status.FAIL and "no pod carries label istio=ingressgateway" in out.reason


def test_gateway_bad_port(variant, check):
    out = check("gateway-bound", variant("gateway-bad-port.yaml"), **GW)
    assert out.status is Status.FAIL
    assert (
        "Gateway webapp/web-gateway spec.servers[1].port.number 8004 is not a port or targetPort of "
        "Service istio-system/istio-ingressgateway (ports 15021->15021, 80->8080, 443->8443) (IST0162)"
    ) in out.reason


def test_gateway_no_service(load_scenario, make_snap, check):
    objs = [o for o in load_scenario() if not (o["kind"] == "Service" and o["metadata"]["namespace"] == "istio-system")]
    out = check("gateway-bound", make_snap(objs), **GW)
    assert out.status is Status.FAIL and "no Service selects the gateway pods" in out.reason


def test_gateway_missing_and_ill_typed(load_scenario, get, make_snap, variant, check):
    out = check("gateway-bound", variant(), namespace="webapp", gateway="public")
    assert (
        out.status is Status.FAIL and "Gateway webapp/public not found; Gateways in webapp: web-gateway" in out.reason
    )
    objs = load_scenario()
    gw = get(objs, "Gateway", "web-gateway")
    gw["spec"]["servers"][0]["port"]["number"] = "80"
    out = check("gateway-bound", make_snap(objs), **GW)
    assert "spec.servers[0].port.number is '80'; expected a port number" in out.reason
    gw["spec"]["selector"] = None
    assert "spec.selector is not set" in check("gateway-bound", make_snap(objs), **GW).reason
    gw["spec"] = {"selector": {"istio": "ingressgateway"}}
    assert "has no spec.servers" in check("gateway-bound", make_snap(objs), **GW).reason


def test_gateway_in_control_plane_namespace(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "Gateway", "web-gateway")["metadata"]["namespace"] = "istio-system"
    assert check("gateway-bound", make_snap(objs), namespace="webapp", gateway="istio-system/web-gateway").ok


# -- virtualservice-bound ----------------------------------------------------------------------
def test_bound_pass(variant, check):
    out = check("virtualservice-bound", variant(), **BOUND)
    assert out.status is Status.PASS
    assert out.reason == (
        "VirtualService webapp/web is bound to Gateway webapp/web-gateway, matches its hosts and routes to "
        "web.webapp.svc.cluster.local"
    )


def test_bound_gateway_ns_name_forms(variant, check):
    assert check("virtualservice-bound", variant(), **(BOUND | {"gateway": "webapp/web-gateway"})).ok
    assert check("virtualservice-bound", variant("vs-host-mismatch.yaml"), **BOUND).status is Status.FAIL


def test_bound_not_bound_mesh_only(variant, check):
    """Canary: VirtualService not bound to the gateway."""
    out = check("virtualservice-bound", variant("vs-mesh-only.yaml"), **BOUND)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.gateways is not set, which means [mesh]" in out.reason
    assert "expected it to list webapp/web-gateway" in out.reason
    assert "spec.gateways" in out.hint


def test_bound_bogus_gateway(variant, check):
    out = check("virtualservice-bound", variant("vs-bogus-gateway.yaml"), **BOUND)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.gateways is [web-gw]" in out.reason
    assert (
        "spec.gateways[0] 'web-gw' refers to Gateway webapp/web-gw, which does not exist (IST0101, KIA1102)"
        in out.reason
    )


def test_bound_gateway_param_does_not_exist(variant, check):
    out = check("virtualservice-bound", variant(), **(BOUND | {"gateway": "web-gw"}))
    assert out.status is Status.FAIL
    assert "Gateway webapp/web-gw does not exist" in out.reason and "web-gateway" in out.reason


def test_bound_host_mismatch(variant, check):
    out = check("virtualservice-bound", variant("vs-host-mismatch.yaml"), **BOUND)
    assert out.status is Status.FAIL
    assert (
        "VirtualService webapp/web spec.hosts [www.example.com] match none of the hosts of Gateway webapp/web-gateway "
        "spec.servers[*].hosts [web.apps.lab.example.com] (IST0132)"
    ) in out.reason


def test_bound_wildcard_hosts(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "Gateway", "web-gateway")["spec"]["servers"][0]["hosts"] = ["*.apps.lab.example.com"]
    assert check("virtualservice-bound", make_snap(objs), **BOUND).ok
    get(objs, "Gateway", "web-gateway")["spec"]["servers"][0]["hosts"] = ["*"]
    assert check("virtualservice-bound", make_snap(objs), **BOUND).ok


def test_bound_routes_elsewhere(load_scenario, get, make_snap, check):
    objs = load_scenario()
    for d in _vs(objs, get)["spec"]["http"][0]["route"]:
        d["destination"]["host"] = "api"
    out = check("virtualservice-bound", make_snap(objs), **BOUND)
    assert out.status is Status.FAIL
    assert (
        "VirtualService webapp/web routes to [api.webapp.svc.cluster.local] (spec.http[*].route[*].destination.host)"
        in out.reason
    )
    assert "expected a route to web.webapp.svc.cluster.local" in out.reason


def test_bound_short_host_resolves_in_rule_namespace(load_scenario, get, make_snap, check):
    """A VirtualService in istio-system routing to short name "web" means web.istio-system."""
    objs = load_scenario()
    vs = _vs(objs, get)
    vs["metadata"]["namespace"] = "istio-system"
    vs["spec"]["gateways"] = ["webapp/web-gateway"]
    out = check(
        "virtualservice-bound",
        make_snap(objs),
        namespace="istio-system",
        host="web.webapp",
        gateway="webapp/web-gateway",
    )
    assert out.status is Status.FAIL and "web.istio-system.svc.cluster.local" in out.reason


def test_bound_no_virtualservice(load_scenario, make_snap, check):
    objs = [o for o in load_scenario() if o["kind"] != "VirtualService"]
    out = check("virtualservice-bound", make_snap(objs), **BOUND)
    assert out.status is Status.FAIL and "no VirtualService in namespace webapp" in out.reason


def test_bound_picks_the_relevant_virtualservice(load_scenario, get, make_snap, check):
    objs = load_scenario("vs-mesh-only.yaml")
    other = {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "aaa-api", "namespace": "webapp", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"hosts": ["api"], "http": [{"route": [{"destination": {"host": "api"}}]}]},
    }
    out = check("virtualservice-bound", make_snap(objs + [other]), **BOUND)
    assert out.reason.startswith("VirtualService webapp/web spec.gateways")
    assert "other VirtualServices in webapp: aaa-api" in out.reason


# -- ingress-endpoint ---------------------------------------------------------------------------
def _route(objs: list[dict]) -> dict:
    return find(objs, "Route", "istio-ingressgateway", "istio-system")


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
    svc = find(objs, "Service", "istio-ingressgateway", "istio-system")
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}
    out = check("ingress-endpoint", objs, {"flavour": "istio"})
    assert "load balancer address 203.0.113.7" in out.reason
    svc["spec"]["ports"] = [p for p in svc["spec"]["ports"] if p["port"] != 80]
    out = check("ingress-endpoint", objs, {"flavour": "istio"})
    assert out.status is Status.FAIL and "has no port 80" in out.reason


def test_ingress_endpoint_route_kind_not_served(objs):
    s = snap_of(objs)
    s.missing_kinds.add("Route")
    out = run("ingress-endpoint", s)
    assert out.status is Status.FAIL and "does not serve Route" in out.reason


# -- virtualservice-gateway / virtualservice-hosts --------------------------------------------------
VG = {"namespace": NS, "virtualservice": "web", "gateway": "web-gateway"}
VH = VG | {"request_host": "www.example.com"}


def _web_vs(objs: list[dict]) -> dict:
    return find(objs, "VirtualService", "web")


def _web_gw(objs: list[dict]) -> dict:
    return find(objs, "Gateway", "web-gateway")


@pytest.mark.parametrize("gateways", [["web-gateway"], ["webapp/web-gateway"], ["mesh", "web-gateway"]])
def test_vs_gateway_pass(objs, gateways):
    _web_vs(objs)["spec"]["gateways"] = gateways
    out = check("virtualservice-gateway", objs, **VG)
    assert out.ok and "VirtualService webapp/web spec.gateways lists webapp/web-gateway, which exists" in out.reason


def test_vs_gateway_unknown_name(objs):
    _web_vs(objs)["spec"]["gateways"] = ["web-gw"]
    out = check("virtualservice-gateway", objs, **VG)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.gateways is [web-gw]; expected it to list webapp/web-gateway" in out.reason
    assert "spec.gateways[0] 'web-gw' refers to Gateway webapp/web-gw, which does not exist (IST0101, KIA1102)" \
        in out.reason


def test_vs_gateway_not_set(objs):
    del _web_vs(objs)["spec"]["gateways"]
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
    _web_vs(objs)["spec"]["hosts"] = ["web.example.com"]
    _web_gw(objs)["spec"]["servers"][0]["hosts"] = ["www.example.com"]
    out = check("virtualservice-hosts", objs, **VH)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.hosts [web.example.com] match none of the hosts of Gateway " \
           "webapp/web-gateway spec.servers[*].hosts [www.example.com] (IST0132)" in out.reason


def test_vs_hosts_agree_but_not_on_the_site(objs):
    _web_vs(objs)["spec"]["hosts"] = ["web.example.com"]
    _web_gw(objs)["spec"]["servers"][0]["hosts"] = ["web.example.com"]
    out = check("virtualservice-hosts", objs, **VH)
    assert out.status is Status.FAIL
    assert "Gateway webapp/web-gateway spec.servers[*].hosts [web.example.com] do not accept requests for " \
           "www.example.com" in out.reason
    assert "VirtualService webapp/web spec.hosts [web.example.com] do not include www.example.com" in out.reason
    assert check("virtualservice-hosts", objs, **VG).ok  # without a request host they agree


def test_vs_hosts_namespace_scoped_gateway_host(objs):
    _web_gw(objs)["spec"]["servers"][0]["hosts"] = ["shop/*"]
    out = check("virtualservice-hosts", objs, **VG)
    assert out.status is Status.FAIL and "[shop/*]" in out.reason
    _web_gw(objs)["spec"]["servers"][0]["hosts"] = ["./www.example.com"]
    assert check("virtualservice-hosts", objs, **VH).ok


def test_vs_hosts_missing_objects(objs):
    del _web_vs(objs)["spec"]["hosts"]
    out = check("virtualservice-hosts", objs, **VH)
    assert out.status is Status.FAIL and "spec.hosts is not set" in out.reason
    out = check("virtualservice-hosts", drop(objs, "Gateway", "web-gateway"), **VH)
    assert out.status is Status.FAIL and "Gateway webapp/web-gateway not found" in out.reason
