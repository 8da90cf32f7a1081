"""grader/mesh/services.py: the protocol of a Service port, the ports a Service exposes."""

from __future__ import annotations

import pytest

from grader.mesh.services import istio_protocol, service_exposed_ports, service_ports
from grader.snapshot import Snapshot


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


def test_service_named_target_port_resolves_on_pods(objs, get):
    svc = get(objs, "Service", "istio-ingressgateway", "istio-system")
    svc["spec"]["ports"] = [{"name": "http2", "port": 80, "targetPort": "http2"}]
    pod = get(objs, "Pod", "istio-ingressgateway-6c8f7b9d4f-q7w2n", "istio-system")
    assert service_exposed_ports(svc, [pod]) == {80, 8080}


def test_service_ports_of_a_cluster_host():
    svc = {"kind": "Service", "metadata": {"name": "web", "namespace": "webapp"},
           "spec": {"ports": [{"port": 80}, {"port": "x"}, {"port": 9090}]}}
    snap = Snapshot.from_objects([svc])
    assert service_ports(snap, "web.webapp.svc.cluster.local") == [80, 9090]
    assert service_ports(snap, "api.webapp.svc.cluster.local") == []
    assert service_ports(snap, "www.example.com") == []
