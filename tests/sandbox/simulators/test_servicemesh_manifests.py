"""What a ServiceMeshControlPlane deploys (grader/sandbox/simulators/servicemesh/manifests.py),
read against Red Hat's documentation of the SMCP v2 parameters
(docs.openshift.com service_mesh/v2x/ossm-reference-smcp: gateways, addons, tracing,
security.dataPlane.mtls) and maistra/istio-operator maistra-2.5 (resources/smcp-templates/v2.5/base,
resources/helm/v2.5/mesh-config/templates/enable-mesh-*.yaml), and against what
`istioctl install` leaves in istio-system."""

from __future__ import annotations

from grader.sandbox.simulators.servicemesh.manifests import BASE_SPEC, applied_spec, control_plane_objects

SMCP = {"apiVersion": "maistra.io/v2", "kind": "ServiceMeshControlPlane",
        "metadata": {"name": "basic", "namespace": "istio-system", "uid": "0000-smcp"}}


def objects(spec: dict | None = None) -> dict[str, dict]:
    objs = control_plane_objects("istio-system", dict(SMCP, spec=spec or {}), spec or {}, flavour="ossm2")
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objs}


def deployments(spec: dict | None = None) -> set[str]:
    return {k.split("/")[1] for k in objects(spec) if k.startswith("Deployment/")}


def test_the_default_smcp_deploys_istiod_gateways_and_addons():
    assert deployments() == {"istiod-basic", "istio-ingressgateway", "istio-egressgateway", "prometheus",
                             "grafana", "kiali", "jaeger"}


def test_every_object_is_owned_by_the_smcp_and_labelled_for_it():
    for key, obj in objects().items():
        md = obj["metadata"]
        assert md["namespace"] == "istio-system", key
        (owner,) = md["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == \
            ("ServiceMeshControlPlane", "basic", "0000-smcp", True), key
        assert md["labels"]["maistra.io/owner"] == "istio-system", key
        if obj["kind"] == "Deployment":
            assert md["labels"]["app.kubernetes.io/component"], key  # status.readiness.components reads it


def test_disabled_addons_and_gateways_are_not_deployed():
    spec = {"addons": {"kiali": {"enabled": False}, "grafana": {"enabled": False}},
            "gateways": {"egress": {"enabled": False}}, "tracing": {"type": "None"}}
    assert deployments(spec) == {"istiod-basic", "istio-ingressgateway", "prometheus"}


def test_data_plane_mtls_makes_the_mesh_strict():
    on = objects({"security": {"dataPlane": {"mtls": True}}})
    assert on["PeerAuthentication/default"]["spec"] == {"mtls": {"mode": "STRICT"}}
    assert on["DestinationRule/default"]["spec"] == {"host": "*.cluster.local",
                                                     "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}
    off = objects({"security": {"dataPlane": {"mtls": False}}})
    assert off["PeerAuthentication/default"]["spec"] == {"mtls": {"mode": "PERMISSIVE"}}
    assert "DestinationRule/default" not in off


def test_addons_get_reencrypt_routes_on_the_router_domain():
    routes = {k: o for k, o in objects().items() if k.startswith("Route/")}
    assert {"Route/kiali", "Route/jaeger", "Route/prometheus", "Route/grafana", "Route/istio-ingressgateway"} \
        <= set(routes)
    assert routes["Route/kiali"]["spec"]["host"] == "kiali-istio-system.apps.sandbox.lab"
    assert routes["Route/kiali"]["spec"]["tls"]["termination"] == "reencrypt"


def test_named_addons_keep_their_names():
    names = deployments({"addons": {"kiali": {"name": "my-kiali"}, "jaeger": {"name": "traces"}}})
    assert {"my-kiali", "traces"} <= names and "kiali" not in names


def test_applied_spec_is_the_base_template_under_the_smcp_spec():
    applied = applied_spec(dict(SMCP, spec={"tracing": {"sampling": 10000}, "version": "v2.4"}))
    assert applied["version"] == "v2.4"
    assert applied["tracing"] == {"type": "Jaeger", "sampling": 10000}
    assert applied["proxy"] == BASE_SPEC["proxy"] == {"injection": {"autoInject": False}}


def test_upstream_istio_is_what_istioctl_install_leaves():
    objs = {f"{o['kind']}/{o['metadata']['name']}": o
            for o in control_plane_objects("istio-system", None, {}, flavour="istio")}
    assert {k for k in objs if k.startswith("Deployment/")} == {"Deployment/istiod", "Deployment/istio-ingressgateway"}
    assert objs["Service/istio-ingressgateway"]["spec"]["type"] == "LoadBalancer"
    pod_labels = objs["Deployment/istio-ingressgateway"]["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["istio"] == "ingressgateway"  # what a Gateway's selector names
    assert all("ownerReferences" not in o["metadata"] for o in objs.values())
