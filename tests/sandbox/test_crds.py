"""The sandbox's own CRDs (grader/sandbox/crds/*.yaml) on the sandbox's real kube-apiserver:
they load, the API server accepts realistic manifests and rejects ill-typed ones with its
own 422 message, and an ill-typed VirtualService does not take the API server down.
Also: the official Maistra 2.5 CRDs (../shared/crds, when present) behave the same way."""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from grader.sandbox.simulators import bootstrap

CRD_DIR = Path(bootstrap.__file__).resolve().parent.parent / "crds"
SHARED_CRDS = Path(__file__).resolve().parents[3] / "shared" / "crds"
NS = "crd-test"

NETWORKING = ("gateways", "virtualservices", "destinationrules", "serviceentries", "sidecars")
SECURITY = ("peerauthentications", "authorizationpolicies", "requestauthentications")


# -- manifests ----------------------------------------------------------------------------------
def gateway(port: Any = 80) -> dict:
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "Gateway",
            "metadata": {"name": "bookinfo-gateway"},
            "spec": {"selector": {"istio": "ingressgateway"},
                     "servers": [{"port": {"number": port, "name": "http", "protocol": "HTTP"},
                                  "hosts": ["bookinfo.apps.example.com"]},
                                 {"port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                                  "hosts": ["bookinfo.apps.example.com"],
                                  "tls": {"mode": "SIMPLE", "credentialName": "bookinfo-cert"}}]}}


def virtualservice(w1: Any = 80, w2: Any = 20, **http: Any) -> dict:
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
            "metadata": {"name": "reviews"},
            "spec": {"hosts": ["reviews"], "gateways": ["bookinfo-gateway", "mesh"],
                     "http": [{"match": [{"headers": {"end-user": {"exact": "jason"}}, "uri": {"prefix": "/"}}],
                               "route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": w1},
                                         {"destination": {"host": "reviews", "subset": "v2",
                                                          "port": {"number": 9080}}, "weight": w2}],
                               "timeout": "10s",
                               "retries": {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,reset"},
                               **http}]}}


def destinationrule(**traffic_policy: Any) -> dict:
    tp = {"loadBalancer": {"simple": "ROUND_ROBIN"},
          "connectionPool": {"tcp": {"maxConnections": 100, "connectTimeout": "30ms"},
                             "http": {"http1MaxPendingRequests": 10, "maxRequestsPerConnection": 1}},
          "outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s",
                               "maxEjectionPercent": 100},
          "tls": {"mode": "ISTIO_MUTUAL"}}
    tp.update(traffic_policy)
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule",
            "metadata": {"name": "reviews"},
            "spec": {"host": "reviews.bookinfo.svc.cluster.local", "trafficPolicy": tp,
                     "subsets": [{"name": "v1", "labels": {"version": "v1"}},
                                 {"name": "v2", "labels": {"version": "v2"},
                                  "trafficPolicy": {"loadBalancer": {"simple": "LEAST_REQUEST"}}}]}}


def peerauthentication(mode: str = "STRICT", port_mode: str | None = None) -> dict:
    spec: dict = {"mtls": {"mode": mode}}
    if port_mode:
        spec.update(selector={"matchLabels": {"app": "reviews"}}, portLevelMtls={"9080": {"mode": port_mode}})
    return {"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication",
            "metadata": {"name": "default"}, "spec": spec}


def smcp(**spec: Any) -> dict:
    base = {"version": "v2.5", "mode": "MultiTenant",
            "tracing": {"type": "Jaeger", "sampling": 10000},
            "policy": {"type": "Istiod"}, "telemetry": {"type": "Istiod"},
            "security": {"dataPlane": {"mtls": True, "automtls": True}},
            "gateways": {"openshiftRoute": {"enabled": True}, "ingress": {"enabled": True}},
            "addons": {"jaeger": {"name": "jaeger", "install": {"storage": {"type": "Memory"}}},
                       "kiali": {"enabled": True, "name": "kiali"}, "prometheus": {"enabled": True},
                       "grafana": {"enabled": True}}}
    base.update(spec)
    return {"apiVersion": "maistra.io/v2", "kind": "ServiceMeshControlPlane",
            "metadata": {"name": "basic"}, "spec": base}


