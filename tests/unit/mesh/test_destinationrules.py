"""grader/mesh/destinationrules.py: the rules for a host, their subsets, and the policy that wins."""

from __future__ import annotations

import pytest

from grader.mesh.destinationrules import (
    client_tls_mode,
    dr_subset_names,
    ejection,
    policy_rule,
    pool_overrides,
    reaches_strict_server,
    rules_for_host,
    traffic_policy_for,
)
from grader.objects import name_of
from grader.snapshot import Snapshot

FQDN = "web.webapp.svc.cluster.local"


def _dr(name, host, ns="webapp", ts="2026-01-01T00:00:00Z", **spec):
    return {"kind": "DestinationRule", "metadata": {"name": name, "namespace": ns, "creationTimestamp": ts},
            "spec": {"host": host, **spec}}


def test_rules_for_host_resolve_short_names_in_the_rule_namespace_oldest_first():
    snap = Snapshot.from_objects([
        _dr("newer", "web", ts="2026-02-01T00:00:00Z"),
        _dr("older", FQDN, ts="2026-01-01T00:00:00Z"),
        _dr("elsewhere", FQDN, ns="other", ts="2026-01-15T00:00:00Z"),
        _dr("dotted", "web.webapp", ns="other"),  # a dotted name is taken as written (ResolveShortnameToFQDN)
        _dr("not-web", "web", ns="other"),  # web in other = web.other.svc.cluster.local
    ])
    assert [name_of(d) for d in rules_for_host(snap, FQDN, None)] == ["older", "elsewhere", "newer"]
    assert [name_of(d) for d in rules_for_host(snap, FQDN, "webapp")] == ["older", "newer"]


def test_policy_rule_is_the_oldest_with_a_traffic_policy():
    plain, first, second = _dr("plain", "web"), _dr("first", "web", trafficPolicy={}), _dr("second", "web", trafficPolicy={})
    assert policy_rule([plain, first, second]) == (first, [second])
    assert policy_rule([plain]) == (plain, [])


def test_pool_overrides_name_the_scope_they_replace():
    pool = {"tcp": {"maxConnections": 1}}
    dr = _dr("d", "web", trafficPolicy={"connectionPool": pool, "portLevelSettings": [{"port": {"number": 80},
                                                                                       "connectionPool": pool}]},
             subsets=[{"name": "v1", "trafficPolicy": {"connectionPool": pool}}, {"name": "v2"}])
    assert [(path, scope) for path, _cp, scope in pool_overrides(dr)] == [
        ("spec.trafficPolicy.portLevelSettings[0].connectionPool", "port 80"),
        ("spec.subsets[0].trafficPolicy.connectionPool", "subset v1"),
    ]


# -- the policy Envoy gets per subset and port (MergeSubsetTrafficPolicy) ---------------------------
OD5, OD10 = {"consecutive5xxErrors": 5}, {"consecutive5xxErrors": 10}
POOL, LB = {"tcp": {"maxConnections": 100}}, {"simple": "ROUND_ROBIN"}


def _settings(dr, subset=None, port=None):
    return {f: (s.value, s.path, s.replaced_by) for f, s in traffic_policy_for(dr, subset, port).items() if s.value
            or s.replaced_by}


def test_top_level_policy_applies_to_every_subset_and_port():
    dr = _dr("d", "web", trafficPolicy={"outlierDetection": OD5}, subsets=[{"name": "v1"}])
    for subset in (None, "v1", "unknown"):
        assert _settings(dr, subset, 80) == {"outlierDetection": (OD5, "spec.trafficPolicy.outlierDetection", None)}


def test_subset_fields_replace_only_what_they_set():
    dr = _dr("d", "web", trafficPolicy={"outlierDetection": OD5, "connectionPool": POOL},
             subsets=[{"name": "v1", "trafficPolicy": {"outlierDetection": OD10}}])
    got = _settings(dr, "v1", 80)
    assert got["outlierDetection"] == (OD10, "spec.subsets[0].trafficPolicy.outlierDetection", None)
    assert got["connectionPool"] == (POOL, "spec.trafficPolicy.connectionPool", None)


