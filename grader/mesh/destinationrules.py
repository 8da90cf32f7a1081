"""DestinationRules: which apply to a host, the subsets they define, and the traffic policy
that wins (TLS settings, connection pools)."""

from __future__ import annotations

from typing import Any

from grader import kinds as K
from grader.mesh.hosts import resolve_host
from grader.objects import as_dict, as_list, creation_key, label_str, namespace_of, spec_of
from grader.snapshot import Snapshot


def rules_for_host(snap: Snapshot, fqdn: str, namespace: str | None) -> list[dict]:
    """DestinationRules whose host resolves to fqdn (oldest first), optionally in one namespace."""

    def by_host() -> dict[str, list[dict]]:  # once per snapshot: many namespaces share it
        index: dict[str, list[dict]] = {}
        for dr in sorted(snap.list(K.DESTINATION_RULE), key=creation_key):
            index.setdefault(resolve_host(spec_of(dr).get("host"), namespace_of(dr)), []).append(dr)
        return index

    rules = snap.memo(("destinationrules_by_host",), by_host).get(fqdn, [])
    return [dr for dr in rules if namespace is None or namespace_of(dr) == namespace]


def defined_subsets(snap: Snapshot, fqdn: str) -> set[str]:
    """Names of the subsets any DestinationRule for the host defines."""
    return {
        as_dict(sub).get("name")
        for dr in rules_for_host(snap, fqdn, None)
        for sub in as_list(spec_of(dr).get("subsets"))
        if isinstance(as_dict(sub).get("name"), str)
    }


def policy_rule(rules: list[dict]) -> tuple[dict, list[dict]]:
    """The rule whose trafficPolicy counts for a host, and the other rules that set one.

    Istio merges DestinationRules for the same host: the oldest one that sets a
    trafficPolicy keeps it (pilot/pkg/model/destination_rule.go mergeDestinationRule).
    ``rules`` must be oldest first and not empty.
    """
    with_policy = [dr for dr in rules if spec_of(dr).get("trafficPolicy") is not None]
    return (with_policy[0] if with_policy else rules[0]), with_policy[1:]


def tls_disables(dr: dict) -> list[str]:
    """Field paths in a DestinationRule that set tls.mode DISABLE."""
    spec = spec_of(dr)
    policies: list[tuple[str, Any]] = [("spec.trafficPolicy", spec.get("trafficPolicy"))]
    for i, sub in enumerate(as_list(spec.get("subsets"))):
        policies.append((f"spec.subsets[{i}].trafficPolicy", as_dict(sub).get("trafficPolicy")))
    out = []
    for base, tp in policies:
        tp = as_dict(tp)
        if as_dict(tp.get("tls")).get("mode") == "DISABLE":
            out.append(f"{base}.tls.mode")
        for j, pls in enumerate(as_list(tp.get("portLevelSettings"))):
            if as_dict(as_dict(pls).get("tls")).get("mode") == "DISABLE":
                out.append(f"{base}.portLevelSettings[{j}].tls.mode")
    return out


def pool_overrides(dr: dict) -> list[tuple[str, Any, str]]:
    """``(field path, connectionPool, scope)`` of pools that replace the top-level one for part of the traffic.

    Istio MergeTrafficPolicy: a subset's (or port's) connectionPool replaces the whole
    top-level connectionPool for that subset (or port); it does not merge field by field.
    """
    spec = spec_of(dr)
    out: list[tuple[str, Any, str]] = []
    tp = as_dict(spec.get("trafficPolicy"))
    for j, pls in enumerate(as_list(tp.get("portLevelSettings"))):
        pls = as_dict(pls)
        if pls.get("connectionPool") is not None:
            port = as_dict(pls.get("port")).get("number")
            out.append((f"spec.trafficPolicy.portLevelSettings[{j}].connectionPool", pls["connectionPool"],
                        f"port {label_str(port)}"))
    for i, sub in enumerate(as_list(spec.get("subsets"))):
        sub = as_dict(sub)
        stp = as_dict(sub.get("trafficPolicy"))
        name = label_str(sub.get("name"))
        if stp.get("connectionPool") is not None:
            out.append((f"spec.subsets[{i}].trafficPolicy.connectionPool", stp["connectionPool"], f"subset {name}"))
        for j, pls in enumerate(as_list(stp.get("portLevelSettings"))):
            pls = as_dict(pls)
            if pls.get("connectionPool") is not None:
                port = as_dict(pls.get("port")).get("number")
                out.append((f"spec.subsets[{i}].trafficPolicy.portLevelSettings[{j}].connectionPool",
                            pls["connectionPool"], f"subset {name}, port {label_str(port)}"))
    return out