def smmr(members: Any = ("bookinfo",)) -> dict:
    return {"apiVersion": "maistra.io/v1", "kind": "ServiceMeshMemberRoll", "metadata": {"name": "default"},
            "spec": {"members": list(members) if isinstance(members, tuple) else members}}


def route(**spec: Any) -> dict:
    base = {"host": "bookinfo.apps.example.com", "path": "/productpage",
            "to": {"kind": "Service", "name": "productpage", "weight": 100},
            "port": {"targetPort": "http"}, "tls": {"termination": "edge"}}
    base.update(spec)
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "productpage"},
            "spec": {k: v for k, v in base.items() if v is not None}}


def subscription(**spec: Any) -> dict:
    base = {"channel": "stable", "name": "servicemeshoperator", "source": "redhat-operators",
            "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Automatic"}
    base.update(spec)
    return {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
            "metadata": {"name": "servicemeshoperator"}, "spec": {k: v for k, v in base.items() if v is not None}}


PLURALS = {"Gateway": "gateways", "VirtualService": "virtualservices", "DestinationRule": "destinationrules",
           "PeerAuthentication": "peerauthentications", "ServiceMeshControlPlane": "servicemeshcontrolplanes",
           "ServiceMeshMemberRoll": "servicemeshmemberrolls", "ServiceMeshMember": "servicemeshmembers",
           "Route": "routes", "Subscription": "subscriptions", "ServiceEntry": "serviceentries",
           "AuthorizationPolicy": "authorizationpolicies", "RequestAuthentication": "requestauthentications",
           "Sidecar": "sidecars"}


# -- API helpers ----------------------------------------------------------------------------------
def _path(obj: dict, ns: str) -> str:
    return f"/apis/{obj['apiVersion']}/namespaces/{ns}/{PLURALS[obj['kind']]}"


def create(api: client.ApiClient, obj: dict, ns: str = NS, dry_run: bool = False, name: str | None = None) -> dict:
    """POST the object as kubectl does (no client-side validation); returns the stored object."""
    body = copy.deepcopy(obj)
    if name:
        body["metadata"]["name"] = name
    query = [("dryRun", "All")] if dry_run else []
    return api.call_api(_path(body, ns), "POST", query_params=query,
                        header_params={"Content-Type": "application/json", "Accept": "application/json"},
                        body=body, response_types_map={201: "object", 200: "object"},
                        auth_settings=["BearerToken"], _return_http_data_only=True)


def rejected(api: client.ApiClient, obj: dict, ns: str = NS) -> str:
    """Create (dry run) and expect the API server's 422; returns its message."""
    with pytest.raises(ApiException) as exc:
        create(api, obj, ns, dry_run=True)
    assert exc.value.status == 422, exc.value.body
    return json.loads(exc.value.body)["message"]


def accepted(api: client.ApiClient, obj: dict, ns: str = NS) -> dict:
    return create(api, obj, ns, dry_run=True)


def table(api: client.ApiClient, path: str) -> dict:
    return api.call_api(path, "GET", header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
                        response_types_map={200: "object"}, auth_settings=["BearerToken"],
                        _return_http_data_only=True)


def get_raw(api: client.ApiClient, path: str) -> dict:
    return api.call_api(path, "GET", header_params={"Accept": "application/json"},
                        response_types_map={200: "object"}, auth_settings=["BearerToken"],
                        _return_http_data_only=True)


def ensure_ns(api: client.ApiClient, name: str) -> None:
    try:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    except ApiException as e:
        if e.status != 409:
            raise


# -- static checks (no cluster) ------------------------------------------------------------------------

