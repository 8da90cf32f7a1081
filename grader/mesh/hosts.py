"""Service host names as Istio resolves them (short names, FQDNs, wildcards)."""

from __future__ import annotations

from typing import Any

CLUSTER_DOMAIN = "cluster.local"


def resolve_host(host: Any, namespace: str) -> str:
    """FQDN of a rule's host; short names resolve against the RULE's namespace.

    istio/api virtual_service.proto: ``reviews`` in a rule in ``default`` means
    ``reviews.default.svc.cluster.local``, whatever namespace the service is in.
    """
    if not isinstance(host, str):
        return ""
    h = host.strip().lower().rstrip(".")
    if not h or h.startswith("*"):
        return h
    parts = h.split(".")
    if len(parts) == 1:
        return f"{h}.{namespace}.svc.{CLUSTER_DOMAIN}"
    if len(parts) == 2:
        return f"{h}.svc.{CLUSTER_DOMAIN}"
    if len(parts) == 3 and parts[2] == "svc":
        return f"{h}.{CLUSTER_DOMAIN}"
    return h


def service_of_host(fqdn: str) -> tuple[str, str] | None:
    """``(namespace, name)`` when the FQDN is a cluster Service name."""
    suffix = f".svc.{CLUSTER_DOMAIN}"
    if not fqdn.endswith(suffix):
        return None
    parts = fqdn[: -len(suffix)].split(".")
    return (parts[1], parts[0]) if len(parts) == 2 and all(parts) and "*" not in fqdn else None


def host_matches(a: Any, b: Any) -> bool:
    """Istio host.Name.Matches: equal, or one wildcard covers the other ("*" matches all)."""
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    a, b = a.lower(), b.lower()
    aw, bw = a.startswith("*"), b.startswith("*")
    if aw and bw:
        return b[1:].endswith(a[1:]) if len(a) < len(b) else a[1:].endswith(b[1:])
    if aw:
        return b.endswith(a[1:])
    if bw:
        return a.endswith(b[1:])
    return a == b
