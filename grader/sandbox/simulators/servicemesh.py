"""The Service Mesh operator stand-in (Maistra / OSSM 2.5) and the control plane it installs.

What it mirrors (MESH-FACTS sections 1-3; maistra/istio-operator maistra-2.5):
- ServiceMeshControlPlane (maistra.io/v2): reconciled only while a ClusterServiceVersion
  `servicemeshoperator*` is Succeeded (no operator, no status). Installs the
  Deployments, Services, Routes, mesh-wide PeerAuthentication/DestinationRules and the
  injector webhook; status has the real conditions (Installed, Reconciled, Ready),
  readiness.components from the Deployments' app.kubernetes.io/component label,
  annotations.readyComponentCount, appliedSpec, chartVersion, operatorVersion.
  Namespaced objects carry an ownerReference to the SMCP, so the real garbage
  collector removes them with it; the cluster-scoped webhook is deleted here.
  One SMCP per namespace: later ones get ErrMultipleSMCPs.
- ServiceMeshMemberRoll (maistra.io/v1, named `default`): creates a ServiceMeshMember
  in each member namespace, and reports members/configured/pending like
  memberroll/controller.go.
- ServiceMeshMember (maistra.io/v1, named `default`): labels its namespace
  maistra.io/member-of=<cp ns> (and keeps it there), adds the mesh RoleBinding, creates
  the SMMR if none exists; deleting it takes the label away again.

The upstream-Istio flavour has no operator: bootstrap applies control_plane_objects
("istio") once, as `istioctl install` would have left it.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from grader.sandbox.simulators.common import apply, log, now, watch_forever
from grader.sandbox.simulators.injector_config import injector_configmap

MANAGER = "lab-sandbox"
OPERATOR_VERSION = "2.5.2"
DEFAULT_VERSION = "v2.5"
CHART_VERSIONS = {"v2.3": "2.3.13", "v2.4": "2.4.12", "v2.5": "2.5.2"}
ROUTE_DOMAIN = "apps.sandbox.lab"
CLUSTER_DOMAIN = "cluster.local"
OSSM_REGISTRY = "registry.redhat.io/openshift-service-mesh"
UPSTREAM_HUB = "docker.io/istio"
UPSTREAM_TAG = "1.20.8"

MAISTRA = "maistra.io"
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

_CLUSTER_SCOPED = {"Namespace", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ClusterRole",
                   "ClusterRoleBinding", "CustomResourceDefinition", "Node", "PersistentVolume"}
_PLURALS = {"ServiceMeshControlPlane": "servicemeshcontrolplanes", "ServiceMeshMemberRoll": "servicemeshmemberrolls",
            "ServiceMeshMember": "servicemeshmembers", "Endpoints": "endpoints", "Ingress": "ingresses"}


# -- REST plumbing -------------------------------------------------------------------
def plural(kind: str) -> str:
    if kind in _PLURALS:
        return _PLURALS[kind]
    k = kind.lower()
    if k.endswith("y"):
        return k[:-1] + "ies"
    if k.endswith("s"):
        return k + "es"
    return k + "s"


def collection_path(api_version: str, kind: str, namespace: str | None = None) -> str:
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespace and kind not in _CLUSTER_SCOPED:
        return f"{base}/namespaces/{namespace}/{plural(kind)}"
    return f"{base}/{plural(kind)}"


def rest_path(obj: dict) -> str:
    md = obj["metadata"]
    return f"{collection_path(obj['apiVersion'], obj['kind'], md.get('namespace'))}/{md['name']}"


def _call(api: client.ApiClient, method: str, path: str, body: Any = None, query: list | None = None,
          content_type: str = "application/json") -> Any:
    return api.call_api(path, method, query_params=query or [],
                        header_params={"Content-Type": content_type, "Accept": "application/json"},
                        body=body, response_types_map={200: "object", 201: "object", 202: "object"},
                        auth_settings=["BearerToken"], _return_http_data_only=True)


def _get(api: client.ApiClient, path: str) -> dict | None:
    try:
        return _call(api, "GET", path)
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def _list(api: client.ApiClient, path: str, label_selector: str | None = None) -> list[dict]:
    query = [("labelSelector", label_selector)] if label_selector else []
    try:
        return (_call(api, "GET", path, query=query) or {}).get("items") or []
    except ApiException as e:
        if e.status == 404:
            return []
        raise


def _delete(api: client.ApiClient, path: str, body: dict | None = None) -> None:
    try:
        _call(api, "DELETE", path, body=body)
    except ApiException as e:
        if e.status not in (404, 409):
            raise


def _merge_patch(api: client.ApiClient, path: str, body: dict) -> Any:
    return _call(api, "PATCH", path, body=body, content_type="application/merge-patch+json")


def apply_objects(api: client.ApiClient, objs: list[dict]) -> list[dict]:
    """Server-side apply (field manager lab-sandbox) of each object, in order."""
    out = []
    for obj in objs:
        out.append(apply(api, rest_path(obj), obj, manager=MANAGER))
    return out


# -- small dict helpers ------------------------------------------------------------------
def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def merge_diff(old: Any, new: Any) -> Any:
    """A JSON merge patch turning `old` into `new` (None: nothing to change)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return None if old == new else new
    patch: dict = {k: None for k in old if k not in new}
    for k, v in new.items():
        if k not in old:
            patch[k] = v
        elif isinstance(old[k], dict) and isinstance(v, dict):
            sub = merge_diff(old[k], v)
            if sub:
                patch[k] = sub
        elif old[k] != v:
            patch[k] = v
    return patch or None


