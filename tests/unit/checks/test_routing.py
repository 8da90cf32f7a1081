"""Check types of grader/checks/routing.py: destinationrule-subsets, traffic-split and
route-destination (canary scenario), route-target (sandbox scenario)."""

from __future__ import annotations

import copy

import pytest
from harness import (
    NS,
    ROUTE,
    TO_V1,
    check,
    drop,
    fails,
    find,
    scenario,
    vs_http,
)

from grader.model import Status

SUBSETS = {"namespace": "webapp", "host": "web", "subsets": {"v1": {"version": "v1"}, "v2": {"version": "v2"}}}
BOUND = {"namespace": "webapp", "host": "web", "gateway": "web-gateway"}
SPLIT = BOUND | {"weights": {"v1": 80, "v2": 20}}


def _dr(objs, get):
    return get(objs, "DestinationRule", "web")


def _vs(objs, get):
    return get(objs, "VirtualService", "web")


# -- destinationrule-subsets --------------------------------------------------------------
def test_subsets_pass(variant, check):
    out = check("destinationrule-subsets", variant(), **SUBSETS)
    assert out.status is Status.PASS
    assert "DestinationRule webapp/web" in out.reason and "Service webapp/web" in out.reason


@pytest.mark.parametrize("host, ok", [("web", True), ("web.webapp.svc.cluster.local", True),
                                      ("web.webapp", False), ("web.webapp.svc", False)])
def test_subsets_host_forms(variant, check, host, ok):
    """Only a name without a dot is short (ResolveShortnameToFQDN): web.webapp names no Service."""
    assert check("destinationrule-subsets", variant(), **(SUBSETS | {"host": host})).ok is ok


def test_subsets_typo_v_2(variant, check):
    """Canary: subset named v-2."""
    out = check("destinationrule-subsets", variant("dr-subset-typo.yaml"), **SUBSETS)
    assert out.status is Status.FAIL
    assert out.reason == "DestinationRule webapp/web has subsets [v1, v-2]; expected a subset named v2"


def test_subsets_select_no_pods(variant, check):
    out = check("destinationrule-subsets", variant("dr-subset-no-pods.yaml"), **SUBSETS)
    assert out.status is Status.FAIL
    assert "DestinationRule webapp/web subset v2 (spec.subsets[1].labels {version: 2})" in out.reason
    assert "selects no running pod of Service webapp/web" in out.reason
    assert "503 UH (IST0173)" in out.reason
    assert "version=v2" in out.reason  # what the pods actually carry


def test_subsets_labels_need_not_be_literal(load_scenario, get, make_snap, check):
    objs = load_scenario()
    _dr(objs, get)["spec"]["subsets"][0]["labels"] = {"app": "web", "version": "v1"}
    assert check("destinationrule-subsets", make_snap(objs), **SUBSETS).ok


def test_subsets_too_broad(load_scenario, get, make_snap, check):
    objs = load_scenario()
    _dr(objs, get)["spec"]["subsets"][0]["labels"] = {"app": "web"}
    out = check("destinationrule-subsets", make_snap(objs), **SUBSETS)
    assert out.status is Status.FAIL
    assert (
        "subset v1 (spec.subsets[0].labels {app: web}) also selects pod(s) web-v2-84b6fd7c9b-h8j2c of subset v2"
        in out.reason
    )


def test_subsets_without_labels_selects_everything(load_scenario, get, make_snap, check):
    objs = load_scenario()
    del _dr(objs, get)["spec"]["subsets"][1]["labels"]
    out = check("destinationrule-subsets", make_snap(objs), **SUBSETS)
    assert out.status is Status.FAIL and "subset v2" in out.reason and "also selects" in out.reason


def test_subsets_too_narrow(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "Pod", "web-v1-7d9f8b6c5d-m4t8z")["metadata"]["labels"]["track"] = "stable"
    _dr(objs, get)["spec"]["subsets"][0]["labels"] = {"version": "v1", "track": "stable"}
    out = check("destinationrule-subsets", make_snap(objs), **SUBSETS)
    assert out.status is Status.FAIL
    assert "does not select pod(s) web-v1-7d9f8b6c5d-x2k9p" in out.reason


