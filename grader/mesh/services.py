"""Kubernetes Services as the mesh sees them: which pods they select, which ports they expose."""

from __future__ import annotations

from typing import Any

from grader import kinds as K
from grader.mesh.hosts import service_of_host
from grader.mesh.selectors import map_selector_matches
from grader.objects import (
    as_dict,
    as_list,
    is_int,
    label_str,
    labels_of,
    namespace_of,
    spec_of,
)
from grader.snapshot import Snapshot


def services_selecting(snap: Snapshot, pods: list[dict]) -> list[dict]:
    """Services (with a non-empty selector) that select at least one of the pods."""
    key = ("services_selecting", tuple(sorted(id(p) for p in pods)))
    return snap.memo(key, lambda: _services_selecting(snap, pods))


def _services_selecting(snap: Snapshot, pods: list[dict]) -> list[dict]:
    out = []
    for svc in snap.list(K.SERVICE):
        sel = spec_of(svc).get("selector")
        if any(namespace_of(p) == namespace_of(svc) and map_selector_matches(sel, labels_of(p)) for p in pods):
            out.append(svc)
    return out


def named_container_ports(pods: list[dict], name: str) -> set[int]:
    ports: set[int] = set()
    for p in pods:
        for c in as_list(spec_of(p).get("containers")):
            for cp in as_list(as_dict(c).get("ports")):
                cp = as_dict(cp)
                if cp.get("name") == name and is_int(cp.get("containerPort")):
                    ports.add(cp["containerPort"])
    return ports


def service_exposed_ports(svc: dict, pods: list[dict] | None = None) -> set[int]:
    """Every ``port`` and ``targetPort`` of a Service (named targetPorts resolved on the pods)."""
    ports: set[int] = set()
    for sp in as_list(spec_of(svc).get("ports")):
        sp = as_dict(sp)
        if sp.get("protocol", "TCP") not in ("TCP", None):
            continue
        if is_int(sp.get("port")):
            ports.add(sp["port"])
        target = sp.get("targetPort")
        if is_int(target):
            ports.add(target)
        elif isinstance(target, str):
            if target.isdigit():
                ports.add(int(target))
            else:
                ports |= named_container_ports(pods or [], target)
    return ports


def describe_service_ports(svc: dict) -> str:
    """``80->8080, 443->8443`` rendering of a Service's ports."""
    parts = []
    for sp in as_list(spec_of(svc).get("ports"))[:12]:
        sp = as_dict(sp)
        port, target = sp.get("port"), sp.get("targetPort")
        parts.append(f"{label_str(port)}->{label_str(target)}" if target is not None else label_str(port))
    return ", ".join(parts) or "none"


# -- protocol selection ---------------------------------------------------------------------
# istio pkg/config/protocol/instance.go Parse (case-insensitive) and IsHTTP.
_ISTIO_PROTOCOLS = ("tcp", "udp", "grpc", "grpc-web", "http", "http_proxy", "http2", "https", "tls", "mongo",
                    "redis", "mysql")
HTTP_PROTOCOLS = ("http", "http2", "http_proxy", "grpc", "grpc-web")
# Kubernetes' own appProtocol names (istio pkg/config/kube/conversion.go ConvertProtocol).
_K8S_APP_PROTOCOLS = {"kubernetes.io/h2c": "http2", "kubernetes.io/ws": "http", "kubernetes.io/wss": "https"}
# Ports Istio treats as TCP when the name declares nothing (conversion.go wellKnownPorts).
_WELL_KNOWN_TCP = (25, 53, 3306, 27017)


def istio_protocol(service_port: Any) -> tuple[str, str]:
    """The protocol Istio selects for a Service port, and where it came from.

    istio pkg/config/kube/conversion.go ConvertProtocol: UDP stays UDP; ``appProtocol``
    wins over the port name when set; ``grpc-web`` is matched before the name is cut at
    its first ``-``; the prefix is parsed case-insensitively. Returns ``("unsupported",
    source)`` when nothing is declared: Istio then sniffs the protocol.
    """
    sp = as_dict(service_port)
    if sp.get("protocol") == "UDP":
        return "udp", "protocol"
    app = sp.get("appProtocol")
    if isinstance(app, str) and app:
        name, source = app, "appProtocol"
        if app in _K8S_APP_PROTOCOLS:
            return _K8S_APP_PROTOCOLS[app], source
    else:
        name, source = sp.get("name"), "name"
        if not isinstance(name, str):
            name = ""
    if name[: len("grpc-web")].lower() == "grpc-web":
        return "grpc-web", source
    prefix = name.split("-", 1)[0].lower()
    if prefix in _ISTIO_PROTOCOLS and prefix != "udp":
        return prefix, source
    if is_int(sp.get("port")) and sp["port"] in _WELL_KNOWN_TCP:
        return "tcp", source
    return "unsupported", source


def service_ports(snap: Snapshot, fqdn: str) -> list[int]:
    """The ``port`` numbers of the Service behind a cluster host ([] when it is not one)."""
    svc_ref = service_of_host(fqdn)
    svc = snap.get(K.SERVICE, svc_ref[1], svc_ref[0]) if svc_ref else None
    return [p for p in (as_dict(sp).get("port") for sp in as_list(spec_of(svc).get("ports"))) if is_int(p)]
