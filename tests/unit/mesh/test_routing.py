"""grader/mesh/routing.py: the route a plain request takes, and route weights."""

from __future__ import annotations

from fractions import Fraction

import pytest

from grader.mesh.routing import effective_http_route, http_route_matches_plain_get, route_weights
from grader.text import percent


# -- effective route -------------------------------------------------------------------------
def _vs(*http):
    return {"metadata": {"name": "web", "namespace": "webapp"}, "spec": {"hosts": ["*"], "http": list(http)}}


@pytest.mark.parametrize(
    "match, applies",
    [
        (None, True),
        ([], True),
        ([{"uri": {"prefix": "/"}}], True),
        ([{"uri": {"regex": ".*"}}], True),
        ([{"uri": {"regex": "/.*"}}], True),
        ([{"uri": {"exact": "/"}}], True),
        ([{"uri": {"prefix": "/api"}}], False),
        ([{"uri": {"exact": "/productpage"}}, {"uri": {"prefix": "/"}}], True),
        ([{"headers": {"end-user": {"exact": "jason"}}}], False),
        ([{"uri": {"prefix": "/"}, "headers": {"x": {"exact": "1"}}}], False),
        ([{"queryParams": {"canary": {"exact": "1"}}}], False),
        ([{"method": {"exact": "GET"}}], True),
        ([{"method": {"exact": "POST"}}], False),
        ([{"uri": {"regex": "("}}], False),  # invalid regex: no match, no crash
        ([{"sourceLabels": {"app": "tester"}}], False),
        ([{"withoutHeaders": {"x-debug": {}}}], True),
        ("not-a-list", False),
    ],
)
def test_http_route_matches_plain_get(match, applies):
    http = {"route": [{"destination": {"host": "web"}}]}
    if match is not None:
        http["match"] = match
    assert http_route_matches_plain_get(http) is applies


def test_effective_route_skips_header_only_entry():
    vs = _vs(
        {"match": [{"headers": {"end-user": {"exact": "jason"}}}], "route": []},
        {"route": [{"destination": {"host": "web"}}]},
    )
    idx, entry = effective_http_route(vs)
    assert idx == 1


def test_effective_route_gateway_condition():
    vs = _vs({"match": [{"gateways": ["web-gateway"]}], "route": []}, {"route": []})
    assert effective_http_route(vs, "webapp/web-gateway")[0] == 0
    assert effective_http_route(vs, "webapp/other")[0] == 1
    assert effective_http_route(_vs({"match": [{"uri": {"prefix": "/x"}}]})) is None


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
