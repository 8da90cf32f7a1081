"""VirtualService HTTP routes: which entry a plain request takes, where it sends traffic, and
in which ratio."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from grader.mesh.gateways import resolve_gateway_ref
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
_CONDITIONAL_KEYS = ("authority", "sourceLabels", "sourceNamespace", "port", "scheme", "statPrefix")


def _string_match(cond: Any, value: str, *, ignore_case: bool = False) -> bool:
    """istio StringMatch (exact/prefix/regex) against a value; regex is a full match (RE2)."""
    if not isinstance(cond, dict) or len(cond) != 1:
        return False
    kind, pattern = next(iter(cond.items()))
    if not isinstance(pattern, str):
        return False
    v = value.lower() if ignore_case else value
    p = pattern.lower() if ignore_case and kind != "regex" else pattern
    if kind == "exact":
        return v == p
    if kind == "prefix":
        return v.startswith(p)
    if kind == "regex":
        try:
            return re.fullmatch(pattern, value) is not None
        except (re.error, RecursionError, OverflowError):
            return False
    return False


def match_clause_matches_plain_get(clause: Any, gateway: str | None = None) -> bool:
    """Does one HTTPMatchRequest match ``GET /`` with no headers or query parameters?"""
    if not isinstance(clause, dict):
        return False
    if clause.get("headers") or clause.get("queryParams"):
        return False
    if any(clause.get(k) not in (None, {}, "") for k in _CONDITIONAL_KEYS):
        return False
    ignore_case = clause.get("ignoreUriCase") is True
    if clause.get("uri") is not None and not _string_match(clause["uri"], "/", ignore_case=ignore_case):
        return False
    if clause.get("method") is not None and not _string_match(clause["method"], "GET"):
        return False
    gws = clause.get("gateways")
    if gws not in (None, []):
        if gateway is None or not isinstance(gws, list):
            return False
        ns = gateway.split("/")[0]
        if gateway not in (resolve_gateway_ref(g, ns) for g in gws):
            return False
    # withoutHeaders: a plain request has none of the headers, so it is satisfied.
    return True


def http_route_matches_plain_get(http: Any, gateway: str | None = None) -> bool:
    """An http[] entry applies to a plain GET / when it has no match or one clause matches."""
    if not isinstance(http, dict):
        return False
    match = http.get("match")
    if match is None or match == []:
        return True
    if not isinstance(match, list):
        return False
    return any(match_clause_matches_plain_get(c, gateway) for c in match)


def effective_http_route(vs: dict, gateway: str | None = None) -> tuple[int, dict] | None:
    """``(index, entry)`` of the first http[] entry a plain GET / takes (Envoy: first match wins)."""
    for i, http in enumerate(as_list(spec_of(vs).get("http"))):
        if http_route_matches_plain_get(http, gateway):
            return i, http
    return None


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