@pytest.mark.parametrize("flavour", ["ossm2", "ossm3", "istio"])
def test_project_crds_are_well_formed(flavour: str) -> None:
    crds = bootstrap.project_crds(flavour)
    names = {c["metadata"]["name"] for c in crds}
    assert {f"{p}.networking.istio.io" for p in NETWORKING} | {f"{p}.security.istio.io" for p in SECURITY} <= names
    if flavour == "ossm2":
        assert {"servicemeshcontrolplanes.maistra.io", "servicemeshmemberrolls.maistra.io",
                "servicemeshmembers.maistra.io", "routes.route.openshift.io",
                "subscriptions.operators.coreos.com", "clusterserviceversions.operators.coreos.com",
                "operatorgroups.operators.coreos.com"} <= names
    if flavour == "ossm3":
        assert {"istios.sailoperator.io", "istiorevisions.sailoperator.io", "istiocnis.sailoperator.io",
                "istiorevisiontags.sailoperator.io", "routes.route.openshift.io",
                "subscriptions.operators.coreos.com"} <= names
        # what observability-3 wires up: the Telemetry API, the monitors OpenShift monitoring reads, Kiali
        assert {"telemetries.telemetry.istio.io", "servicemonitors.monitoring.coreos.com",
                "podmonitors.monitoring.coreos.com", "kialis.kiali.io"} <= names
        assert all(c["spec"]["scope"] == "Namespaced" for c in crds if c["metadata"]["name"] in (
            "telemetries.telemetry.istio.io", "servicemonitors.monitoring.coreos.com",
            "podmonitors.monitoring.coreos.com", "kialis.kiali.io"))
        assert not any(n.endswith(".maistra.io") for n in names)
    for crd in crds:
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
        versions = crd["spec"]["versions"]
        assert sum(1 for v in versions if v.get("storage")) == 1, crd["metadata"]["name"]
        assert all(v["served"] for v in versions)
        group = crd["spec"]["group"]
        names_v = [v["name"] for v in versions]
        if group == "networking.istio.io":
            expected = ["v1alpha3", "v1beta1"] + ([] if flavour == "ossm2" else ["v1"])
            assert names_v == expected
            assert next(v for v in versions if v["storage"])["name"] == "v1beta1"
        if group == "security.istio.io":
            # Maistra 2.5 serves v1 for AuthorizationPolicy/RequestAuthentication, not PeerAuthentication
            pa_only_v1beta1 = flavour == "ossm2" and crd["spec"]["names"]["kind"] == "PeerAuthentication"
            assert names_v == (["v1beta1"] if pa_only_v1beta1 else ["v1beta1", "v1"])


def test_ossm3_with_ossm2_adds_maistra_and_keeps_the_ossm3_istio_crds() -> None:
    """--with-ossm2 (a migration): the ossm3 CRDs plus maistra.io; networking.istio.io still serves v1."""
    plain = {c["metadata"]["name"]: c for c in bootstrap.project_crds("ossm3")}
    both = {c["metadata"]["name"]: c for c in bootstrap.project_crds("ossm3", with_ossm2=True)}
    assert set(both) - set(plain) == {"servicemeshcontrolplanes.maistra.io", "servicemeshmemberrolls.maistra.io",
                                      "servicemeshmembers.maistra.io"}
    assert [v["name"] for v in both["virtualservices.networking.istio.io"]["spec"]["versions"]] == \
        ["v1alpha3", "v1beta1", "v1"]
    assert bootstrap.project_crds("ossm2", with_ossm2=True) == bootstrap.project_crds("ossm2")


# -- the sandbox (the session's, from tests/conftest.py) -------------------------------------------------

@pytest.fixture(scope="module")
def api(sandbox) -> Iterator[client.ApiClient]:
    a = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    ensure_ns(a, NS)
    yield a
    core = client.CoreV1Api(a)
    for ns in core.list_namespace().items:  # leave the shared sandbox as we found it
        if ns.metadata.name.startswith("crd-"):
            core.delete_namespace(ns.metadata.name)


