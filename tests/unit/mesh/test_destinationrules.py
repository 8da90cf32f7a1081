"""grader/mesh/destinationrules.py: the rules for a host, their subsets, and the policy that wins."""

from __future__ import annotations

from grader.mesh.destinationrules import defined_subsets, policy_rule, pool_overrides, rules_for_host, tls_disables
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
        _dr("elsewhere", "web.webapp", ns="other", ts="2026-01-15T00:00:00Z"),
        _dr("not-web", "web", ns="other"),  # web in other = web.other.svc.cluster.local
    ])
    assert [name_of(d) for d in rules_for_host(snap, FQDN, None)] == ["older", "elsewhere", "newer"]
    assert [name_of(d) for d in rules_for_host(snap, FQDN, "webapp")] == ["older", "newer"]


def test_defined_subsets_across_rules():
    snap = Snapshot.from_objects([
        _dr("a", "web", subsets=[{"name": "v1"}, {"name": 2}, "x"]),
        _dr("b", "web", ns="other", subsets=[{"name": "v2"}]),
    ])
    assert defined_subsets(snap, FQDN) == {"v1"}


def test_policy_rule_is_the_oldest_with_a_traffic_policy():
    plain, first, second = _dr("plain", "web"), _dr("first", "web", trafficPolicy={}), _dr("second", "web", trafficPolicy={})
    assert policy_rule([plain, first, second]) == (first, [second])
    assert policy_rule([plain]) == (plain, [])


def test_tls_disables_every_level():
    dr = _dr("d", "web", trafficPolicy={"tls": {"mode": "DISABLE"},
                                        "portLevelSettings": [{"tls": {"mode": "ISTIO_MUTUAL"}}, {"tls": {"mode": "DISABLE"}}]},
             subsets=[{"name": "v1", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}])
    assert tls_disables(dr) == ["spec.trafficPolicy.tls.mode", "spec.trafficPolicy.portLevelSettings[1].tls.mode",
                                "spec.subsets[0].trafficPolicy.tls.mode"]
    assert tls_disables(_dr("x", "web", trafficPolicy="DISABLE")) == []


def test_pool_overrides_name_the_scope_they_replace():
    pool = {"tcp": {"maxConnections": 1}}
    dr = _dr("d", "web", trafficPolicy={"connectionPool": pool, "portLevelSettings": [{"port": {"number": 80},
                                                                                       "connectionPool": pool}]},
             subsets=[{"name": "v1", "trafficPolicy": {"connectionPool": pool}}, {"name": "v2"}])
    assert [(path, scope) for path, _cp, scope in pool_overrides(dr)] == [
        ("spec.trafficPolicy.portLevelSettings[0].connectionPool", "port 80"),
        ("spec.subsets[0].trafficPolicy.connectionPool", "subset v1"),
    ]
