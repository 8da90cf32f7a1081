"""Ingress check types: the Gateway and its pods, the address students reach it at, and the
VirtualServices bound to it.

``virtualservice-bound`` accepts any VirtualService of the namespace that is bound to the
gateway, matches its hosts and routes to the host (the task says what, not which name);
``virtualservice-gateway`` and ``virtualservice-hosts`` judge one named VirtualService, one
fault each, so a troubleshooting lab can award points per fault it planted. They share the
lookup and the wording (grader.checks.lookup).
"""

from __future__ import annotations

from typing import Any

from grader import kinds as K
from grader.checks.framework import bad_param, check, cli_name, not_found, others_in, port_param, str_params
from grader.checks.lookup import bound_virtualservices, find_gateway, gateway_hosts_text, get_virtualservice, vs_gateway_issues
from grader.mesh.gateways import (
    ANY_HOST,
    HTTP_PROTOCOLS,
    domain_covers,
    gateway_pods,
    gateway_server_ports,
    server_carries_http,
    server_host_entries,
    server_protocol,
    server_redirects,
    vs_domains,
    vs_gateways,
)
from grader.mesh.hosts import resolve_host
from grader.mesh.selectors import map_selector_matches
from grader.mesh.services import describe_service_ports, named_container_ports, service_exposed_ports, services_selecting
from grader.mesh.workloads import pod_problem, pod_running
from grader.model import Outcome, failed, passed
from grader.objects import as_dict, as_list, is_int, label_str, labels_of, name_of, namespace_of, ref, spec_of, status_of
from grader.snapshot import Snapshot
from grader.text import MAX_LISTED, format_labels, join, name_list, short


def _server_problem(gw: dict, i: int, server: Any, request_host: str | None) -> str | None:
    """Why spec.servers[i] does not answer plain HTTP requests (for ``request_host``), or None."""
    proto = server_protocol(server)
    field = f"{ref(gw)} spec.servers[{i}]"
    if proto not in HTTP_PROTOCOLS:
        if proto == "HTTPS":
            return f"{field}.port.protocol is HTTPS: it expects TLS, so plain HTTP requests to it fail; expected HTTP"
        return (f"{field}.port.protocol is {proto or 'not set'}: the gateway proxies the connection (tcp_proxy) "
                "and never applies a VirtualService's http routes there; expected HTTP")
    if server_redirects(server):
        return (f"{field}.tls.httpsRedirect is true: every plain HTTP request gets a 301 redirect to https instead "
                "of a route")
    hosts = [h for _, h in server_host_entries(gw, server)]
    raw = as_dict(server).get("hosts")
    shown = "[" + ", ".join(label_str(h) for h in as_list(raw)[:MAX_LISTED]) + "]"
    if not hosts:
        return f"{field}.hosts is {shown if raw is not None else 'not set'}; expected \"*\""
    if request_host is not None and not any(domain_covers(h, request_host) for h in hosts):
        if request_host == ANY_HOST:
            return (f"{field}.hosts {shown} do not cover requests for any host (expected \"*\"): requests to "
                    "GATEWAY_URL for another host get 404")
        return f"{field}.hosts {shown} do not include {request_host}: requests for it get 404"
    return None


