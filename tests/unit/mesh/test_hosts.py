"""grader/mesh/hosts.py: host names."""

from __future__ import annotations

import pytest

from grader.mesh.hosts import dotted_short_name, host_matches, resolve_host, service_of_host


# -- hosts --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "host, ns, fqdn",
    [
        ("web", "webapp", "web.webapp.svc.cluster.local"),
        ("web", "istio-system", "web.istio-system.svc.cluster.local"),  # the RULE's namespace
        ("web.webapp", "other", "web.webapp"),  # a dotted name is taken as written (ResolveShortnameToFQDN)
        ("web.webapp.svc", "other", "web.webapp.svc"),
        ("web.webapp.svc.cluster.local", "other", "web.webapp.svc.cluster.local"),
        ("Web.WebApp.svc.cluster.local.", "other", "web.webapp.svc.cluster.local"),
        ("www.example.com", "webapp", "www.example.com"),
        ("*", "webapp", "*"),
        ("*.example.com", "webapp", "*.example.com"),
        (None, "webapp", ""),
        (80, "webapp", ""),
    ],
)
def test_resolve_host(host, ns, fqdn):
    assert resolve_host(host, ns) == fqdn


def test_service_of_host():
    assert service_of_host("web.webapp.svc.cluster.local") == ("webapp", "web")
    assert service_of_host("www.example.com") is None
    assert service_of_host("*.webapp.svc.cluster.local") is None


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("*", "anything.example.com", True),
        ("*.example.com", "web.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("web.example.com", "*.example.com", True),
        ("*.example.com", "*.api.example.com", True),
        ("*.api.example.com", "*.example.com", True),
        ("*.a.com", "*.b.com", False),
        ("web.example.com", "WEB.example.com", True),
        ("web.example.com", "www.example.com", False),
        (None, "*", False),
    ],
)
def test_host_matches(a, b, expected):
    assert host_matches(a, b) is expected


@pytest.mark.parametrize(
    "host, dotted",
    [("web.webapp", True), ("web.webapp.svc", True), ("web", False), ("web.webapp.svc.cluster.local", False),
     ("www.example.com", False), (None, False)],
)
def test_dotted_short_name(host, dotted):
    assert dotted_short_name(host, "web.webapp.svc.cluster.local") is dotted
