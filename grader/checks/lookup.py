"""Finding the objects a check judges, or the failure that says what is there instead.

Shared by the check modules: a Deployment by name, the VirtualService bound to a gateway
that routes to a host, the HTTP route entry a plain request takes, the DestinationRules
for a host."""

from __future__ import annotations

from dataclasses import dataclass

from grader import kinds as K
from grader.checks.framework import not_found, others_in
from grader.mesh.destinationrules import PolicySetting, dr_subset_names, rules_for_host
from grader.mesh.gateways import (
    ANY_HOST,
    MESH_GATEWAY,
    domain_covers,
    exported_to,
    gateway_pods,
    gateway_server_hosts,
    resolve_gateway_ref,
    server_protocol,
    vs_domains,
    vs_gateways,
)
from grader.mesh.hosts import dotted_short_name, host_matches, resolve_host
from grader.mesh.routing import (
    RouteWeights,
    describe_match,
    reachable_http_routes,
    route_destination_hosts,
    route_weights,
)
from grader.mesh.services import service_ports
from grader.model import Outcome, failed
from grader.objects import as_list, creation_key, label_str, namespace_of, ref, spec_of
from grader.snapshot import Snapshot
from grader.text import MAX_LISTED, join, name_list, short


def find_deployment(snap: Snapshot, namespace: str, name: str) -> tuple[dict | None, Outcome | None]:
    dep = snap.get(K.DEPLOYMENT, name, namespace)
    if dep is not None:
        return dep, None
    return None, not_found(snap, K.DEPLOYMENT, namespace, name)


def find_namespace(snap: Snapshot, namespace: str, hint: str) -> tuple[dict | None, Outcome | None]:
    """The Namespace, or the failure naming it (there is no "others" list worth giving)."""
    ns_obj = snap.get(K.NAMESPACE, namespace)
    if ns_obj is not None:
        return ns_obj, None
    return None, failed(f"Namespace {namespace} not found", hint)


def get_virtualservice(snap: Snapshot, namespace: str, name: str) -> tuple[dict | None, Outcome | None]:
    vs = snap.get(K.VIRTUAL_SERVICE, name, namespace)
    if vs is not None:
        return vs, None
    return None, not_found(snap, K.VIRTUAL_SERVICE, namespace, name, f"create VirtualService {name} in {namespace}")


def find_gateway(snap: Snapshot, gateway: str, namespace: str) -> tuple[str, str, str, dict | None]:
    """``(ns/name, ns, name, the Gateway or None)`` of a check's gateway parameter (a short name
    means the check's namespace; ``mesh`` is no Gateway)."""
    gw_key = resolve_gateway_ref(gateway, namespace)
    gns, _, gname = gw_key.partition("/")
    return gw_key, gns, gname, snap.get(K.GATEWAY, gname, gns) if gw_key != MESH_GATEWAY else None


def dotted(host: object, fqdn: str) -> str:
    """`` (web.webapp has a dot, so Istio takes it as written ...)`` when ``host`` abbreviates ``fqdn``."""
    if not dotted_short_name(host, fqdn):
        return ""
    return (f" ({short(host)} has a dot, so Istio takes it as written: it expands only names without a dot, "
            "ResolveShortnameToFQDN, and it names no Service)")


def paren(text: str) -> str:
    return f" ({text})" if text else ""


def no_rule(snap: Snapshot, namespace: str, host: str, fqdn: str) -> Outcome:
    others = snap.list(K.DESTINATION_RULE, namespace)
    found = (
        "found "
        + ", ".join(f"{ref(d)} with spec.host {short(spec_of(d).get('host'))}{dotted(spec_of(d).get('host'), fqdn)}"
                    for d in others[:MAX_LISTED])
        if others
        else f"namespace {namespace} has no DestinationRules"
    )
    return failed(
        f"no DestinationRule in namespace {namespace} has spec.host {host} ({fqdn}); {found}",
        f"create a DestinationRule in {namespace} with spec.host: {host}",
    )


def vs_gateway_issues(snap: Snapshot, vs: dict, gw_key: str) -> list[str]:
    raw = spec_of(vs).get("gateways")
    listed = as_list(raw)
    if raw is None or listed == []:
        text = f"{ref(vs)} spec.gateways is not set, which means [mesh] (sidecars only)"
    elif not isinstance(raw, list):
        text = f"{ref(vs)} spec.gateways is {short(raw)}, not a list"
    else:
        text = f"{ref(vs)} spec.gateways is [{', '.join(label_str(g) for g in listed)}]"
    issues = [f"{text}; expected it to list {gw_key}"]
    vs_ns = namespace_of(vs)
    for i, g in enumerate(listed):
        key = resolve_gateway_ref(g, vs_ns)
        if key in ("", MESH_GATEWAY) or key == gw_key:
            continue
        gns, _, gname = key.partition("/")
        if snap.get(K.GATEWAY, gname, gns) is None:
            issues.append(
                f"spec.gateways[{i}] {short(g)} refers to Gateway {key}, which does not exist (IST0101, KIA1102)"
            )
    return issues