@check("gateway-bound", reads=[K.GATEWAY, K.POD, K.SERVICE])
def gateway_bound(snap: Snapshot, *, namespace: str, gateway: str, selector: dict | None = None,
                  request_host: str | None = None) -> Outcome:
    """A Gateway configures the ingress gateway pods to answer plain HTTP on a port their Service exposes.

    What Envoy gets (pilot gateway.go buildGatewayListeners): the Gateway's servers become
    listeners of the pods its ``selector`` matches, in every namespace
    (PILOT_SCOPE_GATEWAY_TO_NAMESPACE off); a server port must be a ``port`` or
    ``targetPort`` of the Service in front of them (IST0162). ``selector`` (parameter) names
    the labels of the pods clients reach (a lab passes ``istio: ingressgateway``): a Gateway
    that selects only other pods, such as the egress gateway's, configures the wrong Envoy,
    whatever its ports; an equivalent selector (``app: istio-ingressgateway``) is fine.
    Without it any gateway pods count (a custom ingress gateway). One exposed server must carry HTTP routes in plain text: protocol
    HTTP/HTTP2/GRPC in any case (TCP and TLS get tcp_proxy, buildGatewayTCPBasedFilterChains;
    HTTPS expects TLS), no ``tls.httpsRedirect`` (RequireTls ALL: every request gets a 301),
    and ``hosts`` covering ``request_host`` (``*`` = whatever host clients use, so only a
    ``*`` server host covers it; otherwise 404).
    """
    bad = str_params(namespace=namespace, gateway=gateway)
    if bad:
        return bad
    if selector is not None and (not isinstance(selector, dict) or not selector):
        return bad_param("selector", selector, "a non-empty label map")
    if request_host is not None and (not isinstance(request_host, str) or not request_host.strip()):
        return bad_param("request_host", request_host, 'a host name, or "*" for any host')
    wanted_pods = selector or {}  # none given: any gateway pods (a custom ingress gateway)
    gw_key, gns, gname, gw = find_gateway(snap, gateway, namespace)
    if gw is None:
        return not_found(snap, K.GATEWAY, gns, gname)
    sel = spec_of(gw).get("selector")
    if not isinstance(sel, dict) or not sel:
        return failed(
            f"{ref(gw)} spec.selector is {short(sel) if sel is not None else 'not set'}; expected the labels of the "
            "ingress gateway pods, e.g. istio: ingressgateway",
            "set spec.selector to istio: ingressgateway",
        )
    pods = gateway_pods(snap, gw)
    if not pods:
        not_running = [p for p in snap.list(K.POD) if map_selector_matches(sel, labels_of(p))]
        ingress = [p for p in snap.list(K.POD) if labels_of(p).get("istio") == "ingressgateway"]
        reason = f"{ref(gw)} spec.selector {format_labels(sel)} matches no running pod in any namespace (IST0101)"
        if not_running:
            reason += f"; it matches pod(s) {name_list(not_running, with_ns=True)}, which {pod_problem(not_running[0])}"
        elif ingress:
            reason += "; pods with label istio=ingressgateway: " + ", ".join(
                f"{namespace_of(p)}/{name_of(p)} {format_labels(labels_of(p))}" for p in ingress[:3]
            )
        else:
            reason += "; no pod carries label istio=ingressgateway"
        return failed(reason, "set spec.selector to labels the ingress gateway pods carry, e.g. istio: ingressgateway")
    ingress = [p for p in pods if map_selector_matches(wanted_pods, labels_of(p), empty_matches=True)]
    if not ingress:
        return failed(
            f"{ref(gw)} spec.selector {format_labels(sel)} selects {name_list(pods, with_ns=True)}, which are not the "
            f"ingress gateway (pods labelled {format_labels(wanted_pods)}): clients reach the mesh through the "
            "ingress gateway, whose Envoy never gets this Gateway's servers",
            f"set spec.selector to {format_labels(wanted_pods)}",
        )
    pods = ingress
    services = services_selecting(snap, pods)
    servers = gateway_server_ports(gw)
    if not servers:
        return failed(
            f"{ref(gw)} has no spec.servers; expected at least one server with a port and hosts", "add spec.servers"
        )
    if not services:
        return failed(
            f"no Service selects the gateway pods {name_list(pods, with_ns=True)} of {ref(gw)}, so no server port is "
            "exposed (IST0162)",
            "expose the gateway pods with a Service",
        )
    exposed: set[int] = set()
    for svc in services:
        exposed |= service_exposed_ports(svc, pods)
    svc_text = ", ".join(f"{ref(s)} (ports {describe_service_ports(s)})" for s in services[:3])
    problems = []
    for i, number in servers:
        field = f"spec.servers[{i}].port.number"
        if not is_int(number):
            problems.append(
                f"{ref(gw)} {field} is {short(number) if number is not None else 'missing'}; expected a port number"
            )
        elif number not in exposed:
            problems.append(f"{ref(gw)} {field} {number} is not a port or targetPort of {svc_text} (IST0162)")
    if problems:
        return failed(
            join(problems), f"use a port the gateway Service exposes: {', '.join(str(p) for p in sorted(exposed))}"
        )
    rh = request_host.strip().lower() if request_host else None
    all_servers = as_list(spec_of(gw).get("servers"))
    why = [_server_problem(gw, i, all_servers[i], rh) for i, _ in servers]
    if all(w is not None for w in why):
        hint = "give a server port.protocol HTTP" + (' and hosts ["*"]' if rh == ANY_HOST else
                                                     f" and host {rh}" if rh else "")
        return failed(join([w for w in why if w]), hint + ", without tls.httpsRedirect")
    serving = next(i for (i, _), w in zip(servers, why, strict=True) if w is None)
    hosts = ", ".join(label_str(h) for h in as_list(as_dict(all_servers[serving]).get("hosts"))[:MAX_LISTED])
    what = f"hosts [{hosts}]" if rh is None else "any host" if rh == ANY_HOST else rh
    return passed(f"{ref(gw)} selects {name_list(pods, with_ns=True)} and every server port is exposed by {svc_text}; "
                  f"spec.servers[{serving}] answers plain HTTP for {what}")


