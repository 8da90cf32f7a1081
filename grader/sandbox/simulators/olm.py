"""OLM-lite: the Operator Lifecycle Manager as the labs meet it.

What it does, like OLM on OpenShift 4:
- at start, the default catalogs (CatalogSources in openshift-marketplace) and the
  openshift-operators namespace with its `global-operators` OperatorGroup;
- resolves each Subscription against a built-in catalog: a known package from a known
  catalog gets an InstallPlan (owned by the Subscription; approved at once for
  `installPlanApproval: Automatic`, else left `RequiresApproval` until someone sets
  `spec.approved: true`), then the ClusterServiceVersion in the Subscription's namespace
  plus the operator's Deployment and ServiceAccount, and the Subscription's status
  (`AtLatestKnown`, currentCSV, installedCSV, installPlanRef, catalogHealth, conditions);
- an unknown catalog, package, channel or startingCSV leaves the Subscription with
  `ResolutionFailed=True` (reason ConstraintsNotSatisfiable) and OLM's own message;
- the CSV fails as real OLM's does without exactly one OperatorGroup in its namespace, or
  when the OperatorGroup asks for an install mode the operator does not support (the
  Service Mesh and Kiali operators support AllNamespaces only); fixing the OperatorGroup
  retries the install;
- deleting a Subscription leaves its CSV (and operator) installed; deleting the CSV while
  the Subscription exists reinstalls it. CSVs have no ownerReference, as with real OLM.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from kubernetes import client
from kubernetes.client.rest import ApiException

from grader.sandbox.simulators import rest
from grader.sandbox.simulators.common import condition, log, now, watch_forever
from grader.sandbox.simulators.rest import ignore_missing, patch_status

GROUP = "operators.coreos.com"
V1A1 = f"{GROUP}/v1alpha1"
V1 = f"{GROUP}/v1"
MARKETPLACE = "openshift-marketplace"
GLOBAL_NS = "openshift-operators"
INSTALL_MODES = ("OwnNamespace", "SingleNamespace", "MultiNamespace", "AllNamespaces")


@dataclass(frozen=True)
class Package:
    name: str
    csv: str
    display: str
    version: str
    replaces: str
    deployment: str
    image: str
    channels: tuple[str, ...] = ("stable",)
    install_modes: tuple[str, ...] = INSTALL_MODES
    owned: tuple[tuple[str, str, str], ...] = ()  # (crd name, version, kind)
    provider: str = "Red Hat"
    pod_labels: tuple[tuple[str, str], ...] = ()

    @property
    def default_channel(self) -> str:
        return self.channels[0]


PACKAGES = {p.name: p for p in (
    Package("servicemeshoperator", "servicemeshoperator.v2.5.2", "Red Hat OpenShift Service Mesh", "2.5.2-0",
            "servicemeshoperator.v2.5.1", "istio-operator",
            "registry.redhat.io/openshift-service-mesh/istio-rhel8-operator:2.5.2",
            install_modes=("AllNamespaces",),
            owned=(("servicemeshcontrolplanes.maistra.io", "v2", "ServiceMeshControlPlane"),
                   ("servicemeshmemberrolls.maistra.io", "v1", "ServiceMeshMemberRoll"),
                   ("servicemeshmembers.maistra.io", "v1", "ServiceMeshMember")),
            pod_labels=(("name", "istio-operator"),)),
    # OSSM 3.4 (Istio 1.30), package servicemeshoperator3, channel stable (Red Hat "Installing
    # OpenShift Service Mesh 3"; the operator Deployment is servicemesh-operator3).
    Package("servicemeshoperator3", "servicemeshoperator3.v3.4.0", "Red Hat OpenShift Service Mesh 3", "3.4.0",
            "servicemeshoperator3.v3.3.1", "servicemesh-operator3",
            "registry.redhat.io/openshift-service-mesh/istio-rhel9-operator:3.4.0",
            channels=("stable", "stable-3.4"), install_modes=("AllNamespaces",),
            owned=(("istios.sailoperator.io", "v1", "Istio"), ("istiorevisions.sailoperator.io", "v1", "IstioRevision"),
                   ("istiorevisiontags.sailoperator.io", "v1", "IstioRevisionTag"),
                   ("istiocnis.sailoperator.io", "v1", "IstioCNI"), ("ztunnels.sailoperator.io", "v1", "ZTunnel")),
            pod_labels=(("app.kubernetes.io/name", "servicemesh-operator3"), ("control-plane", "servicemesh-operator3"))),
    Package("kiali-ossm", "kiali-operator.v1.73.4", "Kiali Operator", "1.73.4", "kiali-operator.v1.65.11",
            "kiali-operator", "registry.redhat.io/openshift-service-mesh/kiali-rhel8-operator:1.73.4",
            install_modes=("AllNamespaces",), owned=(("kialis.kiali.io", "v1alpha1", "Kiali"),),
            pod_labels=(("app", "kiali-operator"),)),
    Package("jaeger-product", "jaeger-operator.v1.51.0-1", "Red Hat OpenShift distributed tracing platform",
            "1.51.0-1", "jaeger-operator.v1.47.1-5", "jaeger-operator",
            "registry.redhat.io/rhosdt/jaeger-rhel8-operator:1.51.0",
            owned=(("jaegers.jaegertracing.io", "v1", "Jaeger"),), pod_labels=(("name", "jaeger-operator"),)),
    Package("elasticsearch-operator", "elasticsearch-operator.v5.8.1", "OpenShift Elasticsearch Operator", "5.8.1",
            "elasticsearch-operator.v5.8.0", "elasticsearch-operator",
            "registry.redhat.io/openshift-logging/elasticsearch-rhel9-operator:v5.8.1",
            channels=("stable", "stable-5.8"),
            owned=(("elasticsearches.logging.openshift.io", "v1", "Elasticsearch"),),
            pod_labels=(("name", "elasticsearch-operator"),)),
    Package("tempo-product", "tempo-operator.v0.8.0-2", "Tempo Operator", "0.8.0-2", "tempo-operator.v0.6.0-2",
            "tempo-operator-controller", "registry.redhat.io/rhosdt/tempo-rhel8-operator:0.8.0",
            owned=(("tempostacks.tempo.grafana.com", "v1alpha1", "TempoStack"),),
            pod_labels=(("app.kubernetes.io/name", "tempo-operator"),)),
    Package("opentelemetry-product", "opentelemetry-operator.v0.93.0-3", "Red Hat build of OpenTelemetry",
            "0.93.0-3", "opentelemetry-operator.v0.89.0-3", "opentelemetry-operator-controller-manager",
            "registry.redhat.io/rhosdt/opentelemetry-rhel8-operator:0.93.0",
            owned=(("opentelemetrycollectors.opentelemetry.io", "v1alpha1", "OpenTelemetryCollector"),),
            pod_labels=(("app.kubernetes.io/name", "opentelemetry-operator"),)),
)}

# name: (display name, packages it serves)
CATALOGS: dict[str, tuple[str, frozenset[str]]] = {
    "redhat-operators": ("Red Hat Operators", frozenset(PACKAGES)),
    "certified-operators": ("Certified Operators", frozenset()),
    "community-operators": ("Community Operators", frozenset()),
    "redhat-marketplace": ("Red Hat Marketplace", frozenset()),
}


_VOLATILE = ("lastUpdated", "lastTransitionTime", "lastUpdateTime", "resourceVersion")


def _stable(obj: object) -> object:
    """The object without timestamps, to decide whether a status patch changes anything."""
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k not in _VOLATILE}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def _merge_status(old: dict, new: dict) -> dict:
    """A merge patch that turns `old` into `new` (keys missing from `new` are removed)."""
    patch: dict = {k: None for k in old if k not in new}
    patch.update(new)
    return patch


class OLM:
    def __init__(self, api: client.ApiClient, stop: threading.Event) -> None:
        self.api = api
        self.stop = stop
        self.co = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self._lock = threading.RLock()
        self._catalog_refs: dict[str, dict] = {}

    # -- set-up ------------------------------------------------------------------
    def _served(self) -> bool:
        try:
            resources = rest.call(self.api, "GET", f"/apis/{V1A1}")
        except ApiException:
            return False
        names = {r.get("name") for r in (resources or {}).get("resources", [])}
        return {"subscriptions", "clusterserviceversions", "installplans", "catalogsources"} <= names

    def bootstrap(self) -> None:
        """The objects an OpenShift cluster has before anyone installs an operator."""
        for ns in (MARKETPLACE, GLOBAL_NS):
            rest.apply(self.api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        t = now()
        for name, (display, _pkgs) in CATALOGS.items():
            path = rest.path(V1A1, "catalogsources", MARKETPLACE, name)
            obj = rest.apply(self.api, {
                "apiVersion": V1A1, "kind": "CatalogSource",
                "metadata": {"name": name, "namespace": MARKETPLACE},
                "spec": {"sourceType": "grpc", "displayName": display, "publisher": "Red Hat",
                         "image": f"registry.redhat.io/redhat/{name.removesuffix('s')}-index:v4.14",
                         "updateStrategy": {"registryPoll": {"interval": "10m"}}}})
            patch_status(self.api, path, {
                "connectionState": {"address": f"{name}.{MARKETPLACE}.svc:50051", "lastConnect": t,
                                    "lastObservedState": "READY"},
                "registryService": {"createdAt": t, "port": "50051", "protocol": "grpc",
                                    "serviceName": name, "serviceNamespace": MARKETPLACE}})
            self._catalog_refs[name] = {"apiVersion": V1A1, "kind": "CatalogSource", "name": name,
                                        "namespace": MARKETPLACE, "uid": obj["metadata"]["uid"]}
        if ignore_missing(self.co.get_namespaced_custom_object, GROUP, "v1", GLOBAL_NS, "operatorgroups",
                          "global-operators") is None:
            rest.apply(self.api, {"apiVersion": V1, "kind": "OperatorGroup",
                                  "metadata": {"name": "global-operators", "namespace": GLOBAL_NS}, "spec": {}})

    # -- operator groups ---------------------------------------------------------------
    @staticmethod
    def _target_namespaces(og: dict) -> list[str]:
        return list((og.get("spec") or {}).get("targetNamespaces") or []) or [""]

    def on_operatorgroup(self, typ: str, og: dict) -> None:
        md = og["metadata"]
        if typ in ("ADDED", "MODIFIED", "DELETED"):
            # A new, fixed or removed OperatorGroup: re-evaluate the namespace's installs.
            subs = self.co.list_namespaced_custom_object(GROUP, "v1alpha1", md["namespace"], "subscriptions")
            for sub in subs.get("items", []):
                self.on_subscription("RESYNC", sub)
        if typ != "DELETED" and (og.get("status") or {}).get("namespaces") != self._target_namespaces(og):
            patch_status(self.api, rest.path(V1, "operatorgroups", md["namespace"], md["name"]),
                         {"namespaces": self._target_namespaces(og), "lastUpdated": now()})

    def _operatorgroup_problem(self, ns: str, pkg: Package) -> tuple[str, str] | None:
        """(reason, message) why a CSV in `ns` cannot install, as OLM reports it; None if it can."""
        ogs = self.co.list_namespaced_custom_object(GROUP, "v1", ns, "operatorgroups").get("items", [])
        if not ogs:
            return "NoOperatorGroup", "csv in namespace with no operatorgroups"
        if len(ogs) > 1:
            return ("TooManyOperatorGroups",
                    "csv created in namespace with multiple operatorgroups, can't pick one automatically")
        targets = self._target_namespaces(ogs[0])
        modes = set(pkg.install_modes)
        msg = None
        if "AllNamespaces" not in modes and targets == [""]:
            msg = "AllNamespaces InstallModeType not supported, cannot configure to watch all namespaces"
        elif not modes & {"SingleNamespace", "MultiNamespace"} and len(targets) == 1 and targets[0] != "":
            msg = "SingleNamespace InstallModeType not supported, cannot configure to watch one namespace"
        elif "MultiNamespace" not in modes and len(targets) > 1:
            msg = f"MultiNamespace InstallModeType not supported, cannot configure to watch {len(targets)} namespaces"
        elif "OwnNamespace" not in modes and ns in targets:
            msg = "OwnNamespace InstallModeType not supported, cannot configure to watch own namespace"
        return ("UnsupportedOperatorGroup", msg) if msg else None

    # -- subscriptions -------------------------------------------------------------------
    def _resolve(self, sub: dict) -> tuple[Package | None, str]:
        """The package to install, or None and OLM's "constraints not satisfiable" message."""
        spec, name = sub.get("spec") or {}, sub["metadata"]["name"]
        source, source_ns = spec.get("source", ""), spec.get("sourceNamespace", "")
        pkg_name = spec.get("name", "")
        if source not in CATALOGS or source_ns != MARKETPLACE:
            return None, (f"no operators found from catalog {source} in namespace {source_ns} "
                          f"referenced by subscription {name}")
        pkg = PACKAGES.get(pkg_name)
        if pkg is None or pkg_name not in CATALOGS[source][1]:
            return None, f"no operators found in package {pkg_name} in the catalog referenced by subscription {name}"
        channel = spec.get("channel") or pkg.default_channel
        if channel not in pkg.channels:
            return None, (f"no operators found in channel {channel} of package {pkg_name} "
                          f"in the catalog referenced by subscription {name}")
        starting = spec.get("startingCSV")
        if starting and starting != pkg.csv:
            return None, (f"no operators found with name {starting} in channel {channel} of package {pkg_name} "
                          f"in the catalog referenced by subscription {name}")
        return pkg, ""

    def _catalog_health(self) -> list[dict]:
        t = now()
        return [{"catalogSourceRef": ref, "healthy": True, "lastUpdated": t} for ref in self._catalog_refs.values()]

    def on_subscription(self, typ: str, sub: dict) -> None:
        if typ == "DELETED":
            return  # the CSV stays installed; the InstallPlan goes with its owner (garbage collector)
        with self._lock:
            md = sub["metadata"]
            fresh = ignore_missing(self.co.get_namespaced_custom_object, GROUP, "v1alpha1", md["namespace"],
                                   "subscriptions", md["name"])
            if fresh is None or fresh["metadata"].get("deletionTimestamp"):
                return
            self._reconcile(fresh)

    def _reconcile(self, sub: dict) -> None:
        md, spec = sub["metadata"], sub.get("spec") or {}
        ns, name = md["namespace"], md["name"]
        old = sub.get("status") or {}
        old_conds = old.get("conditions") or []
        healthy = condition("CatalogSourcesUnhealthy", "False", "AllCatalogSourcesHealthy",
                        "all available catalogsources are healthy", old_conds)
        pkg, problem = self._resolve(sub)
        if pkg is None:
            message = f"constraints not satisfiable: {problem}, subscription {name} exists"
            status = {"catalogHealth": self._catalog_health(), "lastUpdated": now(),
                      "conditions": [healthy, condition("ResolutionFailed", "True", "ConstraintsNotSatisfiable",
                                                    message, old_conds)]}
            self._set_status(rest.path(V1A1, "subscriptions", ns, name), old, status)
            return
        self._label(sub, pkg)
        approval = spec.get("installPlanApproval") or "Automatic"
        plan = self._install_plan(sub, pkg, approval)
        plan_ref = {"apiVersion": V1A1, "kind": "InstallPlan", "name": plan["metadata"]["name"], "namespace": ns,
                    "resourceVersion": plan["metadata"].get("resourceVersion"), "uid": plan["metadata"]["uid"]}
        status = {"catalogHealth": self._catalog_health(), "currentCSV": pkg.csv, "installPlanGeneration": 1,
                  "installPlanRef": plan_ref, "lastUpdated": now(),
                  "installplan": {"apiVersion": V1A1, "kind": "InstallPlan", "name": plan["metadata"]["name"],
                                  "uuid": plan["metadata"]["uid"]}}
        if not (plan.get("spec") or {}).get("approved"):
            self._set_status(rest.path(V1A1, "installplans", ns, plan["metadata"]["name"]), plan.get("status") or {},
                             {"phase": "RequiresApproval", "catalogSources": [spec.get("source")],
                              "bundleLookups": []})
            status.update(state="UpgradePending", conditions=[healthy, condition(
                "InstallPlanPending", "True", "RequiresApproval", "", old_conds)])
            self._set_status(rest.path(V1A1, "subscriptions", ns, name), old, status)
            return
        if not self._install(ns, pkg, sub):
            return
        self._set_status(rest.path(V1A1, "installplans", ns, plan["metadata"]["name"]), plan.get("status") or {},
                         {"phase": "Complete", "catalogSources": [spec.get("source")], "bundleLookups": [],
                          "startTime": (plan.get("status") or {}).get("startTime") or now()})
        status.update(state="AtLatestKnown", installedCSV=pkg.csv, conditions=[healthy])
        self._set_status(rest.path(V1A1, "subscriptions", ns, name), old, status)

    def _set_status(self, path: str, old: dict, new: dict) -> None:
        if _stable(old) != _stable(new):
            patch_status(self.api, path, _merge_status(old, new))

    def _label(self, sub: dict, pkg: Package) -> None:
        """OLM labels the Subscription operators.coreos.com/<package>.<namespace>."""
        md = sub["metadata"]
        key = f"operators.coreos.com/{pkg.name}.{md['namespace']}"
        if key not in (md.get("labels") or {}):
            self.co.patch_namespaced_custom_object(GROUP, "v1alpha1", md["namespace"], "subscriptions", md["name"],
                                                   {"metadata": {"labels": {key: ""}}})

    def _install_plan(self, sub: dict, pkg: Package, approval: str) -> dict:
        """The InstallPlan this Subscription owns; created on first resolution."""
        md = sub["metadata"]
        plans = self.co.list_namespaced_custom_object(GROUP, "v1alpha1", md["namespace"], "installplans")
        for plan in plans.get("items", []):
            owners = plan["metadata"].get("ownerReferences") or []
            if any(o.get("uid") == md["uid"] for o in owners) and pkg.csv in plan["spec"].get(
                    "clusterServiceVersionNames", []):
                return plan
        body = {
            "apiVersion": V1A1, "kind": "InstallPlan",
            "metadata": {"generateName": "install-", "namespace": md["namespace"],
                         "labels": {f"operators.coreos.com/{pkg.name}.{md['namespace']}": ""},
                         "ownerReferences": [{"apiVersion": V1A1, "kind": "Subscription", "name": md["name"],
                                              "uid": md["uid"], "blockOwnerDeletion": False, "controller": False}]},
            "spec": {"approval": approval, "approved": approval == "Automatic",
                     "clusterServiceVersionNames": [pkg.csv], "generation": 1},
        }
        plan = self.co.create_namespaced_custom_object(GROUP, "v1alpha1", md["namespace"], "installplans", body)
        log.info("olm: InstallPlan %s/%s for %s (%s)", md["namespace"], plan["metadata"]["name"], pkg.csv, approval)
        return plan

    def on_installplan(self, typ: str, plan: dict) -> None:
        """An approved plan (`oc patch installplan … approved=true`) installs its CSV."""
        if typ == "DELETED" or not (plan.get("spec") or {}).get("approved"):
            return
        if (plan.get("status") or {}).get("phase") == "Complete":
            return
        ns = plan["metadata"]["namespace"]
        for owner in plan["metadata"].get("ownerReferences") or []:
            if owner.get("kind") == "Subscription":
                self.on_subscription("RESYNC", {"metadata": {"namespace": ns, "name": owner["name"]}})

    # -- cluster service versions ---------------------------------------------------------
    def _csv_body(self, ns: str, pkg: Package) -> dict:
        dep = {"name": pkg.deployment, "spec": self._deployment_spec(pkg)}
        labels = {f"operators.coreos.com/{pkg.name}.{ns}": ""}
        return {
            "apiVersion": V1A1, "kind": "ClusterServiceVersion",
            "metadata": {"name": pkg.csv, "namespace": ns, "labels": labels,
                         "annotations": {"olm.operatorNamespace": ns, "capabilities": "Seamless Upgrades",
                                         "containerImage": pkg.image}},
            "spec": {
                "displayName": pkg.display, "version": pkg.version, "replaces": pkg.replaces,
                "provider": {"name": pkg.provider}, "maturity": "stable",
                "installModes": [{"type": m, "supported": m in pkg.install_modes} for m in INSTALL_MODES],
                "customresourcedefinitions": {"owned": [{"name": n, "version": v, "kind": k}
                                                        for n, v, k in pkg.owned]},
                "install": {"strategy": "deployment", "spec": {"deployments": [dep], "permissions": [],
                                                                "clusterPermissions": []}},
            },
        }

    @staticmethod
    def _deployment_spec(pkg: Package) -> dict:
        labels = dict(pkg.pod_labels) or {"name": pkg.deployment}
        return {"replicas": 1, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels},
                             "spec": {"serviceAccountName": pkg.deployment,
                                      "containers": [{"name": pkg.deployment, "image": pkg.image}]}}}

    def _install(self, ns: str, pkg: Package, sub: dict) -> bool:
        """Install (or re-check) the CSV; False if the Subscription no longer wants it."""
        path = rest.path(V1A1, "clusterserviceversions", ns, pkg.csv)
        csv = ignore_missing(self.co.get_namespaced_custom_object, GROUP, "v1alpha1", ns,
                             "clusterserviceversions", pkg.csv)
        if csv is None:
            csv = rest.apply(self.api, self._csv_body(ns, pkg))
            if not self._still_wants(sub, pkg):
                # The Subscription was deleted or replaced while this (stale) event was being
                # handled; OLM installs nothing for a Subscription that no longer asks for it.
                ignore_missing(self.co.delete_namespaced_custom_object, GROUP, "v1alpha1", ns,
                               "clusterserviceversions", pkg.csv)
                log.info("olm: %s/%s not installed: its Subscription changed meanwhile", ns, pkg.csv)
                return False
            log.info("olm: ClusterServiceVersion %s/%s created", ns, pkg.csv)
        old = csv.get("status") or {}
        problem = self._operatorgroup_problem(ns, pkg)
        if problem:
            reason, message = problem
            phase = "Failed"
        else:
            phase, reason, message = "Succeeded", "InstallSucceeded", "install strategy completed with no errors"
        if (old.get("phase"), old.get("reason"), old.get("message")) == (phase, reason, message):
            return True
        if phase == "Succeeded":
            self._operator_deployment(ns, pkg, csv)
        t = now()
        history = [
            ("Pending", "RequirementsUnknown", "requirements not yet checked"),
            ("InstallReady", "AllRequirementsMet", "all requirements found, attempting install"),
            ("Installing", "InstallSucceeded", "waiting for install components to report healthy"),
        ] if phase == "Succeeded" else [("Pending", "RequirementsUnknown", "requirements not yet checked")]
        conditions = list(old.get("conditions") or [])
        conditions += [{"phase": p, "reason": r, "message": m, "lastTransitionTime": t, "lastUpdateTime": t}
                       for p, r, m in history]
        conditions.append({"phase": phase, "reason": reason, "message": message,
                           "lastTransitionTime": t, "lastUpdateTime": t})
        patch_status(self.api, path, {
            "phase": phase, "reason": reason, "message": message, "lastTransitionTime": t, "lastUpdateTime": t,
            "conditions": conditions[-10:],
            "requirementStatus": [{"group": "operators.coreos.com", "version": "v1alpha1",
                                   "kind": "ClusterServiceVersion", "name": pkg.csv,
                                   "status": "Present",
                                   "message": "CSV minKubeVersion (1.20.0) less than server version (v1.20.2)"}],
        })
        log.info("olm: %s/%s %s (%s)", ns, pkg.csv, phase, reason)
        return True

    def _still_wants(self, sub: dict, pkg: Package) -> bool:
        """The Subscription `sub` still exists, unchanged in identity, and still resolves to `pkg`."""
        md = sub["metadata"]
        fresh = ignore_missing(self.co.get_namespaced_custom_object, GROUP, "v1alpha1", md["namespace"],
                               "subscriptions", md["name"])
        if fresh is None or fresh["metadata"].get("uid") != md.get("uid") or fresh["metadata"].get(
                "deletionTimestamp"):
            return False
        return self._resolve(fresh)[0] == pkg

    def _operator_deployment(self, ns: str, pkg: Package, csv: dict) -> None:
        """The operator itself, as OLM deploys it from the CSV's install strategy."""
        labels = {"olm.owner": pkg.csv, "olm.owner.kind": "ClusterServiceVersion", "olm.owner.namespace": ns,
                  f"operators.coreos.com/{pkg.name}.{ns}": ""}
        owner = [{"apiVersion": V1A1, "kind": "ClusterServiceVersion", "name": pkg.csv,
                  "uid": csv["metadata"]["uid"], "controller": False, "blockOwnerDeletion": False}]
        md = {"name": pkg.deployment, "namespace": ns, "labels": labels, "ownerReferences": owner}
        rest.apply_objects(self.api, [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": md},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md, "spec": self._deployment_spec(pkg)}])

    def on_csv(self, typ: str, csv: dict) -> None:
        """A deleted CSV whose Subscription still exists is reinstalled, as OLM does."""
        if typ != "DELETED":
            return
        ns = csv["metadata"]["namespace"]
        subs = self.co.list_namespaced_custom_object(GROUP, "v1alpha1", ns, "subscriptions").get("items", [])
        for sub in subs:
            if (sub.get("status") or {}).get("installedCSV") == csv["metadata"]["name"]:
                self.on_subscription("RESYNC", sub)

    # -- run ---------------------------------------------------------------------------
    def start(self) -> list[threading.Thread]:
        if not self._served():
            log.info("olm: operators.coreos.com is not served (flavour without OLM); OLM-lite not started")
            return []
        self.bootstrap()
        watches = (
            ("subscriptions", "v1alpha1", self.on_subscription),
            ("installplans", "v1alpha1", self.on_installplan),
            ("clusterserviceversions", "v1alpha1", self.on_csv),
            ("operatorgroups", "v1", self.on_operatorgroup),
        )
        threads = [threading.Thread(target=watch_forever, daemon=True, name=f"olm-{plural}", kwargs={
            "stop": self.stop, "list_fn": self.co.list_cluster_custom_object, "handle": handle, "api": self.api,
            "name": f"olm-{plural}", "group": GROUP, "version": version, "plural": plural})
            for plural, version, handle in watches]
        for t in threads:
            t.start()
        log.info("olm: OLM-lite watching subscriptions (catalogs: %s)", ", ".join(CATALOGS))
        return threads