@pytest.mark.sandbox
def test_crds_established_with_names_and_versions(api: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api)
    crds = {c.metadata.name: c for c in ext.list_custom_resource_definition().items}
    for want in bootstrap.project_crds("ossm2"):
        crd = crds[want["metadata"]["name"]]
        assert any(c.type == "Established" and c.status == "True" for c in crd.status.conditions)
    net = get_raw(api, "/apis/networking.istio.io/v1beta1")
    res = {r["name"]: r for r in net["resources"]}
    assert res["virtualservices"]["shortNames"] == ["vs"]
    assert res["gateways"]["shortNames"] == ["gw"]
    assert res["destinationrules"]["shortNames"] == ["dr"]
    assert res["serviceentries"]["shortNames"] == ["se"]
    assert res["virtualservices"]["categories"] == ["istio-io", "networking-istio-io"]
    groups = {g["name"]: [v["version"] for v in g["versions"]] for g in get_raw(api, "/apis")["groups"]}
    assert groups["networking.istio.io"] == ["v1beta1", "v1alpha3"]  # OSSM 2.x: no networking v1
    assert sorted(groups["security.istio.io"]) == ["v1", "v1beta1"]  # v1: AuthorizationPolicy, RequestAuthentication
    sec_v1 = {r["name"] for r in get_raw(api, "/apis/security.istio.io/v1")["resources"]}
    assert "peerauthentications" not in sec_v1 and "authorizationpolicies" in sec_v1
    assert sorted(groups["maistra.io"]) == ["v1", "v2"]
    sec = {r["name"]: r for r in get_raw(api, "/apis/security.istio.io/v1beta1")["resources"]}
    assert sec["peerauthentications"]["shortNames"] == ["pa"]
    assert {sec["authorizationpolicies"]["shortNames"][0], sec["requestauthentications"]["shortNames"][0]} == {
        "ap", "ra"}
    maistra = {r["name"]: r for r in get_raw(api, "/apis/maistra.io/v1")["resources"]}
    assert maistra["servicemeshmemberrolls"]["shortNames"] == ["smmr"]
    olm = {r["name"]: r for r in get_raw(api, "/apis/operators.coreos.com/v1alpha1")["resources"]}
    assert olm["subscriptions"]["shortNames"] == ["sub", "subs"]
    assert olm["clusterserviceversions"]["shortNames"] == ["csv", "csvs"]


@pytest.mark.sandbox
def test_valid_manifests_are_accepted_and_kept(api: client.ApiClient) -> None:
    ns = "crd-valid"
    ensure_ns(api, ns)
    for obj in (gateway(), virtualservice(), destinationrule(), peerauthentication()):
        stored = create(api, obj, ns)
        assert stored["spec"] == obj["spec"], obj["kind"]  # nothing pruned, nothing rewritten
    vs = get_raw(api, f"/apis/networking.istio.io/v1alpha3/namespaces/{ns}/virtualservices/reviews")
    assert [r["weight"] for r in vs["spec"]["http"][0]["route"]] == [80, 20]  # served as v1alpha3 as well
    # Fields the schema does not list are kept (open schema), e.g. newer Istio fields.
    dr = destinationrule(outlierDetection={"consecutive5xxErrors": 3, "interval": "1s",
                                           "consecutiveErrors": 7, "futureField": {"x": 1}})
    stored = create(api, dr, ns, name="reviews-open")
    assert stored["spec"]["trafficPolicy"]["outlierDetection"]["futureField"] == {"x": 1}
    assert stored["spec"]["trafficPolicy"]["outlierDetection"]["consecutiveErrors"] == 7
    # Everything else in the OpenShift world; dry run keeps the simulators out of it.
    for obj in (smcp(), smmr(), route(), route(port={"targetPort": 9080}), subscription(),
                {"apiVersion": "maistra.io/v1", "kind": "ServiceMeshMember", "metadata": {"name": "default"},
                 "spec": {"controlPlaneRef": {"name": "basic", "namespace": "istio-system"}}}):
        assert accepted(api, obj, ns)["spec"] == obj["spec"] or obj["kind"] == "Route"


