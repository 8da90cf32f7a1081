"""Check types for the workload, gateway-entry and mTLS labs (guide steps 4-7 and their
troubleshooting variants).

Same contract as grader.checks.library: pure functions of a Snapshot, reasons that name
object, field, expected and found, hints that say what to do, never an exception on odd
cluster content (the library's ``_check`` guard registers them). Istio/OSSM rules follow
/work/shared/MESH-FACTS.md; each rule cites its source next to the code.
"""

from __future__ import annotations

from typing import Any

from grader import kinds as K
from grader import mesh as M
from grader.checks.library import (
    _MAX_LISTED,
    _bad_param,
    _check,
    _cli,
    _decided_by,
    _entry_weights,
    _find_deployment,
    _gateway_hosts_text,
    _injection_diagnosis,
    _join,
    _names,
    _str_params,
    _vs_gateway_issues,
)
from grader.model import Outcome, failed, passed
from grader.snapshot import Snapshot, labels_of, name_of, namespace_of, ref

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
    sp = M.as_dict(service_port)
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
    if M.is_int(sp.get("port")) and sp["port"] in _WELL_KNOWN_TCP:
        return "tcp", source
    return "unsupported", source


def _port_text(i: int, sp: dict) -> str:
    parts = [f"spec.ports[{i}]"]
    if "name" in sp:
        parts.append(f"name {M.short(sp.get('name'))}")
    if "appProtocol" in sp:
        parts.append(f"appProtocol {M.short(sp.get('appProtocol'))}")
    return " ".join(parts)


def _app_containers(pod_or_spec_owner: list[dict]) -> list[dict]:
    """Application containers (not the injected istio-proxy)."""
    return [c for c in pod_or_spec_owner if c.get("name") != M.SIDECAR_CONTAINER]


def _pod_containers(pod: dict) -> list[dict]:
    return _app_containers([M.as_dict(c) for c in M.as_list(M.spec_of(pod).get("containers"))])


def _declared_ports(containers: list[dict]) -> list[tuple[str, Any, Any]]:
    """``(container, port name, containerPort)`` of every declared container port."""
    out = []
    for c in containers:
        for cp in M.as_list(c.get("ports")):
            cp = M.as_dict(cp)
            out.append((M.label_str(c.get("name")), cp.get("name"), cp.get("containerPort")))
    return out


def _ports_text(declared: list[tuple[str, Any, Any]]) -> str:
    if not declared:
        return "none declared"
    return ", ".join(
        f"{c}:{M.label_str(p)}" + (f" ({M.label_str(n)})" if n else "") for c, n, p in declared[:_MAX_LISTED]
    )


def _target_problem(svc: dict, i: int, sp: dict, containers: list[dict], where: str) -> tuple[str | None, str]:
    """Does ``targetPort`` of a Service port reach a container port? (problem, description)."""
    target = sp.get("targetPort", sp.get("port"))
    declared = _declared_ports(containers)
    field = f"{ref(svc)} spec.ports[{i}].targetPort"
    if isinstance(target, str) and target.isdigit():
        target = int(target)
    if M.is_int(target):
        if not declared:
            return None, f"targetPort {target} (the containers of {where} declare no ports; not verifiable)"
        if any(M.is_int(p) and p == target for _c, _n, p in declared):
            return None, f"targetPort {target} reaches container port {target}"
        return (
            f"{field} is {target}, but no container of {where} declares containerPort {target} (declared: "
            f"{_ports_text(declared)}); traffic to the Service would hit a port nothing listens on",
            "",
        )
    if isinstance(target, str) and target:
        hits = [p for _c, n, p in declared if n == target and M.is_int(p)]
        if hits:
            return None, f"targetPort {target!r} resolves to container port {hits[0]}"
        return (
            f"{field} is {target!r}, but no container of {where} has a port named {target!r} (declared: "
            f"{_ports_text(declared)}); a named targetPort that resolves to nothing gives the Service no endpoints",
            "",
        )
    return f"{field} is {M.short(target)}; expected a port number or a container port name", ""


