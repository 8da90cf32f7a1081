"""The Service Mesh operator stand-in (Maistra / OSSM 2.5, maistra/istio-operator
maistra-2.5): its controllers on one work queue, fed by watches.

It reconciles only while a ClusterServiceVersion `servicemeshoperator*` is Succeeded (no
operator, no status). What it does is split by job:
- manifests.py: what a ServiceMeshControlPlane deploys, as data;
- control_plane.py: the SMCP controller (install, prune, status);
- members.py: the SMMR and SMM controllers and the namespace labels they own.

The upstream-Istio flavour has no operator: bootstrap applies control_plane_objects
("istio") once, as `istioctl install` would have left it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from kubernetes import client
from kubernetes.client.rest import ApiException

from grader.sandbox.simulators import rest
from grader.sandbox.simulators.common import dig, log, watch_forever
from grader.sandbox.simulators.servicemesh.control_plane import ControlPlanes
from grader.sandbox.simulators.servicemesh.manifests import CSV_PREFIX, MAISTRA, MEMBER_OF, SMCPS, SMMRS, SMMS, V1, V2
from grader.sandbox.simulators.servicemesh.members import Members


class ServiceMeshOperator:
    """Maistra's SMCP, SMMR and SMM controllers, on one work queue."""

    def __init__(self, api: client.ApiClient, stop: threading.Event, flavour: str, injector_url: str,
                 ca: bytes) -> None:
        self.api = api
        self.stop = stop
        self.flavour = flavour
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self._csvs: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._queue: OrderedDict[tuple, None] = OrderedDict()
        self._wake = threading.Condition(self._lock)
        status = rest.StatusWriter(api, "servicemesh")
        self.control_planes = ControlPlanes(api, status, injector_url, ca)
        self.members = Members(api, status, self.enqueue)

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
            self.control_planes.reconcile(key[1], apply_all=True)
        elif kind == "ready":
            self.control_planes.reconcile(key[1], apply_all=False)
        elif kind == "smmr":
            self.members.reconcile_smmr(key[1], key[2])
        elif kind == "smm":
            self.members.reconcile_smm(key[1], key[2])
        elif kind == "smm-gone":
            self.members.member_removed(key[1], key[2])
        elif kind == "ns":
            self.members.reconcile_namespace(key[1])
        elif kind == "members-of":
            for smm in rest.list_items(self.api, rest.path(V1, SMMS)):
                if dig(smm, "spec", "controlPlaneRef", "namespace") == key[1]:
                    self.enqueue("smm", smm["metadata"]["namespace"], smm["metadata"]["name"])
        elif kind == "smcp-gone":
            self.control_planes.deleted(key[1], key[2])

    # -- watches -------------------------------------------------------------------------
    def start(self) -> list[threading.Thread]:
        if self.flavour != "ossm2":
            return []  # upstream Istio has no operator and no maistra.io API
        watches = [
            ("servicemesh-csv", self.custom.list_cluster_custom_object, self.on_csv,
             dict(group="operators.coreos.com", version="v1alpha1", plural="clusterserviceversions")),
            ("servicemesh-smcp", self.custom.list_cluster_custom_object, self.on_smcp,
             dict(group=MAISTRA, version="v2", plural=SMCPS)),
            ("servicemesh-smmr", self.custom.list_cluster_custom_object, self.on_smmr,
             dict(group=MAISTRA, version="v1", plural=SMMRS)),
            ("servicemesh-smm", self.custom.list_cluster_custom_object, self.on_smm,
             dict(group=MAISTRA, version="v1", plural=SMMS)),
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
        if not md.get("name", "").startswith(CSV_PREFIX + "."):  # not servicemeshoperator3 (OSSM 3)
            return
        key = f"{md.get('namespace')}/{md['name']}"
        ok = typ != "DELETED" and dig(csv, "status", "phase") == "Succeeded" and not md.get("deletionTimestamp")
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
        cp_ns = dig(smm, "spec", "controlPlaneRef", "namespace")
        if typ == "DELETED":
            self.enqueue("smm-gone", md["namespace"], cp_ns or "")
        else:
            self.enqueue("smm", md["namespace"], md["name"])
        if cp_ns:
            self.enqueue("smmr", cp_ns, "default")

    def on_namespace(self, typ: str, ns: dict) -> None:
        if typ == "SYNC":
            # The SMM and SMMR relists re-apply members, but a relist shows no deletions: an SMM
            # deleted between two watches would leave its namespace labelled for good. A labelled
            # namespace is checked for its SMM (an informer's relist delivers such a delete too).
            cp_ns = (ns["metadata"].get("labels") or {}).get(MEMBER_OF)
            if cp_ns and cp_ns != ns["metadata"]["name"]:
                self.enqueue("smm-gone", ns["metadata"]["name"], cp_ns)
            return
        self.enqueue("ns", ns["metadata"]["name"])

    def on_deployment(self, typ: str, dep: dict) -> None:
        ns = dep["metadata"]["namespace"]
        # a deleted component is re-created (the operator watches what it owns)
        self.enqueue("smcp" if typ == "DELETED" else "ready", ns)

    def _resync(self) -> None:
        for smcp in rest.list_items(self.api, rest.path(V2, SMCPS)):
            self.enqueue("smcp", smcp["metadata"]["namespace"])
        for smmr in rest.list_items(self.api, rest.path(V1, SMMRS)):
            self.enqueue("smmr", smmr["metadata"]["namespace"], smmr["metadata"]["name"])
        for smm in rest.list_items(self.api, rest.path(V1, SMMS)):
            self.enqueue("smm", smm["metadata"]["namespace"], smm["metadata"]["name"])