def test_subsets_no_rule_for_host(load_scenario, get, make_snap, check):
    objs = load_scenario()
    _dr(objs, get)["spec"]["host"] = "web.other.svc.cluster.local"
    out = check("destinationrule-subsets", make_snap(objs), **SUBSETS)
    assert out.status is Status.FAIL
    assert "no DestinationRule in namespace webapp has spec.host web (web.webapp.svc.cluster.local)" in out.reason
    assert "DestinationRule webapp/web with spec.host 'web.other.svc.cluster.local'" in out.reason


def test_subsets_unknown_service(load_scenario, make_snap, check):
    objs = [o for o in load_scenario() if not (o["kind"] == "Service" and o["metadata"]["name"] == "web")]
    out = check("destinationrule-subsets", make_snap(objs), **SUBSETS)
    assert out.status is Status.FAIL and "Service webapp/web does not exist" in out.reason and "IST0174" in out.reason


def test_subsets_second_rule_passes(load_scenario, get, make_snap, check):

    objs = load_scenario("dr-subset-typo.yaml")
    fixed = copy.deepcopy(_dr(objs, get))
    fixed["metadata"]["name"] = "web-fixed"
    fixed["spec"]["subsets"][1]["name"] = "v2"
    out = check("destinationrule-subsets", make_snap(objs + [fixed]), **SUBSETS)
    assert out.status is Status.PASS and "web-fixed" in out.reason


def test_subsets_ill_typed(load_scenario, get, make_snap, check):
    objs = load_scenario()
    _dr(objs, get)["spec"]["subsets"] = "v1,v2"
    out = check("destinationrule-subsets", make_snap(objs), **SUBSETS)
    assert out.status is Status.FAIL and "DestinationRule webapp/web spec.subsets is 'v1,v2', not a list" in out.reason
    objs = load_scenario()
    _dr(objs, get)["spec"]["subsets"][1]["labels"] = "version=v2"
    out = check("destinationrule-subsets", make_snap(objs), **SUBSETS)
    assert "spec.subsets[1].labels is 'version=v2', not a label map" in out.reason


def test_subsets_service_entry_host(make_snap, check):
    objs = [
        {
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "ServiceEntry",
            "metadata": {"name": "ext", "namespace": "webapp"},
            "spec": {"hosts": ["api.example.com"], "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}]},
        },
        {
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "DestinationRule",
            "metadata": {"name": "ext", "namespace": "webapp"},
            "spec": {"host": "api.example.com", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]},
        },
    ]
    out = check(
        "destinationrule-subsets",
        make_snap(objs),
        namespace="webapp",
        host="api.example.com",
        subsets={"v1": {"version": "v1"}},
    )
    assert out.ok


@pytest.mark.parametrize("subsets", [{}, {"v1": "version=v1"}, ["v1"], {"v1": {}}, None])
def test_subsets_bad_param(variant, check, subsets):
    out = check("destinationrule-subsets", variant(), **(SUBSETS | {"subsets": subsets}))
    assert out.status is Status.FAIL and "check parameter subsets" in out.reason


# -- traffic-split -------------------------------------------------------------------------------
def test_split_pass(variant, check):
    out = check("traffic-split", variant(), **SPLIT)
    assert out.status is Status.PASS
    assert out.reason == ("VirtualService webapp/web spec.http[0] splits v1 80% / v2 20% as expected (every request "
                          "through webapp/web-gateway takes it)")


def test_split_70_30_fails(variant, check):
    """Canary: 70/30."""
    out = check("traffic-split", variant("vs-weights-70-30.yaml"), **SPLIT)
    assert out.status is Status.FAIL
    assert (
        "VirtualService webapp/web spec.http[0].route weights v1=70 (route[0].weight), v2=30 (route[1].weight)"
        in out.reason
    )
    assert "give v1 70% / v2 30%; expected v1 80% / v2 20%" in out.reason
    assert "v1: 80, v2: 20" in out.hint