@_check(
    "service-port",
    reads=[K.SERVICE, K.DEPLOYMENT, K.REPLICA_SET, K.POD],
    needs=[K.SERVICE, K.POD],
)
def service_port(
    snap: Snapshot,
    *,
    namespace: str,
    service: str,
    port: int = 80,
    protocol: str = "http",
    deployment: str | None = None,
) -> Outcome:
    """A Service port declares its protocol to Istio, selects the workload's pods and reaches a container port.

    ``protocol: http`` accepts every protocol Istio treats as HTTP (http, http2, http_proxy,
    grpc, grpc-web), declared by the port name ``<protocol>[-<suffix>]`` or by appProtocol.
    """
    bad = _str_params(namespace=namespace, service=service, protocol=protocol)
    if bad:
        return bad
    if not M.is_int(port) or not 0 < port < 65536:
        return _bad_param("port", port, "a port number (1-65535)")
    if deployment is not None and (not isinstance(deployment, str) or not deployment.strip()):
        return _bad_param("deployment", deployment, "a Deployment name")
    want = protocol.strip().lower()
    svc = snap.get(K.SERVICE, service, namespace)
    if svc is None:
        others = snap.list(K.SERVICE, namespace)
        found = f"Services in {namespace}: {_names(others)}" if others else f"namespace {namespace} has no Services"
        return failed(
            f"Service {namespace}/{service} not found; {found}",
            f"create Service {service} in {namespace} with a port {port} named {want}",
        )
    raw_ports = M.spec_of(svc).get("ports")
    entries = [(i, M.as_dict(sp)) for i, sp in enumerate(M.as_list(raw_ports))]
    matching = [(i, sp) for i, sp in entries if M.is_int(sp.get("port")) and sp["port"] == port]
    if not matching:
        return failed(
            f"{ref(svc)} spec.ports has no port {port} (ports: {M.describe_service_ports(svc)}); expected port {port}",
            f"expose port {port} on Service {service}",
        )
    i, sp = next(((i, sp) for i, sp in matching if sp.get("protocol", "TCP") == "TCP"), matching[0])
    problems: list[str] = []
    hints: list[str] = []
    proto, source = istio_protocol(sp)
    ok_proto = proto in HTTP_PROTOCOLS if want == "http" else proto == want
    if not ok_proto:
        declared = _port_text(i, sp)
        expect = (
            f"a name {want} (or {want}-<suffix>) or appProtocol: {want}"
            if want != "http"
            else "a name http (or http-<suffix>, http2, grpc) or appProtocol: http"
        )
        if proto == "unsupported":
            why = (
                f"{ref(svc)} {declared} (port {port}) declares no protocol Istio knows: Istio reads it from "
                f"appProtocol or from the name's <protocol>[-<suffix>] prefix, so it falls back to protocol sniffing "
                f"(Kiali KIA0601)"
            )
        else:
            what = "opaque TCP: no HTTP routing, retries or fault injection" if proto in ("tcp", "tls", "https") \
                else proto.upper()
            why = f"{ref(svc)} {declared} (port {port}) makes Istio treat the traffic as {what} (from the {source})"
        problems.append(f"{why}; expected {expect}")
        hints.append(f"name port {port} of Service {service} {want} (or set appProtocol: {want})")
    # selector -> pods
    sel = M.spec_of(svc).get("selector")
    pods: list[dict] = []
    where = f"Service {service}'s pods"
    containers: list[dict] = []
    if deployment is not None:
        dep, missing = _find_deployment(snap, namespace, deployment)
        if missing:
            return failed(_join(problems + [missing.reason]), "; ".join(hints + [missing.hint]))
        where = f"{ref(dep)}"
        dep_pods = M.deployment_pods(snap, dep)
        if not isinstance(sel, dict) or not sel:
            problems.append(
                f"{ref(svc)} spec.selector is {M.short(sel) if sel is not None else 'not set'}, so Kubernetes "
                f"manages no endpoints; expected labels of {ref(dep)}'s pods "
                f"{M.format_labels(M.template_labels(dep))}"
            )
            hints.append(f"set spec.selector of Service {service} to the pod labels, e.g. app: "
                         f"{M.label_str(M.template_labels(dep).get('app', deployment))}")
        elif not M.map_selector_matches(sel, M.template_labels(dep)):
            problems.append(
                f"{ref(svc)} spec.selector {M.format_labels(sel)} does not select the pods of {ref(dep)} "
                f"(pod template labels {M.format_labels(M.template_labels(dep))}), so they are not its endpoints"
            )
            hints.append(f"make spec.selector of Service {service} a subset of the pod labels")
        pods = [p for p in dep_pods if M.map_selector_matches(sel, labels_of(p))] if isinstance(sel, dict) else []
        containers = _pod_containers(pods[0]) if pods else _app_containers(M.template_containers(dep))
    else:
        if not isinstance(sel, dict) or not sel:
            problems.append(
                f"{ref(svc)} spec.selector is {M.short(sel) if sel is not None else 'not set'}, so Kubernetes "
                "manages no endpoints"
            )
            hints.append(f"set spec.selector of Service {service} to the labels of its pods")
        else:
            pods = [
                p for p in snap.list(K.POD, namespace)
                if M.pod_running(p) and M.map_selector_matches(sel, labels_of(p))
            ]
            if not pods:
                problems.append(f"{ref(svc)} spec.selector {M.format_labels(sel)} selects no running pod in "
                                f"{namespace}")
                hints.append(f"make spec.selector of Service {service} match the pod labels")
            else:
                where = f"pod {name_of(pods[0])}"
        containers = _pod_containers(pods[0]) if pods else []
    target_text = ""
    if containers:
        problem, target_text = _target_problem(svc, i, sp, containers, where)
        if problem:
            problems.append(problem)
            hints.append(f"set targetPort of port {port} to the port the container listens on")
    if problems:
        return failed(_join(problems), "; ".join(dict.fromkeys(hints)))
    proto_text = f"{proto.upper()} from its {source}"
    selected = f"selects {_names(pods)}" if pods else f"selects {where}"
    return passed(
        f"{ref(svc)} port {port} ({_port_text(i, sp)}) is {proto_text}, {selected}"
        + (f", {target_text}" if target_text else "")
    )


# -- ingress endpoint (GATEWAY_URL) -----------------------------------------------------------
def _route_admission_problem(route: dict) -> str | None:
    for ing in M.as_list(M.status_of(route).get("ingress")):
        for cond in M.as_list(M.as_dict(ing).get("conditions")):
            c = M.as_dict(cond)
            if c.get("type") == "Admitted" and M.label_str(c.get("status")) == "False":
                return (
                    f"{ref(route)} is not admitted by router {M.label_str(M.as_dict(ing).get('routerName'))}: "
                    f"{M.short(c.get('message') or c.get('reason'), 160)}"
                )
    return None


