"""Service host names as Istio resolves them (short names, FQDNs, wildcards)."""

from __future__ import annotations

from typing import Any

CLUSTER_DOMAIN = "cluster.local"


def resolve_host(host: Any, namespace: str) -> str:
    """FQDN of a rule's host; short names resolve against the RULE's namespace.

    pilot/pkg/model/config.go ResolveShortnameToFQDN: only a name WITHOUT a dot is short
    (``web`` in a rule in ``webapp`` means ``web.webapp.svc.cluster.local``, whatever
    namespace the service is in); a name with a dot (``web.webapp``, ``web.webapp.svc``) is
    taken as written, and ``*`` stays ``*``. VirtualService hosts and destinations
    (model/virtualservice.go) and DestinationRule hosts (push_context.go) all go through it.
    """
    if not isinstance(host, str):
        return ""
    h = host.strip().lower().rstrip(".")
    if not h or h.startswith("*") or "." in h:
        return h
    return f"{h}.{namespace}.svc.{CLUSTER_DOMAIN}"


def dotted_short_name(host: Any, fqdn: str) -> bool:
    """Is ``host`` a dotted abbreviation of ``fqdn`` (``web.webapp`` for
    ``web.webapp.svc.cluster.local``), which Istio takes as written?"""
    if not isinstance(host, str):
        return False
    h = host.strip().lower().rstrip(".")
    return "." in h and h != fqdn and fqdn.startswith(h + ".")


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
