"""What the Sail operator (OpenShift Service Mesh 3.4, istio-ecosystem/sail-operator) deploys,
as data. Pure functions: no cluster access here.

- An `Istio` (cluster-scoped, sailoperator.io/v1) makes one `IstioRevision` per control plane
  instance. Its name is the Istio's name with the InPlace strategy, and
  `<name>-<version with dots as dashes>` with RevisionBased, e.g. `default-v1-30-3`
  (sail-operator controllers/istio/istio_controller.go, getActiveRevisionName; docs/README.adoc
  "Update Strategy").
- An IstioRevision installs the istiod chart in spec.namespace: Deployment and Service `istiod`
  (`istiod-<revision>` unless the revision is `default`), ConfigMap `istio(-<revision>)` with
  the mesh config, and the injector's MutatingWebhookConfiguration with the upstream
  selectors (istio/istio manifests/charts/istio-control/istio-discovery/templates/
  mutatingwebhook.yaml): `istio.io/rev=<revision>` on the namespace (without
  `istio-injection`) or on the pod; only the `default` revision, or an IstioRevisionTag named
  `default`, also honours `istio-injection=enabled` and the pod label
  `sidecar.istio.io/inject=true` (docs/README.adoc "IstioRevisionTag resource").
- An `IstioCNI` (must be named `default`) installs the istio-cni-node DaemonSet in its
  spec.namespace (chart istio-cni).
"""

from __future__ import annotations

import base64

import yaml

GROUP = "sailoperator.io"
V1 = f"{GROUP}/v1"
ISTIOS, REVISIONS, CNIS, TAGS = "istios", "istiorevisions", "istiocnis", "istiorevisiontags"
CSV_PREFIX = "servicemeshoperator3"
OPERATOR_VERSION = "3.4.0"
REGISTRY = "registry.redhat.io/openshift-service-mesh"
# The newest patch of each minor the 3.4 operator ships (versions in its CRD enum).
LATEST = {"v1.30-latest": "v1.30.3", "v1.29-latest": "v1.29.6", "v1.28-latest": "v1.28.10"}
DEFAULT_VERSION = "v1.30-latest"
MANAGED_BY = "sail-operator"
INJECT_KEY = "sidecar.istio.io/inject"
REV_KEY = "istio.io/rev"
NS_INJECTION = "istio-injection"
CNI_DAEMONSET = "istio-cni-node"


def resolve_version(version: str | None) -> str:
    """`v1.30-latest` → the newest patch the operator ships; a patch version as it is."""
    v = version or DEFAULT_VERSION
    return LATEST.get(v, v)


def revision_name(istio: dict) -> str:
    """The name of the IstioRevision an Istio wants now (the active revision)."""
    spec = istio.get("spec") or {}
    name = istio["metadata"]["name"]
    if ((spec.get("updateStrategy") or {}).get("type") or "InPlace") == "RevisionBased":
        return f"{name}-{resolve_version(spec.get('version')).replace('.', '-')}"
    return name