def gateway_hosts_text(gw: dict) -> str:
    hosts = [h if ns == "*" else f"{ns}/{h}" for ns, h in gateway_server_hosts(gw)]
    return "[" + ", ".join(hosts[:MAX_LISTED]) + "]"


def gateway_client_namespace(snap: Snapshot, gw: dict | None) -> str:
    """The namespace of the pods a Gateway configures: the rules its Envoy sees are those
    exported there (pilot push_context.go); the control plane namespace when none runs."""
    pods = gateway_pods(snap, gw) if gw is not None else []
    return namespace_of(pods[0]) if pods else snap.control_plane_namespace


def vs_host_problem(vs: dict, gw: dict, request_host: str | None) -> str | None:
    """Why the gateway applies none of the VirtualService's routes to the requests clients send, or None.

    gateway.go buildGatewayHTTPRouteConfig: the virtual hosts are the intersections of the
    HTTP servers' hosts with the VirtualService's resolved hosts; a request whose Host header
    matches none of them gets 404.
    """
    vs_hosts = ", ".join(label_str(h) for h in as_list(spec_of(vs).get("hosts"))[:MAX_LISTED])
    domains = vs_domains(vs, gw)
    if not domains:
        other = vs_domains(vs, gw, http_only=False)
        if other:
            servers = as_list(spec_of(gw).get("servers"))
            protos = sorted({server_protocol(servers[i]) or "unset" for i, _ in other})
            return (f"{ref(vs)} spec.hosts [{vs_hosts}] match only server(s) of {ref(gw)} with protocol "
                    f"{', '.join(protos)}, where the gateway proxies the connection (tcp_proxy) and never applies "
                    "http routes")
        return (f"{ref(vs)} spec.hosts [{vs_hosts}] match none of the hosts of {ref(gw)} spec.servers[*].hosts "
                f"{gateway_hosts_text(gw)} (IST0132)")
    rh = request_host.strip().lower() if request_host else None
    if rh is None or any(domain_covers(d, rh) for _, d in domains):
        return None
    shown = ", ".join(sorted({d for _, d in domains})[:MAX_LISTED])
    plain = [h for h in as_list(spec_of(vs).get("hosts")) if isinstance(h, str) and "." not in h and h != ANY_HOST]
    means = (f" ({', '.join(plain)} means {', '.join(resolve_host(h, namespace_of(vs)) for h in plain)}: a name "
             "without a dot is a Service name in the VirtualService's namespace)") if plain else ""
    who = "any host" if rh == ANY_HOST else rh
    return (f"{ref(vs)} spec.hosts [{vs_hosts}] give {ref(gw)} the virtual host(s) {shown}{means}, so requests for "
            f"{who} match none of them and get 404; expected " + ('"*"' if rh == ANY_HOST else rh))