def _route_port_problem(route: dict, svc: dict, pods: list[dict]) -> tuple[str | None, str]:
    """OpenShift routers match spec.port.targetPort against the endpoint port name (the
    Service port name) or number (the Service targetPort)."""
    target = M.as_dict(M.spec_of(route).get("port")).get("targetPort")
    ports = [M.as_dict(sp) for sp in M.as_list(M.spec_of(svc).get("ports"))]
    if target is None:
        first = ports[0] if ports else {}
        return (
            f"{ref(route)} spec.port.targetPort is not set, so the router sends traffic to the first port of "
            f"{ref(svc)} ({M.label_str(first.get('name')) or M.label_str(first.get('port'))}), which need not be "
            "the HTTP port",
            "",
        )
    for sp in ports:
        name, tp = sp.get("name"), sp.get("targetPort", sp.get("port"))
        if isinstance(target, str) and not target.isdigit() and target == name:
            return None, f"port {name} ({M.label_str(sp.get('port'))}->{M.label_str(tp)})"
        number = int(target) if isinstance(target, str) and target.isdigit() else target
        resolved = tp
        if isinstance(tp, str) and not tp.isdigit():
            named = M._named_container_ports(pods, tp)
            resolved = next(iter(named), None)
        elif isinstance(tp, str):
            resolved = int(tp)
        if M.is_int(number) and M.is_int(resolved) and number == resolved:
            return None, f"port {M.label_str(name) or number} ({M.label_str(sp.get('port'))}->{number})"
    return (
        f"{ref(route)} spec.port.targetPort {M.short(target)} is neither a port name nor a targetPort of {ref(svc)} "
        f"(ports {M.describe_service_ports(svc)}); the router finds no endpoint port for it",
        "",
    )


@_check("ingress-endpoint", reads=[K.ROUTE, K.SERVICE, K.POD], needs=[K.SERVICE, K.POD])
def ingress_endpoint(
    snap: Snapshot,
    *,
    namespace: str = "istio-system",
    service: str = "istio-ingressgateway",
    route: str = "istio-ingressgateway",
    port: int = 80,
) -> Outcome:
    """The ingress gateway can be reached from outside: its Route (OpenShift) or its Service (Istio).

    OpenShift Service Mesh: GATEWAY_URL is the host of Route istio-ingressgateway in the
    control plane namespace; upstream Istio: the address of Service istio-ingressgateway.
    """
    bad = _str_params(namespace=namespace, service=service, route=route)
    if bad:
        return bad
    if not M.is_int(port) or not 0 < port < 65536:
        return _bad_param("port", port, "a port number (1-65535)")
    cli = _cli(snap)
    svc = snap.get(K.SERVICE, service, namespace)
    if svc is None:
        others = snap.list(K.SERVICE, namespace)
        found = f"Services in {namespace}: {_names(others)}" if others else f"namespace {namespace} has no Services"
        return failed(
            f"Service {namespace}/{service} not found, so the ingress gateway has no address; {found}",
            "check that the control plane installed the ingress gateway "
            f"({cli} get deployment,svc -n {namespace})",
        )
    sel = M.spec_of(svc).get("selector")
    pods = [
        p for p in snap.list(K.POD, namespace)
        if M.pod_running(p) and isinstance(sel, dict) and sel and M.map_selector_matches(sel, labels_of(p))
    ]
    if not pods:
        return failed(
            f"{ref(svc)} spec.selector {M.format_labels(sel)} selects no running ingress gateway pod in {namespace}",
            f"check the gateway Deployment: {cli} get pods -n {namespace}",
        )
    use_route = snap.flavour == "ossm2" or snap.openshift
    if not use_route:
        if not any(M.is_int(M.as_dict(sp).get("port")) and M.as_dict(sp)["port"] == port
                   for sp in M.as_list(M.spec_of(svc).get("ports"))):
            return failed(
                f"{ref(svc)} spec.ports has no port {port} (ports {M.describe_service_ports(svc)})",
                f"expose port {port} on Service {service}",
            )
        spec = M.spec_of(svc)
        ingress = [M.as_dict(i) for i in M.as_list(M.as_dict(M.status_of(svc).get("loadBalancer")).get("ingress"))]
        address = next((M.label_str(i.get("ip") or i.get("hostname")) for i in ingress if i.get("ip") or
                        i.get("hostname")), "")
        where = (
            f"load balancer address {address}" if address
            else f"type {M.label_str(spec.get('type') or 'ClusterIP')} (no external address: use "
                 f"{cli} port-forward svc/{service} -n {namespace} 8080:{port})"
        )
        return passed(f"{ref(svc)} serves port {port} from pod(s) {_names(pods)}; GATEWAY_URL: {where}")
    if K.ROUTE.kind in snap.missing_kinds:
        return failed(
            "the cluster does not serve Route (route.openshift.io), so the ingress gateway has no OpenShift route; "
            f"use the address of {ref(svc)} instead",
            f"{cli} get svc {service} -n {namespace}",
        )
    rt = snap.get(K.ROUTE, route, namespace)
    expose = f"oc expose svc/{service} --port=http2 -n {namespace}"
    if rt is None:
        others = snap.list(K.ROUTE, namespace)
        found = f"Routes in {namespace}: {_names(others)}" if others else f"namespace {namespace} has no Routes"
        return failed(
            f"Route {namespace}/{route} not found, so GATEWAY_URL cannot be read from it; {found}",
            f"create it: {expose}",
        )
    problems: list[str] = []
    to = M.as_dict(M.spec_of(rt).get("to"))
    to_kind, to_name = to.get("kind", "Service"), to.get("name")
    if to_kind != "Service" or to_name != service:
        problems.append(
            f"{ref(rt)} spec.to is {M.label_str(to_kind)} {M.short(to_name)}; expected Service {service} "
            "(the ingress gateway)"
        )
        port_text = ""
    else:
        port_problem, port_text = _route_port_problem(rt, svc, pods)
        if port_problem:
            problems.append(port_problem)
    admission = _route_admission_problem(rt)
    if admission:
        problems.append(admission)
    if problems:
        return failed(_join(problems), f"point Route {route} at Service {service} port http2, e.g. {expose}")
    host = M.label_str(M.spec_of(rt).get("host")) or "(no host yet)"
    return passed(
        f"{ref(rt)} (host {host}) sends traffic to {ref(svc)} {port_text} served by pod(s) {_names(pods)}; "
        f"GATEWAY_URL={host}"
    )


