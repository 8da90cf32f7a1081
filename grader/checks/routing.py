"""Routing check types: DestinationRule subsets, and where the route a plain request takes
sends it (a weighted split, one destination, a Service port).

``traffic-split`` judges the ratio between subsets (relative weights: 8:2 is 80:20) and
needs subsets; ``route-destination`` judges that every request goes to one host, with or
without a subset, beside a fault or a retry policy that must not replace the route. Both
judge every route entry a request through the gateway can take (grader.checks.lookup.request_routes,
mesh.routing.reachable_http_routes): "every request" is every one of them, and when none catches
every request the rest get 404.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from grader import kinds as K
from grader.checks.framework import bad_param, check, not_found, port_param, str_params
from grader.checks.lookup import dotted, entry_weights, no_rule, paren, request_routes, subset_problem
from grader.mesh.destinationrules import rules_for_host
from grader.mesh.gateways import resolve_gateway_ref
from grader.mesh.hosts import host_matches, resolve_host, service_of_host
from grader.mesh.routing import RouteWeights, describe_match, reachable_http_routes, route_weights
from grader.mesh.selectors import map_selector_matches, subset_selects
from grader.mesh.services import describe_service_ports
from grader.mesh.workloads import pod_running
from grader.model import Outcome, failed, passed
from grader.objects import as_dict, as_list, is_int, label_str, labels_of, namespace_of, ref, spec_of
from grader.snapshot import Snapshot
from grader.text import MAX_LISTED, format_labels, join, name_list, percent, short


def _host_pods(snap: Snapshot, fqdn: str) -> tuple[list[dict] | None, str, str | None]:
    """Running pods behind a host (None for a ServiceEntry host), its description, and a problem."""
    svc_ref = service_of_host(fqdn)
    if svc_ref:
        svc_ns, svc_name = svc_ref
        svc = snap.get(K.SERVICE, svc_name, svc_ns)
        if svc is not None:
            sel = spec_of(svc).get("selector")
            pods = [
                p for p in snap.list(K.POD, svc_ns) if pod_running(p) and map_selector_matches(sel, labels_of(p))
            ]
            return pods, ref(svc), None
    entries = [
        se
        for se in snap.list(K.SERVICE_ENTRY)
        if any(host_matches(h, fqdn) for h in as_list(spec_of(se).get("hosts")))
    ]
    if entries:
        return None, ref(entries[0]), None
    desc = f"Service {svc_ref[0]}/{svc_ref[1]}" if svc_ref else fqdn
    return [], desc, f"{desc} does not exist, so the DestinationRule host matches nothing (IST0174)"


def _subset_problems(dr: dict, expected: dict, pods: list[dict] | None, where: str) -> list[str]:
    """Problems of one DestinationRule's subsets; ``pods`` None = endpoints not judged (ServiceEntry)."""
    subsets = spec_of(dr).get("subsets")
    if subsets is not None and not isinstance(subsets, list):
        return [f"{ref(dr)} spec.subsets is {short(subsets)}, not a list"]
    entries = as_list(subsets)
    names = [as_dict(s).get("name") for s in entries]
    shown = "[" + ", ".join(label_str(n) for n in names) + "]"
    problems = []
    for sname, exp_labels in expected.items():
        if sname not in names:
            problems.append(f"{ref(dr)} has subsets {shown}; expected a subset named {sname}")
            continue
        idx = names.index(sname)
        field = f"spec.subsets[{idx}].labels"
        sub_labels = as_dict(entries[idx]).get("labels")
        if sub_labels is not None and not isinstance(sub_labels, dict):
            problems.append(f"{ref(dr)} {field} is {short(sub_labels)}, not a label map")
            continue
        if pods is None:
            continue
        selected = [p for p in pods if subset_selects(sub_labels, labels_of(p))]
        wanted = [p for p in pods if map_selector_matches(exp_labels, labels_of(p))]
        selected_ids, wanted_ids = {id(p) for p in selected}, {id(p) for p in wanted}
        shown_labels = (
            f"{field} {format_labels(sub_labels)}"
            if sub_labels
            else f"{field} not set, so every pod of the host (KIA0209)"
        )
        if not selected:
            keys = list(as_dict(sub_labels)) or list(exp_labels)
            seen = sorted({f"{k}={label_str(labels_of(p)[k])}" for p in pods for k in keys if k in labels_of(p)})
            problems.append(
                f"{ref(dr)} subset {sname} ({shown_labels}) selects no running pod of {where}; "
                f"requests routed to it get 503 UH (IST0173)"
                + (
                    f"; running pods carry {', '.join(seen[:MAX_LISTED])}"
                    if seen
                    else f"; {where} has no running pods"
                )
            )
            continue
        if not wanted:
            problems.append(
                f"no running pod of {where} carries the labels {format_labels(exp_labels)} expected for subset "
                f"{sname}"
            )
            continue
        not_selected = [p for p in wanted if id(p) not in selected_ids]
        if not_selected:
            problems.append(
                f"{ref(dr)} subset {sname} ({shown_labels}) does not select pod(s) "
                f"{name_list(not_selected)}, which carry {format_labels(exp_labels)}"
            )
        for other, other_labels in expected.items():
            if other == sname:
                continue
            foreign = [
                p for p in selected if id(p) not in wanted_ids and map_selector_matches(other_labels, labels_of(p))
            ]
            if foreign:
                problems.append(
                    f"{ref(dr)} subset {sname} ({shown_labels}) also selects pod(s) "
                    f"{name_list(foreign)} of subset {other} ({format_labels(other_labels)})"
                )
    return problems


