"""What a mesh control plane consists of, as data: the objects a ServiceMeshControlPlane
makes the Maistra operator deploy (OSSM 2.5, maistra/istio-operator maistra-2.5:
resources/helm/v2.5 and resources/smcp-templates/v2.5), and what `istioctl install`
(default profile) leaves in istio-system for the upstream flavour. Pure functions: no
cluster access here.
"""

from __future__ import annotations

import copy

from grader.sandbox.simulators.common import dig

OPERATOR_VERSION = "2.5.2"
DEFAULT_VERSION = "v2.5"
CHART_VERSIONS = {"v2.3": "2.3.13", "v2.4": "2.4.12", "v2.5": "2.5.2"}
ROUTE_DOMAIN = "apps.sandbox.lab"
CLUSTER_DOMAIN = "cluster.local"
OSSM_REGISTRY = "registry.redhat.io/openshift-service-mesh"
UPSTREAM_HUB = "docker.io/istio"
UPSTREAM_TAG = "1.20.8"


# -- the maistra.io API and the names the operator uses ------------------------------------------------
MAISTRA = "maistra.io"
V1, V2 = f"{MAISTRA}/v1", f"{MAISTRA}/v2"
SMCPS, SMMRS, SMMS = "servicemeshcontrolplanes", "servicemeshmemberrolls", "servicemeshmembers"
MEMBER_OF = "maistra.io/member-of"
IGNORE_NS = "maistra.io/ignore-namespace"
CREATED_BY = "maistra.io/created-by"
SMMR_CONTROLLER = "servicemeshmemberroll-controller"
SMM_CONTROLLER = "servicemeshmember-controller"
CSV_PREFIX = "servicemeshoperator"


# The v2.5 "base" SMCP template (resources/smcp-templates/v2.5/base): what an SMCP gets
# for every field it leaves out.
BASE_SPEC: dict = {
    "version": DEFAULT_VERSION,
    "profiles": ["default"],
    "gateways": {"enabled": True, "ingress": {"enabled": True, "ingress": False, "service": {"type": "ClusterIP"}},
                 "egress": {"enabled": True}, "openshiftRoute": {"enabled": False}},
    "general": {"logging": {"componentLevels": {"default": "warn"}}},
    "proxy": {"injection": {"autoInject": False}},
    "security": {"identity": {"type": "Kubernetes"}},
    "telemetry": {"type": "Istiod"},
    "policy": {"type": "None"},
    "tracing": {"type": "Jaeger"},
    "addons": {"prometheus": {"enabled": True}, "jaeger": {"name": "jaeger"},
               "grafana": {"enabled": True}, "kiali": {"enabled": True, "name": "kiali"}},
}


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def applied_spec(smcp: dict) -> dict:
    """The SMCP's spec over the base template: what the operator reports as status.appliedSpec."""
    return deep_merge(BASE_SPEC, smcp.get("spec") or {})


# -- what a control plane consists of -------------------------------------------------------
def _enabled(spec: dict, *path: str, default: bool = True) -> bool:
    v = dig(spec, *path)
    return default if v is None else bool(v)


def control_plane_objects(namespace: str, smcp: dict | None = None, spec: dict | None = None,
                          flavour: str = "istio") -> list[dict]:
    """The Kubernetes objects a control plane consists of (without the injector webhook
    for ossm2; ServiceMeshOperator adds that)."""
    spec = spec or {}
    if flavour == "istio" or smcp is None:
        return _upstream_objects(namespace)
    return _maistra_objects(namespace, smcp, deep_merge(BASE_SPEC, spec))


def _meta(name: str, namespace: str, labels: dict, owner: list | None = None, annotations: dict | None = None) -> dict:
    md: dict = {"name": name, "namespace": namespace, "labels": dict(labels)}
    if annotations:
        md["annotations"] = annotations
    if owner:
        md["ownerReferences"] = owner
    return md


def _deployment(name: str, namespace: str, labels: dict, selector: dict, pod_labels: dict, sa: str,
                containers: list[dict], owner: list | None, pod_annotations: dict | None = None) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, namespace, labels, owner),
        "spec": {
            "replicas": 1, "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {**pod_labels, **selector},
                             "annotations": {"sidecar.istio.io/inject": "false", **(pod_annotations or {})}},
                "spec": {"serviceAccountName": sa, "containers": containers},
            },
        },
    }


