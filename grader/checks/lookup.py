"""Finding the objects a check judges, or the failure that says what is there instead.

Shared by the check modules: a Deployment by name, the VirtualService bound to a gateway
that routes to a host, the HTTP route entry a plain request takes, the DestinationRules
for a host."""

from __future__ import annotations

from grader import kinds as K
from grader.checks.framework import not_found, others_in
from grader.mesh.gateways import MESH_GATEWAY, gateway_server_hosts, resolve_gateway_ref, vs_gateways, vs_hosts_in_gateway
from grader.mesh.hosts import host_matches, resolve_host
from grader.mesh.routing import RouteWeights, describe_match, effective_http_route, route_destination_hosts, route_weights
from grader.model import Outcome, failed
from grader.objects import as_list, creation_key, label_str, namespace_of, ref, spec_of
from grader.snapshot import Snapshot
from grader.text import MAX_LISTED, join, name_list, short


def find_deployment(snap: Snapshot, namespace: str, name: str) -> tuple[dict | None, Outcome | None]:
    dep = snap.get(K.DEPLOYMENT, name, namespace)
    if dep is not None:
        return dep, None
    return None, not_found(snap, K.DEPLOYMENT, namespace, name)


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


def no_rule(snap: Snapshot, namespace: str, host: str, fqdn: str) -> Outcome:
    others = snap.list(K.DESTINATION_RULE, namespace)
    found = (
        "found "
        + ", ".join(f"{ref(d)} with spec.host {short(spec_of(d).get('host'))}" for d in others[:MAX_LISTED])
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


def bound_virtualservices(snap: Snapshot, namespace: str, host: str, gateway: str) -> tuple[list[dict], str, str, Outcome | None]:
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

    def facts(vs: dict) -> tuple[bool, bool, bool]:
        bound = gw_key in vs_gateways(vs)
        if gw is not None:
            hosts_ok = vs_hosts_in_gateway(vs, gw)
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
    if not bound:
        issues += vs_gateway_issues(snap, vs, gw_key)
        hints.append(f"list {gateway} in spec.gateways of {ref(vs)}")
    if bound and not hosts_ok:
        vs_hosts = ", ".join(label_str(h) for h in as_list(spec_of(vs).get("hosts"))[:MAX_LISTED])
        if gw is not None:
            issues.append(
                f"{ref(vs)} spec.hosts [{vs_hosts}] match none of the hosts of {ref(gw)} spec.servers[*].hosts "
                f"{gateway_hosts_text(gw)} (IST0132)"
            )
        else:
            issues.append(f"{ref(vs)} spec.hosts [{vs_hosts}] do not include {fqdn}")
        hints.append(f"make spec.hosts of {ref(vs)} match a host of the Gateway")
    if not routes:
        dests = sorted(set(route_destination_hosts(vs)))
        found = f"routes to [{', '.join(dests[:MAX_LISTED])}]" if dests else "has no routes"
        issues.append(f"{ref(vs)} {found} (spec.http[*].route[*].destination.host); expected a route to {fqdn}")
        hints.append(f"route to destination.host {host}")
    others = [o for o in vss if o is not vs]
    if others:
        issues.append(f"other VirtualServices in {namespace}: {name_list(others)}")
    return [], gw_key, fqdn, failed(join(issues), "; ".join(hints))


def entry_weights(vs: dict, idx: int, entry: dict, *, hint: str, expected: str = "",
                   example_weight: int = 100) -> RouteWeights | Outcome:
    """The weights of the route in http[idx] (the entry a plain GET / takes), or a failure when
    that entry has no route or its weights are not integers."""
    where = f"spec.http[{idx}]"
    route = entry.get("route")
    if route is None:
        kind = next((k for k in ("redirect", "directResponse", "delegate") if k in entry), None)
        return failed(
            f"{ref(vs)} {where} (the route a plain GET / takes) has no route"
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


def effective_entry(
    snap: Snapshot, namespace: str, host: str, gateway: str, wanted: str
) -> tuple[dict, int, dict, str, list[str]] | Outcome:
    """``(vs, index, entry, fqdn, notes)`` of the http[] entry a plain GET / takes, or a failure.

    ``wanted`` describes what the entry should carry, for the failure reasons.
    """
    good, gw_key, fqdn, problem = bound_virtualservices(snap, namespace, host, gateway)
    if problem:
        return problem
    vs = good[0]
    notes = [f"{ref(o)} also binds {gw_key}; {ref(vs)} is the oldest and was judged" for o in good[1:2]]
    https = as_list(spec_of(vs).get("http"))
    eff = effective_http_route(vs, gw_key if gw_key != MESH_GATEWAY else None)
    if eff is None:
        if not https:
            return failed(f"{ref(vs)} has no spec.http routes; expected an HTTP route with {wanted}", "add spec.http[]")
        described = "; ".join(f"spec.http[{i}] {describe_match(h)}" for i, h in enumerate(https[:4]))
        return failed(
            f"no spec.http entry of {ref(vs)} matches a plain GET / : {described}",
            f"add a final spec.http entry without match (or with uri prefix /) carrying {wanted}",
        )
    idx, entry = eff
    if idx > 0:
        notes.append(
            f"spec.http[{idx}] is the first entry a plain GET / takes (spec.http[0] {describe_match(https[0])})"
        )
    return vs, idx, entry, fqdn, notes