@check(
    "destinationrule-subsets",
    reads=[K.DESTINATION_RULE, K.SERVICE, K.POD, K.SERVICE_ENTRY],
    needs=[K.DESTINATION_RULE, K.SERVICE, K.POD],
)
def destinationrule_subsets(snap: Snapshot, *, namespace: str, host: str, subsets: dict) -> Outcome:
    """A DestinationRule for the host defines the subsets, and each selects the right running pods.

    What Envoy gets (pilot cluster_builder.go buildSubsetCluster): one cluster per subset,
    ``outbound|port|subset|host``, whose endpoints are the host's pods carrying the subset's
    labels (no labels = every pod, KIA0209; none = 503 UH, IST0173). Inputs that change it:
    the DestinationRule's ``host`` (resolved like every rule host: a dotted name such as
    ``web.webapp`` is taken as written and names no Service), its ``subsets`` and the pods'
    labels.
    """
    bad = str_params(namespace=namespace, host=host)
    if bad:
        return bad
    if (
        not isinstance(subsets, dict)
        or not subsets
        or not all(isinstance(k, str) and isinstance(v, dict) and v for k, v in subsets.items())
    ):
        return bad_param("subsets", subsets, "a map of subset name -> non-empty label map")
    fqdn = resolve_host(host, namespace)
    rules = rules_for_host(snap, fqdn, namespace)
    if not rules:
        return no_rule(snap, namespace, host, fqdn)
    pods, where, host_problem = _host_pods(snap, fqdn)
    if host_problem:
        return failed(
            f"{ref(rules[0])} spec.host {short(spec_of(rules[0]).get('host'))}: {host_problem}",
            f"create the Service or fix spec.host of {ref(rules[0])}",
        )
    results = [(dr, _subset_problems(dr, subsets, pods, where)) for dr in rules]
    for dr, problems in results:
        if not problems:
            return passed(
                f"{ref(dr)} defines subsets {', '.join(subsets)} and each selects its running pods of {where}"
            )
    dr, problems = min(results, key=lambda r: len(r[1]))
    return failed(
        join(problems),
        f"edit spec.subsets of {ref(dr)}: names {', '.join(subsets)} with labels that select those pods",
    )


def _weights_param(weights: Any) -> dict[str, int] | None:
    if not isinstance(weights, dict) or not weights:
        return None
    if not all(isinstance(k, str) and is_int(v) and v >= 0 for k, v in weights.items()):
        return None
    return weights if sum(weights.values()) > 0 else None


def _split_text(shares: dict[str, Fraction], order: list[str]) -> str:
    return " / ".join(f"{s} {percent(shares.get(s, Fraction(0)))}" for s in order)


def _subset_shares(rw: RouteWeights, fqdn: str) -> tuple[dict[str, Fraction], dict[str, int], dict[str, list[str]]]:
    """Per-subset traffic share, written weight and weight fields of destinations to ``fqdn``."""
    actual: dict[str, Fraction] = {}
    raw: dict[str, int] = {}
    fields: dict[str, list[str]] = {}
    for s in rw.shares:
        if s.host != fqdn or s.subset is None:
            continue
        actual[s.subset] = actual.get(s.subset, Fraction(0)) + s.share
        raw[s.subset] = raw.get(s.subset, 0) + (s.weight if is_int(s.weight) else 0)
        fields.setdefault(s.subset, []).append(f"route[{s.index}].weight")
    return actual, raw, fields