@pytest.mark.sandbox
def test_route_defaults(api: client.ApiClient) -> None:
    r = accepted(api, route(to={"name": "productpage"}, tls=None, port={"targetPort": 9080}))
    assert r["spec"]["to"] == {"kind": "Service", "name": "productpage", "weight": 100}
    assert r["spec"]["wildcardPolicy"] == "None"
    assert r["spec"]["port"]["targetPort"] == 9080


@pytest.mark.sandbox
@pytest.mark.parametrize("weights", [(80, 20), (8, 2), (0, 100), (150, 50), (100, 0)], ids=lambda w: f"{w[0]}-{w[1]}")
def test_weights_are_relative_integers(api: client.ApiClient, weights: tuple[int, int]) -> None:
    """Istio >= 1.15 (and OSSM 2.4+): any integer >= 0, no sum of 100 required."""
    accepted(api, virtualservice(*weights))


@pytest.mark.sandbox
@pytest.mark.parametrize(("obj", "expected"), [
    (virtualservice("80", 20), ['spec.http[0].route[0].weight', 'must be of type integer: "string"']),
    (virtualservice(-10, 110), ["spec.http[0].route[0].weight", "should be greater than or equal to 0"]),
    (virtualservice(80, 20, timeout=10), ["spec.http[0].timeout", "must be of type string"]),
    (virtualservice(80, 20, retries={"attempts": "3"}), ["spec.http[0].retries.attempts", "integer"]),
    (virtualservice(80, 20, retries={"attempts": 3, "perTryTimeout": 2}),
     ["spec.http[0].retries.perTryTimeout", "string"]),
    (virtualservice(80, 20, fault={"abort": {"httpStatus": 500, "percentage": {"value": "50"}}}),
     ["spec.http[0].fault.abort.percentage.value", "must be of type number"]),
    (virtualservice(80, 20, fault={"delay": {"fixedDelay": 7, "percentage": {"value": 100}}}),
     ["spec.http[0].fault.delay.fixedDelay", "string"]),
    (peerauthentication("STRICTT"), ['spec.mtls.mode: Unsupported value: "STRICTT"',
                                     '"UNSET", "DISABLE", "PERMISSIVE", "STRICT"']),
    (peerauthentication("strict"), ['spec.mtls.mode: Unsupported value: "strict"']),
    (peerauthentication("STRICT", port_mode="PERMISIVE"), ['spec.portLevelMtls.9080.mode: Unsupported value']),
    (destinationrule(tls={"mode": "ISTIO_MUTAL"}), ['spec.trafficPolicy.tls.mode: Unsupported value: "ISTIO_MUTAL"',
                                                     '"DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"']),
    (destinationrule(outlierDetection={"consecutive5xxErrors": "5"}),
     ["spec.trafficPolicy.outlierDetection.consecutive5xxErrors", "integer"]),
    (destinationrule(outlierDetection={"consecutiveErrors": "5"}),
     ["spec.trafficPolicy.outlierDetection.consecutiveErrors", "integer"]),
    (destinationrule(outlierDetection={"consecutive5xxErrors": 5, "baseEjectionTime": 30}),
     ["spec.trafficPolicy.outlierDetection.baseEjectionTime", "string"]),
    (destinationrule(connectionPool={"tcp": {"maxConnections": "100"}}),
     ["spec.trafficPolicy.connectionPool.tcp.maxConnections", "integer"]),
    (destinationrule(connectionPool={"http": {"http1MaxPendingRequests": "1"}}),
     ["spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests", "integer"]),
    (destinationrule(loadBalancer={"simple": "ROUND_ROBBIN"}), ["spec.trafficPolicy.loadBalancer.simple"]),
    (gateway("80"), ['spec.servers[0].port.number', 'must be of type integer: "string"']),
    (gateway(80.5), ["spec.servers[0].port.number", "integer"]),
    (smcp(tracing={"type": "Jaeger", "sampling": 20000}),
     ["spec.tracing.sampling", "should be less than or equal to 10000"]),
    (smcp(tracing={"type": "jaeger", "sampling": 100}), ['spec.tracing.type: Unsupported value: "jaeger"']),
    (smcp(addons={"jaeger": {"install": {"storage": {"type": "memory"}}}}),
     ['spec.addons.jaeger.install.storage.type: Unsupported value: "memory"']),
    (smcp(addons={"kiali": {"enabled": "true"}}), ["spec.addons.kiali.enabled", "boolean"]),
    (smcp(security={"dataPlane": {"mtls": "true"}}), ["spec.security.dataPlane.mtls", "boolean"]),
    (smcp(gateways={"openshiftRoute": {"enabled": "false"}}), ["spec.gateways.openshiftRoute.enabled", "boolean"]),
    (smcp(version=2.5), ["spec.version", "string"]),
    (smmr("bookinfo"), ["spec.members", "array"]),
    ({"apiVersion": "maistra.io/v1", "kind": "ServiceMeshMember", "metadata": {"name": "default"},
      "spec": {"controlPlaneRef": {"name": "basic"}}}, ["spec.controlPlaneRef.namespace", "Required value"]),
    (route(tls={"termination": "Edge"}), ['spec.tls.termination: Unsupported value: "Edge"']),
    (route(to={"kind": "Service"}), ["spec.to.name", "Required value"]),
    (subscription(installPlanApproval="automatic"), ['spec.installPlanApproval: Unsupported value: "automatic"']),
    (subscription(name=None), ["spec.name", "Required value"]),
], ids=[
    "vs-string-weight", "vs-negative-weight", "vs-timeout-int", "vs-retries-attempts-string",
    "vs-perTryTimeout-int", "vs-fault-percentage-string", "vs-fixedDelay-int", "pa-STRICTT", "pa-lowercase",
    "pa-portLevel-typo", "dr-tls-typo", "dr-consecutive5xx-string", "dr-consecutiveErrors-string",
    "dr-baseEjectionTime-int", "dr-maxConnections-string", "dr-http1MaxPending-string", "dr-lb-typo",
    "gw-port-string", "gw-port-float", "smcp-sampling-20000", "smcp-tracing-lowercase", "smcp-storage-lowercase",
    "smcp-kiali-enabled-string", "smcp-mtls-string", "smcp-route-enabled-string", "smcp-version-number",
    "smmr-members-string", "smm-no-namespace", "route-termination-case", "route-no-service", "sub-approval-typo",
    "sub-no-package",
])
def test_ill_typed_manifests_are_rejected(api: client.ApiClient, obj: dict, expected: list[str]) -> None:
    message = rejected(api, obj)
    for part in expected:
        assert part in message, message
    assert " is invalid: " in message


