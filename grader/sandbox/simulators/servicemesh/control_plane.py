"""The ServiceMeshControlPlane controller of the Maistra operator stand-in (OSSM 2.5,
maistra/istio-operator maistra-2.5 pkg/controller/servicemesh/controlplane): installs what
the SMCP asks for (manifests.py), prunes what it no longer asks for, admits the Routes as
the OpenShift router would, and writes the real status (conditions Installed, Reconciled,
Ready; readiness.components from the Deployments' app.kubernetes.io/component label;
annotations.readyComponentCount, appliedSpec, chartVersion, operatorVersion).
Namespaced objects carry an ownerReference to the SMCP, so the real garbage collector
removes them with it; the cluster-scoped webhook is deleted here. One SMCP per namespace:
later ones get ErrMultipleSMCPs.
"""

from __future__ import annotations

from kubernetes import client
from kubernetes.client.rest import ApiException

from grader.sandbox.simulators import rest
from grader.sandbox.simulators.common import condition, dig, log, now
from grader.sandbox.simulators.injector import webhook_configuration
from grader.sandbox.simulators.servicemesh.manifests import (
    CHART_VERSIONS,
    DEFAULT_VERSION,
    IGNORE_NS,
    MEMBER_OF,
    OPERATOR_VERSION,
    PRUNE_KINDS,
    ROUTE_DOMAIN,
    SMCPS,
    V2,
    applied_spec,
    control_plane_objects,
)


def reconciled_version(mesh: dict | None) -> str:
    """status.meshReconciledVersion of members: <operator version>-<SMCP observedGeneration>."""
    if not mesh:
        return ""
    return f"{dig(mesh, 'status', 'operatorVersion', default=OPERATOR_VERSION)}-" \
           f"{dig(mesh, 'status', 'observedGeneration', default=0) or 0}"


def _same_conditions(a: list | None, b: list | None) -> bool:
    def strip(cs: list | None) -> list:
        return [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in cs or []]
    return strip(a) == strip(b)


