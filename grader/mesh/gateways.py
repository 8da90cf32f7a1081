"""Istio Gateways: how a VirtualService names one, their server hosts and ports, their pods."""

from __future__ import annotations

import json
from typing import Any

from grader import kinds as K
from grader.mesh.hosts import host_matches, resolve_host
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


# Gateway server protocols whose filter chain is an HTTP connection manager that applies a
# VirtualService's http routes (pkg/config/protocol Parse is case-insensitive; IsHTTP()).
HTTP_PROTOCOLS = ("HTTP", "HTTP2", "GRPC", "GRPC-WEB")
PASSTHROUGH_TLS_MODES = ("PASSTHROUGH", "AUTO_PASSTHROUGH")
ANY_HOST = "*"


def server_protocol(server: Any) -> str:
    """``spec.servers[i].port.protocol`` upper-cased ('' when unreadable)."""
    proto = as_dict(as_dict(server).get("port")).get("protocol")
    return proto.strip().upper() if isinstance(proto, str) else ""


def server_carries_http(server: Any) -> bool:
    """Does the gateway apply VirtualService ``http`` routes on this server?

    pilot gateway.go buildGatewayTCPBasedFilterChains and pkg/config/gateway IsHTTPServer:
    HTTP, HTTP2, GRPC (any case) get an HTTP connection manager, and so does HTTPS with TLS
    termination (``tls.mode`` set and not PASSTHROUGH/AUTO_PASSTHROUGH; an unset mode is
    PASSTHROUGH, the enum's zero value). TCP, TLS and the rest get tcp_proxy: only ``tcp``
    and ``tls`` routes apply there.
    """
    proto = server_protocol(server)
    if proto in HTTP_PROTOCOLS:
        return True
    tls = as_dict(server).get("tls") if isinstance(server, dict) else None
    return proto == "HTTPS" and isinstance(tls, dict) and tls.get("mode", "PASSTHROUGH") not in PASSTHROUGH_TLS_MODES


def server_redirects(server: Any) -> bool:
    """``tls.httpsRedirect``: every virtual host of the server requires TLS (RequireTls ALL in
    gateway.go buildGatewayHTTPRouteConfig), so every plain HTTP request gets a 301 to https."""
    return as_dict(as_dict(server).get("tls")).get("httpsRedirect") is True


def server_host_entries(gateway: dict, server: Any) -> list[tuple[str, str]]:
    """``(namespace filter, host)`` of one server; filter ``*`` = any namespace, ``./`` = the Gateway's."""
    out: list[tuple[str, str]] = []
    for h in as_list(as_dict(server).get("hosts")):
        if not isinstance(h, str):
            continue
        if "/" in h:
            ns, _, host = h.partition("/")
            out.append((namespace_of(gateway) if ns == "." else ns, host.strip().lower()))
        else:
            out.append(("*", h.strip().lower()))
    return out


def host_intersection(a: str, b: str) -> str | None:
    """The more specific of two matching hosts (pilot host.Names.Intersection), else None."""
    if not host_matches(a, b):
        return None
    if not a.startswith("*"):
        return a
    if not b.startswith("*"):
        return b
    return a if len(a) >= len(b) else b


def vs_domains(vs: dict, gateway: dict, *, http_only: bool = True) -> list[tuple[int, str]]:
    """``(server index, domain)`` of the virtual hosts the gateway builds for a VirtualService.

    gateway.go buildGatewayHTTPRouteConfig: for each server (that carries http routes) the
    server hosts visible to the VirtualService's namespace are intersected with the
    VirtualService's hosts, resolved like every rule host (``web`` ->
    ``web.<ns>.svc.cluster.local``); the intersections are the Envoy virtual host domains a
    request's Host header must match, else 404.
    """
    vs_ns = namespace_of(vs)
    vs_hosts = [resolve_host(h, vs_ns) for h in as_list(spec_of(vs).get("hosts")) if isinstance(h, str)]
    out: list[tuple[int, str]] = []
    for i, server in enumerate(as_list(spec_of(gateway).get("servers"))):
        if http_only and not server_carries_http(server):
            continue
        for ns, g in server_host_entries(gateway, server):
            if ns not in ("*", vs_ns):
                continue
            for v in vs_hosts:
                both = host_intersection(g, v) if g and v else None
                if both and (i, both) not in out:
                    out.append((i, both))
    return out


def domain_covers(domain: str, request_host: str) -> bool:
    """Does an Envoy virtual host domain take requests for ``request_host``?

    ``request_host`` ``*`` stands for "whatever host clients use" (the address of the
    gateway): only the domain ``*`` covers that. ``*.example.com`` covers
    ``www.example.com`` but not ``example.com`` (Envoy's suffix wildcard).
    """
    d, rh = domain.lower(), request_host.strip().lower()
    if d == ANY_HOST:
        return True
    if rh == ANY_HOST:
        return False
    return d == rh or (d.startswith("*") and rh.endswith(d[1:]))


def vs_hosts_in_gateway(vs: dict, gateway: dict) -> bool:
    """The gateway builds at least one virtual host for the VirtualService (IST0132 otherwise)."""
    return bool(vs_domains(vs, gateway))


def exported_to(obj: dict, client_namespace: str) -> bool:
    """Is a DestinationRule (or VirtualService) visible to proxies in ``client_namespace``?

    istio/api ``exportTo``: unset or empty = every namespace (the mesh default), ``*`` = every
    namespace, ``.`` = the object's own namespace, else the namespaces listed. pilot
    push_context.go destinationRule: a gateway proxy sees a rule of the service's namespace
    only when it is exported to the gateway's namespace.
    """
    export = spec_of(obj).get("exportTo")
    if not isinstance(export, list) or not export:
        return True
    own = namespace_of(obj)
    return any(e == "*" or e == client_namespace or (e == "." and own == client_namespace) for e in export)



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
