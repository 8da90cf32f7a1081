"""DestinationRules: which apply to a host, the subsets they define, and the traffic policy
Envoy gets for each subset and port (TLS, connection pool, outlier detection)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader import kinds as K
from grader.mesh.hosts import resolve_host
from grader.objects import as_dict, as_list, creation_key, is_int, label_str, namespace_of, spec_of
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


def policy_rule(rules: list[dict]) -> tuple[dict, list[dict]]:
    """The rule whose trafficPolicy counts for a host, and the other rules that set one.

    Istio merges DestinationRules for the same host: the oldest one that sets a
    trafficPolicy keeps it (pilot/pkg/model/destination_rule.go mergeDestinationRule).
    ``rules`` must be oldest first and not empty.
    """
    with_policy = [dr for dr in rules if spec_of(dr).get("trafficPolicy") is not None]
    return (with_policy[0] if with_policy else rules[0]), with_policy[1:]


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


# -- DestinationRule traffic policies ------------------------------------------------------
POLICY_FIELDS = ("connectionPool", "outlierDetection", "loadBalancer", "tls")


@dataclass(frozen=True)
class PolicySetting:
    """One field of the traffic policy Envoy gets for a (subset, port) of a host."""

    value: Any = None  # None = not set: Istio's and Envoy's defaults apply
    path: str | None = None  # where the value was set in the DestinationRule
    replaced_by: str | None = None  # the port-level entry that replaced the whole policy (value None)


def _port_level(policy: dict, port: int | None) -> tuple[int, dict] | None:
    if port is None:
        return None
    for j, pls in enumerate(as_list(policy.get("portLevelSettings"))):
        pls = as_dict(pls)
        if as_dict(pls.get("port")).get("number") == port:
            return j, pls
    return None


def traffic_policy_for(dr: dict, subset: str | None = None, port: int | None = None) -> dict[str, PolicySetting]:
    """The effective connectionPool/outlierDetection/loadBalancer/tls for traffic to a subset
    (None = the host without subset) on a Service port, with where each comes from.

    pilot/pkg/networking/util MergeSubsetTrafficPolicy and GetPortLevelTrafficPolicy,
    pilot/pkg/model/destination_rule.go MergeTrafficPolicy: a ``portLevelSettings`` entry for
    the port replaces the whole policy at its level (fields it leaves out fall back to the
    defaults, they are not inherited); a subset's ``trafficPolicy`` then replaces each of the
    four fields it sets, and a subset's port-level entry replaces all four.
    """
    spec = spec_of(dr)
    out = {f: PolicySetting() for f in POLICY_FIELDS}
    top = spec.get("trafficPolicy")
    if isinstance(top, dict):
        hit = _port_level(top, port)
        base, src = ("spec.trafficPolicy", top) if hit is None else (
            f"spec.trafficPolicy.portLevelSettings[{hit[0]}]", hit[1])
        for f in POLICY_FIELDS:
            v = src.get(f)
            out[f] = PolicySetting(v, f"{base}.{f}") if v is not None else PolicySetting(
                replaced_by=base if hit is not None else None)
    if subset is None:
        return out
    for i, sub in enumerate(as_list(spec.get("subsets"))):
        if as_dict(sub).get("name") != subset:
            continue
        stp = as_dict(sub).get("trafficPolicy")
        if not isinstance(stp, dict):
            return out
        hit = _port_level(stp, port)
        base = f"spec.subsets[{i}].trafficPolicy"
        src = stp
        if hit is not None:
            base, src = f"{base}.portLevelSettings[{hit[0]}]", hit[1]
        for f in POLICY_FIELDS:
            v = src.get(f)
            if v is not None:
                out[f] = PolicySetting(v, f"{base}.{f}")
            elif hit is not None:
                out[f] = PolicySetting(replaced_by=base)
        return out
    return out


def dr_subset_names(dr: dict) -> list[str]:
    return [n for n in (as_dict(s).get("name") for s in as_list(spec_of(dr).get("subsets"))) if isinstance(n, str)]



# -- outlier detection -----------------------------------------------------------------------
ENVOY_CONSECUTIVE_5XX = 5  # envoy OutlierDetection.consecutive_5xx default (enforcing 100 %)
ENVOY_OUTLIER_DURATIONS = {"interval": Fraction(10), "baseEjectionTime": Fraction(30)}  # Envoy's defaults


@dataclass(frozen=True)
class Ejection:
    """What an ``outlierDetection`` block makes Envoy do on consecutive 5xx errors."""

    threshold: int | None  # errors in a row that eject a pod; None = 5xx ejection off (or no block)
    source: str  # "set" | "default" | "zero" | "absent" | "unreadable"
    ignored_legacy: Any = None  # the deprecated consecutiveErrors value, which pilot ignores


def ejection(od: Any) -> Ejection:
    """The effective consecutive-5xx threshold of an outlierDetection block.

    pilot cluster_traffic_policy.go applyOutlierDetection: any block yields an Envoy
    outlier_detection (success-rate ejection off); ``consecutive5xxErrors`` sets
    consecutive_5xx and enforcing 100 % (0 sets enforcing 0: off); without it Envoy's
    defaults apply (consecutive_5xx 5, enforcing 100 %; Istio's reference: "defaults to 5").
    The deprecated ``consecutiveErrors`` is read by no pilot since 1.7: its value is ignored.
    """
    if od is None:
        return Ejection(None, "absent")
    if not isinstance(od, dict):
        return Ejection(None, "unreadable")
    legacy = od.get("consecutiveErrors")
    c5 = od.get("consecutive5xxErrors")
    if c5 is None:
        return Ejection(ENVOY_CONSECUTIVE_5XX, "default", legacy)
    if not is_int(c5) or c5 < 0:
        return Ejection(None, "unreadable", legacy)
    if c5 == 0:
        return Ejection(None, "zero", legacy)
    return Ejection(c5, "set", legacy)


# -- client TLS toward a workload ---------------------------------------------------------------
def client_tls_mode(tls: Any) -> str | None:
    """The mode a DestinationRule ``tls`` block gives the client sidecar; None = no block (auto mTLS).

    cluster_tls.go buildUpstreamTLSSettings: a block is used as written; its ``mode`` defaults
    to DISABLE (the enum's zero value), so ``tls: {sni: x}`` sends plain text.
    """
    if tls is None:
        return None
    if not isinstance(tls, dict):
        return "UNREADABLE"
    mode = tls.get("mode")
    return "DISABLE" if mode is None else label_str(mode).upper()


def reaches_strict_server(mode: str | None) -> bool:
    """Only Istio's own mTLS passes a STRICT PeerAuthentication: ISTIO_MUTUAL, or no tls block
    with auto mTLS. DISABLE sends plain text, SIMPLE presents no client certificate, and
    MUTUAL presents the user's certificate, which the mesh CA did not issue."""
    return mode in (None, "ISTIO_MUTUAL")
