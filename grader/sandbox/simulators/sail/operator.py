"""The Sail operator stand-in (OpenShift Service Mesh 3.4): reconciles Istio, IstioRevision,
IstioCNI and IstioRevisionTag (sailoperator.io/v1) while a ClusterServiceVersion
`servicemeshoperator3*` is Succeeded, and writes their status as the real one does
(istio-ecosystem/sail-operator api/v1/istio_types.go, istiorevision_types.go,
istiocni_types.go, istiorevisiontag_types.go):

- IstioRevision: conditions Reconciled (ReconcileError), Ready (IstiodNotReady),
  DependenciesHealthy (IstioCNINotFound, IstioCNINotHealthy: the OpenShift profile needs the
  IstioCNI `default`), InUse (a namespace or pod refers to it); status.state is the reason of
  the first condition that is not True, else Healthy.
- Istio: the active revision's Ready and DependenciesHealthy, its own Reconciled, state,
  activeRevisionName, revisions{total, ready, inUse}. With RevisionBased, older revisions stay
  while in use and are removed once nothing uses them (the grace period is not waited for).
- IstioCNI: Reconciled, Ready (DaemonSetNotReady), state. An IstioCNI not named `default`
  (the real CRD rejects it with a CEL rule a 1.20 API server cannot run) is not reconciled.
- IstioRevisionTag: Reconciled (RefNotFound), InUse, status.istioRevision and istiodNamespace;
  a tag gets its own injector webhook.
- The namespaces (spec.namespace) are the user's to create, as with the real operator.

One work loop: every watch event asks for a pass over everything (there are few objects),
and a pass runs at least every few seconds (InUse follows namespaces and pods).
"""

from __future__ import annotations

import threading

from kubernetes import client
from kubernetes.client.rest import ApiException

from grader.sandbox.simulators import rest
from grader.sandbox.simulators.common import condition, dig, log, watch_forever
from grader.sandbox.simulators.sail.manifests import (
    CNI_DAEMONSET,
    CNIS,
    CSV_PREFIX,
    ISTIOS,
    NS_INJECTION,
    REV_KEY,
    REVISIONS,
    TAGS,
    V1,
    cni_objects,
    cni_required,
    revision_body,
    revision_name,
    revision_objects,
    suffix,
    webhook,
)

ORDER = ("Reconciled", "Ready", "DependenciesHealthy")


def state_of(conditions: list[dict]) -> str:
    for ctype in ORDER:
        c = next((c for c in conditions if c["type"] == ctype), None)
        if c is not None and c["status"] != "True":
            return c.get("reason") or "NotReady"
    return "Healthy"