def test_split_80_30_fails_with_effective_percentages(variant, check):
    """Canary: 80/30 is 72.7%/27.3% because weights are relative."""
    out = check("traffic-split", variant("vs-weights-80-30.yaml"), **SPLIT)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.http[0].route" in out.reason
    assert "route[1].weight" in out.reason
    assert "sum to 110" in out.reason
    assert "weights are relative (weight/sum) since Istio 1.15" in out.reason
    assert "v1 72.7% / v2 27.3%" in out.reason
    assert "expected v1 80% / v2 20%" in out.reason


def test_split_8_2_passes_with_note(variant, check):
    """Canary: 8/2 is the same split."""
    out = check("traffic-split", variant("vs-weights-8-2.yaml"), **SPLIT)
    assert out.status is Status.PASS
    assert "weights 8/2 give the same 80:20 split; weights are relative" in out.reason


@pytest.mark.parametrize("weights", [{"v1": 4, "v2": 1}, {"v1": 8, "v2": 2}, {"v1": 800, "v2": 200}])
def test_split_expected_ratio_forms(variant, check, weights):
    assert check("traffic-split", variant(), **(SPLIT | {"weights": weights})).ok


def test_split_string_weight(variant, check):
    out = check("traffic-split", variant("vs-weight-string.yaml"), **SPLIT)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.http[0].route[0].weight is '80' (a string)" in out.reason


def test_split_header_entry_first_is_judged_too(variant, check):
    """Canary: http[0] sends requests with header end-user: jason to v2 only, http[1] splits the rest 80/20:
    requests through the gateway are not all split 80:20 (every entry a request can take is judged)."""
    out = check("traffic-split", variant("vs-header-first.yaml"), **SPLIT)
    assert out.status is Status.FAIL
    assert ("VirtualService webapp/web spec.http[0].route has a single destination (subset v2), which gets 100% (it "
            "matches only [headers" in out.reason)
    assert "spec.http[1]" not in out.reason  # the catch-all splits as expected


def test_split_effective_route_reverse_fails(variant, check):
    """Canary (reverse): the 80/20 split sits behind a header match."""
    out = check("traffic-split", variant("vs-header-split.yaml"), **SPLIT)
    assert out.status is Status.FAIL
    assert (
        "VirtualService webapp/web spec.http[1].route has a single destination (subset v1), which gets 100%"
        in out.reason
    )
    assert "(it takes every request the entries before it leave)" in out.reason
    assert "spec.http[0].route" not in out.reason  # the header entry splits as expected


def test_split_no_entry_takes_every_request(load_scenario, get, make_snap, check):
    objs = load_scenario()
    _vs(objs, get)["spec"]["http"][0]["match"] = [{"uri": {"prefix": "/api"}}]
    out = check("traffic-split", make_snap(objs), **SPLIT)
    assert out.status is Status.FAIL
    assert "no spec.http entry of VirtualService webapp/web takes every request" in out.reason
    assert "spec.http[0] matches only [uri" in out.reason and "get 404" in out.reason


def test_split_not_bound(variant, check):
    out = check("traffic-split", variant("vs-mesh-only.yaml"), **SPLIT)
    assert out.status is Status.FAIL and "spec.gateways is not set" in out.reason


def test_split_subset_not_defined(variant, check):
    out = check("traffic-split", variant("dr-subset-typo.yaml"), **SPLIT)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.http[0] routes to subset(s) v2, defined in no DestinationRule" in out.reason


def test_split_destination_without_subset(load_scenario, get, make_snap, check):
    objs = load_scenario()
    del _vs(objs, get)["spec"]["http"][0]["route"][1]["destination"]["subset"]
    out = check("traffic-split", make_snap(objs), **SPLIT)
    assert out.status is Status.FAIL
    assert "spec.http[0].route[1].destination has no subset and gets 20%" in out.reason


def test_split_destination_other_host(load_scenario, get, make_snap, check):
    objs = load_scenario()
    _vs(objs, get)["spec"]["http"][0]["route"].append({"destination": {"host": "api"}, "weight": 25})
    out = check("traffic-split", make_snap(objs), **SPLIT)
    assert out.status is Status.FAIL
    assert "spec.http[0].route[2].destination.host api.webapp.svc.cluster.local gets 20%" in out.reason