def _same_split(actual: dict[str, Fraction], want: dict[str, Fraction]) -> bool:
    """Exact rational comparison of two share maps (a missing subset counts as 0)."""
    return all(actual.get(s, Fraction(0)) == want.get(s, Fraction(0)) for s in set(actual) | set(want))


@check("traffic-split", reads=[K.VIRTUAL_SERVICE, K.GATEWAY, K.DESTINATION_RULE])
def traffic_split(snap: Snapshot, *, namespace: str, host: str, gateway: str, weights: dict) -> Outcome:
    """Every route requests through the gateway can take splits traffic by subset in the expected ratio.

    What Envoy gets (pilot route.go): weighted clusters, weight/sum of the destinations of
    each route (relative since Istio 1.15; one destination gets everything), pointing at
    subset clusters that exist only when a DestinationRule the gateway sees defines them
    (exportTo decides, push_context.go destinationRule; otherwise 503). Inputs that change it:
    every ``spec.http`` entry a request through the gateway can take
    (mesh.routing.reachable_http_routes: a header entry sending testers to v2 is part of
    "every request"), the weights, the subsets and the DestinationRules' ``exportTo``.
    """
    bad = str_params(namespace=namespace, host=host, gateway=gateway)
    if bad:
        return bad
    expected = _weights_param(weights)
    if expected is None:
        return bad_param("weights", weights, "a map of subset -> non-negative integer weight with a positive sum")
    routes = request_routes(snap, namespace, host, gateway, "the split")
    if isinstance(routes, Outcome):
        return routes
    vs, fqdn = routes.vs, routes.fqdn
    reachable = {i for i, _ in routes.entries}
    problems: list[str] = []
    hints: list[str] = []
    notes = list(routes.notes)
    reasons: list[str] = []
    for idx, entry in routes.entries:
        p, h, n, ok = _split_entry(snap, vs, idx, entry, expected, fqdn, host, routes.role(idx), reachable,
                                   routes.client_ns)
        problems += p
        hints += h
        notes += [x for x in n if x not in notes]
        reasons += ok
    problems += routes.uncaught("are not split")
    if problems:
        return failed(join(problems + notes), "; ".join(dict.fromkeys(hints)))
    return passed("; ".join([f"{'; '.join(reasons)} ({routes.scope()})"] + notes))


