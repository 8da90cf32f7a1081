"""The sidecar-injector ConfigMap istiod's chart installs beside the mesh ConfigMap, in the shape
`istioctl kube-inject` and `istioctl analyze` read it (istio pkg/kube/inject: `config` is the injection
Config as YAML — policy, defaultTemplates, templates, selectors, injectedAnnotations — and `values` is the
chart's values as JSON, from which the proxy image is global.hub/global.proxy.image:global.tag).

Names: upstream Istio `istio-sidecar-injector` (revision "default"); Maistra 2.x names it after the
ServiceMeshControlPlane, as its mesh ConfigMap (`istio-sidecar-injector-basic`, `istio-basic`), which is what
`istioctl kube-inject --revision basic` looks for.

The `sidecar` template renders the same sidecar as this sandbox's injector webhook (injector.injected), so
kube-inject and the webhook agree; istioctl adds the sidecar.istio.io/status annotation itself.
"""

from __future__ import annotations

import json

import yaml

from grader.sandbox.simulators.injector import injected

_IMAGE = "@@PROXY_IMAGE@@"
_DEFAULT_CONTAINER = "@@DEFAULT_CONTAINER@@"
_CANONICAL = {
    "service.istio.io/canonical-name": '{{ index .ObjectMeta.Labels "service.istio.io/canonical-name" '
                                       '| default (index .ObjectMeta.Labels "app.kubernetes.io/name") '
                                       '| default (index .ObjectMeta.Labels "app") | default .DeploymentMeta.Name '
                                       '| quote }}',
    "service.istio.io/canonical-revision": '{{ index .ObjectMeta.Labels "service.istio.io/canonical-revision" '
                                           '| default (index .ObjectMeta.Labels "app.kubernetes.io/version") '
                                           '| default (index .ObjectMeta.Labels "version") | default "latest" '
                                           '| quote }}',
}


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the template) as literal blocks, as the chart's ConfigMap shows them."""


_BlockDumper.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def split_image(image: str) -> tuple[str, str, str]:
    """("docker.io/istio", "proxyv2", "1.20.8") for docker.io/istio/proxyv2:1.20.8: the chart's hub, proxy.image, tag."""
    repo, _, tag = image.rpartition(":")
    hub, _, name = repo.rpartition("/")
    return hub, name, tag


def sidecar_template(flavour: str) -> tuple[str, str]:
    """(Go template of the sidecar overlay, proxy image) as the sandbox's webhook injects it."""
    sample = injected(flavour, {"metadata": {"labels": {}}, "spec": {"containers": [{"name": "app"}]}})
    spec, md = sample["spec"], sample["metadata"]
    proxy = next(c for c in spec["containers"] if c["name"] == "istio-proxy")
    image = proxy["image"]
    overlay_spec: dict = {"containers": [{**proxy, "image": _IMAGE}]}
    if init := [c for c in spec.get("initContainers") or [] if c["name"].startswith("istio-")]:
        overlay_spec["initContainers"] = [{**c, "image": _IMAGE} for c in init]
    overlay_spec["volumes"] = [v for v in spec["volumes"] if v["name"].startswith("istio-")]
    labels = {k: v for k, v in md["labels"].items() if k not in _CANONICAL}
    annotations = {k: v for k, v in md["annotations"].items() if k != "sidecar.istio.io/status"}
    annotations["kubectl.kubernetes.io/default-container"] = _DEFAULT_CONTAINER
    text = yaml.safe_dump({"metadata": {"labels": labels, "annotations": annotations}, "spec": overlay_spec},
                          sort_keys=False, default_flow_style=False)
    text = text.replace(_IMAGE, "{{ .ProxyImage }}")
    text = text.replace(_DEFAULT_CONTAINER, "{{ (index .Spec.Containers 0).Name }}")
    canonical = "".join(f"    {k}: {v}\n" for k, v in _CANONICAL.items())
    text = text.replace("  labels:\n", "  labels:\n" + canonical, 1)
    return text, image


def injector_configmap(flavour: str, namespace: str, name: str, revision: str, labels: dict,
                       owner: list | None = None) -> dict:
    """ConfigMap `name` in the control-plane namespace with the injection `config` and the chart `values`."""
    template, image = sidecar_template(flavour)
    hub, proxy_image, tag = split_image(image)
    config = {
        # Maistra 2.x runs with autoInject disabled: only pods that ask are injected (see injector.py).
        "policy": "disabled" if flavour == "ossm2" else "enabled",
        "alwaysInjectSelector": [], "neverInjectSelector": [], "injectedAnnotations": {},
        "defaultTemplates": ["sidecar"],
        "templates": {"sidecar": template},
    }
    values = {
        "global": {"hub": hub, "tag": tag, "proxy": {"image": proxy_image, "clusterDomain": "cluster.local"},
                   "istioNamespace": namespace, "imagePullPolicy": "IfNotPresent"},
        "revision": "" if revision == "default" else revision,
        "sidecarInjectorWebhook": {"enableNamespacesByDefault": False},
    }
    md: dict = {"name": name, "namespace": namespace, "labels": {**labels, "istio.io/rev": revision}}
    if owner:
        md["ownerReferences"] = owner
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md,
            "data": {"config": yaml.dump(config, Dumper=_BlockDumper, sort_keys=False, width=1000),
                     "values": json.dumps(values, indent=2)}}
