"""Sidecar injector: a real MutatingWebhookConfiguration served over TLS here.

Selectors and decisions follow the products:
- ossm2 (maistra/istio-operator maistra-2.5
  resources/helm/v2.5/istio-control/istio-discovery/templates/mutatingwebhook.yaml, and
  maistra/istio pkg/kube/inject/inject.go injectRequired with autoInject disabled, as
  resources/smcp-templates/v2.5/base sets it): only namespaces labelled maistra.io/member-of=<cp ns> are
  seen, and a pod is injected only when its label or annotation
  sidecar.istio.io/inject is true/y/yes/on (the label wins). The namespace label
  istio-injection=enabled is neither needed nor enough. No init container (CNI).
- istio (istio/istio manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml):
  namespace label istio-injection=enabled, or istio.io/rev, or the pod LABEL
  sidecar.istio.io/inject=true; the pod label "false" always opts out.
- ossm3 (OpenShift Service Mesh 3, the Sail operator installing Istio 1.30 with the upstream
  charts): the same upstream selectors, one webhook per IstioRevision (and per
  IstioRevisionTag), built in grader/sandbox/simulators/sail/manifests.py; the webhook URL
  ends in /ossm3/<revision>, which tells this server the revision it injects for. CNI is
  on (OpenShift profile): init container istio-validation and the multus network
  istio-cni. A pod annotated inject.istio.io/templates: gateway gets the gateway template:
  its own istio-proxy container (image: auto) becomes the proxy, no sidecar is added
  (istio/istio manifests/charts/istio-control/istio-discovery/files/gateway-injection-template.yaml).
"""

from __future__ import annotations

import base64
import copy
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from grader.sandbox.simulators.common import log

TRUE_VALUES = ("true", "y", "yes", "on")
OSSM_PROXY_IMAGE = "registry.redhat.io/openshift-service-mesh/proxyv2-rhel8:2.5.2"
ISTIO_PROXY_IMAGE = "docker.io/istio/proxyv2:1.20.8"
INJECT_KEY = "sidecar.istio.io/inject"
# OSSM 3.4 ships Istio 1.30 (Red Hat OpenShift Service Mesh 3.4 release notes).
OSSM3_PROXY_IMAGE = "registry.redhat.io/openshift-service-mesh/istio-proxyv2-rhel9:1.30.3"
TEMPLATES_KEY = "inject.istio.io/templates"


def webhook_configuration(flavour: str, url: str, ca_bundle: bytes, cp_namespace: str = "istio-system",
                          smcp: str = "basic") -> dict:
    """The MutatingWebhookConfiguration the real control plane would install."""
    def hook(name: str, ns_sel: list[dict], obj_sel: list[dict] | None = None) -> dict:
        h = {"name": name, "admissionReviewVersions": ["v1", "v1beta1"], "sideEffects": "None",
             "failurePolicy": "Fail", "reinvocationPolicy": "Never", "timeoutSeconds": 10,
             "clientConfig": {"url": url, "caBundle": base64.b64encode(ca_bundle).decode()},
             "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
             "namespaceSelector": {"matchExpressions": ns_sel}}
        if obj_sel:
            h["objectSelector"] = {"matchExpressions": obj_sel}
        return h

    if flavour == "ossm2":
        name = f"istio-sidecar-injector-{smcp}-{cp_namespace}"
        hooks = [hook("sidecar-injector.istio.io", [
            {"key": "maistra.io/member-of", "operator": "In", "values": [cp_namespace]},
            {"key": "maistra.io/ignore-namespace", "operator": "DoesNotExist"},
            {"key": "istio-injection", "operator": "NotIn", "values": ["disabled"]},
            {"key": "istio-env", "operator": "DoesNotExist"},
        ])]
        labels = {"app": "sidecar-injector", "maistra.io/owner": cp_namespace, "maistra-version": "2.5.2"}
    else:
        name = "istio-sidecar-injector"
        no_false = [{"key": INJECT_KEY, "operator": "NotIn", "values": ["false"]}]
        hooks = [
            hook("namespace.sidecar-injector.istio.io",
                 [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}], no_false),
            hook("rev.namespace.sidecar-injector.istio.io",
                 [{"key": "istio-injection", "operator": "DoesNotExist"},
                  {"key": "istio.io/rev", "operator": "In", "values": ["default"]}], no_false),
            hook("object.sidecar-injector.istio.io",
                 [{"key": "istio-injection", "operator": "DoesNotExist"},
                  {"key": "istio.io/rev", "operator": "DoesNotExist"}],
                 [{"key": INJECT_KEY, "operator": "In", "values": ["true"]},
                  {"key": "istio.io/rev", "operator": "DoesNotExist"}]),
        ]
        labels = {"app": "sidecar-injector", "istio.io/rev": "default"}
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name, "labels": labels}, "webhooks": hooks}


def inject_required(flavour: str, pod: dict) -> bool:
    md = pod.get("metadata") or {}
    labels, ann = md.get("labels") or {}, md.get("annotations") or {}
    spec = pod.get("spec") or {}
    if spec.get("hostNetwork") or "sidecar.istio.io/status" in ann:
        return False
    value = labels.get(INJECT_KEY, ann.get(INJECT_KEY))  # the label wins when both are set
    if flavour == "ossm2":
        # policy "disabled": only an explicit opt-in injects (maistra inject.go injectRequired)
        return value is not None and str(value).lower() in TRUE_VALUES
    # upstream policy "enabled": the webhook selectors already chose; only an opt-out stops it
    return value is None or str(value).lower() in TRUE_VALUES