def _split_entry(snap: Snapshot, vs: dict, idx: int, entry: dict, expected: dict[str, int], fqdn: str, host: str,
                 role: str, reachable: set[int], client_ns: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """(problems, hints, notes, pass reasons) of the split of one http[] entry requests take."""
    where = f"spec.http[{idx}]"
    notes: list[str] = []
    rw = entry_weights(vs, idx, entry, hint=f"give {where} a route with weighted destinations", example_weight=80,
                        role=role)
    if isinstance(rw, Outcome):
        return [rw.reason], [rw.hint], [], []
    problems: list[str] = []
    hints: list[str] = []
    set_weights = f"set the weights of {where}.route to " + ", ".join(f"{s}: {v}" for s, v in expected.items())
    actual, raw, fields = _subset_shares(rw, fqdn)
    for s in rw.shares:
        field = f"{where}.route[{s.index}]"
        if s.share == 0 or (s.host == fqdn and s.subset is not None):
            continue
        if s.host != fqdn:
            problems.append(
                f"{ref(vs)} {field}.destination.host {s.host or 'missing'} gets {percent(s.share)}; expected only "
                f"{fqdn}{dotted(s.host, fqdn)}"
            )
            hints.append(f"route only to {host} subsets")
        else:
            problems.append(
                f"{ref(vs)} {field}.destination has no subset and gets {percent(s.share)} (it goes to every pod of "
                f"{fqdn})"
            )
            hints.append(f"give {field}.destination a subset")
    undefined = subset_problem(snap, vs, where, sorted(actual), fqdn, client_ns)
    if undefined:
        problems.append(undefined)
        hints.append(f"define the subsets in a DestinationRule for {host} that the gateway sees (no exportTo, or "
                     "exportTo including its namespace)")
    total = sum(expected.values())
    want = {k: Fraction(v, total) for k, v in expected.items()}
    order = list(expected) + [s for s in actual if s not in expected]
    exp_text = ":".join(str(v) for v in expected.values())
    want_text = f"expected {_split_text(want, order)} ({exp_text})"
    if not _same_split(actual, want):
        if len(rw.shares) == 1:
            only = rw.shares[0]
            problems.append(
                f"{ref(vs)} {where}.route has a single destination "
                f"({'subset ' + str(only.subset) if only.subset else 'no subset'}), which gets 100%{paren(role)}; "
                f"{want_text}"
            )
        else:
            written = ", ".join(f"{s}={raw[s]} ({'+'.join(fields[s])})" if s in raw else f"{s} absent" for s in order)
            weight_sum = sum(raw.values())
            if weight_sum != 100:
                problems.append(
                    f"{ref(vs)} {where}.route weights {written} sum to {weight_sum}; weights are relative (weight/sum) "
                    f"since Istio 1.15, so they give {_split_text(actual, order)}{paren(role)}; {want_text}"
                )
            else:
                problems.append(
                    f"{ref(vs)} {where}.route weights {written} give {_split_text(actual, order)}{paren(role)}; "
                    f"{want_text}"
                )
        hints.append(set_weights)
        for j, other in enumerate(as_list(spec_of(vs).get("http"))):
            if j in reachable:
                continue
            orw = route_weights(as_dict(other).get("route"), namespace_of(vs))
            if orw.ok and _same_split(_subset_shares(orw, fqdn)[0], want):
                notes.append(f"spec.http[{j}] has the expected split, but no request through the gateway reaches it "
                             f"(it {describe_match(other)})")
                hints.append(f"or move the split of spec.http[{j}] into the entries requests take")
                break
    if problems:
        return problems, hints, notes, []
    split = _split_text(actual, list(expected))
    reason = f"{ref(vs)} {where} splits {split} as expected"
    if len(rw.shares) > 1 and any(raw.get(s, 0) != expected[s] for s in expected):
        got = "/".join(str(raw.get(s, 0)) for s in expected)
        reason += f"; weights {got} give the same {exp_text} split; weights are relative"
    return [], [], notes, [reason]


@check("route-destination", reads=[K.VIRTUAL_SERVICE, K.GATEWAY, K.DESTINATION_RULE])
def route_destination(snap: Snapshot, *, namespace: str, host: str, gateway: str, subset: str | None = None) -> Outcome:
    """Every route requests through the gateway can take sends all of them to the host (and subset).

    What Envoy gets (pilot route.go): each route's weighted clusters; a destination host is
    resolved like every rule host (ResolveShortnameToFQDN: ``web.webapp`` is taken as
    written), and a subset cluster exists only when a DestinationRule the gateway sees
    (exportTo) defines it. Inputs that change it: every ``spec.http`` entry a request through
    the gateway can take (mesh.routing.reachable_http_routes), the destinations, the
    DestinationRules' subsets and ``exportTo``.
    """
    bad = str_params(namespace=namespace, host=host, gateway=gateway)
    if bad:
        return bad
    if subset is not None and (not isinstance(subset, str) or not subset.strip()):
        return bad_param("subset", subset, "a subset name or null")
    target = f"subset {subset} of {host}" if subset else f"host {host}"
    routes = request_routes(snap, namespace, host, gateway, f"a route to {target}")
    if isinstance(routes, Outcome):
        return routes
    vs, fqdn = routes.vs, routes.fqdn
    problems: list[str] = []
    hints: list[str] = []
    for idx, entry in routes.entries:
        where = f"spec.http[{idx}]"
        role = routes.role(idx)
        give = f"give {where} a route to destination host {host}" + (f", subset {subset}" if subset else "")
        rw = entry_weights(vs, idx, entry, expected=f"expected all requests to go to {target}", hint=give, role=role)
        if isinstance(rw, Outcome):
            problems.append(rw.reason)
            hints.append(rw.hint)
            continue
        before = len(problems)
        for s in rw.shares:
            if s.share == 0:
                continue
            field = f"{where}.route[{s.index}].destination"
            if s.host != fqdn:
                problems.append(
                    f"{ref(vs)} {field}.host is {s.host or 'missing'} and gets {percent(s.share)}{paren(role)}; expected "
                    f"every request to go to {fqdn}{dotted(s.host, fqdn)}"
                )
            elif subset and s.subset is None:
                problems.append(
                    f"{ref(vs)} {field} has no subset and gets {percent(s.share)}{paren(role)}, so those requests go to "
                    f"every pod of {fqdn}; expected subset {subset}"
                )
            elif subset and s.subset != subset:
                problems.append(f"{ref(vs)} {field}.subset is {s.subset} and gets {percent(s.share)}{paren(role)}; "
                                f"expected {subset}")
        used = sorted({s.subset for s in rw.shares if s.share > 0 and s.host == fqdn and s.subset})
        undefined = subset_problem(snap, vs, where, used, fqdn, routes.client_ns)
        if undefined:
            problems.append(undefined)
            hints.append(f"define subset(s) {', '.join(used)} in a DestinationRule for {host} that the gateway sees")
        if len(problems) > before:
            hints.insert(0, f"route {where} of {ref(vs)} to destination host {host}"
                         + (f", subset {subset}" if subset else ""))
    problems += routes.uncaught("reach nothing")
    if not routes.catch_all:
        hints.append(f"add a final spec.http entry without match to {ref(vs)}, routing to {target}")
    if problems:
        return failed(join(problems + routes.notes), "; ".join(dict.fromkeys(hints)))
    verb = "sends" if len(routes.entries) == 1 else "send"
    return passed("; ".join([f"{ref(vs)} {routes.where_all()} {verb} 100% of requests to {target} ({fqdn}) "
                             f"({routes.scope()})"] + routes.notes))


@check("route-target", reads=[K.VIRTUAL_SERVICE, K.SERVICE], needs=[K.VIRTUAL_SERVICE, K.SERVICE])
def route_target(
    snap: Snapshot,
    *,
    namespace: str,
    virtualservice: str,
    host: str,
    port: int = 80,
    gateway: str | None = None,
) -> Outcome:
    """Every route a request through a VirtualService can take reaches an existing Service port.

    ``gateway`` (optional) is the gateway the request comes through, for routes whose
    match names gateways. Weighted destinations with weight 0 are ignored. Every http[]
    entry a request can take is judged (mesh.routing.reachable_http_routes); when none
    catches every request, the rest get 404. A destination host resolves like every rule
    host (ResolveShortnameToFQDN: ``web.webapp`` is taken as written and names no Service).
    """
    bad = str_params(namespace=namespace, virtualservice=virtualservice, host=host)
    if bad:
        return bad
    bad = port_param("port", port)
    if bad:
        return bad
    if gateway is not None and (not isinstance(gateway, str) or not gateway.strip()):
        return bad_param("gateway", gateway, "a gateway name")
    fqdn = resolve_host(host, namespace)
    svc_ref = service_of_host(fqdn)
    if svc_ref is None:
        return bad_param("host", host, "a Service name")
    vs = snap.get(K.VIRTUAL_SERVICE, virtualservice, namespace)
    if vs is None:
        return not_found(snap, K.VIRTUAL_SERVICE, namespace, virtualservice,
                         f"create VirtualService {virtualservice} in {namespace} routing to {host} port {port}")
    gw_key = resolve_gateway_ref(gateway, namespace) if gateway else None
    https = as_list(spec_of(vs).get("http"))
    routes = reachable_http_routes(vs, gw_key)
    if not routes.entries:
        if not https:
            return failed(
                f"{ref(vs)} has no spec.http routes; expected an HTTP route to {host} port {port}",
                f"add spec.http[].route with destination host {host}, port number {port}",
            )
        described = "; ".join(f"spec.http[{j}] {describe_match(h)}" for j, h in enumerate(https[:4]))
        return failed(
            f"no spec.http entry of {ref(vs)} applies to requests through {gw_key or 'the mesh'}: {described}",
            "add a final spec.http entry without match carrying the route",
        )
    problems: list[str] = []
    hints: list[str] = []
    for idx, entry in routes.entries:
        last = routes.catch_all and idx == routes.entries[-1][0]
        role = ("" if len(routes.entries) == 1 else "it takes every request the entries before it leave") if last \
            else "it " + describe_match(entry)
        p, h, _ = _target_entry(snap, vs, idx, entry, role, host, port, fqdn, svc_ref)
        problems += p
        hints += h
    if not routes.catch_all:
        problems.append(f"no spec.http entry of {ref(vs)} takes every request (spec.http[{routes.entries[-1][0]}] "
                        f"{describe_match(routes.entries[-1][1])}): requests that match none (e.g. GET /other) get "
                        "404 and never reach " + fqdn)
        hints.append("add a final spec.http entry without match carrying the route")
    if problems:
        return failed(join(problems), "; ".join(dict.fromkeys(hints)))
    where = " and ".join(f"spec.http[{i}]" for i, _ in routes.entries)
    svc_ns, svc_name = svc_ref
    scope = "every request takes it" if len(routes.entries) == 1 else "every route a request can take"
    return passed(f"{ref(vs)} {where} ({scope}) reach{'es' if len(routes.entries) == 1 else ''} Service "
                  f"{svc_ns}/{svc_name} port {port}")


def _target_entry(snap: Snapshot, vs: dict, idx: int, entry: dict, role: str, host: str, port: int, fqdn: str,
                  svc_ref: tuple[str, str]) -> tuple[list[str], list[str], bool]:
    """(problems, hints, reaches) of one http[] entry requests take."""
    where = f"spec.http[{idx}]"
    rw = entry_weights(vs, idx, entry, hint=f"give {where} a route to {host}", role=role)
    if isinstance(rw, Outcome):
        return [rw.reason], [rw.hint], False
    route = entry["route"]
    svc_ns, svc_name = svc_ref
    svc = snap.get(K.SERVICE, svc_name, svc_ns)
    svc_ports = [as_dict(sp).get("port") for sp in as_list(spec_of(svc).get("ports"))] if svc else []
    svc_targets = [as_dict(sp).get("targetPort") for sp in as_list(spec_of(svc).get("ports"))] if svc else []
    problems: list[str] = []
    hints: list[str] = []
    reached = []
    for s in rw.shares:
        if s.share == 0:
            continue
        field = f"{ref(vs)} {where}.route[{s.index}].destination"
        dest = as_dict(as_dict(as_list(route)[s.index]).get("destination"))
        if s.host != fqdn:
            shown = short(dest.get("host")) if dest.get("host") is not None else "missing"
            problems.append(
                f"{field}.host is {shown} ({s.host or 'unresolvable'}) and gets {percent(s.share)}; expected {host} "
                f"({fqdn}){dotted(dest.get('host'), fqdn)}"
            )
            hints.append(f"set destination.host to {host}")
            continue
        if svc is None:
            problems.append(
                f"{field}.host {short(dest.get('host'))} resolves to {fqdn}, but Service {svc_ns}/{svc_name} does "
                "not exist (KIA1101): requests get 503"
            )
            hints.append(f"create Service {svc_name} in {svc_ns}")
            continue
        dport = as_dict(dest.get("port")).get("number") if dest.get("port") is not None else None
        if dest.get("port") is not None and not isinstance(dest.get("port"), dict):
            problems.append(f"{field}.port is {short(dest.get('port'))}; expected {{number: {port}}}")
            hints.append(f"set destination.port.number: {port}")
        elif dport is None:
            valid = [p for p in svc_ports if is_int(p)]
            if len(valid) > 1:
                problems.append(
                    f"{field} has no port.number and {ref(svc)} has several ports "
                    f"({describe_service_ports(svc)}); Istio requires the port then (IST0112)"
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
        elif not is_int(dport):
            problems.append(f"{field}.port.number is {short(dport)}; expected the number {port}")
            hints.append(f"set destination.port.number: {port}")
        elif dport not in svc_ports:
            extra = " (that is a targetPort: destination.port is a Service port)" if dport in svc_targets else ""
            problems.append(
                f"{field}.port.number is {dport}, which {ref(svc)} does not expose{extra} "
                f"(ports {describe_service_ports(svc)}); requests get 503 (no healthy upstream)"
            )
            hints.append(f"set destination.port.number: {port}")
        elif dport != port:
            problems.append(f"{field}.port.number is {dport}; expected {port}")
            hints.append(f"set destination.port.number: {port}")
        else:
            reached.append(s)
    if not problems and not reached:
        problems.append(f"{ref(vs)} {where}.route sends no traffic to {fqdn}")
        hints.append(f"route to {host} port {port}")
    return problems, hints, bool(reached)