class ControlPlanes:
    """Reconciles the SMCPs of a namespace (the first one created wins)."""

    def __init__(self, api: client.ApiClient, status: rest.StatusWriter, injector_url: str, ca: bytes) -> None:
        self.api = api
        self.status = status
        self.injector_url = injector_url
        self.ca = ca

    def smcps(self, ns: str) -> list[dict]:
        items = [s for s in rest.list_items(self.api, rest.path(V2, SMCPS, ns))
                 if not s["metadata"].get("deletionTimestamp")]
        return sorted(items, key=lambda s: (s["metadata"].get("creationTimestamp", ""), s["metadata"]["name"]))

    def reconcile(self, ns: str, apply_all: bool) -> None:
        smcps = self.smcps(ns)
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
            "conditions": [condition("Installed", False, "ErrMultipleSMCPs", msg, prev),
                           condition("Reconciled", False, "ErrMultipleSMCPs", msg, prev),
                           condition("Ready", False, "ErrMultipleSMCPs", msg, prev)],
        })
        self.status(rest.path(V2, SMCPS, md["namespace"], md["name"]), old, new)

    def _install(self, smcp: dict) -> None:
        md = smcp["metadata"]
        ns, name = md["namespace"], md["name"]
        spec = applied_spec(smcp)
        version = spec.get("version") or DEFAULT_VERSION
        path = rest.path(V2, SMCPS, ns, name)
        old = smcp.get("status") or {}
        prev = old.get("conditions")
        if version not in CHART_VERSIONS:
            msg = (f"version {version} is not supported by this operator; supported versions: "
                   f"{', '.join(sorted(CHART_VERSIONS))}")
            new = {"observedGeneration": md.get("generation"), "operatorVersion": OPERATOR_VERSION,
                   "annotations": old.get("annotations") or {},
                   "conditions": [condition("Installed", False, "ValidationError", msg, prev),
                                  condition("Reconciled", False, "ValidationError", msg, prev),
                                  condition("Ready", False, "ValidationError", msg, prev)]}
            self.status(path, old, {**old, **new})
            return
        objs = control_plane_objects(ns, smcp, smcp.get("spec") or {}, flavour="ossm2")
        rest.apply_objects(self.api, objs)
        self._prune(ns, name, objs)
        rest.apply_objects(self.api, [webhook_configuration("ossm2", self.injector_url, self.ca, ns, name)])
        rest.merge_labels(self.api, rest.path("v1", "namespaces", name=ns), {IGNORE_NS: "ignore", MEMBER_OF: ns})
        self._admit_routes([o for o in objs if o["kind"] == "Route"])
        self._update_readiness(smcp, installing=True)

    def _prune(self, ns: str, name: str, desired: list[dict]) -> None:
        want = {(o["kind"], o["metadata"]["name"]) for o in desired}
        for api_version, kind in PRUNE_KINDS:
            for obj in rest.list_items(self.api, rest.kind_path(api_version, kind, ns),
                             label_selector=f"maistra.io/owner={ns},maistra.io/owner-name={name}"):
                if (kind, obj["metadata"]["name"]) not in want:
                    log.info("servicemesh: pruning %s %s/%s", kind, ns, obj["metadata"]["name"])
                    rest.delete(self.api, rest.kind_path(api_version, kind, ns, obj["metadata"]["name"]),
                            {"propagationPolicy": "Background"})

    def _admit_routes(self, routes: list[dict]) -> None:
        """What the OpenShift router does: mark each Route admitted."""
        for r in routes:
            path = rest.object_path(r)
            cur = rest.get(self.api, path)
            if cur is None or dig(cur, "status", "ingress"):
                continue
            host = dig(cur, "spec", "host", default="")
            status = {"ingress": [{"host": host, "routerName": "default", "wildcardPolicy": "None",
                                   "routerCanonicalHostname": f"router-default.{ROUTE_DOMAIN}",
                                   "conditions": [{"type": "Admitted", "status": "True",
                                                   "lastTransitionTime": now()}]}]}
            try:
                rest.merge_patch(self.api, path + "/status", {"status": status})
            except ApiException as e:
                if e.status not in (404, 405, 422):
                    raise

    def _readiness(self, smcp: dict) -> dict[str, list[str]]:
        md = smcp["metadata"]
        ns, name = md["namespace"], md["name"]
        expected = {o["metadata"]["labels"]["app.kubernetes.io/component"]
                    for o in control_plane_objects(ns, smcp, smcp.get("spec") or {}, flavour="ossm2")
                    if o["kind"] == "Deployment"}
        deps = rest.list_items(self.api, rest.kind_path("apps/v1", "Deployment", ns),
                     label_selector=f"maistra.io/owner={ns},maistra.io/owner-name={name}")
        not_ready: dict[str, bool] = {}
        for d in deps:
            comp = (d["metadata"].get("labels") or {}).get("app.kubernetes.io/component")
            if not comp or d["metadata"].get("deletionTimestamp"):
                continue
            available = any(c.get("type") == "Available" and c.get("status") == "True"
                            for c in dig(d, "status", "conditions", default=[]) or [])
            not_ready[comp] = not_ready.get(comp, False) or not available
        return {"ready": sorted(c for c, nr in not_ready.items() if not nr),
                "unready": sorted(c for c, nr in not_ready.items() if nr),
                "pending": sorted(expected - set(not_ready))}

    def _update_readiness(self, smcp: dict, installing: bool = False) -> None:
        md = smcp["metadata"]
        path = rest.path(V2, SMCPS, md["namespace"], md["name"])
        fresh = rest.get(self.api, path)
        if fresh is None:
            return
        old = fresh.get("status") or {}
        prev = old.get("conditions")
        comps = self._readiness(fresh)
        not_ready = comps["unready"] + comps["pending"]
        total = len(comps["ready"]) + len(not_ready)
        if not_ready:
            ready = condition("Ready", False, "ComponentsNotReady",
                               f"the following components are not fully available: [{' '.join(sorted(not_ready))}]",
                               prev)
        else:
            ready = condition("Ready", True, "ComponentsReady", "All component deployments are Available", prev)
        spec = applied_spec(fresh)
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
                condition("Installed", True, "InstallSuccessful", "Successfully installed all mesh components", prev),
                condition("Reconciled", True, "ReconcileSuccessful", "Successfully reconciled", prev),
                ready,
            ],
        })
        if rest.merge_diff(old, new) is None:
            return
        self.status(path, old, new)
        if observed != old.get("observedGeneration") or not _same_conditions(prev, new["conditions"]):
            log.info("servicemesh: SMCP %s/%s %s (%s)", md["namespace"], md["name"], ready["reason"],
                     new["annotations"]["readyComponentCount"])

    def deleted(self, ns: str, name: str) -> None:
        """The namespaced objects go with the garbage collector; the cluster-scoped webhook
        configuration and the namespace labels go here."""
        rest.delete(self.api, f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/"
                          f"istio-sidecar-injector-{name}-{ns}")
        if not self.smcps(ns):
            try:
                rest.merge_labels(self.api, rest.path("v1", "namespaces", name=ns), {IGNORE_NS: None, MEMBER_OF: None})
            except ApiException as e:
                if e.status not in (404, 409):
                    raise
        log.info("servicemesh: SMCP %s/%s deleted; webhook removed", ns, name)