def test_port_level_entry_replaces_the_whole_policy_of_its_level():
    dr = _dr("d", "web", trafficPolicy={"outlierDetection": OD5, "connectionPool": POOL,
                                        "portLevelSettings": [{"port": {"number": 80}, "loadBalancer": LB}]})
    assert _settings(dr, None, 80) == {
        "connectionPool": (None, None, "spec.trafficPolicy.portLevelSettings[0]"),
        "outlierDetection": (None, None, "spec.trafficPolicy.portLevelSettings[0]"),
        "loadBalancer": (LB, "spec.trafficPolicy.portLevelSettings[0].loadBalancer", None),
        "tls": (None, None, "spec.trafficPolicy.portLevelSettings[0]"),
    }
    assert _settings(dr, None, 8080)["outlierDetection"] == (OD5, "spec.trafficPolicy.outlierDetection", None)


def test_subset_port_level_entry_replaces_all_four_fields():
    dr = _dr("d", "web", trafficPolicy={"outlierDetection": OD5},
             subsets=[{"name": "v1", "trafficPolicy": {"portLevelSettings": [{"port": {"number": 80}, "loadBalancer": LB}]}}])
    assert _settings(dr, "v1", 80)["outlierDetection"] == (None, None, "spec.subsets[0].trafficPolicy.portLevelSettings[0]")
    assert _settings(dr, "v1", 9090)["outlierDetection"] == (OD5, "spec.trafficPolicy.outlierDetection", None)


def test_subset_policy_without_a_top_level_one():
    dr = _dr("d", "web", subsets=[{"name": "v1", "trafficPolicy": {"tls": {"mode": "SIMPLE"}}}, {"name": 7}, "x"])
    assert _settings(dr, "v1") == {"tls": ({"mode": "SIMPLE"}, "spec.subsets[0].trafficPolicy.tls", None)}
    assert _settings(dr, None) == {}
    assert dr_subset_names(dr) == ["v1"]
    assert _settings(_dr("x", "web", trafficPolicy="odd", subsets="odd"), "v1", 80) == {}


# -- outlier detection: the effective consecutive-5xx threshold (applyOutlierDetection) -------------
@pytest.mark.parametrize(
    "od, threshold, source, legacy",
    [
        (None, None, "absent", None),
        ({}, 5, "default", None),  # any block: Envoy's default 5
        ({"interval": "30s"}, 5, "default", None),
        ({"consecutiveErrors": 5}, 5, "default", 5),  # the guide's: ignored, 5 by coincidence
        ({"consecutiveErrors": 3}, 5, "default", 3),  # still 5
        ({"consecutive5xxErrors": 7}, 7, "set", None),
        ({"consecutive5xxErrors": 5, "consecutiveErrors": 3}, 5, "set", 3),
        ({"consecutive5xxErrors": 0}, None, "zero", None),  # enforcing 0: off
        ({"consecutive5xxErrors": "5"}, None, "unreadable", None),
        ({"consecutive5xxErrors": -1}, None, "unreadable", None),
        ({"consecutiveGatewayErrors": 3}, 5, "default", None),
        ("odd", None, "unreadable", None),
    ],
)
def test_ejection_threshold(od, threshold, source, legacy):
    ej = ejection(od)
    assert (ej.threshold, ej.source, ej.ignored_legacy) == (threshold, source, legacy)


# -- client TLS toward a STRICT server (buildUpstreamTLSSettings) -------------------------------------
@pytest.mark.parametrize(
    "tls, mode, reaches",
    [
        (None, None, True),  # auto mTLS
        ({"mode": "ISTIO_MUTUAL"}, "ISTIO_MUTUAL", True),
        ({"mode": "istio_mutual"}, "ISTIO_MUTUAL", True),
        ({"mode": "DISABLE"}, "DISABLE", False),
        ({"sni": "web"}, "DISABLE", False),  # a block without mode is DISABLE
        ({}, "DISABLE", False),
        ({"mode": "SIMPLE"}, "SIMPLE", False),
        ({"mode": "MUTUAL", "clientCertificate": "/c"}, "MUTUAL", False),
        ("odd", "UNREADABLE", False),
    ],
)
def test_client_tls_mode(tls, mode, reaches):
    assert client_tls_mode(tls) == mode
    assert reaches_strict_server(client_tls_mode(tls)) is reaches