def _route_admission_problem(route: dict) -> str | None:
    for ing in as_list(status_of(route).get("ingress")):
        for cond in as_list(as_dict(ing).get("conditions")):
            c = as_dict(cond)
            if c.get("type") == "Admitted" and label_str(c.get("status")) == "False":
                return (
                    f"{ref(route)} is not admitted by router {label_str(as_dict(ing).get('routerName'))}: "
                    f"{short(c.get('message') or c.get('reason'), 160)}"
                )
    return None


def _route_port_problem(route: dict, svc: dict, pods: list[dict]) -> tuple[str | None, str]:
    """OpenShift routers match spec.port.targetPort against the endpoint port name (the
    Service port name) or number (the Service targetPort)."""
    target = as_dict(spec_of(route).get("port")).get("targetPort")
    ports = [as_dict(sp) for sp in as_list(spec_of(svc).get("ports"))]
    if target is None:
        first = ports[0] if ports else {}
        return (
            f"{ref(route)} spec.port.targetPort is not set, so the router sends traffic to the first port of "
            f"{ref(svc)} ({label_str(first.get('name')) or label_str(first.get('port'))}), which need not be "
            "the HTTP port",
            "",
        )
    for sp in ports:
        name, tp = sp.get("name"), sp.get("targetPort", sp.get("port"))
        if isinstance(target, str) and not target.isdigit() and target == name:
            return None, f"port {name} ({label_str(sp.get('port'))}->{label_str(tp)})"
        number = int(target) if isinstance(target, str) and target.isdigit() else target
        resolved = tp
        if isinstance(tp, str) and not tp.isdigit():
            named = named_container_ports(pods, tp)
            resolved = next(iter(named), None)
        elif isinstance(tp, str):
            resolved = int(tp)
        if is_int(number) and is_int(resolved) and number == resolved:
            return None, f"port {label_str(name) or number} ({label_str(sp.get('port'))}->{number})"
    return (
        f"{ref(route)} spec.port.targetPort {short(target)} is neither a port name nor a targetPort of {ref(svc)} "
        f"(ports {describe_service_ports(svc)}); the router finds no endpoint port for it",
        "",
    )