def revision_body(istio: dict) -> dict:
    spec = istio.get("spec") or {}
    name = revision_name(istio)
    ns = spec.get("namespace") or "istio-system"
    values = dict(spec.get("values") or {})
    values["global"] = {**(values.get("global") or {}), "istioNamespace": ns}
    if name != "default":
        values["revision"] = name  # the CRD rule: values.revision matches metadata.name unless `default`
    md = istio["metadata"]
    return {"apiVersion": V1, "kind": "IstioRevision",
            "metadata": {"name": name, "labels": {"operator.istio.io/component": "IstioRevision"},
                         "ownerReferences": [{"apiVersion": V1, "kind": "Istio", "name": md["name"],
                                              "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"namespace": ns, "version": resolve_version(spec.get("version")), "values": values}}


def suffix(revision: str) -> str:
    return "" if revision == "default" else f"-{revision}"


def cni_required(values: dict) -> bool:
    """The OpenShift profile turns pilot.cni.enabled on (profile-platform-openshift.yaml)."""
    v = ((values.get("pilot") or {}).get("cni") or {}).get("enabled")
    return True if v is None else bool(v)


def _owner(obj: dict) -> list[dict]:
    md = obj["metadata"]
    return [{"apiVersion": V1, "kind": obj["kind"], "name": md["name"], "uid": md["uid"],
             "controller": True, "blockOwnerDeletion": True}]


def revision_objects(rev: dict) -> list[dict]:
    """istiod, its Service, ServiceAccount and mesh ConfigMap for an IstioRevision."""
    name = rev["metadata"]["name"]
    spec = rev.get("spec") or {}
    ns = spec["namespace"]
    values = spec.get("values") or {}
    version = spec.get("version", "")
    sfx = suffix(name)
    labels = {"app": "istiod", "istio": "pilot", REV_KEY: name, "operator.istio.io/component": "Pilot",
              "app.kubernetes.io/managed-by": MANAGED_BY, "app.kubernetes.io/version": version.lstrip("v")}
    md = {"namespace": ns, "labels": labels, "ownerReferences": _owner(rev)}
    pod_labels = {"app": "istiod", "istio": "pilot", REV_KEY: name, INJECT_KEY: "false"}
    mesh = dict(values.get("meshConfig") or {})
    mesh.setdefault("rootNamespace", ns)
    mesh.setdefault("trustDomain", "cluster.local")
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {**md, "name": f"istiod{sfx}"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**md, "name": f"istio{sfx}"},
         "data": {"mesh": yaml.safe_dump(mesh, sort_keys=True), "meshNetworks": "networks: {}\n"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {**md, "name": f"istiod{sfx}"},
         "spec": {"selector": {"app": "istiod", REV_KEY: name},
                  "ports": [{"name": "grpc-xds", "port": 15010, "protocol": "TCP"},
                            {"name": "https-dns", "port": 15012, "protocol": "TCP"},
                            {"name": "https-webhook", "port": 443, "targetPort": 15017, "protocol": "TCP"},
                            {"name": "http-monitoring", "port": 15014, "protocol": "TCP"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {**md, "name": f"istiod{sfx}"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "istiod", REV_KEY: name}},
                  "template": {"metadata": {"labels": pod_labels},
                               "spec": {"serviceAccountName": f"istiod{sfx}",
                                        "containers": [{"name": "discovery",
                                                        "image": f"{REGISTRY}/istio-pilot-rhel9:{version.lstrip('v')}",
                                                        "args": ["discovery", "--monitoringAddr=:15014"],
                                                        "ports": [{"containerPort": 15017},
                                                                  {"containerPort": 15010}]}]}}}},
    ]


def webhook(name: str, revision: str, tag: str | None, istiod_ns: str, url: str, ca: bytes,
            owner: dict | None) -> dict:
    """The injector webhook of a revision (tag None) or of a tag pointing at `revision`.
    `name` is the value the selectors match on (the revision's or the tag's name)."""
    def hook(hname: str, ns_sel: list[dict], obj_sel: list[dict]) -> dict:
        return {"name": hname, "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "failurePolicy": "Fail", "reinvocationPolicy": "Never", "timeoutSeconds": 10,
                "clientConfig": {"url": f"{url}/ossm3/{revision}", "caBundle": base64.b64encode(ca).decode()},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
                "namespaceSelector": {"matchExpressions": ns_sel}, "objectSelector": {"matchExpressions": obj_sel}}

    not_false = {"key": INJECT_KEY, "operator": "NotIn", "values": ["false"]}
    hooks = [
        hook("rev.namespace.sidecar-injector.istio.io",
             [{"key": REV_KEY, "operator": "In", "values": [name]}, {"key": NS_INJECTION, "operator": "DoesNotExist"}],
             [not_false]),
        hook("rev.object.sidecar-injector.istio.io",
             [{"key": REV_KEY, "operator": "DoesNotExist"}, {"key": NS_INJECTION, "operator": "DoesNotExist"}],
             [not_false, {"key": REV_KEY, "operator": "In", "values": [name]}]),
    ]
    if name == "default":
        hooks += [
            hook("namespace.sidecar-injector.istio.io",
                 [{"key": NS_INJECTION, "operator": "In", "values": ["enabled"]}], [not_false]),
            hook("object.sidecar-injector.istio.io",
                 [{"key": NS_INJECTION, "operator": "DoesNotExist"}, {"key": REV_KEY, "operator": "DoesNotExist"}],
                 [{"key": INJECT_KEY, "operator": "In", "values": ["true"]},
                  {"key": REV_KEY, "operator": "DoesNotExist"}]),
        ]
    wh_name = f"istio-revision-tag-{tag}" if tag else (
        "istio-sidecar-injector" if revision == "default" else f"istio-sidecar-injector-{revision}-{istiod_ns}")
    md: dict = {"name": wh_name, "labels": {"app": "sidecar-injector", REV_KEY: revision,
                                            "app.kubernetes.io/managed-by": MANAGED_BY}}
    if tag:
        md["labels"]["istio.io/tag"] = tag
    if owner:
        md["ownerReferences"] = _owner(owner)
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": md, "webhooks": hooks}


def cni_objects(cni: dict) -> list[dict]:
    ns = (cni.get("spec") or {}).get("namespace") or "istio-cni"
    version = resolve_version((cni.get("spec") or {}).get("version")).lstrip("v")
    labels = {"k8s-app": CNI_DAEMONSET, "app.kubernetes.io/managed-by": MANAGED_BY}
    md = {"namespace": ns, "labels": labels, "ownerReferences": _owner(cni)}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {**md, "name": "istio-cni"}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {**md, "name": CNI_DAEMONSET},
         "spec": {"selector": {"matchLabels": {"k8s-app": CNI_DAEMONSET}},
                  "template": {"metadata": {"labels": {"k8s-app": CNI_DAEMONSET, INJECT_KEY: "false"}},
                               "spec": {"serviceAccountName": "istio-cni",
                                        "tolerations": [{"operator": "Exists"}],
                                        "containers": [{"name": "install-cni",
                                                        "image": f"{REGISTRY}/istio-cni-rhel9:{version}"}]}}}},
    ]