def _container(name: str, image: str, ports: list[tuple[str, int]], args: list[str] | None = None,
               ready_path: str | None = None, ready_port: int | None = None) -> dict:
    c: dict = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
               "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports],
               "resources": {"requests": {"cpu": "10m", "memory": "128Mi"}}}
    if args:
        c["args"] = args
    if ready_path:
        c["readinessProbe"] = {"httpGet": {"path": ready_path, "port": ready_port or ports[0][1], "scheme": "HTTP"},
                               "initialDelaySeconds": 1, "periodSeconds": 3}
    return c


def _service(name: str, namespace: str, labels: dict, selector: dict, ports: list[tuple[str, int, int]],
             owner: list | None, svc_type: str = "ClusterIP", annotations: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, namespace, labels, owner, annotations),
            "spec": {"type": svc_type, "selector": selector,
                     "ports": [{"name": n, "port": p, "targetPort": t, "protocol": "TCP"} for n, p, t in ports]}}


def _sa(name: str, namespace: str, labels: dict, owner: list | None) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, namespace, labels, owner)}


def _route(name: str, namespace: str, labels: dict, service: str, target_port: str | int, owner: list | None,
           tls: dict | None) -> dict:
    spec: dict = {"host": f"{name}-{namespace}.{ROUTE_DOMAIN}", "to": {"kind": "Service", "name": service, "weight": 100},
                  "port": {"targetPort": target_port}, "wildcardPolicy": "None"}
    if tls:
        spec["tls"] = tls
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": _meta(name, namespace, labels, owner),
            "spec": spec}


def _upstream_objects(ns: str) -> list[dict]:
    """istio-system as `istioctl install` (default profile) leaves it."""
    common = {"istio.io/rev": "default", "install.operator.istio.io/owning-resource": "installed-state",
              "install.operator.istio.io/owning-resource-namespace": ns, "operator.istio.io/version": UPSTREAM_TAG,
              "release": "istio"}
    pilot = {**common, "app": "istiod", "istio": "pilot", "operator.istio.io/component": "Pilot"}
    gw = {**common, "app": "istio-ingressgateway", "istio": "ingressgateway",
          "operator.istio.io/component": "IngressGateways"}
    pilot_pod = {"app": "istiod", "istio": "pilot", "istio.io/rev": "default", "sidecar.istio.io/inject": "false",
                 "operator.istio.io/component": "Pilot"}
    gw_pod = {"app": "istio-ingressgateway", "istio": "ingressgateway", "chart": "gateways", "heritage": "Tiller",
              "release": "istio", "istio.io/rev": "default", "sidecar.istio.io/inject": "false",
              "service.istio.io/canonical-name": "istio-ingressgateway",
              "service.istio.io/canonical-revision": "latest", "operator.istio.io/component": "IngressGateways"}
    return [
        _sa("istiod", ns, pilot, None),
        _sa("istio-ingressgateway-service-account", ns, gw, None),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("istio", ns, pilot),
         "data": {"mesh": _mesh_config(ns, "istiod"), "meshNetworks": "networks: {}"}},
        _deployment("istiod", ns, pilot, {"app": "istiod", "istio": "pilot"}, pilot_pod, "istiod",
                    [_container("discovery", f"{UPSTREAM_HUB}/pilot:{UPSTREAM_TAG}",
                                [("grpc-xds", 15010), ("https-dns", 15012), ("https-webhook", 15017),
                                 ("http-monitoring", 15014)],
                                ["discovery", "--monitoringAddr=:15014", "--domain", CLUSTER_DOMAIN],
                                "/ready", 8080)], None),
        _deployment("istio-ingressgateway", ns, gw, {"app": "istio-ingressgateway", "istio": "ingressgateway"},
                    gw_pod, "istio-ingressgateway-service-account",
                    [_container("istio-proxy", f"{UPSTREAM_HUB}/proxyv2:{UPSTREAM_TAG}",
                                [("status-port", 15021), ("http2", 8080), ("https", 8443),
                                 ("http-envoy-prom", 15090)],
                                ["proxy", "router", "--domain", f"$(POD_NAMESPACE).svc.{CLUSTER_DOMAIN}"],
                                "/healthz/ready", 15021)], None,
                    {"prometheus.io/scrape": "true", "prometheus.io/port": "15020"}),
        _service("istiod", ns, pilot, {"app": "istiod", "istio": "pilot"},
                 [("grpc-xds", 15010, 15010), ("https-dns", 15012, 15012), ("https-webhook", 443, 15017),
                  ("http-monitoring", 15014, 15014)], None),
        _service("istio-ingressgateway", ns, gw, {"app": "istio-ingressgateway", "istio": "ingressgateway"},
                 [("status-port", 15021, 15021), ("http2", 80, 8080), ("https", 443, 8443)], None,
                 svc_type="LoadBalancer"),
    ]