# -- route target ---------------------------------------------------------------------------------
@_check("route-target", reads=[K.VIRTUAL_SERVICE, K.SERVICE], needs=[K.VIRTUAL_SERVICE, K.SERVICE])
def route_target(
    snap: Snapshot,
    *,
    namespace: str,
    virtualservice: str,
    host: str,
    port: int = 80,
    gateway: str | None = None,
) -> Outcome:
    """The route a plain request takes through a VirtualService reaches an existing Service port.

    ``gateway`` (optional) is the gateway the request comes through, for routes whose
    match names gateways. Weighted destinations with weight 0 are ignored.
    """
    bad = _str_params(namespace=namespace, virtualservice=virtualservice, host=host)
    if bad:
        return bad
    if not M.is_int(port) or not 0 < port < 65536:
        return _bad_param("port", port, "a port number (1-65535)")
    if gateway is not None and (not isinstance(gateway, str) or not gateway.strip()):
        return _bad_param("gateway", gateway, "a gateway name")
    fqdn = M.resolve_host(host, namespace)
    svc_ref = M.service_of_host(fqdn)
    if svc_ref is None:
        return _bad_param("host", host, "a Service name")
    vs = snap.get(K.VIRTUAL_SERVICE, virtualservice, namespace)
    if vs is None:
        others = snap.list(K.VIRTUAL_SERVICE, namespace)
        found = f"VirtualServices in {namespace}: {_names(others)}" if others else \
            f"namespace {namespace} has no VirtualServices"
        return failed(
            f"VirtualService {namespace}/{virtualservice} not found; {found}",
            f"create VirtualService {virtualservice} in {namespace} routing to {host} port {port}",
        )
    gw_key = M.resolve_gateway_ref(gateway, namespace) if gateway else None
    https = M.as_list(M.spec_of(vs).get("http"))
    eff = M.effective_http_route(vs, gw_key)
    if eff is None:
        if not https:
            return failed(
                f"{ref(vs)} has no spec.http routes; expected an HTTP route to {host} port {port}",
                f"add spec.http[].route with destination host {host}, port number {port}",
            )
        described = "; ".join(f"spec.http[{j}] {M.describe_match(h)}" for j, h in enumerate(https[:4]))
        return failed(
            f"no spec.http entry of {ref(vs)} matches a plain GET / : {described}",
            "add a final spec.http entry without match carrying the route",
        )
    idx, entry = eff
    where = f"spec.http[{idx}]"
    rw = _entry_weights(vs, idx, entry, hint=f"give {where} a route to {host}")
    if isinstance(rw, Outcome):
        return rw
    route = entry["route"]
    svc_ns, svc_name = svc_ref
    svc = snap.get(K.SERVICE, svc_name, svc_ns)
    svc_ports = [M.as_dict(sp).get("port") for sp in M.as_list(M.spec_of(svc).get("ports"))] if svc else []
    svc_targets = [M.as_dict(sp).get("targetPort") for sp in M.as_list(M.spec_of(svc).get("ports"))] if svc else []
    problems: list[str] = []
    hints: list[str] = []
    reached = []
    for s in rw.shares:
        if s.share == 0:
            continue
        field = f"{ref(vs)} {where}.route[{s.index}].destination"
        dest = M.as_dict(M.as_dict(M.as_list(route)[s.index]).get("destination"))
        if s.host != fqdn:
            shown = M.short(dest.get("host")) if dest.get("host") is not None else "missing"
            problems.append(
                f"{field}.host is {shown} ({s.host or 'unresolvable'}) and gets {M.percent(s.share)}; expected {host} "
                f"({fqdn})"
            )
            hints.append(f"set destination.host to {host}")
            continue
        if svc is None:
            problems.append(
                f"{field}.host {M.short(dest.get('host'))} resolves to {fqdn}, but Service {svc_ns}/{svc_name} does "
                "not exist (KIA1101): requests get 503"
            )
            hints.append(f"create Service {svc_name} in {svc_ns}")
            continue
        dport = M.as_dict(dest.get("port")).get("number") if dest.get("port") is not None else None
        if dest.get("port") is not None and not isinstance(dest.get("port"), dict):
            problems.append(f"{field}.port is {M.short(dest.get('port'))}; expected {{number: {port}}}")
            hints.append(f"set destination.port.number: {port}")
        elif dport is None:
            valid = [p for p in svc_ports if M.is_int(p)]
            if len(valid) > 1:
                problems.append(
                    f"{field} has no port.number and {ref(svc)} has several ports "
                    f"({M.describe_service_ports(svc)}); Istio requires the port then (IST0112)"
                )
                hints.append(f"set destination.port.number: {port}")
            elif valid and valid[0] != port:
                problems.append(f"{field} has no port.number, so it uses the only port of {ref(svc)}, {valid[0]}; "
                                f"expected port {port}")
                hints.append(f"expose port {port} on Service {svc_name}")
            elif not valid:
                problems.append(f"{ref(svc)} has no ports, so {field} reaches nothing")
            else:
                reached.append(s)
        elif not M.is_int(dport):
            problems.append(f"{field}.port.number is {M.short(dport)}; expected the number {port}")
            hints.append(f"set destination.port.number: {port}")
        elif dport not in svc_ports:
            extra = " (that is a targetPort: destination.port is a Service port)" if dport in svc_targets else ""
            problems.append(
                f"{field}.port.number is {dport}, which {ref(svc)} does not expose{extra} "
                f"(ports {M.describe_service_ports(svc)}); requests get 503 (no healthy upstream)"
            )
            hints.append(f"set destination.port.number: {port}")
        elif dport != port:
            problems.append(f"{field}.port.number is {dport}; expected {port}")
            hints.append(f"set destination.port.number: {port}")
        else:
            reached.append(s)
    if problems:
        return failed(_join(problems), "; ".join(dict.fromkeys(hints)))
    if not reached:
        return failed(f"{ref(vs)} {where}.route sends no traffic to {fqdn}", f"route to {host} port {port}")
    return passed(f"{ref(vs)} {where} (the route a plain GET / takes) reaches {ref(svc)} port {port}")


