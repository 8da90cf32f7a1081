"""destinationrule-subsets, virtualservice-bound, traffic-split and gateway-bound."""

from __future__ import annotations

import pytest

from grader.model import Status

SUBSETS = {"namespace": "webapp", "host": "web", "subsets": {"v1": {"version": "v1"}, "v2": {"version": "v2"}}}
BOUND = {"namespace": "webapp", "host": "web", "gateway": "web-gateway"}
SPLIT = BOUND | {"weights": {"v1": 80, "v2": 20}}
GW = {"namespace": "webapp", "gateway": "web-gateway"}


def _dr(objs, get):
    return get(objs, "DestinationRule", "web")


def _vs(objs, get):
    return get(objs, "VirtualService", "web")


# -- destinationrule-subsets --------------------------------------------------------------
def test_subsets_pass(variant, check):
    out = check("destinationrule-subsets", variant(), **SUBSETS)
    assert out.status is Status.PASS
    assert "DestinationRule webapp/web" in out.reason and "Service webapp/web" in out.reason


@pytest.mark.parametrize("host", ["web", "web.webapp", "web.webapp.svc", "web.webapp.svc.cluster.local"])
def test_subsets_host_forms(variant, check, host):
    assert check("destinationrule-subsets", variant(), **(SUBSETS | {"host": host})).ok


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
    import copy

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


# -- virtualservice-bound ----------------------------------------------------------------------
def test_bound_pass(variant, check):
    out = check("virtualservice-bound", variant(), **BOUND)
    assert out.status is Status.PASS
    assert out.reason == (
        "VirtualService webapp/web is bound to Gateway webapp/web-gateway, matches its hosts and routes to "
        "web.webapp.svc.cluster.local"
    )


def test_bound_gateway_ns_name_forms(variant, check):
    assert check("virtualservice-bound", variant(), **(BOUND | {"gateway": "webapp/web-gateway"})).ok
    assert check("virtualservice-bound", variant("vs-host-mismatch.yaml"), **BOUND).status is Status.FAIL


def test_bound_not_bound_mesh_only(variant, check):
    """Canary: VirtualService not bound to the gateway."""
    out = check("virtualservice-bound", variant("vs-mesh-only.yaml"), **BOUND)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.gateways is not set, which means [mesh]" in out.reason
    assert "expected it to list webapp/web-gateway" in out.reason
    assert "spec.gateways" in out.hint


def test_bound_bogus_gateway(variant, check):
    out = check("virtualservice-bound", variant("vs-bogus-gateway.yaml"), **BOUND)
    assert out.status is Status.FAIL
    assert "VirtualService webapp/web spec.gateways is [web-gw]" in out.reason
    assert (
        "spec.gateways[0] 'web-gw' refers to Gateway webapp/web-gw, which does not exist (IST0101, KIA1102)"
        in out.reason
    )


def test_bound_gateway_param_does_not_exist(variant, check):
    out = check("virtualservice-bound", variant(), **(BOUND | {"gateway": "web-gw"}))
    assert out.status is Status.FAIL
    assert "Gateway webapp/web-gw does not exist" in out.reason and "web-gateway" in out.reason


def test_bound_host_mismatch(variant, check):
    out = check("virtualservice-bound", variant("vs-host-mismatch.yaml"), **BOUND)
    assert out.status is Status.FAIL
    assert (
        "VirtualService webapp/web spec.hosts [www.example.com] match none of the hosts of Gateway webapp/web-gateway "
        "spec.servers[*].hosts [web.apps.lab.example.com] (IST0132)"
    ) in out.reason


def test_bound_wildcard_hosts(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "Gateway", "web-gateway")["spec"]["servers"][0]["hosts"] = ["*.apps.lab.example.com"]
    assert check("virtualservice-bound", make_snap(objs), **BOUND).ok
    get(objs, "Gateway", "web-gateway")["spec"]["servers"][0]["hosts"] = ["*"]
    assert check("virtualservice-bound", make_snap(objs), **BOUND).ok


