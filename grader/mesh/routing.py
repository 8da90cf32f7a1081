"""VirtualService HTTP routes: which entries requests through a gateway can take, where they
send traffic, and in which ratio."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from grader.mesh.gateways import MESH_GATEWAY, resolve_gateway_ref
from grader.mesh.hosts import resolve_host
from grader.objects import (
    as_dict,
    as_list,
    is_int,
    namespace_of,
    spec_of,
)
from grader.text import short


# -- HTTP routes ---------------------------------------------------------------
def _clause_applies(clause: dict, gateway: str | None, vs_namespace: str) -> bool:
    """A match clause's ``gateways`` restricts it to those gateways (route.go: a clause for
    other gateways is dropped for this one); without ``gateways`` it follows the
    VirtualService's own."""
    gws = clause.get("gateways")
    if gws in (None, []):
        return True
    if not isinstance(gws, list):
        return False
    return (gateway or MESH_GATEWAY) in (resolve_gateway_ref(g, vs_namespace) for g in gws)


# uri matches that every request path satisfies (paths start with /; regex is RE2, full match)
_EVERY_URI = ({"prefix": "/"}, {"regex": ".*"}, {"regex": "/.*"}, {"regex": "^.*$"})


def clause_matches_every_request(clause: Any) -> bool:
    """A match clause that no request can miss: no condition but ``uri`` prefix ``/`` (or a
    regex for every path); ``name`` and ``ignoreUriCase`` change nothing."""
    if not isinstance(clause, dict):
        return False
    rest = {k: v for k, v in clause.items() if k not in ("name", "ignoreUriCase", "gateways") and v not in (None, {}, [])}
    if not rest:
        return True
    return set(rest) == {"uri"} and rest["uri"] in _EVERY_URI


@dataclass(frozen=True)
class ReachableRoutes:
    """The http[] entries requests through one gateway can take, in order."""

    entries: tuple[tuple[int, dict], ...]
    catch_all: bool  # the last entry takes every request the earlier ones leave; False = some get 404


def reachable_http_routes(vs: dict, gateway: str | None = None) -> ReachableRoutes:
    """Every ``spec.http`` entry a request through ``gateway`` can take.

    Envoy tries the routes in order and the first match wins (route.go
    BuildHTTPRoutesForVirtualService keeps the VirtualService's order): an entry whose
    clauses all name other gateways is skipped; an entry without match, or with a clause
    every request satisfies, takes all remaining requests and ends the list. Entries
    before it that match only some requests (a uri, a header, a method) are reachable too,
    so "every request" means every entry returned here. When no entry catches everything,
    requests that match none get 404 (``catch_all`` False).
    """
    out: list[tuple[int, dict]] = []
    for i, http in enumerate(as_list(spec_of(vs).get("http"))):
        if not isinstance(http, dict):
            continue
        match = http.get("match")
        if match is None or match == []:
            out.append((i, http))
            return ReachableRoutes(tuple(out), True)
        if not isinstance(match, list):
            continue
        clauses = [c for c in match if isinstance(c, dict) and _clause_applies(c, gateway, namespace_of(vs))]
        if not clauses:
            continue
        out.append((i, http))
        if any(clause_matches_every_request(c) for c in clauses):
            return ReachableRoutes(tuple(out), True)
    return ReachableRoutes(tuple(out), False)


def describe_match(http: Any) -> str:
    """Short description of an http[] entry's match conditions."""
    match = as_dict(http).get("match") if isinstance(http, dict) else None
    if match is None or match == []:
        return "matches every request"
    if not isinstance(match, list):
        return f"has an unreadable match {short(match)}"
    clauses = []
    for clause in match[:4]:
        c = as_dict(clause)
        clauses.append(", ".join(f"{k} {short(v, 40)}" for k, v in list(c.items())[:4]) or "{}")
    return "matches only " + " or ".join(f"[{c}]" for c in clauses)


def route_destination_hosts(vs: dict) -> list[str]:
    """Resolved destination hosts of every http/tcp/tls route of a VirtualService."""
    ns = namespace_of(vs)
    out = []
    spec = spec_of(vs)
    for section in ("http", "tcp", "tls"):
        for entry in as_list(spec.get(section)):
            for dest in as_list(as_dict(entry).get("route")):
                host = as_dict(as_dict(dest).get("destination")).get("host")
                resolved = resolve_host(host, ns)
                if resolved:
                    out.append(resolved)
    return out


@dataclass(frozen=True)
class RouteShare:
    """One destination of a route and the share of traffic it gets."""

    index: int
    host: str  # resolved FQDN ('' when missing)
    subset: str | None
    weight: Any  # as written
    share: Fraction  # weight / sum, in [0, 1]


@dataclass
class RouteWeights:
    shares: list[RouteShare] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field path suffix, problem)

    @property
    def ok(self) -> bool:
        return not self.errors


def route_weights(route: Any, namespace: str) -> RouteWeights:
    """Relative weights of an HTTP route's destinations.

    istio/api virtual_service.proto: weights are relative (weight/sum) since Istio 1.15
    (istio #39544); a single destination gets all traffic; with several, a missing
    weight counts as 0 and a total of 0 is invalid (validation.go).
    """
    result = RouteWeights()
    dests = route if isinstance(route, list) else None
    if not dests:
        result.errors.append(("route", "has no destinations" if dests == [] else f"is {short(route)}, not a list"))
        return result
    weights: list[int] = []
    for j, d in enumerate(dests):
        d = as_dict(d)
        w = d.get("weight")
        if w is None:
            weights.append(0)
        elif is_int(w) and w >= 0:
            weights.append(w)
        else:
            why = "a string" if isinstance(w, str) else ("negative" if is_int(w) else type(w).__name__)
            result.errors.append(
                (f"route[{j}].weight", f"is {short(w)} ({why}); a weight must be a non-negative integer")
            )
            weights.append(0)
    if result.errors:
        return result
    single = len(dests) == 1
    total = sum(weights)
    if not single and total == 0:
        result.errors.append(("route", "has total destination weight 0 (istio validation rejects it)"))
        return result
    for j, d in enumerate(dests):
        dest = as_dict(as_dict(d).get("destination"))
        subset = dest.get("subset")
        share = Fraction(1) if single else Fraction(weights[j], total)
        result.shares.append(
            RouteShare(
                j,
                resolve_host(dest.get("host"), namespace),
                subset if isinstance(subset, str) and subset else None,
                as_dict(d).get("weight"),
                share,
            )
        )
    return result