@pytest.mark.sandbox
def test_string_weight_does_not_crash_the_api_server(api: client.ApiClient, sandbox) -> None:
    """Regression: the former 1.20 API server built with Go >= 1.18 and reflect2 1.0.1 died ("fatal
    error: fault") while building this very error; the error must come back and the server stay up."""
    pid = sandbox.pid("kube-apiserver")
    for _ in range(3):
        with pytest.raises(ApiException) as exc:
            create(api, virtualservice("80", "20"), name="string-weights")
        assert exc.value.status == 422
        assert "must be of type integer" in exc.value.body
    assert sandbox.healthy()
    assert sandbox.pid("kube-apiserver") == pid
    client.CoreV1Api(api).list_namespace(limit=1)  # and it still answers ordinary requests


@pytest.mark.sandbox
def test_printer_columns(api: client.ApiClient) -> None:
    ns = "crd-columns"
    ensure_ns(api, ns)
    create(api, virtualservice(), ns)
    create(api, peerauthentication("PERMISSIVE"), ns)
    t = table(api, f"/apis/networking.istio.io/v1beta1/namespaces/{ns}/virtualservices")
    cols = [c["name"] for c in t["columnDefinitions"]]
    assert cols == ["Name", "Gateways", "Hosts", "Age"]
    row = dict(zip(cols, t["rows"][0]["cells"], strict=True))
    assert row["Name"] == "reviews" and "bookinfo-gateway" in row["Gateways"] and "reviews" in row["Hosts"]
    t = table(api, f"/apis/security.istio.io/v1beta1/namespaces/{ns}/peerauthentications")
    row = dict(zip([c["name"] for c in t["columnDefinitions"]], t["rows"][0]["cells"], strict=True))
    assert row["Mode"] == "PERMISSIVE"
    t = table(api, f"/apis/maistra.io/v2/namespaces/{ns}/servicemeshcontrolplanes")
    assert [c["name"] for c in t["columnDefinitions"]][:6] == ["Name", "Ready", "Status", "Profiles", "Version", "Age"]
    t = table(api, f"/apis/maistra.io/v1/namespaces/{ns}/servicemeshmemberrolls")
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Ready", "Status", "Age", "Members"]
    t = table(api, f"/apis/operators.coreos.com/v1alpha1/namespaces/{ns}/clusterserviceversions")
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Display", "Version", "Replaces", "Phase"]
    t = table(api, f"/apis/operators.coreos.com/v1alpha1/namespaces/{ns}/subscriptions")
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Package", "Source", "Channel"]


