"""grader/mesh/gateways.py: Gateways and how VirtualServices name them."""

from __future__ import annotations

import pytest

from grader.mesh.gateways import gateway_pods, resolve_gateway_ref, vs_gateways, vs_hosts_in_gateway
from grader.mesh.services import service_exposed_ports, services_selecting
from grader.objects import name_of


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
    assert resolve_gateway_ref(ref, ns) == key


def test_vs_gateways_default_mesh():
    vs = {"metadata": {"name": "v", "namespace": "webapp"}, "spec": {"hosts": ["web"]}}
    assert vs_gateways(vs) == ["mesh"]
    vs["spec"]["gateways"] = []
    assert vs_gateways(vs) == ["mesh"]
    vs["spec"]["gateways"] = ["web-gateway", "mesh"]
    assert vs_gateways(vs) == ["webapp/web-gateway", "mesh"]


def test_vs_hosts_in_gateway_namespace_scoped_hosts():
    gw = {
        "metadata": {"name": "g", "namespace": "istio-system"},
        "spec": {"servers": [{"port": {"number": 80}, "hosts": ["webapp/*.example.com", "./admin.example.com"]}]},
    }
    vs = {"metadata": {"name": "v", "namespace": "webapp"}, "spec": {"hosts": ["web.example.com"]}}
    assert vs_hosts_in_gateway(vs, gw)
    vs["metadata"]["namespace"] = "other"
    assert not vs_hosts_in_gateway(vs, gw)
    vs["spec"]["hosts"] = ["admin.example.com"]
    vs["metadata"]["namespace"] = "istio-system"
    assert vs_hosts_in_gateway(vs, gw)


def test_gateway_pods_any_namespace_and_service_ports(objs, make_snap, get):
    snap = make_snap(objs)
    gw = get(objs, "Gateway", "web-gateway")
    pods = gateway_pods(snap, gw)
    assert [name_of(p) for p in pods] == ["istio-ingressgateway-6c8f7b9d4f-q7w2n"]
    services = services_selecting(snap, pods)
    assert [name_of(s) for s in services] == ["istio-ingressgateway"]
    assert {80, 8080, 443, 8443, 15021} <= service_exposed_ports(services[0], pods)