# -- namespace-wide sidecars ---------------------------------------------------------------------
def _owner_deployment(snap: Snapshot, pod: dict) -> dict | None:
    ns = namespace_of(pod)
    for o in M.as_list(M.as_dict(pod.get("metadata")).get("ownerReferences")):
        o = M.as_dict(o)
        if o.get("kind") != "ReplicaSet" or not isinstance(o.get("name"), str):
            continue
        rs = snap.get(K.REPLICA_SET, o["name"], ns)
        for ro in M.as_list(M.as_dict((rs or {}).get("metadata")).get("ownerReferences")):
            ro = M.as_dict(ro)
            if ro.get("kind") == "Deployment" and isinstance(ro.get("name"), str):
                return snap.get(K.DEPLOYMENT, ro["name"], ns)
    return None


@_check(
    "namespace-sidecars",
    reads=[K.POD, K.DEPLOYMENT, K.REPLICA_SET, K.NAMESPACE],
    needs=[K.POD, K.DEPLOYMENT],
)
def namespace_sidecars(snap: Snapshot, *, namespace: str, deployments: list | None = None) -> Outcome:
    """Every running pod in the namespace carries an istio-proxy sidecar (STRICT mTLS needs all of them).

    ``deployments`` names workloads that must exist with current pods, so deleting a
    workload does not count as giving it a sidecar.
    """
    bad = _str_params(namespace=namespace)
    if bad:
        return bad
    if deployments is not None and (
        not isinstance(deployments, list) or not all(isinstance(d, str) and d for d in deployments)
    ):
        return _bad_param("deployments", deployments, "a list of Deployment names")
    problems: list[str] = []
    hints: list[str] = []
    for name in deployments or []:
        dep, missing = _find_deployment(snap, namespace, name)
        if missing:
            problems.append(missing.reason)
            hints.append(f"keep Deployment {name} running in {namespace}")
        elif not M.deployment_pods(snap, dep):
            problems.append(f"{ref(dep)} has no current pods")
            hints.append(f"scale {ref(dep)} up")
    pods = [
        p for p in snap.list(K.POD, namespace)
        if not M.is_terminating(p) and M.pod_phase(p) not in ("Succeeded", "Failed")
    ]
    bare = [p for p in pods if not M.sidecar_status(p).present]
    if bare:
        groups: dict[str, tuple[dict | None, list[dict]]] = {}
        for p in bare:
            dep = _owner_deployment(snap, p)
            key = f"d/{name_of(dep)}" if dep else f"p/{name_of(p)}"
            groups.setdefault(key, (dep, []))[1].append(p)
        problems.insert(
            0,
            f"{len(bare)} of {len(pods)} pod(s) in namespace {namespace} run without an istio-proxy sidecar "
            f"({_names(bare)}): under STRICT mTLS their plain-text requests to meshed workloads are rejected and "
            "their own traffic is outside mutual TLS",
        )
        for dep, group in list(groups.values())[:4]:
            if dep is not None:
                why, hint = _injection_diagnosis(snap, dep, group)
                problems.append(why)
                hints.append(hint)
            else:
                problems.append(f"pod {name_of(group[0])} has no controller and no sidecar; recreate it with "
                                'sidecar.istio.io/inject: "true"')
                hints.append(f"recreate pod {name_of(group[0])} with the injection annotation")
    if problems:
        return failed(_join(problems), "; ".join(dict.fromkeys(hints)))
    if not pods:
        return passed(f"namespace {namespace} has no running pods, so none lacks a sidecar")
    owners = sorted({name_of(d) for d in (_owner_deployment(snap, p) for p in pods) if d})
    return passed(
        f"all {len(pods)} pod(s) in namespace {namespace} carry an istio-proxy sidecar"
        + (f" (Deployments {', '.join(owners)})" if owners else "")
    )


# -- mesh membership (OSSM 2.x) -------------------------------------------------------------------
_EXCLUDED_PREFIXES = ("kube-", "openshift-", "ibm-")


def _smmr_lists(smmr: dict, namespace: str, ns_labels: dict) -> str | None:
    """How a ServiceMeshMemberRoll includes the namespace (servicemeshmemberroll_types.go), or None."""
    spec = M.spec_of(smmr)
    members = [m for m in M.as_list(spec.get("members")) if isinstance(m, str)]
    if namespace in members:
        return "spec.members"
    if "*" in members:
        return 'spec.members ["*"]'
    for i, sel in enumerate(M.as_list(spec.get("memberSelectors"))):
        if isinstance(sel, dict) and sel and M.label_selector_matches(sel, ns_labels):
            return f"spec.memberSelectors[{i}]"
    return None


def _condition(obj: dict, ctype: str) -> dict | None:
    for c in M.as_list(M.status_of(obj).get("conditions")):
        c = M.as_dict(c)
        if c.get("type") == ctype:
            return c
    return None


