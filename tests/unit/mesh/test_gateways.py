"""grader/mesh/gateways.py: Gateways and how VirtualServices name them."""

from __future__ import annotations

import pytest

from grader.mesh.gateways import (
    domain_covers,
    exported_to,
    gateway_pods,
    host_intersection,
    resolve_gateway_ref,
    server_carries_http,
    server_redirects,
    vs_domains,
    vs_gateways,
    vs_hosts_in_gateway,
)
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
        "spec": {"servers": [{"port": {"number": 80, "protocol": "HTTP"},
                              "hosts": ["webapp/*.example.com", "./admin.example.com"]}]},
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


# -- what a server carries, and the virtual hosts a VirtualService gets (gateway.go) -------------------
@pytest.mark.parametrize(
    "server, http",
    [
        ({"port": {"protocol": "HTTP"}}, True),
        ({"port": {"protocol": "http2"}}, True),  # protocol.Parse is case-insensitive
        ({"port": {"protocol": "GRPC"}}, True),
        ({"port": {"protocol": "TCP"}}, False),  # tcp_proxy: http routes never apply
        ({"port": {"protocol": "TLS"}, "tls": {"mode": "PASSTHROUGH"}}, False),
        ({"port": {"protocol": "HTTPS"}, "tls": {"mode": "SIMPLE"}}, True),  # terminated
        ({"port": {"protocol": "HTTPS"}, "tls": {"mode": "PASSTHROUGH"}}, False),
        ({"port": {"protocol": "HTTPS"}, "tls": {}}, False),  # mode unset = PASSTHROUGH
        ({"port": {}}, False),
        ("odd", False),
    ],
)
def test_server_carries_http(server, http):
    assert server_carries_http(server) is http


def test_server_redirects():
    assert server_redirects({"tls": {"httpsRedirect": True}})
    assert not server_redirects({"tls": {"httpsRedirect": False}}) and not server_redirects({"port": {}})


@pytest.mark.parametrize(
    "a, b, both",
    [
        ("*", "web.webapp.svc.cluster.local", "web.webapp.svc.cluster.local"),
        ("*.example.com", "www.example.com", "www.example.com"),
        ("*", "*.example.com", "*.example.com"),
        ("*", "*", "*"),
        ("example.com", "*.example.com", None),
        ("www.example.com", "web.example.com", None),
    ],
)
def test_host_intersection(a, b, both):
    assert host_intersection(a, b) == both and host_intersection(b, a) == both


@pytest.mark.parametrize(
    "domain, request_host, covers",
    [
        ("*", "*", True),
        ("*", "www.example.com", True),
        ("web.webapp.svc.cluster.local", "*", False),  # any host: only * takes it
        ("*.example.com", "*", False),
        ("*.example.com", "www.example.com", True),
        ("*.example.com", "example.com", False),
        ("www.example.com", "WWW.example.com", True),
    ],
)
def test_domain_covers(domain, request_host, covers):
    assert domain_covers(domain, request_host) is covers


def _gw(*servers, ns="webapp"):
    return {"metadata": {"name": "g", "namespace": ns}, "spec": {"servers": list(servers)}}


def _vsh(*hosts, ns="webapp"):
    return {"metadata": {"name": "v", "namespace": ns}, "spec": {"hosts": list(hosts)}}


HTTP80 = {"port": {"number": 80, "protocol": "HTTP"}}


def test_vs_domains_resolve_short_names_and_intersect():
    gw = _gw({**HTTP80, "hosts": ["*"]})
    assert vs_domains(_vsh("web"), gw) == [(0, "web.webapp.svc.cluster.local")]
    assert vs_domains(_vsh("web.webapp"), gw) == [(0, "web.webapp")]  # dotted: as written
    assert vs_domains(_vsh("*"), gw) == [(0, "*")]
    assert vs_domains(_vsh("www.example.com"), _gw({**HTTP80, "hosts": ["*.example.com"]})) == [(0, "www.example.com")]


def test_vs_domains_only_on_http_servers_and_visible_namespaces():
    gw = _gw({"port": {"number": 80, "protocol": "TCP"}, "hosts": ["*"]}, {**HTTP80, "hosts": ["other/*"]})
    assert vs_domains(_vsh("*"), gw) == []
    assert vs_domains(_vsh("*"), gw, http_only=False) == [(0, "*")]
    assert vs_domains(_vsh("*", ns="other"), gw) == [(1, "*")]
    assert vs_domains(_vsh("*"), _gw({**HTTP80, "hosts": ["./*"]})) == [(0, "*")]


@pytest.mark.parametrize(
    "export, client, seen",
    [
        (None, "istio-system", True),
        ([], "istio-system", True),
        (["*"], "istio-system", True),
        (["."], "istio-system", False),
        (["."], "webapp", True),
        (["istio-system"], "istio-system", True),
        (["other"], "istio-system", False),
    ],
)
def test_exported_to(export, client, seen):
    obj = {"metadata": {"name": "d", "namespace": "webapp"}, "spec": {} if export is None else {"exportTo": export}}
    assert exported_to(obj, client) is seen