def _dig(d: dict | None, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def _condition(ctype: str, status: bool | str, reason: str = "", message: str = "",
               previous: list | None = None) -> dict:
    st = status if isinstance(status, str) else ("True" if status else "False")
    c = {"type": ctype, "status": st}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    old = next((p for p in previous or [] if p.get("type") == ctype), None)
    c["lastTransitionTime"] = old["lastTransitionTime"] if old and old.get("status") == st and \
        old.get("lastTransitionTime") else now()
    return c


def _same_conditions(a: list | None, b: list | None) -> bool:
    def strip(cs: list | None) -> list:
        return [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in cs or []]
    return strip(a) == strip(b)


# -- what a control plane consists of -------------------------------------------------------
def _enabled(spec: dict, *path: str, default: bool = True) -> bool:
    v = _dig(spec, *path)
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
        injector_configmap("istio", ns, "istio-sidecar-injector", "default", pilot),
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
        injector_configmap("ossm2", ns, f"istio-sidecar-injector-{name}", name, pl, owner),
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
                _dig(spec, "gateways", "ingress", "service", "type", default="ClusterIP"))
        objs.append(_route("istio-ingressgateway", ns, labels("istio-ingress", "istio-ingressgateway",
                                                              {"istio": "ingressgateway"}),
                           "istio-ingressgateway", 8080, owner, None))
    if gateways_on and _enabled(spec, "gateways", "egress", "enabled"):
        gateway("istio-egressgateway", "egressgateway", "istio-egress",
                [("http2", 80, 8080), ("https", 443, 8443), ("tls", 15443, 15443)],
                _dig(spec, "gateways", "egress", "service", "type", default="ClusterIP"))

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
    if str(_dig(spec, "tracing", "type", default="Jaeger")).lower() == "jaeger":
        jname = _dig(spec, "addons", "jaeger", "name", default="jaeger") or "jaeger"
        addon(jname, "tracing", "registry.redhat.io/rhosdt/jaeger-all-in-one-rhel8:1.51.0", f"{jname}-query",
              [("http-query", 16686, 16686)], "http-query", jname)
        # the collector the proxies report to (zipkin protocol)
        objs.append(_service(f"{jname}-collector", ns, labels("tracing", jname), {"app": jname},
                             [("http-zipkin", 9411, 9411), ("grpc-jaeger", 14250, 14250)], owner))
    if _enabled(spec, "addons", "grafana", "enabled"):
        addon("grafana", "grafana", image("grafana"), "grafana", [("http", 3000, 3000)], "http", "grafana")
    if _enabled(spec, "addons", "kiali", "enabled"):
        kname = _dig(spec, "addons", "kiali", "name", default="kiali") or "kiali"
        addon(kname, "kiali", f"{OSSM_REGISTRY}/kiali-rhel8:1.73.8", kname,
              [("http", 20001, 20001), ("http-metrics", 9090, 9090)], "http", f"{kname}-service-account")

    # mesh-wide mTLS (resources/helm/v2.5/mesh-config/templates/enable-mesh-*.yaml)
    mc = {"maistra-version": chart, "app": "istio", "release": "istio", "maistra.io/owner": ns,
          "maistra.io/owner-name": name, "app.kubernetes.io/managed-by": "maistra-istio-operator",
          "app.kubernetes.io/component": "mesh-config", "app.kubernetes.io/part-of": "istio"}
    mtls = bool(_dig(spec, "security", "dataPlane", "mtls", default=False))
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
_PRUNE_KINDS = (("apps/v1", "Deployment"), ("v1", "Service"), ("route.openshift.io/v1", "Route"),
                ("networking.istio.io/v1beta1", "DestinationRule"), ("v1", "ServiceAccount"))