def bound_virtualservices(snap: Snapshot, namespace: str, host: str, gateway: str,
                          request_host: str | None = None) -> tuple[list[dict], str, str, Outcome | None]:
    """VirtualServices in ``namespace`` bound to the gateway, matching its hosts and routing to host.

    Returns (candidates oldest first, gateway key, host FQDN, failure when there are none).
    """
    gw_key, gns, gname, gw = find_gateway(snap, gateway, namespace)
    fqdn = resolve_host(host, namespace)
    if gw_key != MESH_GATEWAY:
        if gw is None:
            return (
                [],
                gw_key,
                fqdn,
                failed(
                    f"Gateway {gw_key} does not exist, so no VirtualService can be bound to it (IST0101, KIA1102); "
                    f"{others_in(snap, K.GATEWAY, gns)}",
                    f"create Gateway {gname} in namespace {gns}",
                ),
            )
    vss = sorted(snap.list(K.VIRTUAL_SERVICE, namespace), key=creation_key)
    if not vss:
        return (
            [],
            gw_key,
            fqdn,
            failed(
                f"no VirtualService in namespace {namespace}; expected one bound to Gateway {gw_key} routing to {fqdn}",
                f"create a VirtualService in {namespace} with spec.gateways [{gateway}] and a route to {host}",
            ),
        )

    # pilot push_context.go VirtualServicesForGateway: the gateway's Envoy sees only the
    # VirtualServices exported to the namespace it runs in.
    client_ns = gateway_client_namespace(snap, gw)

    def facts(vs: dict) -> tuple[bool, bool, bool]:
        bound = gw_key in vs_gateways(vs) and (gw is None or exported_to(vs, client_ns))
        if gw is not None:
            hosts_ok = vs_host_problem(vs, gw, request_host) is None
        else:
            hosts_ok = any(
                host_matches(resolve_host(h, namespace_of(vs)), fqdn) for h in as_list(spec_of(vs).get("hosts"))
            )
        routes = fqdn in route_destination_hosts(vs)
        return bound, hosts_ok, routes

    scored = [(vs, *facts(vs)) for vs in vss]
    good = [vs for vs, b, h, r in scored if b and h and r]
    if good:
        return good, gw_key, fqdn, None
    vs, bound, hosts_ok, routes = max(scored, key=lambda s: s[3] * 4 + s[1] * 2 + s[2])
    issues: list[str] = []
    hints: list[str] = []
    if not bound and gw_key in vs_gateways(vs):
        issues.append(f"{ref(vs)} spec.exportTo {short(spec_of(vs).get('exportTo'))} does not export it to "
                      f"namespace {client_ns}, where the gateway's Envoy runs: the gateway never sees its routes "
                      "(404)")
        hints.append(f"remove spec.exportTo from {ref(vs)} or add {client_ns} to it")
    elif not bound:
        issues += vs_gateway_issues(snap, vs, gw_key)
        hints.append(f"list {gateway} in spec.gateways of {ref(vs)}")
    if bound and not hosts_ok:
        vs_hosts = ", ".join(label_str(h) for h in as_list(spec_of(vs).get("hosts"))[:MAX_LISTED])
        if gw is not None:
            issues.append(vs_host_problem(vs, gw, request_host) or "")
        else:
            issues.append(f"{ref(vs)} spec.hosts [{vs_hosts}] do not include {fqdn}")
        hints.append(f"make spec.hosts of {ref(vs)} match a host of the Gateway")
    if not routes:
        dests = sorted(set(route_destination_hosts(vs)))
        found = f"routes to [{', '.join(dests[:MAX_LISTED])}]" if dests else "has no routes"
        found += "".join(dotted(d, fqdn) for d in dests[:MAX_LISTED])
        issues.append(f"{ref(vs)} {found} (spec.http[*].route[*].destination.host); expected a route to {fqdn}")
        hints.append(f"route to destination.host {host}")
    others = [o for o in vss if o is not vs]
    if others:
        issues.append(f"other VirtualServices in {namespace}: {name_list(others)}")
    return [], gw_key, fqdn, failed(join(issues), "; ".join(hints))


def entry_weights(vs: dict, idx: int, entry: dict, *, hint: str, expected: str = "",
                  example_weight: int = 100, role: str = "") -> RouteWeights | Outcome:
    """The weights of the route in http[idx], or a failure when that entry has no route or its
    weights are not integers. ``role`` says which requests take the entry."""
    where = f"spec.http[{idx}]"
    route = entry.get("route")
    if route is None:
        kind = next((k for k in ("redirect", "directResponse", "delegate") if k in entry), None)
        return failed(
            f"{ref(vs)} {where}{paren(role)} has no route"
            + (f"; it uses {kind}" if kind else "") + (f"; {expected}" if expected else ""),
            hint,
        )
    rw = route_weights(route, namespace_of(vs))
    if not rw.ok:
        return failed(
            join([f"{ref(vs)} {where}.{path} {why}" for path, why in rw.errors]),
            f'weights must be integers, e.g. weight: {example_weight} (not "{example_weight}")',
        )
    return rw


@dataclass
class RequestRoutes:
    """The http[] entries of the judged VirtualService that requests through the gateway can
    take (mesh.routing.reachable_http_routes): "every request" in a check means every one of them."""

    vs: dict
    entries: list[tuple[int, dict]]
    catch_all: bool
    fqdn: str
    gw_key: str
    notes: list[str]
    client_ns: str  # where the gateway's Envoy runs: the DestinationRules it sees are those exported there

    def role(self, idx: int) -> str:
        """Which requests take spec.http[idx], for reasons ('' when every request takes it)."""
        entry = dict(self.entries)[idx]
        if self.catch_all and idx == self.entries[-1][0]:
            return "" if len(self.entries) == 1 else "it takes every request the entries before it leave"
        return "it " + describe_match(entry)

    def where_all(self) -> str:
        """``spec.http[0]`` or ``spec.http[0] and spec.http[1]``."""
        return " and ".join(f"spec.http[{i}]" for i, _ in self.entries)

    def scope(self) -> str:
        """The pass-reason phrase saying what "every request" meant."""
        if len(self.entries) == 1:
            return f"every request through {self.gw_key} takes it"
        return f"every route a request through {self.gw_key} can take"

    def uncaught(self, consequence: str) -> list[str]:
        """The problem when no entry takes every request: the rest get 404."""
        if self.catch_all:
            return []
        last = self.entries[-1][0]
        return [f"no spec.http entry of {ref(self.vs)} takes every request (spec.http[{last}] "
                f"{describe_match(self.entries[-1][1])}): requests that match none (e.g. GET /other) get 404"
                + (f" and {consequence}" if consequence else "")]

    def unreached(self, key: str) -> list[str]:
        """Other http[] entries that set ``key`` although no request through the gateway takes them."""
        taken = {i for i, _ in self.entries}
        out = []
        for j, other in enumerate(as_list(spec_of(self.vs).get("http"))):
            if j not in taken and isinstance(other, dict) and other.get(key) is not None:
                out.append(f"spec.http[{j}] sets {key}, but no request through {self.gw_key} reaches it (it "
                           f"{describe_match(other)})")
        return out[:2]


