"""Istio Gateways: how a VirtualService names one, their server hosts and ports, their pods."""

from __future__ import annotations

import json
from typing import Any

from grader import kinds as K
from grader.mesh.hosts import host_matches
from grader.mesh.selectors import map_selector_matches
from grader.mesh.workloads import pod_running
from grader.objects import (
    as_dict,
    as_list,
    labels_of,
    namespace_of,
    spec_of,
)
from grader.snapshot import Snapshot

MESH_GATEWAY = "mesh"


def resolve_gateway_ref(ref: Any, namespace: str) -> str:
    """``<ns>/<name>`` for a VirtualService ``gateways`` entry; ``mesh`` stays ``mesh``.

    A short name resolves to the VirtualService's namespace (virtual_service.proto);
    ``./name`` too; the legacy ``name.ns[.svc.cluster.local]`` form means ``ns/name``.
    """
    if not isinstance(ref, str):
        return ""
    r = ref.strip()
    if r == MESH_GATEWAY:
        return MESH_GATEWAY
    if "/" in r:
        ns, _, name = r.partition("/")
        return f"{namespace if ns in ('', '.') else ns}/{name}"
    if "." in r:
        parts = r.split(".")
        return f"{parts[1]}/{parts[0]}"
    return f"{namespace}/{r}"


def vs_gateways(vs: dict) -> list[str]:
    """Resolved gateways of a VirtualService; none listed means ``[mesh]``."""
    raw = spec_of(vs).get("gateways")
    if not isinstance(raw, list) or not raw:
        return [MESH_GATEWAY]
    ns = namespace_of(vs)
    return [resolve_gateway_ref(g, ns) for g in raw]


def gateway_server_hosts(gateway: dict) -> list[tuple[str, str]]:
    """``(namespace filter, host)`` of every server host; filter ``*`` = any namespace.

    gateway.proto: a host may be ``ns/host``; ``./host`` is the Gateway's namespace.
    """
    out: list[tuple[str, str]] = []
    gw_ns = namespace_of(gateway)
    for server in as_list(spec_of(gateway).get("servers")):
        for h in as_list(as_dict(server).get("hosts")):
            if not isinstance(h, str):
                continue
            if "/" in h:
                ns, _, host = h.partition("/")
                out.append((gw_ns if ns == "." else ns, host))
            else:
                out.append(("*", h))
    return out


def vs_hosts_in_gateway(vs: dict, gateway: dict) -> bool:
    """Some VirtualService host matches some Gateway server host visible to its namespace."""
    vs_ns = namespace_of(vs)
    gw_hosts = [h for ns, h in gateway_server_hosts(gateway) if ns in ("*", vs_ns)]
    return any(host_matches(g, v) for g in gw_hosts for v in as_list(spec_of(vs).get("hosts")))


def gateway_pods(snap: Snapshot, gateway: dict) -> list[dict]:
    """Running pods in ANY namespace matched by the Gateway's selector.

    gateway.proto: the selector searches all namespaces unless
    PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true (default false).
    """
    selector = spec_of(gateway).get("selector")
    key = ("gateway_pods", json.dumps(selector, sort_keys=True, default=str))
    return snap.memo(key, lambda: [p for p in snap.list(K.POD)
                                   if pod_running(p) and map_selector_matches(selector, labels_of(p))])


def gateway_server_ports(gateway: dict) -> list[tuple[int, Any]]:
    """``(index, spec.servers[index].port.number)`` for every server (number may be ill-typed)."""
    return [
        (i, as_dict(as_dict(server).get("port")).get("number"))
        for i, server in enumerate(as_list(spec_of(gateway).get("servers")))
    ]