# -- the operator ----------------------------------------------------------------------------
class ServiceMeshOperator:
    """Maistra's SMCP, SMMR and SMM controllers, on one work queue."""

    def __init__(self, api: client.ApiClient, stop: threading.Event, flavour: str, injector_url: str,
                 ca: bytes) -> None:
        self.api = api
        self.stop = stop
        self.flavour = flavour
        self.injector_url = injector_url
        self.ca = ca
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self._csvs: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._queue: OrderedDict[tuple, None] = OrderedDict()
        self._wake = threading.Condition(self._lock)
        self._residue: dict[str, str] = {}

    # -- queue -------------------------------------------------------------------------
    def enqueue(self, *key: str) -> None:
        with self._wake:
            self._queue[key] = None
            self._wake.notify()

    def _later(self, key: tuple, delay: float = 1.0) -> None:
        t = threading.Timer(delay, lambda: self.enqueue(*key))
        t.daemon = True
        t.start()

    def _worker(self) -> None:
        while not self.stop.is_set():
            with self._wake:
                while not self._queue and not self.stop.is_set():
                    self._wake.wait(1.0)
                if self.stop.is_set():
                    return
                key, _ = self._queue.popitem(last=False)
            try:
                self._handle(key)
            except ApiException as e:
                if e.status not in (404, 409):
                    log.warning("servicemesh: %s: %s %s", key, e.status, e.reason)
                self._later(key)
            except Exception:  # noqa: BLE001 - the operator must keep running
                log.exception("servicemesh: %s", key)
                self._later(key, 2.0)

    def operator_installed(self) -> bool:
        with self._lock:
            return any(self._csvs.values())

    def _handle(self, key: tuple) -> None:
        kind = key[0]
        if kind == "resync":
            return self._resync()
        if not self.operator_installed():
            return  # no operator: nothing reconciles (the key comes back with the CSV)
        if kind == "smcp":
            self.reconcile_smcp_namespace(key[1], apply_all=True)
        elif kind == "ready":
            self.reconcile_smcp_namespace(key[1], apply_all=False)
        elif kind == "smmr":
            self.reconcile_smmr(key[1], key[2])
        elif kind == "smm":
            self.reconcile_smm(key[1], key[2])
        elif kind == "smm-gone":
            self.member_removed(key[1], key[2])
        elif kind == "ns":
            self.reconcile_namespace(key[1])
        elif kind == "members-of":
            for smm in self._list_custom("v1", "servicemeshmembers"):
                if _dig(smm, "spec", "controlPlaneRef", "namespace") == key[1]:
                    self.enqueue("smm", smm["metadata"]["namespace"], smm["metadata"]["name"])
        elif kind == "smcp-gone":
            self.smcp_deleted(key[1], key[2])

    # -- watches -------------------------------------------------------------------------
    def start(self) -> list[threading.Thread]:
        if self.flavour != "ossm2":
            return []  # upstream Istio has no operator and no maistra.io API
        watches = [
            ("servicemesh-csv", self.custom.list_cluster_custom_object, self.on_csv,
             dict(group="operators.coreos.com", version="v1alpha1", plural="clusterserviceversions")),
            ("servicemesh-smcp", self.custom.list_cluster_custom_object, self.on_smcp,
             dict(group=MAISTRA, version="v2", plural="servicemeshcontrolplanes")),
            ("servicemesh-smmr", self.custom.list_cluster_custom_object, self.on_smmr,
             dict(group=MAISTRA, version="v1", plural="servicemeshmemberrolls")),
            ("servicemesh-smm", self.custom.list_cluster_custom_object, self.on_smm,
             dict(group=MAISTRA, version="v1", plural="servicemeshmembers")),
            ("servicemesh-ns", self.core.list_namespace, self.on_namespace, {}),
            ("servicemesh-deploy", self.apps.list_deployment_for_all_namespaces, self.on_deployment,
             dict(label_selector="app.kubernetes.io/managed-by=maistra-istio-operator")),
        ]
        threads = [threading.Thread(target=self._worker, daemon=True, name="servicemesh-worker")]
        for name, fn, handle, kw in watches:
            threads.append(threading.Thread(target=watch_forever, daemon=True, name=name, kwargs=dict(
                stop=self.stop, list_fn=fn, handle=handle, api=self.api, name=name, **kw)))
        for t in threads:
            t.start()
        log.info("servicemesh: operator simulator started")
        return threads

    def on_csv(self, typ: str, csv: dict) -> None:
        md = csv.get("metadata") or {}
        if not md.get("name", "").startswith(CSV_PREFIX):
            return
        key = f"{md.get('namespace')}/{md['name']}"
        ok = typ != "DELETED" and _dig(csv, "status", "phase") == "Succeeded" and not md.get("deletionTimestamp")
        with self._lock:
            before = any(self._csvs.values())
            self._csvs[key] = ok
            after = any(self._csvs.values())
        if after and not before:
            log.info("servicemesh: operator CSV %s succeeded; reconciling", key)
            self.enqueue("resync")

    def on_smcp(self, typ: str, smcp: dict) -> None:
        ns = smcp["metadata"]["namespace"]
        if typ == "DELETED":
            self.enqueue("smcp-gone", ns, smcp["metadata"]["name"])
        # the periodic relist re-applies everything (the operator reverts edits to what it
        # owns); other events install when the spec changed, else refresh readiness
        self.enqueue("smcp" if typ == "SYNC" else "ready", ns)
        self.enqueue("smmr", ns, "default")
        self.enqueue("members-of", ns)

    def on_smmr(self, typ: str, smmr: dict) -> None:
        # a deleted `default` roll takes the members it created with it (the real one's finalizer)
        self.enqueue("smmr", smmr["metadata"]["namespace"], smmr["metadata"]["name"])

    def on_smm(self, typ: str, smm: dict) -> None:
        md = smm["metadata"]
        cp_ns = _dig(smm, "spec", "controlPlaneRef", "namespace")
        if typ == "DELETED":
            self.enqueue("smm-gone", md["namespace"], cp_ns or "")
        else:
            self.enqueue("smm", md["namespace"], md["name"])
        if cp_ns:
            self.enqueue("smmr", cp_ns, "default")

    def on_namespace(self, typ: str, ns: dict) -> None:
        if typ == "SYNC":
            return  # the SMM and SMMR relists cover the periodic resync
        self.enqueue("ns", ns["metadata"]["name"])

    def on_deployment(self, typ: str, dep: dict) -> None:
        ns = dep["metadata"]["namespace"]
        # a deleted component is re-created (the operator watches what it owns)
        self.enqueue("smcp" if typ == "DELETED" else "ready", ns)

    def _resync(self) -> None:
        for smcp in self._list_custom("v2", "servicemeshcontrolplanes"):
            self.enqueue("smcp", smcp["metadata"]["namespace"])
        for smmr in self._list_custom("v1", "servicemeshmemberrolls"):
            self.enqueue("smmr", smmr["metadata"]["namespace"], smmr["metadata"]["name"])
        for smm in self._list_custom("v1", "servicemeshmembers"):
            self.enqueue("smm", smm["metadata"]["namespace"], smm["metadata"]["name"])

    # -- API shortcuts ------------------------------------------------------------------------
    def _list_custom(self, version: str, plural_: str, namespace: str | None = None) -> list[dict]:
        path = f"/apis/{MAISTRA}/{version}/" + (f"namespaces/{namespace}/" if namespace else "") + plural_
        return _list(self.api, path)

    def _path(self, version: str, plural_: str, ns: str, name: str) -> str:
        return f"/apis/{MAISTRA}/{version}/namespaces/{ns}/{plural_}/{name}"

    def _patch_status(self, path: str, old: dict | None, new: dict) -> None:
        diff = merge_diff(old or {}, new)
        if not diff:
            return
        key = json.dumps(diff, sort_keys=True)
        if self._residue.get(path) == key:
            return  # the API server drops these fields (schema pruning): patching again would loop
        resp = _merge_patch(self.api, path + "/status", {"status": diff})
        residue = merge_diff((resp or {}).get("status") or {}, new)
        if residue:
            self._residue[path] = json.dumps(merge_diff(old or {}, new), sort_keys=True)
            log.warning("servicemesh: %s: status fields not kept by the API server: %s", path, residue)
        else:
            self._residue.pop(path, None)

    def _label_namespace(self, ns: str, labels: dict[str, str | None]) -> None:
        obj = _get(self.api, f"/api/v1/namespaces/{ns}")
        if obj is None:
            return
        cur = obj["metadata"].get("labels") or {}
        change = {k: v for k, v in labels.items() if cur.get(k) != v and not (v is None and k not in cur)}
        if change:
            _merge_patch(self.api, f"/api/v1/namespaces/{ns}", {"metadata": {"labels": change}})

    # -- SMCP ------------------------------------------------------------------------------------
    def _smcps(self, ns: str) -> list[dict]:
        items = [s for s in self._list_custom("v2", "servicemeshcontrolplanes", ns)
                 if not s["metadata"].get("deletionTimestamp")]
        return sorted(items, key=lambda s: (s["metadata"].get("creationTimestamp", ""), s["metadata"]["name"]))

    def reconcile_smcp_namespace(self, ns: str, apply_all: bool) -> None:
        smcps = self._smcps(ns)
        if not smcps:
            return
        mesh, others = smcps[0], smcps[1:]
        for other in others:
            self._reject_multiple(other, mesh)
        status = mesh.get("status") or {}
        md = mesh["metadata"]
        installed = any(c.get("type") == "Reconciled" and c.get("status") == "True"
                        for c in status.get("conditions") or [])
        if apply_all or not installed or status.get("observedGeneration") != md.get("generation"):
            self._install(mesh)
        else:
            self._update_readiness(mesh)

    def _reject_multiple(self, smcp: dict, mesh: dict) -> None:
        md = smcp["metadata"]
        old = smcp.get("status") or {}
        prev = old.get("conditions")
        msg = (f"Only one ServiceMeshControlPlane per namespace is supported; ServiceMeshControlPlane "
               f"{mesh['metadata']['name']} already exists in namespace {md['namespace']}")
        new = dict(old)
        new.update({
            "observedGeneration": md.get("generation"), "operatorVersion": OPERATOR_VERSION,
            "conditions": [_condition("Installed", False, "ErrMultipleSMCPs", msg, prev),
                           _condition("Reconciled", False, "ErrMultipleSMCPs", msg, prev),
                           _condition("Ready", False, "ErrMultipleSMCPs", msg, prev)],
        })
        self._patch_status(self._path("v2", "servicemeshcontrolplanes", md["namespace"], md["name"]), old, new)

    def _applied_spec(self, smcp: dict) -> dict:
        return deep_merge(BASE_SPEC, smcp.get("spec") or {})

    def _install(self, smcp: dict) -> None:
        md = smcp["metadata"]
        ns, name = md["namespace"], md["name"]
        spec = self._applied_spec(smcp)
        version = spec.get("version") or DEFAULT_VERSION
        path = self._path("v2", "servicemeshcontrolplanes", ns, name)
        old = smcp.get("status") or {}
        prev = old.get("conditions")
        if version not in CHART_VERSIONS:
            msg = (f"version {version} is not supported by this operator; supported versions: "
                   f"{', '.join(sorted(CHART_VERSIONS))}")
            new = {"observedGeneration": md.get("generation"), "operatorVersion": OPERATOR_VERSION,
                   "annotations": old.get("annotations") or {},
                   "conditions": [_condition("Installed", False, "ValidationError", msg, prev),
                                  _condition("Reconciled", False, "ValidationError", msg, prev),
                                  _condition("Ready", False, "ValidationError", msg, prev)]}
            self._patch_status(path, old, {**old, **new})
            return
        objs = control_plane_objects(ns, smcp, smcp.get("spec") or {}, flavour="ossm2")
        apply_objects(self.api, objs)
        self._prune(ns, name, objs)
        from grader.sandbox.simulators.injector import webhook_configuration
        apply_objects(self.api, [webhook_configuration("ossm2", self.injector_url, self.ca, ns, name)])
        self._label_namespace(ns, {IGNORE_NS: "ignore", MEMBER_OF: ns})
        self._admit_routes([o for o in objs if o["kind"] == "Route"])
        self._update_readiness(smcp, installing=True)

    def _prune(self, ns: str, name: str, desired: list[dict]) -> None:
        want = {(o["kind"], o["metadata"]["name"]) for o in desired}
        for api_version, kind in _PRUNE_KINDS:
            for obj in _list(self.api, collection_path(api_version, kind, ns),
                             label_selector=f"maistra.io/owner={ns},maistra.io/owner-name={name}"):
                if (kind, obj["metadata"]["name"]) not in want:
                    log.info("servicemesh: pruning %s %s/%s", kind, ns, obj["metadata"]["name"])
                    _delete(self.api, f"{collection_path(api_version, kind, ns)}/{obj['metadata']['name']}",
                            {"propagationPolicy": "Background"})

    def _admit_routes(self, routes: list[dict]) -> None:
        """What the OpenShift router does: mark each Route admitted."""
        for r in routes:
            path = rest_path(r)
            cur = _get(self.api, path)
            if cur is None or _dig(cur, "status", "ingress"):
                continue
            host = _dig(cur, "spec", "host", default="")
            status = {"ingress": [{"host": host, "routerName": "default", "wildcardPolicy": "None",
                                   "routerCanonicalHostname": f"router-default.{ROUTE_DOMAIN}",
                                   "conditions": [{"type": "Admitted", "status": "True",
                                                   "lastTransitionTime": now()}]}]}
            try:
                _merge_patch(self.api, path + "/status", {"status": status})
            except ApiException as e:
                if e.status not in (404, 405, 422):
                    raise

    def _readiness(self, smcp: dict) -> dict[str, list[str]]:
        md = smcp["metadata"]
        ns, name = md["namespace"], md["name"]
        expected = {o["metadata"]["labels"]["app.kubernetes.io/component"]
                    for o in control_plane_objects(ns, smcp, smcp.get("spec") or {}, flavour="ossm2")
                    if o["kind"] == "Deployment"}
        deps = _list(self.api, collection_path("apps/v1", "Deployment", ns),
                     label_selector=f"maistra.io/owner={ns},maistra.io/owner-name={name}")
        not_ready: dict[str, bool] = {}
        for d in deps:
            comp = (d["metadata"].get("labels") or {}).get("app.kubernetes.io/component")
            if not comp or d["metadata"].get("deletionTimestamp"):
                continue
            available = any(c.get("type") == "Available" and c.get("status") == "True"
                            for c in _dig(d, "status", "conditions", default=[]) or [])
            not_ready[comp] = not_ready.get(comp, False) or not available
        return {"ready": sorted(c for c, nr in not_ready.items() if not nr),
                "unready": sorted(c for c, nr in not_ready.items() if nr),
                "pending": sorted(expected - set(not_ready))}

    def _update_readiness(self, smcp: dict, installing: bool = False) -> None:
        md = smcp["metadata"]
        path = self._path("v2", "servicemeshcontrolplanes", md["namespace"], md["name"])
        fresh = _get(self.api, path)
        if fresh is None:
            return
        old = fresh.get("status") or {}
        prev = old.get("conditions")
        comps = self._readiness(fresh)
        not_ready = comps["unready"] + comps["pending"]
        total = len(comps["ready"]) + len(not_ready)
        if not_ready:
            ready = _condition("Ready", False, "ComponentsNotReady",
                               f"the following components are not fully available: [{' '.join(sorted(not_ready))}]",
                               prev)
        else:
            ready = _condition("Ready", True, "ComponentsReady", "All component deployments are Available", prev)
        spec = self._applied_spec(fresh)
        version = spec.get("version") or DEFAULT_VERSION
        chart = CHART_VERSIONS.get(version, OPERATOR_VERSION)
        generation = fresh["metadata"].get("generation")
        if installing or old.get("observedGeneration") is None:
            observed = generation
        else:
            observed = old.get("observedGeneration")
        new = dict(old)
        new.update({
            "observedGeneration": observed,
            "operatorVersion": OPERATOR_VERSION,
            "chartVersion": chart,
            "appliedSpec": spec,
            "annotations": {**(old.get("annotations") or {}),
                            "readyComponentCount": f"{len(comps['ready'])}/{total}"},
            "readiness": {"components": comps},
            "conditions": [
                _condition("Installed", True, "InstallSuccessful", "Successfully installed all mesh components", prev),
                _condition("Reconciled", True, "ReconcileSuccessful", "Successfully reconciled", prev),
                ready,
            ],
        })
        if merge_diff(old, new) is None:
            return
        self._patch_status(path, old, new)
        if observed != old.get("observedGeneration") or not _same_conditions(prev, new["conditions"]):
            log.info("servicemesh: SMCP %s/%s %s (%s)", md["namespace"], md["name"], ready["reason"],
                     new["annotations"]["readyComponentCount"])

    def smcp_deleted(self, ns: str, name: str) -> None:
        """The namespaced objects go with the garbage collector; the cluster-scoped webhook
        configuration and the namespace labels go here."""
        _delete(self.api, f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/"
                          f"istio-sidecar-injector-{name}-{ns}")
        if not self._smcps(ns):
            try:
                self._label_namespace(ns, {IGNORE_NS: None, MEMBER_OF: None})
            except ApiException as e:
                if e.status not in (404, 409):
                    raise
        log.info("servicemesh: SMCP %s/%s deleted; webhook removed", ns, name)

    # -- SMMR -------------------------------------------------------------------------------------
    @staticmethod
    def _excluded(name: str, cp_ns: str) -> bool:
        return name in (cp_ns, "kube", "openshift") or name.startswith(("kube-", "openshift-", "ibm-"))

    @staticmethod
    def _selector_matches(sel: dict, labels: dict) -> bool:
        for k, v in (sel.get("matchLabels") or {}).items():
            if labels.get(k) != v:
                return False
        for e in sel.get("matchExpressions") or []:
            key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
            if op == "In" and labels.get(key) not in vals:
                return False
            if op == "NotIn" and key in labels and labels[key] in vals:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        return True

    def _is_member(self, smmr: dict, ns: dict) -> bool:
        name = ns["metadata"]["name"]
        cp_ns = smmr["metadata"]["namespace"]
        if self._excluded(name, cp_ns):
            return False
        members = _dig(smmr, "spec", "members", default=[]) or []
        if "*" in members or name in members:
            return True
        labels = ns["metadata"].get("labels") or {}
        selectors = _dig(smmr, "spec", "memberSelectors", default=[]) or []
        return any(sel and self._selector_matches(sel, labels) for sel in selectors)

    def reconcile_smmr(self, cp_ns: str, name: str) -> None:
        path = self._path("v1", "servicemeshmemberrolls", cp_ns, name)
        smmr = _get(self.api, path)
        if smmr is None or smmr["metadata"].get("deletionTimestamp"):
            if smmr is None and name == "default":
                self._cleanup_created_members(cp_ns, required=set(), mesh=None)
            return
        old = smmr.get("status") or {}
        new = copy.deepcopy(old)
        prev = old.get("conditions")

        def ready(ok: bool, reason: str, message: str) -> None:
            new["conditions"] = [_condition("Ready", ok, reason, message, prev)]

        def finish() -> None:
            new["observedGeneration"] = smmr["metadata"].get("generation")
            new.setdefault("annotations", {})
            new["annotations"] = {**(new.get("annotations") or {}),
                                  "configuredMemberCount": f"{len(new.get('configuredMembers') or [])}/"
                                                           f"{len(new.get('members') or [])}"}
            self._patch_status(path, old, new)

        if name != "default":
            ready(False, "ErrInvalidName", 'the ServiceMeshMemberRoll name is invalid; must be "default"')
            return finish()
        smcps = [s for s in self._list_custom("v2", "servicemeshcontrolplanes", cp_ns)
                 if not s["metadata"].get("deletionTimestamp")]
        if len(smcps) > 1:
            ready(False, "ErrMultipleSMCPs", "Multiple ServiceMeshControlPlane resources exist in the namespace")
            return finish()
        mesh = smcps[0] if smcps else None

        namespaces = {n["metadata"]["name"]: n for n in _list(self.api, "/api/v1/namespaces")}
        required = {m for m in (_dig(smmr, "spec", "members", default=[]) or []) if m != "*"}
        required |= {n for n, obj in namespaces.items() if self._is_member(smmr, obj)}
        required.discard(cp_ns)

        member_status: dict[str, dict] = {s["namespace"]: s for s in new.get("memberStatuses") or []
                                          if isinstance(s, dict) and s.get("namespace")}

        def set_member_condition(ns: str, cond: dict | None) -> None:
            st = member_status.setdefault(ns, {"namespace": ns, "conditions": []})
            conds = [c for c in st.get("conditions") or [] if c.get("type") != (cond or {}).get("type")]
            if cond:
                prior = [c for c in st.get("conditions") or [] if c.get("type") == cond.get("type")]
                c = _condition(cond["type"], cond.get("status", "Unknown"), cond.get("reason", ""),
                               cond.get("message", ""), prior)
                conds.append(c)
            st["conditions"] = conds

        if mesh is not None:
            mesh_name = mesh["metadata"]["name"]
            for ns in sorted(required):
                nsobj = namespaces.get(ns)
                member = _get(self.api, self._path("v1", "servicemeshmembers", ns, "default")) if nsobj else None
                if member is None and nsobj is not None and not nsobj["metadata"].get("deletionTimestamp"):
                    member = self._create_member(ns, mesh_name, cp_ns)
                if member is None:
                    set_member_condition(ns, {"type": "Reconciled", "status": "False",
                                              "reason": "NamespaceNotExists",
                                              "message": f"Namespace {ns} does not exist"})
                    continue
                ref = _dig(member, "spec", "controlPlaneRef", default={}) or {}
                if ref.get("name") != mesh_name or ref.get("namespace") != cp_ns:
                    set_member_condition(ns, {
                        "type": "Reconciled", "status": "False", "reason": "ReferencesDifferentControlPlane",
                        "message": f"ServiceMeshMember {ns}/default exists, but references ServiceMeshControlPlane "
                                   f"{ref.get('namespace')}/{ref.get('name')}"})

        members = self._cleanup_created_members(cp_ns, required, mesh)
        all_known = (required | {m["metadata"]["namespace"] for m in members}) - {cp_ns}
        configured, up_to_date, terminating = set(), set(), set()
        mesh_version = self._reconciled_version(mesh) if mesh else ""
        for m in members:
            mns = m["metadata"]["namespace"]
            if m["metadata"].get("deletionTimestamp"):
                terminating.add(mns)
            elif mesh is not None:
                ref = _dig(m, "spec", "controlPlaneRef", default={}) or {}
                rec = next((c for c in _dig(m, "status", "conditions", default=[]) or []
                            if c.get("type") == "Reconciled"), None)
                if ref.get("name") == mesh["metadata"]["name"] and ref.get("namespace") == cp_ns and \
                        rec is not None and rec.get("status") == "True":
                    configured.add(mns)
                    if _dig(m, "status", "meshReconciledVersion", default="") == mesh_version:
                        up_to_date.add(mns)
            rec = next((c for c in _dig(m, "status", "conditions", default=[]) or []
                        if c.get("type") == "Reconciled"), None)
            if rec:
                set_member_condition(mns, rec)

        new["members"] = sorted(all_known)
        new["terminatingMembers"] = sorted(terminating)
        if mesh is None:
            new["pendingMembers"] = sorted(all_known - terminating)
            new["configuredMembers"] = []
            new["meshGeneration"] = 0
            new.pop("meshReconciledVersion", None)
        else:
            new["pendingMembers"] = sorted(all_known - up_to_date - terminating)
            new["configuredMembers"] = sorted(configured)
            new["meshGeneration"] = _dig(mesh, "status", "observedGeneration", default=0) or 0
            new["meshReconciledVersion"] = mesh_version
            if _dig(self._applied_spec(mesh), "addons", "kiali", "enabled"):
                new.setdefault("annotations", {})
                new["annotations"] = {**(new.get("annotations") or {}),
                                      "kialiName": _dig(mesh, "spec", "addons", "kiali", "name") or "kiali"}
        new["memberStatuses"] = [member_status.get(ns, {"namespace": ns, "conditions": []})
                                 for ns in sorted(all_known)]
        mesh_reconciled = mesh is not None and any(
            c.get("type") == "Reconciled" and c.get("status") == "True"
            for c in _dig(mesh, "status", "conditions", default=[]) or [])
        if mesh is None:
            ready(False, "ErrSMCPMissing", "No ServiceMeshControlPlane exists in the namespace")
        elif not mesh_reconciled:
            ready(False, "SMCPReconciling", "The ServiceMeshControlPlane is being reconciled")
        elif new["pendingMembers"]:
            ready(False, "ReconcileError",
                  f"The following namespaces are not yet configured: [{' '.join(new['pendingMembers'])}]")
        else:
            ready(True, "Configured", "All namespaces have been configured successfully")
        finish()

    def _cleanup_created_members(self, cp_ns: str, required: set[str], mesh: dict | None) -> list[dict]:
        """All SMMs pointing at cp_ns; deletes the ones the SMMR created that are no longer wanted."""
        members = [m for m in self._list_custom("v1", "servicemeshmembers")
                   if _dig(m, "spec", "controlPlaneRef", "namespace") == cp_ns]
        keep = []
        for m in members:
            md = m["metadata"]
            created = (md.get("annotations") or {}).get(CREATED_BY) == SMMR_CONTROLLER
            if not md.get("deletionTimestamp") and created and (mesh is None or md["namespace"] not in required):
                log.info("servicemesh: deleting ServiceMeshMember %s/%s (no longer in the member roll)",
                         md["namespace"], md["name"])
                _delete(self.api, self._path("v1", "servicemeshmembers", md["namespace"], md["name"]))
                continue
            keep.append(m)
        return keep

    def _create_member(self, ns: str, mesh_name: str, cp_ns: str) -> dict | None:
        body = {"apiVersion": "maistra.io/v1", "kind": "ServiceMeshMember",
                "metadata": {"name": "default", "namespace": ns, "annotations": {CREATED_BY: SMMR_CONTROLLER}},
                "spec": {"controlPlaneRef": {"name": mesh_name, "namespace": cp_ns}}}
        try:
            return _call(self.api, "POST", f"/apis/{MAISTRA}/v1/namespaces/{ns}/servicemeshmembers", body=body)
        except ApiException as e:
            if e.status == 409:
                return _get(self.api, self._path("v1", "servicemeshmembers", ns, "default"))
            if e.status in (403, 404):  # namespace missing or terminating
                return None
            raise

    @staticmethod
    def _reconciled_version(mesh: dict | None) -> str:
        if not mesh:
            return ""
        return f"{_dig(mesh, 'status', 'operatorVersion', default=OPERATOR_VERSION)}-" \
               f"{_dig(mesh, 'status', 'observedGeneration', default=0) or 0}"

    # -- SMM ----------------------------------------------------------------------------------------
    def reconcile_smm(self, ns: str, name: str) -> None:
        path = self._path("v1", "servicemeshmembers", ns, name)
        smm = _get(self.api, path)
        if smm is None or smm["metadata"].get("deletionTimestamp"):
            return
        old = smm.get("status") or {}
        prev = old.get("conditions")
        ref = _dig(smm, "spec", "controlPlaneRef", default={}) or {}
        cp_ns, cp_name = ref.get("namespace", ""), ref.get("name", "")

        def report(ok: bool, reason: str = "", message: str = "", extra: dict | None = None) -> None:
            new = dict(old)
            new.update(extra or {})
            new["observedGeneration"] = smm["metadata"].get("generation")
            new["conditions"] = [_condition("Reconciled", ok, reason, message, prev),
                                 _condition("Ready", ok, reason, message, prev)]
            if cp_ns and cp_name:
                new["annotations"] = {**(old.get("annotations") or {}), "controlPlaneRef": f"{cp_ns}/{cp_name}"}
            self._patch_status(path, old, new)

        if name != "default":
            return report(False, "InvalidName", 'the ServiceMeshMember name is invalid; must be "default"')
        if ns == cp_ns:
            return
        smcp = _get(self.api, self._path("v2", "servicemeshcontrolplanes", cp_ns, cp_name)) if cp_ns and cp_name \
            else None
        if smcp is None:
            return report(False, "ErrorControlPlaneMissing",
                          "the referenced ServiceMeshControlPlane object does not exist")
        # the member roll is created when missing, as the real member controller does
        if _get(self.api, self._path("v1", "servicemeshmemberrolls", cp_ns, "default")) is None:
            body = {"apiVersion": "maistra.io/v1", "kind": "ServiceMeshMemberRoll",
                    "metadata": {"name": "default", "namespace": cp_ns, "annotations": {CREATED_BY: SMM_CONTROLLER}},
                    "spec": {}}
            try:
                _call(self.api, "POST", f"/apis/{MAISTRA}/v1/namespaces/{cp_ns}/servicemeshmemberrolls", body=body)
                log.info("servicemesh: created ServiceMeshMemberRoll %s/default for member %s", cp_ns, ns)
            except ApiException as e:
                if e.status == 404:
                    return report(False, "CreateMemberRollFailed",
                                  f"namespaces \"{cp_ns}\" not found")
                if e.status != 409:
                    raise
        nsobj = _get(self.api, f"/api/v1/namespaces/{ns}")
        if nsobj is None or nsobj["metadata"].get("deletionTimestamp"):
            return
        member_of = (nsobj["metadata"].get("labels") or {}).get(MEMBER_OF)
        if member_of and member_of != cp_ns:
            return report(False, "ErrorConfiguringNamespace",
                          f"cannot reconcile namespace {ns} in mesh {cp_ns}, as it is already a member of {member_of}")
        self._ensure_rolebinding(ns, cp_ns, cp_name)
        if member_of != cp_ns:
            self._label_namespace(ns, {MEMBER_OF: cp_ns})
            log.info("servicemesh: namespace %s labelled %s=%s", ns, MEMBER_OF, cp_ns)
        report(True, extra={"meshGeneration": _dig(smcp, "status", "observedGeneration", default=0) or 0,
                            "meshReconciledVersion": self._reconciled_version(smcp)})

    def _ensure_rolebinding(self, ns: str, cp_ns: str, cp_name: str) -> None:
        rb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
              "metadata": {"name": f"istiod-internal-{cp_name}", "namespace": ns,
                           "labels": {MEMBER_OF: cp_ns, "app": "istiod", "maistra-version": OPERATOR_VERSION}},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                          "name": f"istiod-internal-{cp_name}-{cp_ns}"},
              "subjects": [{"kind": "ServiceAccount", "name": f"istiod-{cp_name}", "namespace": cp_ns}]}
        if _get(self.api, rest_path(rb)) is None:
            try:
                apply_objects(self.api, [rb])
            except ApiException as e:
                if e.status not in (403, 404, 409):  # namespace terminating or gone
                    raise

    def member_removed(self, ns: str, cp_ns: str) -> None:
        """An SMM went away: the namespace leaves the mesh (unless a new SMM already exists)."""
        if _get(self.api, self._path("v1", "servicemeshmembers", ns, "default")) is not None:
            self.enqueue("smm", ns, "default")
            return
        nsobj = _get(self.api, f"/api/v1/namespaces/{ns}")
        if nsobj is None or nsobj["metadata"].get("deletionTimestamp"):
            return
        labels = nsobj["metadata"].get("labels") or {}
        if labels.get(MEMBER_OF) and (not cp_ns or labels[MEMBER_OF] == cp_ns):
            self._label_namespace(ns, {MEMBER_OF: None})
            log.info("servicemesh: namespace %s left mesh %s", ns, cp_ns)
        for rb in _list(self.api, f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
                        label_selector=f"{MEMBER_OF}={cp_ns}" if cp_ns else MEMBER_OF):
            _delete(self.api, f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings/"
                              f"{rb['metadata']['name']}")

    # -- namespaces ------------------------------------------------------------------------------
    def reconcile_namespace(self, ns: str) -> None:
        """A namespace came, changed or went: its SMM re-labels it; member rolls re-count."""
        for smm in self._list_custom("v1", "servicemeshmembers", ns):
            self.enqueue("smm", ns, smm["metadata"]["name"])
        for smmr in self._list_custom("v1", "servicemeshmemberrolls"):
            self.enqueue("smmr", smmr["metadata"]["namespace"], smmr["metadata"]["name"])
