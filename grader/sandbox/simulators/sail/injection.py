"""What the injector of an OSSM 3 revision (Istio 1.30 charts, OpenShift profile) does to a pod.

- Sidecar template (istio/istio manifests/charts/istio-control/istio-discovery/files/injection-template.yaml):
  an `istio-proxy` container, and with CNI on (the OpenShift profile sets
  pilot.cni.enabled with provider multus: sail-operator resources/v1.30.3/charts/istiod/files/
  profile-platform-openshift.yaml) the init container `istio-validation` plus the multus
  network annotation `k8s.v1.cni.cncf.io/networks: istio-cni`. Native sidecars (the proxy as
  an init container with restartPolicy Always) need kubelet >= 1.33; the sandbox's nodes
  report 1.20, so the proxy goes into `containers`.
- Gateway template (files/gateway-injection-template.yaml), chosen by the pod annotation
  `inject.istio.io/templates: gateway`: the pod's own `istio-proxy` container (the samples set
  `image: auto`) becomes the proxy in router mode; no sidecar, no init container
  (sail-operator chart/samples/ingress-gateway.yaml).
Both add the labels security.istio.io/tlsMode and service.istio.io/canonical-*, and the
annotations istio.io/rev and sidecar.istio.io/status (the marker every reader trusts).
"""

from __future__ import annotations

import copy
import json

TEMPLATES_KEY = "inject.istio.io/templates"
CNI_NETWORK = "istio-cni"


def _proxy(image: str, router: bool) -> dict:
    return {
        "name": "istio-proxy", "image": image,
        "args": ["proxy", "router" if router else "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
        "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}},
        "resources": {"requests": {"cpu": "10m", "memory": "128Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
        "securityContext": {"runAsUser": 1337, "runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }


def injected_ossm3(pod: dict, revision: str, canonical: tuple[str, str], image: str) -> dict:
    pod = copy.deepcopy(pod)
    md = pod.setdefault("metadata", {})
    labels = md.get("labels") or {}
    ann = md.get("annotations") or {}
    md["labels"], md["annotations"] = labels, ann
    spec = pod.setdefault("spec", {})
    labels.setdefault("security.istio.io/tlsMode", "istio")
    labels.setdefault("service.istio.io/canonical-name", canonical[0])
    labels.setdefault("service.istio.io/canonical-revision", canonical[1])
    containers = list(spec.get("containers") or [])
    init = list(spec.get("initContainers") or [])
    gateway = ann.get(TEMPLATES_KEY) == "gateway"
    init_names: list[str] | None = None
    if gateway:
        own = next((c for c in containers if c.get("name") == "istio-proxy"), None)
        proxy = _proxy(image, router=True)
        if own is None:
            containers.append(proxy)
        else:
            # the template's fields fill in what the pod leaves out; image "auto" is replaced
            merged = {**proxy, **{k: v for k, v in own.items() if k != "image"}, "image": image}
            if own.get("image") not in (None, "", "auto"):
                merged["image"] = own["image"]
            containers[containers.index(own)] = merged
    else:
        containers.append(_proxy(image, router=False))
        init.append({"name": "istio-validation", "image": image,
                     "args": ["istio-iptables", "--run-validation", "--skip-rule-apply"],
                     "securityContext": {"runAsUser": 1337, "runAsNonRoot": True}})
        init_names = ["istio-validation"]
        ann["k8s.v1.cni.cncf.io/networks"] = CNI_NETWORK
        ann["kubectl.kubernetes.io/default-container"] = (spec.get("containers") or [{"name": "istio-proxy"}])[0][
            "name"]
    ann["istio.io/rev"] = revision
    ann["sidecar.istio.io/status"] = json.dumps({
        "initContainers": init_names, "containers": ["istio-proxy"],
        "volumes": ["workload-socket", "credential-socket", "workload-certs", "istio-envoy", "istio-data",
                    "istio-podinfo", "istio-token", "istiod-ca-cert"],
        "imagePullSecrets": None, "revision": revision}, separators=(",", ":"))
    volumes = list(spec.get("volumes") or [])
    volumes += [{"name": "istio-envoy", "emptyDir": {"medium": "Memory"}}, {"name": "istio-data", "emptyDir": {}}]
    spec["containers"], spec["volumes"] = containers, volumes
    if init:
        spec["initContainers"] = init
    return pod