def _mesh_config(ns: str, istiod: str) -> str:
    return (f"defaultConfig:\n  discoveryAddress: {istiod}.{ns}.svc:15012\n  proxyMetadata: {{}}\n"
            f"  tracing:\n    zipkin:\n      address: zipkin.{ns}:9411\n"
            f"enablePrometheusMerge: true\nenableAutoMtls: true\nrootNamespace: {ns}\n"
            f"trustDomain: {CLUSTER_DOMAIN}\naccessLogFile: \"\"\n")


def _maistra_objects(ns: str, smcp: dict, spec: dict) -> list[dict]:
    name = smcp["metadata"]["name"]
    version = spec.get("version") or DEFAULT_VERSION
    chart = CHART_VERSIONS.get(version, OPERATOR_VERSION)
    uid = smcp["metadata"].get("uid")
    owner = [{"apiVersion": "maistra.io/v2", "kind": "ServiceMeshControlPlane", "name": name, "uid": uid,
              "controller": True, "blockOwnerDeletion": True}] if uid else None

    def labels(component: str, app: str, extra: dict | None = None) -> dict:
        return {"maistra.io/owner": ns, "maistra.io/owner-name": name, "maistra-version": chart,
                "app.kubernetes.io/component": component, "app.kubernetes.io/managed-by": "maistra-istio-operator",
                "app.kubernetes.io/part-of": "istio", "app.kubernetes.io/instance": ns,
                "app.kubernetes.io/name": app, "app.kubernetes.io/version": f"{chart}-1", "release": "istio",
                "app": app, **(extra or {})}

    def image(component: str) -> str:
        return f"{OSSM_REGISTRY}/{component}-rhel8:{chart}"

    objs: list[dict] = []
    reencrypt = {"termination": "reencrypt", "insecureEdgeTerminationPolicy": "Redirect"}

    # istiod (component istio-discovery)
    istiod = f"istiod-{name}"
    pl = labels("istio-discovery", "istiod", {"istio": "pilot", "istio.io/rev": name})
    psel = {"app": "istiod", "istio.io/rev": name}
    objs += [
        _sa(istiod, ns, pl, owner),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(f"istio-{name}", ns, pl, owner),
         "data": {"mesh": _mesh_config(ns, istiod), "meshNetworks": "networks: {}"}},
        _deployment(istiod, ns, pl, psel, {"istio": "pilot", "maistra-control-plane": ns,
                                            "sidecar.istio.io/inject": "false"}, istiod,
                    [_container("discovery", image("pilot"),
                                [("grpc-xds", 15010), ("https-dns", 15012), ("https-webhook", 15017),
                                 ("http-monitoring", 15014)],
                                ["discovery", "--monitoringAddr=:15014", "--domain", CLUSTER_DOMAIN,
                                 "--memberRollName=default", "--enableIOR=" +
                                 str(_enabled(spec, "gateways", "openshiftRoute", "enabled", default=False)).lower()],
                                "/ready", 8080)], owner),
        _service(istiod, ns, pl, psel, [("grpc-xds", 15010, 15010), ("https-dns", 15012, 15012),
                                        ("https-webhook", 443, 15017), ("http-monitoring", 15014, 15014)], owner),
    ]

    gateways_on = _enabled(spec, "gateways", "enabled")
    proxy_image = f"{OSSM_REGISTRY}/proxyv2-rhel8:{chart}"

    def gateway(gw: str, istio_label: str, component: str, ports: list[tuple[str, int, int]], svc_type: str) -> None:
        gl = labels(component, gw, {"istio": istio_label})
        sel = {"app": gw, "istio": istio_label}
        pod = {"chart": "gateways", "heritage": "Tiller", "maistra-control-plane": ns, "release": "istio",
               "sidecar.istio.io/inject": "false", "service.istio.io/canonical-name": gw,
               "service.istio.io/canonical-revision": "latest", "istio.io/rev": name}
        sa = f"{gw}-service-account"
        container_ports = [("status-port", 15021)] + [(n, t) for n, _p, t in ports if n != "status-port"] + \
            [("http-envoy-prom", 15090)]
        objs.extend([
            _sa(sa, ns, gl, owner),
            _deployment(gw, ns, gl, sel, pod, sa,
                        [_container("istio-proxy", proxy_image, container_ports,
                                    ["proxy", "router", "--domain", f"$(POD_NAMESPACE).svc.{CLUSTER_DOMAIN}"],
                                    "/healthz/ready", 15021)], owner,
                        {"prometheus.io/scrape": "true", "prometheus.io/port": "15020"}),
            _service(gw, ns, gl, sel, ports, owner, svc_type=svc_type),
        ])

    if gateways_on and _enabled(spec, "gateways", "ingress", "enabled"):
        gateway("istio-ingressgateway", "ingressgateway", "istio-ingress",
                [("status-port", 15021, 15021), ("http2", 80, 8080), ("https", 443, 8443)],
                dig(spec, "gateways", "ingress", "service", "type", default="ClusterIP"))
        objs.append(_route("istio-ingressgateway", ns, labels("istio-ingress", "istio-ingressgateway",
                                                              {"istio": "ingressgateway"}),
                           "istio-ingressgateway", 8080, owner, None))
    if gateways_on and _enabled(spec, "gateways", "egress", "enabled"):
        gateway("istio-egressgateway", "egressgateway", "istio-egress",
                [("http2", 80, 8080), ("https", 443, 8443), ("tls", 15443, 15443)],
                dig(spec, "gateways", "egress", "service", "type", default="ClusterIP"))

    def addon(app: str, component: str, img: str, svc: str, ports: list[tuple[str, int, int]],
              route_port: str, sa: str) -> None:
        al = labels(component, app)
        sel = {"app": app}
        objs.extend([
            _sa(sa, ns, al, owner),
            _deployment(app, ns, al, sel, {"maistra-control-plane": ns}, sa,
                        [_container(app, img, [(n, t) for n, _p, t in ports])], owner),
            _service(svc, ns, al, sel, ports, owner),
            _route(app, ns, al, svc, route_port, owner, reencrypt),
        ])

    if _enabled(spec, "addons", "prometheus", "enabled"):
        addon("prometheus", "prometheus", image("prometheus"), "prometheus",
              [("http-prometheus", 9090, 9090)], "http-prometheus", "prometheus")
    if str(dig(spec, "tracing", "type", default="Jaeger")).lower() == "jaeger":
        jname = dig(spec, "addons", "jaeger", "name", default="jaeger") or "jaeger"
        addon(jname, "tracing", "registry.redhat.io/rhosdt/jaeger-all-in-one-rhel8:1.51.0", f"{jname}-query",
              [("http-query", 16686, 16686)], "http-query", jname)
        # the collector the proxies report to (zipkin protocol)
        objs.append(_service(f"{jname}-collector", ns, labels("tracing", jname), {"app": jname},
                             [("http-zipkin", 9411, 9411), ("grpc-jaeger", 14250, 14250)], owner))
    if _enabled(spec, "addons", "grafana", "enabled"):
        addon("grafana", "grafana", image("grafana"), "grafana", [("http", 3000, 3000)], "http", "grafana")
    if _enabled(spec, "addons", "kiali", "enabled"):
        kname = dig(spec, "addons", "kiali", "name", default="kiali") or "kiali"
        addon(kname, "kiali", f"{OSSM_REGISTRY}/kiali-rhel8:1.73.8", kname,
              [("http", 20001, 20001), ("http-metrics", 9090, 9090)], "http", f"{kname}-service-account")

    # mesh-wide mTLS (resources/helm/v2.5/mesh-config/templates/enable-mesh-*.yaml)
    mc = {"maistra-version": chart, "app": "istio", "release": "istio", "maistra.io/owner": ns,
          "maistra.io/owner-name": name, "app.kubernetes.io/managed-by": "maistra-istio-operator",
          "app.kubernetes.io/component": "mesh-config", "app.kubernetes.io/part-of": "istio"}
    mtls = bool(dig(spec, "security", "dataPlane", "mtls", default=False))
    objs.append({"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication",
                 "metadata": _meta("default", ns, mc, owner),
                 "spec": {"mtls": {"mode": "STRICT" if mtls else "PERMISSIVE"}}})
    if mtls:
        objs.append({"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule",
                     "metadata": _meta("default", ns, mc, owner),
                     "spec": {"host": f"*.{CLUSTER_DOMAIN}", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}})
        objs.append({"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule",
                     "metadata": _meta("api-server", ns, mc, owner),
                     "spec": {"host": f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
                              "trafficPolicy": {"tls": {"mode": "DISABLE"}}}})
    return objs


# Kinds the operator prunes when the spec no longer asks for them.
PRUNE_KINDS = (("apps/v1", "Deployment"), ("v1", "Service"), ("route.openshift.io/v1", "Route"),
                ("networking.istio.io/v1beta1", "DestinationRule"), ("v1", "ServiceAccount"))