def test_bound_routes_elsewhere(load_scenario, get, make_snap, check):
    objs = load_scenario()
    for d in _vs(objs, get)["spec"]["http"][0]["route"]:
        d["destination"]["host"] = "api"
    out = check("virtualservice-bound", make_snap(objs), **BOUND)
    assert out.status is Status.FAIL
    assert (
        "VirtualService webapp/web routes to [api.webapp.svc.cluster.local] (spec.http[*].route[*].destination.host)"
        in out.reason
    )
    assert "expected a route to web.webapp.svc.cluster.local" in out.reason


def test_bound_short_host_resolves_in_rule_namespace(load_scenario, get, make_snap, check):
    """A VirtualService in istio-system routing to short name "web" means web.istio-system."""
    objs = load_scenario()
    vs = _vs(objs, get)
    vs["metadata"]["namespace"] = "istio-system"
    vs["spec"]["gateways"] = ["webapp/web-gateway"]
    out = check(
        "virtualservice-bound",
        make_snap(objs),
        namespace="istio-system",
        host="web.webapp",
        gateway="webapp/web-gateway",
    )
    assert out.status is Status.FAIL and "web.istio-system.svc.cluster.local" in out.reason


def test_bound_no_virtualservice(load_scenario, make_snap, check):
    objs = [o for o in load_scenario() if o["kind"] != "VirtualService"]
    out = check("virtualservice-bound", make_snap(objs), **BOUND)
    assert out.status is Status.FAIL and "no VirtualService in namespace webapp" in out.reason


def test_bound_picks_the_relevant_virtualservice(load_scenario, get, make_snap, check):
    objs = load_scenario("vs-mesh-only.yaml")
    other = {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "aaa-api", "namespace": "webapp", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"hosts": ["api"], "http": [{"route": [{"destination": {"host": "api"}}]}]},
    }
    out = check("virtualservice-bound", make_snap(objs + [other]), **BOUND)
    assert out.reason.startswith("VirtualService webapp/web spec.gateways")
    assert "other VirtualServices in webapp: aaa-api" in out.reason


# -- traffic-split -------------------------------------------------------------------------------
def test_split_pass(variant, check):
    out = check("traffic-split", variant(), **SPLIT)
    assert out.status is Status.PASS
    assert out.reason == "VirtualService webapp/web spec.http[0] splits v1 80% / v2 20% as expected"


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


def test_split_effective_route_not_first_entry_passes(variant, check):
    """Canary: http[0] matches only a header; a plain GET / takes http[1] which splits 80/20."""
    out = check("traffic-split", variant("vs-header-first.yaml"), **SPLIT)
    assert out.status is Status.PASS
    assert "spec.http[1] splits v1 80% / v2 20%" in out.reason
    assert "spec.http[0] matches only [headers" in out.reason


def test_split_effective_route_reverse_fails(variant, check):
    """Canary (reverse): the 80/20 split sits behind a header match."""
    out = check("traffic-split", variant("vs-header-split.yaml"), **SPLIT)
    assert out.status is Status.FAIL
    assert (
        "VirtualService webapp/web spec.http[1].route has a single destination (subset v1), which gets 100%"
        in out.reason
    )
    assert "spec.http[0] has the expected split, but a plain GET / never takes it" in out.reason


def test_split_no_entry_matches_plain_get(load_scenario, get, make_snap, check):
    objs = load_scenario()
    _vs(objs, get)["spec"]["http"][0]["match"] = [{"uri": {"prefix": "/api"}}]
    out = check("traffic-split", make_snap(objs), **SPLIT)
    assert out.status is Status.FAIL
    assert "no spec.http entry of VirtualService webapp/web matches a plain GET /" in out.reason
    assert "spec.http[0] matches only [uri" in out.reason


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
        "VirtualService webapp/web spec.http[0] (the route a plain GET / takes) has no route; it uses redirect"
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