@pytest.mark.sandbox
# Regression: the former kube-apiserver 1.20 built with Go >= 1.16 treated "" as null in CR schema
# validation (kubernetes/kubernetes#99804, fixed upstream in kube-openapi).
def test_empty_strings_are_valid_strings(api: client.ApiClient) -> None:
    accepted(api, virtualservice(80, 20, name=""))
    accepted(api, route(host=""))


# -- the official Maistra 2.5 CRDs (../shared/crds) -------------------------------------------------
@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.ApiClient]:
    if not SHARED_CRDS.is_dir():
        pytest.skip(f"{SHARED_CRDS} not present")
    from grader.sandbox.binaries import MissingBinaries, find
    from grader.sandbox.control_plane import Sandbox
    try:
        find()
    except MissingBinaries as e:
        if os.environ.get("LAB_REQUIRE_SANDBOX"):
            pytest.fail(f"LAB_REQUIRE_SANDBOX is set but {e}")
        pytest.skip(str(e))
    # Only the Maistra 2.5 files (what OSSM 2.5 installs); test_cel_rules.py loads the others.
    crd_dir = tmp_path_factory.mktemp("official-crds")
    for f in sorted(SHARED_CRDS.glob("maistra-2.5*.yaml")):
        shutil.copy(f, crd_dir / f.name)
    sb = Sandbox(root=tmp_path_factory.mktemp("sb-official"))
    try:
        sb.up(flavour="ossm2", crds=crd_dir, timeout=120)
        a = config.new_client_from_config(config_file=str(sb.kubeconfig))
        ensure_ns(a, NS)
        yield a
    finally:
        sb.down(purge=True)