def _canonical(pod: dict) -> tuple[str, str]:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    name = labels.get("service.istio.io/canonical-name") or labels.get("app.kubernetes.io/name") \
        or labels.get("app") or (pod.get("metadata") or {}).get("generateName", "pod").rsplit("-", 2)[0]
    rev = labels.get("service.istio.io/canonical-revision") or labels.get("app.kubernetes.io/version") \
        or labels.get("version") or "latest"
    return name, rev


def injected(flavour: str, pod: dict, revision: str | None = None) -> dict:
    """The pod as the injector returns it (`revision`: the ossm3 revision of the webhook)."""
    if flavour == "ossm3":
        from grader.sandbox.simulators.sail.injection import injected_ossm3
        return injected_ossm3(pod, revision or "default", _canonical(pod), OSSM3_PROXY_IMAGE)
    pod = copy.deepcopy(pod)
    md = pod.setdefault("metadata", {})
    labels = md.setdefault("labels", {}) or {}
    md["labels"] = labels
    ann = md.setdefault("annotations", {}) or {}
    md["annotations"] = ann
    spec = pod.setdefault("spec", {})
    name, rev = _canonical(pod)
    labels.setdefault("security.istio.io/tlsMode", "istio")
    labels.setdefault("service.istio.io/canonical-name", name)
    labels.setdefault("service.istio.io/canonical-revision", rev)
    image = OSSM_PROXY_IMAGE if flavour == "ossm2" else ISTIO_PROXY_IMAGE
    proxy = {
        "name": "istio-proxy", "image": image,
        "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
        "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}},
        "resources": {"requests": {"cpu": "10m", "memory": "128Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
        "securityContext": {"runAsUser": 1337, "runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }
    containers = list(spec.get("containers") or [])
    init = list(spec.get("initContainers") or [])
    containers.append(proxy)
    init_names: list[str] = []
    if flavour == "ossm2":
        labels.setdefault("maistra-version", "2.5.2")
        # Maistra 2.5 always runs with CNI: the multus network instead of an init container.
        ann["k8s.v1.cni.cncf.io/networks"] = "v2-5-istio-cni"
    else:
        init.append({"name": "istio-init", "image": image, "args": ["istio-iptables", "-p", "15001"],
                     "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}, "runAsUser": 0}})
        init_names = ["istio-init"]
        ann["istio.io/rev"] = "default"
    ann["kubectl.kubernetes.io/default-container"] = (spec.get("containers") or [{"name": "istio-proxy"}])[0]["name"]
    ann["sidecar.istio.io/status"] = json.dumps({
        "initContainers": init_names or None, "containers": ["istio-proxy"],
        "volumes": ["istio-envoy", "istio-data", "istio-podinfo", "istio-token", "istiod-ca-cert"],
        "imagePullSecrets": None, "revision": "basic" if flavour == "ossm2" else "default"},
        separators=(",", ":"))
    volumes = list(spec.get("volumes") or [])
    volumes += [{"name": "istio-envoy", "emptyDir": {"medium": "Memory"}}, {"name": "istio-data", "emptyDir": {}}]
    spec["containers"], spec["volumes"] = containers, volumes
    if init:
        spec["initContainers"] = init
    return pod


def review_response(flavour: str, review: dict, revision: str | None = None) -> dict:
    req = review.get("request") or {}
    resp: dict = {"uid": req.get("uid", ""), "allowed": True}
    pod = req.get("object") or {}
    if req.get("operation", "CREATE") == "CREATE" and inject_required(flavour, pod):
        new = injected(flavour, pod, revision)
        patch = [{"op": "add", "path": f"/{top}/{key}", "value": new[top][key]}
                 for top, key in (("metadata", "labels"), ("metadata", "annotations"), ("spec", "containers"),
                                  ("spec", "initContainers"), ("spec", "volumes"))
                 if key in new.get(top, {})]
        resp["patchType"] = "JSONPatch"
        resp["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
    return {"apiVersion": review.get("apiVersion", "admission.k8s.io/v1"), "kind": "AdmissionReview",
            "response": resp}


class InjectorServer:
    def __init__(self, flavour: str, port: int, cert: Path, key: Path) -> None:
        self.flavour = flavour
        flav = flavour

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                    # /inject/ossm3/<revision>: a webhook of an OSSM 3 IstioRevision (or tag)
                    parts = self.path.split("?")[0].strip("/").split("/")
                    if len(parts) == 3 and parts[1] == "ossm3":
                        out = json.dumps(review_response("ossm3", body, parts[2])).encode()
                    elif len(parts) == 2 and parts[1] == "ossm2":
                        # /inject/ossm2: the 2.x control plane's webhook beside OSSM 3 (a migration)
                        out = json.dumps(review_response("ossm2", body)).encode()
                    else:
                        out = json.dumps(review_response(flav, body)).encode()
                    self.send_response(200)
                except Exception as e:  # noqa: BLE001 - answer, never crash the server
                    log.warning("injector: bad review: %s", e)
                    out = json.dumps({"error": str(e)}).encode()
                    self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *_a: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)  # loopback only
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{port}/inject"

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="injector")
        t.start()
        return t
