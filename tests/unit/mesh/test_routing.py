"""grader/mesh/routing.py: the route a plain request takes, and route weights."""

from __future__ import annotations

from fractions import Fraction

import pytest

from grader.mesh.routing import reachable_http_routes, route_weights
from grader.text import percent


# -- the entries requests through a gateway can take -------------------------------------------
def _vs(*http):
    return {"metadata": {"name": "web", "namespace": "webapp"}, "spec": {"hosts": ["*"], "http": list(http)}}


ROUTE = {"route": [{"destination": {"host": "web"}}]}


@pytest.mark.parametrize(
    "match, every",
    [
        (None, True),
        ([], True),
        ([{}], True),
        ([{"uri": {"prefix": "/"}}], True),
        ([{"uri": {"regex": ".*"}}], True),
        ([{"uri": {"regex": "/.*"}}], True),
        ([{"uri": {"prefix": "/"}, "ignoreUriCase": True, "name": "all"}], True),
        ([{"uri": {"exact": "/"}}], False),  # GET / only: /index.html is another request
        ([{"uri": {"prefix": "/api"}}], False),
        ([{"uri": {"exact": "/productpage"}}, {"uri": {"prefix": "/"}}], True),
        ([{"headers": {"end-user": {"exact": "jason"}}}], False),
        ([{"uri": {"prefix": "/"}, "headers": {"x": {"exact": "1"}}}], False),
        ([{"queryParams": {"canary": {"exact": "1"}}}], False),
        ([{"method": {"exact": "GET"}}], False),  # POST is a request too
        ([{"withoutHeaders": {"x-debug": {}}}], False),
    ],
)
def test_clause_or_entry_that_takes_every_request(match, every):
    http = dict(ROUTE) if match is None else {**ROUTE, "match": match}
    reach = reachable_http_routes(_vs(http, {**ROUTE, "name": "after"}))
    assert reach.catch_all is True
    assert [i for i, _ in reach.entries] == ([0] if every else [0, 1])


def test_reachable_routes_stop_at_the_first_catch_all():
    reach = reachable_http_routes(_vs({**ROUTE, "match": [{"uri": {"exact": "/"}}]},
                                      {**ROUTE, "match": [{"headers": {"a": {"exact": "b"}}}]},
                                      ROUTE, {**ROUTE, "match": [{"uri": {"prefix": "/admin"}}]}))
    assert [i for i, _ in reach.entries] == [0, 1, 2] and reach.catch_all


def test_reachable_routes_without_catch_all_leave_requests_unmatched():
    reach = reachable_http_routes(_vs({**ROUTE, "match": [{"uri": {"exact": "/"}}]}))
    assert [i for i, _ in reach.entries] == [0] and reach.catch_all is False
    assert reachable_http_routes(_vs()).entries == ()


def test_reachable_routes_follow_the_gateways_of_each_clause():
    """A clause for other gateways is dropped for this one (short names are the VirtualService's namespace)."""
    vs = _vs({**ROUTE, "match": [{"gateways": ["mesh"]}]},
             {**ROUTE, "match": [{"gateways": ["web-gateway"], "uri": {"prefix": "/"}}]}, ROUTE)
    assert [i for i, _ in reachable_http_routes(vs, "webapp/web-gateway").entries] == [1]
    assert [i for i, _ in reachable_http_routes(vs, "webapp/other").entries] == [2]
    assert [i for i, _ in reachable_http_routes(vs).entries] == [0]  # sidecars: mesh


def test_reachable_routes_tolerate_odd_entries():
    vs = _vs("x", {**ROUTE, "match": "not-a-list"}, {**ROUTE, "match": ["x", {"uri": {"exact": "/"}}]})
    reach = reachable_http_routes(vs)
    assert [i for i, _ in reach.entries] == [2] and not reach.catch_all


# -- weights ---------------------------------------------------------------------------------
def _dest(subset, weight=None, host="web"):
    d = {"destination": {"host": host, "subset": subset}}
    if weight is not None:
        d["weight"] = weight
    return d


def test_route_weights_relative():
    rw = route_weights([_dest("v1", 80), _dest("v2", 30)], "webapp")
    assert rw.ok
    assert [s.share for s in rw.shares] == [Fraction(8, 11), Fraction(3, 11)]
    assert percent(rw.shares[0].share) == "72.7%"
    assert percent(rw.shares[1].share) == "27.3%"
    assert rw.shares[0].host == "web.webapp.svc.cluster.local"


def test_route_weights_single_destination_gets_everything():
    rw = route_weights([_dest("v1")], "webapp")
    assert rw.ok and rw.shares[0].share == 1
    assert percent(rw.shares[0].share) == "100%"


def test_route_weights_missing_weight_counts_zero():
    rw = route_weights([_dest("v1", 100), _dest("v2")], "webapp")
    assert [s.share for s in rw.shares] == [1, 0]


@pytest.mark.parametrize("bad", ["80", -5, 80.5, True, None, [80], {"w": 1}])
def test_route_weights_invalid(bad):
    route = [_dest("v1", 20), {"destination": {"host": "web", "subset": "v2"}, "weight": bad}]
    rw = route_weights(route, "webapp")
    if bad is None:  # missing weight: counts as 0
        assert rw.ok
        return
    assert not rw.ok
    assert rw.errors[0][0] == "route[1].weight"


def test_route_weights_total_zero_and_not_a_list():
    assert not route_weights([_dest("v1", 0), _dest("v2", 0)], "webapp").ok
    assert not route_weights("web", "webapp").ok
    assert not route_weights([], "webapp").ok


def test_route_weights_huge_values():
    rw = route_weights([_dest("v1", 10**30), _dest("v2", 10**30)], "webapp")
    assert rw.ok and rw.shares[0].share == Fraction(1, 2)