@pytest.mark.sandbox
def test_official_crds_are_the_ones_served(official: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(official)
    vs = ext.read_custom_resource_definition("virtualservices.networking.istio.io")
    assert (vs.metadata.labels or {}).get("maistra-version") == "2.5.1"
    assert [v.name for v in vs.spec.versions if v.storage] == ["v1alpha3"]
    smcp_crd = ext.read_custom_resource_definition("servicemeshcontrolplanes.maistra.io")
    assert (smcp_crd.metadata.labels or {}).get("maistra-version") == "2.5.1"
    # What the official files lack comes from the project's files (Route, OLM).
    route_crd = ext.read_custom_resource_definition("routes.route.openshift.io")
    assert (route_crd.metadata.labels or {}).get("app.kubernetes.io/part-of") == "lab-sandbox"


@pytest.mark.sandbox
def test_official_crds_reject_the_same_mistakes(official: client.ApiClient) -> None:
    msg = rejected(official, virtualservice("80", 20))
    assert "spec.http[0].route[0].weight" in msg and "must be of type integer" in msg
    msg = rejected(official, peerauthentication("STRICTT"))
    assert 'spec.mtls.mode: Unsupported value: "STRICTT"' in msg
    msg = rejected(official, destinationrule(tls={"mode": "ISTIO_MUTAL"}))
    assert 'Unsupported value: "ISTIO_MUTAL"' in msg
    msg = rejected(official, smcp(tracing={"type": "Jaeger", "sampling": 20000}))
    assert "spec.tracing.sampling" in msg
    accepted(official, virtualservice(80, 20))
    accepted(official, virtualservice(150, 50))
    accepted(official, destinationrule(outlierDetection={"consecutiveErrors": 5}))


@pytest.mark.sandbox
def test_official_crds_with_olm(official: client.ApiClient) -> None:
    co = client.CustomObjectsApi(official)
    co.create_namespaced_custom_object("operators.coreos.com", "v1alpha1", "openshift-operators", "subscriptions",
                                       subscription())
    kw = {"group": "operators.coreos.com", "version": "v1alpha1", "namespace": "openshift-operators",
          "plural": "clusterserviceversions", "field_selector": "metadata.name=servicemeshoperator.v2.5.2"}
    listing = co.list_namespaced_custom_object(**kw)
    if any((c.get("status") or {}).get("phase") == "Succeeded" for c in listing["items"]):
        return
    for ev in watch.Watch().stream(co.list_namespaced_custom_object, timeout_seconds=60,
                                   resource_version=listing["metadata"]["resourceVersion"], **kw):
        if (ev["object"].get("status") or {}).get("phase") == "Succeeded":
            return
    raise AssertionError("servicemeshoperator.v2.5.2 did not reach Succeeded")


def test_sail_crds_follow_the_official_ones() -> None:
    """The project's sailoperator.io CRDs have the official files' scope, kinds, printer columns and
    spec fields (the official files are in ../shared/crds when present; the project never ships them)."""
    here = Path(__file__).resolve()
    shared = next((p / "shared" / "crds" for p in here.parents[2:5] if (p / "shared" / "crds").is_dir()), here)
    ours = {c["metadata"]["name"]: c for c in bootstrap.project_crds("ossm3") if c["spec"]["group"] == "sailoperator.io"}
    assert set(ours) == {"istios.sailoperator.io", "istiorevisions.sailoperator.io", "istiocnis.sailoperator.io",
                         "istiorevisiontags.sailoperator.io"}
    files = sorted(shared.glob("sail-operator_sailoperator.io_*.yaml")) if shared.is_dir() else []
    if not files:
        pytest.skip("the official Sail CRDs are not available")
    for f in files:
        official = yaml.safe_load(f.read_text())
        mine = ours[official["metadata"]["name"]]
        assert mine["spec"]["scope"] == official["spec"]["scope"] == "Cluster"
        assert mine["spec"]["names"]["kind"] == official["spec"]["names"]["kind"]
        (ov,), (mv,) = official["spec"]["versions"], mine["spec"]["versions"]
        assert [c["name"] for c in mv["additionalPrinterColumns"]] == [c["name"] for c in ov["additionalPrinterColumns"]]
        o_spec = ov["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        m_spec = mv["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        assert set(m_spec) == set(o_spec)
        o_status = ov["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
        m_status = mv["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
        assert set(m_status) == set(o_status)