@check("ingress-endpoint", reads=[K.ROUTE, K.SERVICE, K.POD], needs=[K.SERVICE, K.POD])
def ingress_endpoint(
    snap: Snapshot,
    *,
    namespace: str = "",
    service: str = "istio-ingressgateway",
    route: str = "istio-ingressgateway",
    port: int = 80,
) -> Outcome:
    """The ingress gateway can be reached from outside: its Route (OpenShift) or its Service (Istio).

    OpenShift Service Mesh: GATEWAY_URL is the host of Route istio-ingressgateway in the
    control plane namespace; upstream Istio: the address of Service istio-ingressgateway.
    """
    namespace = snap.control_plane_namespace if namespace == "" else namespace  # the default: the control plane's
    bad = str_params(namespace=namespace, service=service, route=route)
    if bad:
        return bad
    bad = port_param("port", port)
    if bad:
        return bad
    cli = cli_name(snap)
    svc = snap.get(K.SERVICE, service, namespace)
    if svc is None:
        return not_found(snap, K.SERVICE, namespace, service, "check that the control plane installed the ingress "
                         f"gateway ({cli} get deployment,svc -n {namespace})", why=", so the ingress gateway has no address")
    sel = spec_of(svc).get("selector")
    pods = [
        p for p in snap.list(K.POD, namespace)
        if pod_running(p) and isinstance(sel, dict) and sel and map_selector_matches(sel, labels_of(p))
    ]
    if not pods:
        return failed(
            f"{ref(svc)} spec.selector {format_labels(sel)} selects no running ingress gateway pod in {namespace}",
            f"check the gateway Deployment: {cli} get pods -n {namespace}",
        )
    use_route = snap.flavour == "ossm2" or snap.openshift
    if not use_route:
        if not any(is_int(as_dict(sp).get("port")) and as_dict(sp)["port"] == port
                   for sp in as_list(spec_of(svc).get("ports"))):
            return failed(
                f"{ref(svc)} spec.ports has no port {port} (ports {describe_service_ports(svc)})",
                f"expose port {port} on Service {service}",
            )
        spec = spec_of(svc)
        ingress = [as_dict(i) for i in as_list(as_dict(status_of(svc).get("loadBalancer")).get("ingress"))]
        address = next((label_str(i.get("ip") or i.get("hostname")) for i in ingress if i.get("ip") or
                        i.get("hostname")), "")
        where = (
            f"load balancer address {address}" if address
            else f"type {label_str(spec.get('type') or 'ClusterIP')} (no external address: use "
                 f"{cli} port-forward svc/{service} -n {namespace} 8080:{port})"
        )
        return passed(f"{ref(svc)} serves port {port} from pod(s) {name_list(pods)}; GATEWAY_URL: {where}")
    if K.ROUTE.kind in snap.missing_kinds:
        return failed(
            "the cluster does not serve Route (route.openshift.io), so the ingress gateway has no OpenShift route; "
            f"use the address of {ref(svc)} instead",
            f"{cli} get svc {service} -n {namespace}",
        )
    rt = snap.get(K.ROUTE, route, namespace)
    expose = f"oc expose svc/{service} --port=http2 -n {namespace}"
    if rt is None:
        return not_found(snap, K.ROUTE, namespace, route, f"create it: {expose}",
                         why=", so GATEWAY_URL cannot be read from it")
    problems: list[str] = []
    to = as_dict(spec_of(rt).get("to"))
    to_kind, to_name = to.get("kind", "Service"), to.get("name")
    if to_kind != "Service" or to_name != service:
        problems.append(
            f"{ref(rt)} spec.to is {label_str(to_kind)} {short(to_name)}; expected Service {service} "
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
        return failed(join(problems), f"point Route {route} at Service {service} port http2, e.g. {expose}")
    host = label_str(spec_of(rt).get("host")) or "(no host yet)"
    return passed(
        f"{ref(rt)} (host {host}) sends traffic to {ref(svc)} {port_text} served by pod(s) {name_list(pods)}; "
        f"GATEWAY_URL={host}"
    )


@check("virtualservice-bound", reads=[K.VIRTUAL_SERVICE, K.GATEWAY])
def virtualservice_bound(snap: Snapshot, *, namespace: str, host: str, gateway: str,
                         request_host: str | None = None) -> Outcome:
    """A VirtualService is bound to the Gateway, the gateway applies it to the requests clients
    send, and it routes to the host.

    What Envoy gets (pilot gateway.go buildGatewayHTTPRouteConfig): for each HTTP server of
    the Gateway, virtual hosts whose domains are the server's hosts (those visible to the
    VirtualService's namespace) intersected with the VirtualService's ``hosts``, resolved
    like every rule host (``web`` is ``web.<ns>.svc.cluster.local``, a dotted name is taken
    as written); a request whose Host header matches no domain gets 404, and servers with
    protocol TCP/TLS never apply ``http`` routes. ``request_host`` is the host clients use
    (``*`` = any host, e.g. GATEWAY_URL: only a ``*`` virtual host takes it). Inputs:
    ``spec.gateways`` (a short name is the VirtualService's namespace, IST0101/KIA1102),
    ``spec.exportTo`` (the gateway's Envoy sees only VirtualServices exported to its
    namespace, push_context.go), ``spec.hosts``, the Gateway's servers and the destinations.
    """
    bad = str_params(namespace=namespace, host=host, gateway=gateway)
    if bad:
        return bad
    if request_host is not None and (not isinstance(request_host, str) or not request_host.strip()):
        return bad_param("request_host", request_host, 'a host name, or "*" for any host')
    good, gw_key, fqdn, problem = bound_virtualservices(snap, namespace, host, gateway, request_host)
    if problem:
        return problem
    for_what = "" if request_host is None else (" for any host" if request_host.strip() == ANY_HOST
                                                 else f" for {request_host.strip().lower()}")
    return passed(f"{ref(good[0])} is bound to Gateway {gw_key}, matches its hosts{for_what} and routes to {fqdn}")


@check("virtualservice-gateway", reads=[K.VIRTUAL_SERVICE, K.GATEWAY])
def virtualservice_gateway(snap: Snapshot, *, namespace: str, virtualservice: str, gateway: str) -> Outcome:
    """A VirtualService lists the Gateway in spec.gateways, and the Gateway it names exists.

    What Envoy gets (pilot push_context.go VirtualServicesForGateway): the gateway's routes
    include a VirtualService only when its ``gateways`` names the Gateway (``ns/name``; a
    short name is the VirtualService's namespace, so a Gateway elsewhere needs the long
    form; none listed = ``mesh``, sidecars only).
    """
    bad = str_params(namespace=namespace, virtualservice=virtualservice, gateway=gateway)
    if bad:
        return bad
    vs, missing = get_virtualservice(snap, namespace, virtualservice)
    if missing:
        return missing
    gw_key, gns, gname, gw = find_gateway(snap, gateway, namespace)
    listed = gw_key in vs_gateways(vs)
    if listed and gw is not None:
        return passed(f"{ref(vs)} spec.gateways lists {gw_key}, which exists")
    if listed:
        return failed(
            f"{ref(vs)} spec.gateways lists {gw_key}, but Gateway {gw_key} does not exist (IST0101, KIA1102); "
            + others_in(snap, K.GATEWAY, gns),
            f"create Gateway {gname} in {gns}",
        )
    issues = vs_gateway_issues(snap, vs, gw_key)
    if gw is None:
        issues.append(f"Gateway {gw_key} does not exist either")
    return failed(join(issues), f"set spec.gateways of {ref(vs)} to [{gateway}]")


@check("virtualservice-hosts", reads=[K.VIRTUAL_SERVICE, K.GATEWAY])
def virtualservice_hosts(
    snap: Snapshot, *, namespace: str, virtualservice: str, gateway: str, request_host: str | None = None
) -> Outcome:
    """The VirtualService's hosts match the Gateway's server hosts (and the request host, if given).

    The gateway only applies a VirtualService's routes to requests whose Host matches both
    a server host of the Gateway and a host of the VirtualService (IST0132): pilot gateway.go
    builds virtual hosts from their intersection, with the VirtualService's hosts resolved
    like every rule host (``web`` is ``web.<ns>.svc.cluster.local``), on servers that carry
    HTTP routes only (mesh.gateways.vs_domains).
    """
    bad = str_params(namespace=namespace, virtualservice=virtualservice, gateway=gateway)
    if bad:
        return bad
    if request_host is not None and (not isinstance(request_host, str) or not request_host.strip()):
        return bad_param("request_host", request_host, "a host name")
    vs, missing = get_virtualservice(snap, namespace, virtualservice)
    if missing:
        return missing
    gw_key, gns, gname, gw = find_gateway(snap, gateway, namespace)
    if gw is None:
        return not_found(snap, K.GATEWAY, gns, gname, f"create Gateway {gname} in {gns}",
                         why=f", so the hosts of {ref(vs)} cannot be matched against it")
    raw = spec_of(vs).get("hosts")
    vs_hosts = [h for h in as_list(raw) if isinstance(h, str)]
    vs_text = "[" + ", ".join(label_str(h) for h in as_list(raw)[:MAX_LISTED]) + "]"
    gw_hosts = [h for server in as_list(spec_of(gw).get("servers")) if server_carries_http(server)
                for hns, h in server_host_entries(gw, server) if hns in ("*", namespace_of(vs))]
    domains = [d for _, d in vs_domains(vs, gw)]
    resolved = {h: resolve_host(h, namespace_of(vs)) for h in vs_hosts}
    gw_text = gateway_hosts_text(gw)
    problems: list[str] = []
    hints: list[str] = []
    if not vs_hosts:
        problems.append(f"{ref(vs)} spec.hosts is {short(raw) if raw is not None else 'not set'}; expected the "
                        f"host(s) clients use, matching {ref(gw)} spec.servers[*].hosts {gw_text}")
        hints.append(f"set spec.hosts of {ref(vs)}")
    elif not domains:
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
        if not any(domain_covers(g, rh) for g in gw_hosts):
            problems.append(f"{ref(gw)} spec.servers[*].hosts {gw_text} do not accept requests for {rh}")
            hints.append(f"serve host {rh} on {ref(gw)}")
        if not any(domain_covers(v, rh) for v in resolved.values()):
            means = [f"{h} means {r}" for h, r in resolved.items() if r != h.strip().lower()]
            problems.append(f"{ref(vs)} spec.hosts {vs_text} do not include {rh}, the host requests use"
                            + (f" ({'; '.join(means)})" if means else ""))
            hints.append(f"add {rh} to spec.hosts of {ref(vs)}")
        if not problems and not any(domain_covers(d, rh) for d in domains):
            problems.append(f"the hosts of {ref(vs)} and {ref(gw)} intersect in {', '.join(domains)}, which do not "
                            f"include {rh}: requests for it get 404")
            hints.append(f"use host {rh} on both")
    if problems:
        return failed(join(problems), "; ".join(dict.fromkeys(hints)))
    extra = f" and requests for {request_host.strip().lower()}" if request_host else ""
    return passed(f"{ref(vs)} spec.hosts {vs_text} match {ref(gw)} hosts {gw_text}{extra}")
