"""What the sandbox installs before students arrive: CRDs, and for the upstream
Istio flavour an already-installed istio-system (as `istioctl install` leaves it)."""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import yaml
from kubernetes import client, watch

from grader.sandbox.simulators import rest
from grader.sandbox.simulators.common import log

CRD_DIR = Path(__file__).resolve().parent.parent / "crds"
# Groups per flavour: OSSM 2.x is OpenShift (Routes) with OLM and Maistra; upstream is plain Kubernetes.
# OSSM 3 is OpenShift with OLM and the Sail operator's sailoperator.io API (Istio 1.30 serves v1),
# plus what its observability step is wired with (observability.yaml: Telemetry, the monitors, Kiali).
FLAVOUR_FILES = {"ossm2": ("istio.yaml", "maistra.yaml", "route.yaml", "olm.yaml"),
                 "ossm3": ("istio.yaml", "sail.yaml", "route.yaml", "olm.yaml", "observability.yaml"),
                 "istio": ("istio.yaml",),
                 "kubernetes": ()}  # plain Kubernetes, no mesh: how `lab` behaves where nothing is installed


def load_docs(path: Path) -> list[dict]:
    files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
    docs: list[dict] = []
    for f in files:
        docs.extend(d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict))
    return docs


def project_crds(flavour: str, with_ossm2: bool = False) -> list[dict]:
    """The CRDs of a flavour; `with_ossm2` (ossm3 mid-migration) adds the maistra.io ones, the
    Istio CRDs staying OSSM 3's (the newer operator's, serving v1)."""
    crds: list[dict] = []
    files = FLAVOUR_FILES[flavour] + (("maistra.yaml",) if with_ossm2 and flavour == "ossm3" else ())
    for name in files:
        for crd in load_docs(CRD_DIR / name):
            # Maistra 2.5 serves networking.istio.io and PeerAuthentication without v1, but
            # AuthorizationPolicy and RequestAuthentication with v1 (its istio-init CRDs).
            if flavour == "ossm2" and (crd["spec"]["group"] == "networking.istio.io"
                                       or crd["metadata"]["name"] == "peerauthentications.security.istio.io"):
                crd = _without_v1(crd)
            crds.append(crd)
    return crds


def _without_v1(crd: dict) -> dict:
    """OSSM 2.x serves networking.istio.io v1alpha3/v1beta1 and PeerAuthentication v1beta1 (no v1)."""
    crd = copy.deepcopy(crd)
    versions = [v for v in crd["spec"]["versions"] if v["name"] != "v1"]
    if not any(v.get("storage") for v in versions):
        versions[-1 if versions[-1]["name"] == "v1beta1" else 0]["storage"] = True
        for v in versions:
            v["storage"] = v["name"] == "v1beta1" or (len(versions) == 1)
    crd["spec"]["versions"] = versions
    return crd


def install_crds(api: client.ApiClient, flavour: str, user_dir: Path | None, with_ossm2: bool = False) -> None:
    crds = project_crds(flavour, with_ossm2)
    if user_dir:
        user = [d for d in load_docs(user_dir) if d.get("kind") == "CustomResourceDefinition"]
        user_names = {d["metadata"]["name"] for d in user}
        # The user's files win; keep ours only for what they do not provide (e.g. Route on 1.20).
        crds = user + [c for c in crds if c["metadata"]["name"] not in user_names]
    if not crds:
        return
    for crd in crds:
        body = {k: v for k, v in crd.items() if k != "status"}
        rest.apply(api, body)
    wait_established(api, {c["metadata"]["name"] for c in crds})
    log.info("CRDs installed: %d", len(crds))


def wait_established(api: client.ApiClient, names: set[str], timeout: int = 60) -> None:
    ext = client.ApiextensionsV1Api(api)
    pending = set(names)
    for crd in ext.list_custom_resource_definition().items:
        if _established(crd):
            pending.discard(crd.metadata.name)
    if not pending:
        return
    for ev in watch.Watch().stream(ext.list_custom_resource_definition, timeout_seconds=timeout):
        if _established(ev["object"]):
            pending.discard(ev["object"].metadata.name)
        if not pending:
            return
    raise RuntimeError(f"CRDs not established: {sorted(pending)}")


def _established(crd: client.V1CustomResourceDefinition) -> bool:
    return any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or []))


def install_upstream_istio(api: client.ApiClient, injector_url: str, ca: bytes) -> None:
    """Upstream Istio as `istioctl install` leaves it: istiod, the ingress gateway, the webhook."""
    from grader.sandbox.simulators.injector import webhook_configuration
    from grader.sandbox.simulators.servicemesh.manifests import control_plane_objects

    objs = control_plane_objects("istio-system", smcp=None, spec={}, flavour="istio")
    objs.append(webhook_configuration("istio", injector_url, ca))
    rest.apply_objects(api, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}] + objs)


def wait_basics(api: client.ApiClient, nodes: list[str], stop: threading.Event, timeout: int = 60) -> None:
    """Nodes Ready and the `default` ServiceAccount created: pods can be scheduled."""
    core = client.CoreV1Api(api)
    for ev in watch.Watch().stream(core.list_namespaced_service_account, "default",
                                   field_selector="metadata.name=default", timeout_seconds=timeout):
        if ev["type"] in ("ADDED", "MODIFIED") or stop.is_set():
            break


def wait_available(api: client.ApiClient, namespace: str, stop: threading.Event, timeout: int = 90) -> None:
    """Every Deployment in `namespace` available (upstream Istio: istiod and the ingress gateway),
    so the sandbox reports ready only when a Gateway can bind to running gateway pods."""
    apps = client.AppsV1Api(api)

    def pending() -> set[str]:
        deps = apps.list_namespaced_deployment(namespace).items
        return {d.metadata.name for d in deps
                if (d.status.available_replicas or 0) < (d.spec.replicas if d.spec.replicas is not None else 1)}

    if not pending():
        return
    for _ev in watch.Watch().stream(apps.list_namespaced_deployment, namespace, timeout_seconds=timeout):
        if stop.is_set() or not pending():
            return