@_check(
    "namespace-member",
    reads=[K.NAMESPACE, K.SMM, K.SMMR, K.SMCP],
    needs=[K.NAMESPACE, K.SMM, K.SMMR],
)
def namespace_member(snap: Snapshot, *, namespace: str, control_plane: str = "") -> Outcome:
    """The namespace is a member of the OpenShift Service Mesh 2.x control plane.

    Membership comes from a ServiceMeshMember ``default`` in the namespace or the
    ServiceMeshMemberRoll ``default`` of the control plane; the operator then labels the
    namespace ``maistra.io/member-of=<cp ns>``, the label the injection webhook selects on
    (MESH-FACTS 1a, maistra istio-operator memberroll/member controllers).
    """
    bad = _str_params(namespace=namespace)
    if bad:
        return bad
    if not isinstance(control_plane, str):
        return _bad_param("control_plane", control_plane, "a namespace name")
    cp = control_plane.strip() or snap.control_plane_namespace
    cli = _cli(snap)
    if namespace == cp or namespace in ("kube", "openshift") or namespace.startswith(_EXCLUDED_PREFIXES):
        return failed(
            f"namespace {namespace} can never be a mesh member: the control plane namespace and kube-*, "
            "openshift-* and ibm-* namespaces are always excluded",
            "deploy the application in its own namespace",
        )
    ns = snap.get(K.NAMESPACE, namespace)
    if ns is None:
        return failed(f"Namespace {namespace} does not exist", f"{cli} create namespace {namespace}")
    ns_labels = labels_of(ns)
    label = ns_labels.get(M.MEMBER_OF_LABEL)
    smcps = snap.list(K.SMCP, cp) if K.SMCP.kind in snap.read_kinds and K.SMCP.kind not in snap.missing_kinds else []
    smcp_names = [name_of(s) for s in smcps]
    smms = snap.list(K.SMM, namespace)
    smm = next((m for m in smms if name_of(m) == "default"), None)
    smm_yaml = (f"create a ServiceMeshMember default in {namespace} with spec.controlPlaneRef "
                f"{{name: {smcp_names[0] if smcp_names else '<SMCP name>'}, namespace: {cp}}} (or add {namespace} "
                f"to spec.members of ServiceMeshMemberRoll default in {cp})")
    misnamed = [m for m in smms if name_of(m) != "default"]
    smmr = snap.get(K.SMMR, "default", cp)
    listed = _smmr_lists(smmr, namespace, ns_labels) if smmr else None
    problems: list[str] = []
    hints: list[str] = []
    for m in misnamed:
        problems.append(f"{ref(m)} is ignored: a ServiceMeshMember must be named default")
        hints.append(f"rename it: a ServiceMeshMember named default in {namespace}")
    via = ""
    if smm is not None:
        cref = M.as_dict(M.spec_of(smm).get("controlPlaneRef"))
        cns, cname = cref.get("namespace"), cref.get("name")
        if cns != cp:
            problems.append(
                f"{ref(smm)} spec.controlPlaneRef.namespace is {M.short(cns) if cns else 'not set'}; expected {cp}"
            )
            hints.append(f"set spec.controlPlaneRef.namespace: {cp}")
        elif smcps and cname not in smcp_names:
            problems.append(
                f"{ref(smm)} spec.controlPlaneRef.name is {M.short(cname) if cname else 'not set'}, but the "
                f"ServiceMeshControlPlane in {cp} is {', '.join(smcp_names)}"
            )
            hints.append(f"set spec.controlPlaneRef.name: {smcp_names[0]}")
        else:
            ready = _condition(smm, "Ready")
            if ready is not None and M.label_str(ready.get("status")) == "False":
                problems.append(
                    f"{ref(smm)} is not Ready ({M.label_str(ready.get('reason'))}: "
                    f"{M.short(ready.get('message'), 160)})"
                )
                hints.append(f"{cli} describe servicemeshmember default -n {namespace}")
            via = f"{ref(smm)}"
    elif listed:
        via = f"ServiceMeshMemberRoll {cp}/default {listed}"
    else:
        if smmr is None:
            roll = f"there is no ServiceMeshMemberRoll default in {cp}"
        else:
            members = ", ".join(M.label_str(m) for m in M.as_list(M.spec_of(smmr).get("members"))[:_MAX_LISTED])
            roll = f"ServiceMeshMemberRoll {cp}/default spec.members [{members}] does not include it"
        problems.append(
            f"Namespace {namespace} is not a member of the mesh: there is no ServiceMeshMember default in "
            f"{namespace} and {roll}"
        )
        hints.append(smm_yaml)
    if M.label_str(label) == cp and not problems:
        ignore = "maistra.io/ignore-namespace" in ns_labels
        if ignore:
            return failed(
                f"Namespace {namespace} has label maistra.io/ignore-namespace, which the injection webhook excludes",
                f"{cli} label namespace {namespace} maistra.io/ignore-namespace-",
            )
        return passed(f"Namespace {namespace} is a member of the mesh in {cp} (label {M.MEMBER_OF_LABEL}={cp}, "
                      f"through {via})")
    if label is None:
        if problems and not via:
            problems[-1] += (
                f", so the operator never labels it {M.MEMBER_OF_LABEL}={cp} and the sidecar injection webhook "
                "never sees its pods"
            )
        else:
            problems.append(
                f"Namespace {namespace} has no label {M.MEMBER_OF_LABEL}={cp} yet: the operator has not configured "
                "it, so the injection webhook does not see its pods"
                + ("" if not via else f" (membership through {via})")
            )
            hints.append(f"wait for the operator, then check {cli} get servicemeshmemberroll default -n {cp} -o yaml")
    elif M.label_str(label) != cp:
        problems.append(
            f"Namespace {namespace} has label {M.MEMBER_OF_LABEL}={M.label_str(label)}: it belongs to the control "
            f"plane in {M.label_str(label)}, not {cp}"
        )
        hints.append(f"remove it from the member roll of {M.label_str(label)} first")
    elif not via:
        problems.append(
            f"Namespace {namespace} carries label {M.MEMBER_OF_LABEL}={cp}, but nothing makes it a member: the "
            "operator only configures member namespaces (RoleBindings, NetworkPolicies, the istio-cni "
            "NetworkAttachmentDefinition), so a hand-set label does not make a working member"
        )
    return failed(_join(problems), "; ".join(dict.fromkeys(hints)))