def request_routes(snap: Snapshot, namespace: str, host: str, gateway: str, wanted: str) -> RequestRoutes | Outcome:
    """Every http[] entry requests through the gateway can take in the VirtualService bound to
    it that routes to the host (the oldest when several), or a failure.

    ``wanted`` describes what the entries should carry, for the failure reasons.
    """
    good, gw_key, fqdn, problem = bound_virtualservices(snap, namespace, host, gateway)
    if problem:
        return problem
    vs = good[0]
    notes = [f"{ref(o)} also binds {gw_key}; {ref(vs)} is the oldest and was judged" for o in good[1:2]]
    https = as_list(spec_of(vs).get("http"))
    reach = reachable_http_routes(vs, gw_key if gw_key != MESH_GATEWAY else None)
    if not reach.entries:
        if not https:
            return failed(f"{ref(vs)} has no spec.http routes; expected an HTTP route with {wanted}", "add spec.http[]")
        described = "; ".join(f"spec.http[{i}] {describe_match(h)}" for i, h in enumerate(https[:4]))
        return failed(
            f"no spec.http entry of {ref(vs)} applies to requests through {gw_key}: {described}",
            f"add a final spec.http entry without match (or with uri prefix /) carrying {wanted}",
        )
    gw = find_gateway(snap, gw_key, namespace)[3]
    return RequestRoutes(vs, list(reach.entries), reach.catch_all, fqdn, gw_key, notes,
                         gateway_client_namespace(snap, gw))


def subset_problem(snap: Snapshot, vs: dict, where: str, used: list[str], fqdn: str, client_ns: str) -> str | None:
    """Subsets a route uses that the gateway's Envoy has no cluster for: defined in no
    DestinationRule for the host, or only in rules not exported to the gateway's namespace."""
    rules = rules_for_host(snap, fqdn, None)
    visible = {n for dr in rules if exported_to(dr, client_ns) for n in dr_subset_names(dr)}
    missing = [u for u in used if u not in visible]
    if not missing:
        return None
    hidden = [dr for dr in rules if not exported_to(dr, client_ns) and set(missing) & set(dr_subset_names(dr))]
    if hidden:
        dr = hidden[0]
        return (f"{ref(vs)} {where} routes to subset(s) {', '.join(missing)}, which {ref(dr)} defines but exports only "
                f"to {short(spec_of(dr).get('exportTo'))} (spec.exportTo), so the gateway's Envoy in namespace "
                f"{client_ns} does not see it: those requests fail with 503")
    return (f"{ref(vs)} {where} routes to subset(s) {', '.join(missing)}, defined in no DestinationRule for {fqdn}; "
            "those requests fail with 503 (IST0101, KIA1107)")


# -- the Envoy clusters a DestinationRule shapes ------------------------------------------
def scope_text(subset: str | None, port: int | None, ports: list) -> str:
    """``the host``, ``subset v1``, ``port 80``, ``subset v1, port 80`` (the port when it matters)."""
    if port is None or len(ports) < 2:
        return "the host" if subset is None else f"subset {subset}"
    return f"port {port}" if subset is None else f"subset {subset}, port {port}"


def setting_scope(setting: PolicySetting, subset: str | None, port: int | None, ports: list) -> str:
    """The scope of one cluster's setting; a port-level setting always names its port."""
    port_level = "portLevelSettings" in (setting.path or setting.replaced_by or "")
    return scope_text(subset, port, [port, port] if port_level else ports)


def clusters(snap: Snapshot, dr: dict, fqdn: str) -> tuple[list[tuple[str | None, int | None]], list]:
    """(subset, port) of every Envoy cluster the DestinationRule shapes: the host and each
    subset, on each Service port (one cluster per port: outbound|port|subset|host)."""
    ports: list = service_ports(snap, fqdn) or [None]
    return [(sub, port) for sub in [None, *dr_subset_names(dr)] for port in ports], ports