# -- gateway-bound -----------------------------------------------------------------------------
def test_gateway_pass(variant, check):
    out = check("gateway-bound", variant(), **GW)
    assert out.status is Status.PASS
    assert "Gateway webapp/web-gateway selects istio-system/istio-ingressgateway-6c8f7b9d4f-q7w2n" in out.reason
    assert check("gateway-bound", variant(), **GW, selector={"istio": "ingressgateway"}).ok


def test_gateway_port_8080_is_target_port(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "Gateway", "web-gateway")["spec"]["servers"][0]["port"]["number"] = 8080
    assert check("gateway-bound", make_snap(objs), **GW).ok


def test_gateway_selector_matches_nothing(variant, check):
    out = check("gateway-bound", variant("gateway-bad-selector.yaml"), **GW)
    assert out.status is Status.FAIL
    assert (
        "Gateway webapp/web-gateway spec.selector {istio: ingress} matches no running pod in any namespace (IST0101)"
        in out.reason
    )
    assert "pods with label istio=ingressgateway: istio-system/istio-ingressgateway-6c8f7b9d4f-q7w2n" in out.reason


def test_gateway_selector_param_differs(variant, check):
    out = check("gateway-bound", variant(), **GW, selector={"istio": "ingress"})
    assert out.status is Status.FAIL
    assert (
        "Gateway webapp/web-gateway spec.selector is {istio: ingressgateway}; expected {istio: ingress}" in out.reason
    )


def test_gateway_pod_not_running(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "Pod", "istio-ingressgateway-6c8f7b9d4f-q7w2n", "istio-system")["status"]["phase"] = "Pending"
    out = check("gateway-bound", make_snap(objs), **GW)
    assert out.status is Status.FAIL and "which is Pending" in out.reason


def test_gateway_no_ingress_pods_at_all(load_scenario, make_snap, check):
    objs = [o for o in load_scenario() if not (o["kind"] == "Pod" and o["metadata"]["namespace"] == "istio-system")]
    out = check("gateway-bound", make_snap(objs), **GW)
    assert out.status is Status.FAIL and "no pod carries label istio=ingressgateway" in out.reason


def test_gateway_bad_port(variant, check):
    out = check("gateway-bound", variant("gateway-bad-port.yaml"), **GW)
    assert out.status is Status.FAIL
    assert (
        "Gateway webapp/web-gateway spec.servers[1].port.number 8004 is not a port or targetPort of "
        "Service istio-system/istio-ingressgateway (ports 15021->15021, 80->8080, 443->8443) (IST0162)"
    ) in out.reason


def test_gateway_no_service(load_scenario, make_snap, check):
    objs = [o for o in load_scenario() if not (o["kind"] == "Service" and o["metadata"]["namespace"] == "istio-system")]
    out = check("gateway-bound", make_snap(objs), **GW)
    assert out.status is Status.FAIL and "no Service selects the gateway pods" in out.reason


def test_gateway_missing_and_ill_typed(load_scenario, get, make_snap, variant, check):
    out = check("gateway-bound", variant(), namespace="webapp", gateway="public")
    assert (
        out.status is Status.FAIL and "Gateway webapp/public not found; Gateways in webapp: web-gateway" in out.reason
    )
    objs = load_scenario()
    gw = get(objs, "Gateway", "web-gateway")
    gw["spec"]["servers"][0]["port"]["number"] = "80"
    out = check("gateway-bound", make_snap(objs), **GW)
    assert "spec.servers[0].port.number is '80'; expected a port number" in out.reason
    gw["spec"]["selector"] = None
    assert "spec.selector is not set" in check("gateway-bound", make_snap(objs), **GW).reason
    gw["spec"] = {"selector": {"istio": "ingressgateway"}}
    assert "has no spec.servers" in check("gateway-bound", make_snap(objs), **GW).reason


def test_gateway_in_control_plane_namespace(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "Gateway", "web-gateway")["metadata"]["namespace"] = "istio-system"
    assert check("gateway-bound", make_snap(objs), namespace="webapp", gateway="istio-system/web-gateway").ok