# -- PeerAuthentication at a level ---------------------------------------------------------------
def _pa_mode(pa: dict) -> Any:
    mtls = M.spec_of(pa).get("mtls")
    if mtls is None:
        return "UNSET"
    if not isinstance(mtls, dict):
        return mtls
    return "UNSET" if mtls.get("mode") is None else mtls.get("mode")


def _pa_selector(pa: dict) -> dict:
    return M.as_dict(M.as_dict(M.spec_of(pa).get("selector")).get("matchLabels"))


@_check("peer-authentication-policy", reads=[K.PEER_AUTHENTICATION, K.POD], needs=[K.PEER_AUTHENTICATION])
def peer_authentication_policy(
    snap: Snapshot, *, namespace: str, mode: str = "STRICT", level: str = "namespace"
) -> Outcome:
    """A PeerAuthentication of the given level sets the mode, and no workload policy weakens it.

    ``level: namespace`` demands a namespace-wide policy (no selector) in the namespace
    itself, so the mode does not depend on the mesh-wide default; ``level: effective``
    accepts whatever level decides. Precedence follows policy_applier.go (MESH-FACTS 3).
    """
    bad = _str_params(namespace=namespace)
    if bad:
        return bad
    if not isinstance(mode, str) or mode.upper() not in ("STRICT", "PERMISSIVE", "DISABLE"):
        return _bad_param("mode", mode, "STRICT, PERMISSIVE or DISABLE")
    if level not in ("namespace", "effective"):
        return _bad_param("level", level, "namespace or effective")
    want = mode.upper()
    root = snap.control_plane_namespace
    decision = M.effective_mtls(snap, namespace)
    problems: list[str] = []
    hints: list[str] = []
    notes: list[str] = []
    create = f"create PeerAuthentication default in namespace {namespace} with spec.mtls.mode: {want}"
    policies = sorted(snap.list(K.PEER_AUTHENTICATION, namespace), key=M.creation_key)
    ns_wide = [pa for pa in policies if not _pa_selector(pa)]
    decider_text = ""
    if level == "namespace" and namespace != root:
        if not ns_wide:
            text = (
                f"namespace {namespace} has no namespace-wide PeerAuthentication (one without spec.selector); its "
                f"mode comes from elsewhere: {decision.mode}, {_decided_by(decision)}"
            )
            if decision.mode == want:
                text += (
                    f". It is {want} only because of that default: if the mesh-wide policy changes, {namespace} "
                    "silently loses it"
                )
            scoped = [pa for pa in policies if _pa_selector(pa)]
            if scoped:
                text += f"; {_names(scoped)} have a spec.selector, so they apply only to matching workloads"
            problems.append(text)
            hints.append(create)
        else:
            pa = ns_wide[0]
            m = _pa_mode(pa)
            field = f"{ref(pa)} spec.mtls.mode"
            if m not in M.MTLS_MODES:
                problems.append(f"{field} is {M.short(m)}; expected one of {', '.join(M.MTLS_MODES)}")
                hints.append(f"set spec.mtls.mode: {want}")
            elif m == "UNSET":
                problems.append(
                    f"{field} is not set (UNSET), so the policy inherits the mesh-wide mode ({_decided_by(decision)}); "
                    f"expected {want}"
                )
                hints.append(f"set spec.mtls.mode: {want} on {ref(pa)}")
            elif m != want:
                problems.append(f"{field} is {m}; expected {want}")
                hints.append(f"set spec.mtls.mode: {want} on {ref(pa)}")
            notes.extend(
                f"{ref(other)} (namespace-wide, mode {M.short(_pa_mode(other))}) is ignored: the oldest "
                f"namespace-wide policy, {ref(pa)}, wins"
                for other in ns_wide[1:]
            )
            decider_text = f"{ref(pa)} (namespace-wide) sets spec.mtls.mode {want}"
    else:
        for pa, m in decision.invalid[:1]:
            problems.append(f"{ref(pa)} spec.mtls.mode is {M.short(m)}; expected one of {', '.join(M.MTLS_MODES)}")
            hints.append("fix spec.mtls.mode")
        if not decision.invalid and decision.mode != want:
            problems.append(f"effective mTLS mode of namespace {namespace} is {decision.mode}, "
                            f"{_decided_by(decision)}; expected {want}")
            hints.append(create)
        decider_text = f"effective mode {decision.mode}, {_decided_by(decision)}"
    # Workload policies (with a selector, outside the root namespace) override the namespace level.
    pods = [p for p in snap.list(K.POD, namespace) if not M.is_terminating(p)]
    if namespace != root:
        for pa in policies:
            sel = _pa_selector(pa)
            if not sel:
                continue
            hit = [p for p in pods if M.map_selector_matches(sel, labels_of(p))]
            if not hit:
                continue
            m = _pa_mode(pa)
            if m not in ("UNSET", want):
                problems.append(
                    f"{ref(pa)} (spec.selector {M.format_labels(sel)}) sets spec.mtls.mode {M.short(m)} for pod(s) "
                    f"{_names(hit)}, overriding {want} for them"
                )
                hints.append(f"remove {ref(pa)} or set its mode to {want}")
            for port, pl in M.as_dict(M.spec_of(pa).get("portLevelMtls")).items():
                pm = M.as_dict(pl).get("mode")
                if pm not in (None, "UNSET", want):
                    problems.append(
                        f"{ref(pa)} spec.portLevelMtls.{M.label_str(port)}.mode is {M.short(pm)} for pod(s) "
                        f"{_names(hit)}; expected {want} on every port"
                    )
                    hints.append(f"remove spec.portLevelMtls from {ref(pa)}")
    if problems:
        return failed(_join(problems + notes), "; ".join(dict.fromkeys(hints)))
    return passed("; ".join([f"{decider_text}; no workload policy in {namespace} overrides it"] + notes))