def test_split_weight_zero_destination_elsewhere_ignored(load_scenario, get, make_snap, check):
    objs = load_scenario()
    _vs(objs, get)["spec"]["http"][0]["route"].append({"destination": {"host": "api"}, "weight": 0})
    assert check("traffic-split", make_snap(objs), **SPLIT).ok


def test_split_redirect_entry(load_scenario, get, make_snap, check):
    objs = load_scenario()
    http = _vs(objs, get)["spec"]["http"]
    http.insert(0, {"match": [{"uri": {"exact": "/"}}], "redirect": {"uri": "/v1"}})
    out = check("traffic-split", make_snap(objs), **SPLIT)
    assert out.status is Status.FAIL
    assert (
        "VirtualService webapp/web spec.http[0] (it matches only [uri {\"exact\": \"/\"}]) has no route; it uses redirect"
        in out.reason
    )


def test_split_all_zero(load_scenario, get, make_snap, check):
    objs = load_scenario()
    for d in _vs(objs, get)["spec"]["http"][0]["route"]:
        d["weight"] = 0
    out = check("traffic-split", make_snap(objs), **SPLIT)
    assert out.status is Status.FAIL and "total destination weight 0" in out.reason


def test_split_three_subsets(load_scenario, get, make_snap, check):
    objs = load_scenario()
    _vs(objs, get)["spec"]["http"][0]["route"].append({"destination": {"host": "web", "subset": "v1"}, "weight": 40})
    # v1 gets 80+40 of 140: 85.7%
    out = check("traffic-split", make_snap(objs), **SPLIT)
    assert (
        out.status is Status.FAIL
        and "v1 85.7% / v2 14.3%" in out.reason
        and "route[0].weight+route[2].weight" in out.reason
    )


@pytest.mark.parametrize("weights", [{}, {"v1": "80"}, {"v1": -1}, {"v1": 0, "v2": 0}, [80, 20], None])
def test_split_bad_param(variant, check, weights):
    out = check("traffic-split", variant(), **(SPLIT | {"weights": weights}))
    assert out.status is Status.FAIL and "check parameter weights" in out.reason


# -- route-destination -------------------------------------------------------------------------------
def test_route_destination_pass():
    out = check("route-destination", scenario("vs-fault-delay.yaml"), **TO_V1)
    assert out.status is Status.PASS
    assert out.reason == (
        "VirtualService webapp/web spec.http[0] sends 100% of requests to subset v1 of web "
        "(web.webapp.svc.cluster.local) (every request through webapp/web-gateway takes it)"
    )


def test_route_destination_weights_and_zero_weights():
    objs = scenario("vs-fault-delay.yaml")
    http = vs_http(objs)
    http["route"][0]["weight"] = 7
    http["route"].append({"destination": {"host": "web", "subset": "v2"}, "weight": 0})
    assert check("route-destination", objs, **TO_V1).ok


def test_route_destination_split_fails():
    reason = fails("route-destination", scenario(), **TO_V1)
    assert "spec.http[0].route[1].destination.subset is v2 and gets 20%; expected v1" in reason


def test_route_destination_without_subset():
    objs = scenario("vs-fault-delay.yaml")
    del vs_http(objs)["route"][0]["destination"]["subset"]
    reason = fails("route-destination", objs, **TO_V1)
    assert "spec.http[0].route[0].destination has no subset and gets 100%" in reason
    assert check("route-destination", objs, **ROUTE).ok  # no subset asked for: the host is enough


def test_route_destination_other_host():
    objs = scenario("vs-fault-delay.yaml")
    route = vs_http(objs)["route"]
    route[0]["weight"] = 90
    route.append({"destination": {"host": "api"}, "weight": 10})
    reason = fails("route-destination", objs, **TO_V1)
    assert "route[1].destination.host is api.webapp.svc.cluster.local and gets 10%" in reason
    vs_http(objs)["route"] = [{"destination": {"host": "api"}}]
    reason = fails("route-destination", objs, **TO_V1)  # virtualservice-bound's reason
    assert "routes to [api.webapp.svc.cluster.local]" in reason


def test_route_destination_undefined_subset():
    objs = scenario("vs-fault-delay.yaml")
    find(objs, "DestinationRule", "web")["spec"]["subsets"][0]["name"] = "version1"
    reason = fails("route-destination", objs, **TO_V1)
    assert "routes to subset(s) v1, defined in no DestinationRule" in reason and "503" in reason