def _ok(obj: dict | None, ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True" for c in dig(obj, "status", "conditions") or [])


class SailOperator:
    def __init__(self, api: client.ApiClient, stop: threading.Event, injector_url: str, ca: bytes) -> None:
        self.api = api
        self.stop = stop
        self.url = injector_url
        self.ca = ca
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.status = rest.StatusWriter(api, "sail")
        self._csvs: dict[str, bool] = {}
        self._wake = threading.Event()

    # -- loop ------------------------------------------------------------------------------
    def poke(self, *_a: object) -> None:
        self._wake.set()

    def _worker(self) -> None:
        while not self.stop.is_set():
            self._wake.wait(3.0)
            self._wake.clear()
            if self.stop.is_set():
                return
            if not any(self._csvs.values()):
                continue  # no operator installed: nothing reconciles
            try:
                self.reconcile()
            except ApiException as e:
                if e.status not in (404, 409):
                    log.warning("sail: %s %s", e.status, e.reason)
                self._wake.set()
            except Exception:  # noqa: BLE001 - the operator must keep running
                log.exception("sail: reconcile")

    def on_csv(self, typ: str, csv: dict) -> None:
        md = csv.get("metadata") or {}
        if not md.get("name", "").startswith(CSV_PREFIX):
            return
        ok = typ != "DELETED" and dig(csv, "status", "phase") == "Succeeded" and not md.get("deletionTimestamp")
        self._csvs[f"{md.get('namespace')}/{md['name']}"] = ok
        self.poke()

    def start(self) -> list[threading.Thread]:
        watches = [
            ("sail-csv", self.custom.list_cluster_custom_object, self.on_csv,
             dict(group="operators.coreos.com", version="v1alpha1", plural="clusterserviceversions")),
            *[(f"sail-{p}", self.custom.list_cluster_custom_object, self.poke,
               dict(group="sailoperator.io", version="v1", plural=p)) for p in (ISTIOS, REVISIONS, CNIS, TAGS)],
            ("sail-deploy", self.apps.list_deployment_for_all_namespaces, self.poke,
             dict(label_selector="app.kubernetes.io/managed-by=sail-operator")),
            ("sail-ds", self.apps.list_daemon_set_for_all_namespaces, self.poke,
             dict(label_selector="app.kubernetes.io/managed-by=sail-operator")),
            ("sail-ns", self.core.list_namespace, self.poke, {}),
        ]
        threads = [threading.Thread(target=self._worker, daemon=True, name="sail-worker")]
        for name, fn, handle, kw in watches:
            threads.append(threading.Thread(target=watch_forever, daemon=True, name=name, kwargs=dict(
                stop=self.stop, list_fn=fn, handle=handle, api=self.api, name=name, **kw)))
        for t in threads:
            t.start()
        log.info("sail: operator simulator started")
        return threads

    # -- one pass --------------------------------------------------------------------------
    def _list(self, plural: str) -> list[dict]:
        return [o for o in rest.list_items(self.api, rest.path(V1, plural)) if not o["metadata"].get("deletionTimestamp")]

    def reconcile(self) -> None:
        namespaces = {n["metadata"]["name"]: n for n in rest.list_items(self.api, "/api/v1/namespaces")
                      if not n["metadata"].get("deletionTimestamp")}
        cnis = self._list(CNIS)
        cni = next((c for c in cnis if c["metadata"]["name"] == "default"), None)
        for c in cnis:
            self._cni(c, namespaces)
        cni = rest.get(self.api, rest.path(V1, CNIS, name="default")) if cni else None
        istios = self._list(ISTIOS)
        for istio in istios:
            self._ensure_revisions(istio, namespaces)
        tags = self._list(TAGS)
        revisions = self._list(REVISIONS)
        in_use = self._in_use(namespaces, tags, revisions)
        for rev in revisions:
            self._revision(rev, namespaces, cni, in_use, tags)
        revisions = self._list(REVISIONS)
        for tag in tags:
            self._tag(tag, istios, revisions, in_use)
        for istio in istios:
            self._istio(istio, revisions)

    def _namespace_exists(self, name: str, namespaces: dict) -> bool:
        """In the pass's list, or (created since that list was read, e.g. just before the Istio
        that names it) on the server: Helm's install asks the server, so the real operator
        reports "not found" only for a namespace that really is missing."""
        if name in namespaces:
            return True
        live = rest.get(self.api, f"/api/v1/namespaces/{name}")
        if live is None or live["metadata"].get("deletionTimestamp"):
            return False
        namespaces[name] = live
        return True

    # -- IstioCNI --------------------------------------------------------------------------
    def _cni(self, cni: dict, namespaces: dict) -> None:
        md = cni["metadata"]
        ns = dig(cni, "spec", "namespace", default="istio-cni")
        old = cni.get("status") or {}
        prev = old.get("conditions")
        if md["name"] != "default":
            msg = "metadata.name must be 'default'"
            conds = [condition("Reconciled", False, "ReconcileError", msg, prev),
                     condition("Ready", False, "ReconcileError", msg, prev)]
        elif not self._namespace_exists(ns, namespaces):
            msg = f'failed to install/update Helm chart "istio-cni": namespaces "{ns}" not found'
            conds = [condition("Reconciled", False, "ReconcileError", msg, prev),
                     condition("Ready", False, "ReconcileError", msg, prev)]
        else:
            rest.apply_objects(self.api, cni_objects(cni))
            ds = rest.get(self.api, rest.kind_path("apps/v1", "DaemonSet", ns, CNI_DAEMONSET)) or {}
            st = ds.get("status") or {}
            want = st.get("desiredNumberScheduled") or 0
            ready = want > 0 and (st.get("numberReady") or 0) >= want and not st.get("numberUnavailable")
            conds = [condition("Reconciled", True, previous=prev),
                     condition("Ready", True, previous=prev) if ready else
                     condition("Ready", False, "DaemonSetNotReady", "not all istio-cni-node pods are ready", prev)]
        new = {"observedGeneration": md.get("generation"), "conditions": conds, "state": state_of(conds)}
        self.status(rest.path(V1, CNIS, name=md["name"]), old, new)

    # -- Istio → IstioRevisions ---------------------------------------------------------------
    def _owned(self, istio: dict) -> list[dict]:
        uid = istio["metadata"]["uid"]
        return [r for r in self._list(REVISIONS)
                if any(o.get("uid") == uid for o in r["metadata"].get("ownerReferences") or [])]

    def _ensure_revisions(self, istio: dict, namespaces: dict) -> None:
        active = revision_name(istio)
        rest.apply(self.api, revision_body(istio))
        for rev in self._owned(istio):
            name = rev["metadata"]["name"]
            if name == active:
                continue
            # InPlace keeps one revision; RevisionBased keeps an old one while workloads use it
            if dig(istio, "spec", "updateStrategy", "type", default="InPlace") != "RevisionBased" \
                    or not _ok(rev, "InUse"):
                log.info("sail: deleting inactive IstioRevision %s", name)
                rest.delete(self.api, rest.path(V1, REVISIONS, name=name), {"propagationPolicy": "Background"})

    # -- IstioRevision ----------------------------------------------------------------------
    def _in_use(self, namespaces: dict, tags: list[dict], revisions: list[dict]) -> set[str]:
        """Names (revisions and tags) a namespace or an injected pod refers to (sail-operator
        docs: "InUse Detection")."""
        names: set[str] = set()
        for ns in namespaces.values():
            labels = ns["metadata"].get("labels") or {}
            if labels.get(NS_INJECTION) == "enabled":
                names.add("default")
            elif labels.get(REV_KEY):
                names.add(labels[REV_KEY])
        for pod in rest.list_items(self.api, "/api/v1/pods"):
            ann = pod["metadata"].get("annotations") or {}
            labels = pod["metadata"].get("labels") or {}
            if "sidecar.istio.io/status" not in ann:
                continue  # istiod's own pods carry istio.io/rev too: only injected pods count
            names.add(ann.get(REV_KEY) or labels.get(REV_KEY) or "default")
        return names

    def _revision(self, rev: dict, namespaces: dict, cni: dict | None, in_use: set[str],
                  tags: list[dict]) -> None:
        md = rev["metadata"]
        name = md["name"]
        spec = rev.get("spec") or {}
        ns = spec.get("namespace", "istio-system")
        old = rev.get("status") or {}
        prev = old.get("conditions")
        used = name in in_use or any(dig(t, "status", "istioRevision") == name and t["metadata"]["name"] in in_use
                                     for t in tags)
        if not self._namespace_exists(ns, namespaces):
            msg = f'failed to install/update Helm chart "istiod": namespaces "{ns}" not found'
            conds = [condition("Reconciled", False, "ReconcileError", msg, prev),
                     condition("Ready", False, "ReconcileError", msg, prev)]
        else:
            rest.apply_objects(self.api, revision_objects(rev))
            rest.apply(self.api, webhook(name, name, None, ns, self.url, self.ca, rev))
            dep = rest.get(self.api, rest.kind_path("apps/v1", "Deployment", ns, f"istiod{suffix(name)}")) or {}
            available = any(c.get("type") == "Available" and c.get("status") == "True"
                            for c in dig(dep, "status", "conditions") or []) and \
                (dig(dep, "status", "readyReplicas") or 0) > 0
            conds = [condition("Reconciled", True, previous=prev),
                     condition("Ready", True, previous=prev) if available else
                     condition("Ready", False, "IstiodNotReady", "istiod Deployment is not ready", prev)]
        if cni_required(spec.get("values") or {}):
            if cni is None:
                conds.append(condition("DependenciesHealthy", False, "IstioCNINotFound",
                                       "IstioCNI resource does not exist", prev))
            elif not _ok(cni, "Ready"):
                conds.append(condition("DependenciesHealthy", False, "IstioCNINotHealthy",
                                       "IstioCNI resource status indicates that the component is not healthy", prev))
            else:
                conds.append(condition("DependenciesHealthy", True, previous=prev))
        else:
            conds.append(condition("DependenciesHealthy", True, previous=prev))
        conds.append(condition("InUse", True, "ReferencedByWorkloads",
                               "Referenced by at least one pod or namespace", prev) if used else
                     condition("InUse", False, "NotReferencedByAnything",
                               "Not referenced by any pod or namespace", prev))
        new = {"observedGeneration": md.get("generation"), "conditions": conds, "state": state_of(conds)}
        self.status(rest.path(V1, REVISIONS, name=name), old, new)

    # -- IstioRevisionTag ----------------------------------------------------------------------
    def _tag(self, tag: dict, istios: list[dict], revisions: list[dict], in_use: set[str]) -> None:
        md = tag["metadata"]
        ref = dig(tag, "spec", "targetRef") or {}
        old = tag.get("status") or {}
        prev = old.get("conditions")
        target = None
        if ref.get("kind") == "Istio":
            istio = next((i for i in istios if i["metadata"]["name"] == ref.get("name")), None)
            target = revision_name(istio) if istio else None
        elif ref.get("kind") == "IstioRevision":
            target = ref.get("name")
        rev = next((r for r in revisions if r["metadata"]["name"] == target), None) if target else None
        if rev is None:
            msg = f"referenced {ref.get('kind')} {ref.get('name')} not found"
            conds = [condition("Reconciled", False, "RefNotFound", msg, prev)]
            new = {"observedGeneration": md.get("generation"), "conditions": conds, "state": "RefNotFound"}
        else:
            ns = dig(rev, "spec", "namespace", default="istio-system")
            rest.apply(self.api, webhook(md["name"], target, md["name"], ns, self.url, self.ca, tag))
            conds = [condition("Reconciled", True, previous=prev),
                     condition("InUse", md["name"] in in_use,
                               "ReferencedByWorkloads" if md["name"] in in_use else "NotReferencedByAnything",
                               "", prev)]
            new = {"observedGeneration": md.get("generation"), "conditions": conds, "state": "Healthy",
                   "istioRevision": target, "istiodNamespace": ns}
        self.status(rest.path(V1, TAGS, name=md["name"]), old, new)

    # -- Istio status -----------------------------------------------------------------------
    def _istio(self, istio: dict, revisions: list[dict]) -> None:
        md = istio["metadata"]
        uid = md["uid"]
        owned = [r for r in revisions if any(o.get("uid") == uid for o in r["metadata"].get("ownerReferences") or [])]
        active_name = revision_name(istio)
        active = next((r for r in owned if r["metadata"]["name"] == active_name), None)
        old = istio.get("status") or {}
        prev = old.get("conditions")
        if active is None:
            conds = [condition("Reconciled", True, previous=prev),
                     condition("Ready", False, "ActiveRevisionNotFound",
                               f"active IstioRevision {active_name} not found", prev)]
        else:
            by_type = {c["type"]: c for c in dig(active, "status", "conditions") or []}
            conds = []
            for ctype in ORDER:
                c = by_type.get(ctype)
                if c is None:
                    conds.append(condition(ctype, "Unknown", previous=prev))
                else:
                    conds.append(condition(ctype, c["status"], c.get("reason", ""), c.get("message", ""), prev))
        new = {"observedGeneration": md.get("generation"), "conditions": conds, "state": state_of(conds),
               "activeRevisionName": active_name,
               "revisions": {"total": len(owned), "ready": sum(_ok(r, "Ready") for r in owned),
                             "inUse": sum(_ok(r, "InUse") for r in owned)}}
        self.status(rest.path(V1, ISTIOS, name=md["name"]), old, new)