# -- VirtualService <-> Gateway, one fault per check ----------------------------------------------
def _get_vs(snap: Snapshot, namespace: str, name: str) -> tuple[dict | None, Outcome | None]:
    vs = snap.get(K.VIRTUAL_SERVICE, name, namespace)
    if vs is not None:
        return vs, None
    others = snap.list(K.VIRTUAL_SERVICE, namespace)
    found = f"VirtualServices in {namespace}: {_names(others)}" if others else \
        f"namespace {namespace} has no VirtualServices"
    return None, failed(f"VirtualService {namespace}/{name} not found; {found}",
                        f"create VirtualService {name} in {namespace}")


@_check("virtualservice-gateway", reads=[K.VIRTUAL_SERVICE, K.GATEWAY])
def virtualservice_gateway(snap: Snapshot, *, namespace: str, virtualservice: str, gateway: str) -> Outcome:
    """A VirtualService lists the Gateway in spec.gateways, and the Gateway it names exists."""
    bad = _str_params(namespace=namespace, virtualservice=virtualservice, gateway=gateway)
    if bad:
        return bad
    vs, missing = _get_vs(snap, namespace, virtualservice)
    if missing:
        return missing
    gw_key = M.resolve_gateway_ref(gateway, namespace)
    gns, _, gname = gw_key.partition("/")
    gw = snap.get(K.GATEWAY, gname, gns)
    listed = gw_key in M.vs_gateways(vs)
    if listed and gw is not None:
        return passed(f"{ref(vs)} spec.gateways lists {gw_key}, which exists")
    if listed:
        found = snap.list(K.GATEWAY, gns)
        return failed(
            f"{ref(vs)} spec.gateways lists {gw_key}, but Gateway {gw_key} does not exist (IST0101, KIA1102); "
            + (f"Gateways in {gns}: {_names(found)}" if found else f"namespace {gns} has no Gateways"),
            f"create Gateway {gname} in {gns}",
        )
    issues = _vs_gateway_issues(snap, vs, gw_key)
    if gw is None:
        issues.append(f"Gateway {gw_key} does not exist either")
    return failed(_join(issues), f"set spec.gateways of {ref(vs)} to [{gateway}]")


@_check("virtualservice-hosts", reads=[K.VIRTUAL_SERVICE, K.GATEWAY])
def virtualservice_hosts(
    snap: Snapshot, *, namespace: str, virtualservice: str, gateway: str, request_host: str | None = None
) -> Outcome:
    """The VirtualService's hosts match the Gateway's server hosts (and the request host, if given).

    The gateway only applies a VirtualService's routes to requests whose Host matches both
    a server host of the Gateway and a host of the VirtualService (IST0132).
    """
    bad = _str_params(namespace=namespace, virtualservice=virtualservice, gateway=gateway)
    if bad:
        return bad
    if request_host is not None and (not isinstance(request_host, str) or not request_host.strip()):
        return _bad_param("request_host", request_host, "a host name")
    vs, missing = _get_vs(snap, namespace, virtualservice)
    if missing:
        return missing
    gw_key = M.resolve_gateway_ref(gateway, namespace)
    gns, _, gname = gw_key.partition("/")
    gw = snap.get(K.GATEWAY, gname, gns)
    if gw is None:
        found = snap.list(K.GATEWAY, gns)
        return failed(
            f"Gateway {gw_key} not found, so the hosts of {ref(vs)} cannot be matched against it; "
            + (f"Gateways in {gns}: {_names(found)}" if found else f"namespace {gns} has no Gateways"),
            f"create Gateway {gname} in {gns}",
        )
    raw = M.spec_of(vs).get("hosts")
    vs_hosts = [h for h in M.as_list(raw) if isinstance(h, str)]
    vs_text = "[" + ", ".join(M.label_str(h) for h in M.as_list(raw)[:_MAX_LISTED]) + "]"
    gw_hosts = [h for hns, h in M.gateway_server_hosts(gw) if hns in ("*", namespace_of(vs))]
    gw_text = _gateway_hosts_text(gw)
    problems: list[str] = []
    hints: list[str] = []
    if not vs_hosts:
        problems.append(f"{ref(vs)} spec.hosts is {M.short(raw) if raw is not None else 'not set'}; expected the "
                        f"host(s) clients use, matching {ref(gw)} spec.servers[*].hosts {gw_text}")
        hints.append(f"set spec.hosts of {ref(vs)}")
    elif not any(M.host_matches(g, v) for g in gw_hosts for v in vs_hosts):
        problems.append(
            f"{ref(vs)} spec.hosts {vs_text} match none of the hosts of {ref(gw)} spec.servers[*].hosts {gw_text} "
            "(IST0132): the gateway never applies its routes and answers 404"
        )
        hints.append(
            f"use host {request_host.strip().lower()} in spec.hosts of {ref(vs)} and of the Gateway server"
            if request_host else "make the VirtualService hosts and the Gateway hosts agree"
        )
    if request_host is not None and not problems:
        rh = request_host.strip().lower()
        if not any(M.host_matches(g, rh) for g in gw_hosts):
            problems.append(f"{ref(gw)} spec.servers[*].hosts {gw_text} do not accept requests for {rh}")
            hints.append(f"serve host {rh} on {ref(gw)}")
        if not any(M.host_matches(v, rh) for v in vs_hosts):
            problems.append(f"{ref(vs)} spec.hosts {vs_text} do not include {rh}, the host requests use")
            hints.append(f"add {rh} to spec.hosts of {ref(vs)}")
    if problems:
        return failed(_join(problems), "; ".join(dict.fromkeys(hints)))
    extra = f" and requests for {request_host.strip().lower()}" if request_host else ""
    return passed(f"{ref(vs)} spec.hosts {vs_text} match {ref(gw)} hosts {gw_text}{extra}")