def test_route_destination_direct_response():
    objs = scenario("vs-header-fault.yaml")
    http = vs_http(objs, 1)
    del http["route"]
    http["directResponse"] = {"status": 200}
    assert "spec.http[1] (it takes every request the entries before it leave) has no route; it uses directResponse" in fails(
        "route-destination", objs, **TO_V1
    )


def test_route_destination_string_weight():
    objs = scenario("vs-fault-delay.yaml")
    vs_http(objs)["route"][0]["weight"] = "100"
    assert "route[0].weight is '100' (a string)" in fails("route-destination", objs, **TO_V1)


# -- route-target ---------------------------------------------------------------------------------
RT = {"namespace": NS, "virtualservice": "web", "host": "web", "port": 80, "gateway": "web-gateway"}


def _dest(objs: list[dict], i: int = 0) -> dict:
    return find(objs, "VirtualService", "web")["spec"]["http"][0]["route"][i]["destination"]


def test_route_target_pass(objs):
    out = check("route-target", objs, **RT)
    assert out.status is Status.PASS
    assert "VirtualService webapp/web spec.http[0]" in out.reason and "Service webapp/web port 80" in out.reason


def test_route_target_port_is_a_target_port(objs):
    find(objs, "Service", "web")["spec"]["ports"][0]["targetPort"] = 8080
    _dest(objs)["port"]["number"] = 8080
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL
    assert "spec.http[0].route[0].destination.port.number is 8080" in out.reason
    assert "that is a targetPort" in out.reason and "503" in out.reason


def test_route_target_port_not_exposed(objs):
    _dest(objs)["port"]["number"] = 9090
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "port.number is 9090, which Service webapp/web does not expose" in out.reason


def test_route_target_port_omitted(objs):
    del _dest(objs)["port"]
    assert check("route-target", objs, **RT).ok  # single-port Service
    find(objs, "Service", "web")["spec"]["ports"].append({"name": "http-admin", "port": 8081, "targetPort": 8081})
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "IST0112" in out.reason


def test_route_target_wrong_host(objs):
    _dest(objs)["host"] = "web-v1"
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL
    assert "destination.host is 'web-v1' (web-v1.webapp.svc.cluster.local) and gets 100%" in out.reason


def test_route_target_service_missing(objs):
    out = check("route-target", drop(objs, "Service", "web"), **RT)
    assert out.status is Status.FAIL and "Service webapp/web does not exist (KIA1101)" in out.reason


def test_route_target_fqdn_host_and_zero_weight_decoy(objs):
    route = find(objs, "VirtualService", "web")["spec"]["http"][0]["route"]
    route[0]["destination"]["host"] = "web.webapp.svc.cluster.local"
    route[0]["weight"] = 100
    route.append({"destination": {"host": "elsewhere", "port": {"number": 80}}, "weight": 0})
    assert check("route-target", objs, **RT).ok


def test_route_target_no_plain_route(objs):
    http = find(objs, "VirtualService", "web")["spec"]["http"]
    http[0]["match"] = [{"headers": {"end-user": {"exact": "jason"}}}]
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "no spec.http entry of VirtualService webapp/web takes every request" in out.reason
    assert "get 404" in out.reason
    find(objs, "VirtualService", "web")["spec"]["http"] = []
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "has no spec.http routes" in out.reason


def test_route_target_string_weight(objs):
    find(objs, "VirtualService", "web")["spec"]["http"][0]["route"][0]["weight"] = "100"
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "route[0].weight is '100'" in out.reason


def test_route_target_vs_missing(objs):
    out = check("route-target", drop(objs, "VirtualService", "web"), **RT)
    assert out.status is Status.FAIL and "VirtualService webapp/web not found" in out.reason


def test_route_target_redirect(objs):
    entry = find(objs, "VirtualService", "web")["spec"]["http"][0]
    del entry["route"]
    entry["redirect"] = {"uri": "/v2"}
    out = check("route-target", objs, **RT)
    assert out.status is Status.FAIL and "has no route; it uses redirect" in out.reason
