"""A kubelet stand-in: Ready nodes that run every pod bound to them, instantly.

Keeps each Node alive as a kubelet does (Lease renewal in kube-node-lease plus a
Ready heartbeat), or the node-lifecycle controller would mark it unreachable and
evict all pods after ~5 minutes.
"""

from __future__ import annotations

import ipaddress
import threading

import urllib3
from kubernetes import client
from kubernetes.client.rest import ApiException

from grader.sandbox.simulators.common import every, log, now, now_micro, watch_forever
from grader.sandbox.simulators.rest import ignore_missing

KUBELET_VERSION = "v1.33.13"  # only when the API server does not say its own version


def server_version(api: client.ApiClient) -> str:
    """The API server's gitVersion: a kubelet of the same release reports the same version."""
    try:
        return client.VersionApi(api).get_code().git_version or KUBELET_VERSION
    except (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError):
        return KUBELET_VERSION


UNPULLABLE = frozenset({"auto"})


class Kubelet:
    def __init__(self, api: client.ApiClient, stop: threading.Event, nodes: int = 1) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.coord = client.CoordinationV1Api(api)
        self.stop = stop
        self.names = [f"sandbox-node-{i + 1}" for i in range(nodes)]
        self._ips: dict[str, str] = {}
        self._next_ip = 2
        self._lock = threading.Lock()
        self.version = server_version(api)

    # -- nodes -----------------------------------------------------------------
    def _node_status(self) -> dict:
        t = now()
        conds = [
            {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
            {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
            {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
            {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status (lab sandbox)"},
        ]
        for c in conds:
            c.update(lastHeartbeatTime=t, lastTransitionTime=t)
        res = {"cpu": "256", "memory": "1Ti", "pods": "2000", "ephemeral-storage": "100Gi"}
        return {"conditions": conds, "capacity": res, "allocatable": res,
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "nodeInfo": {"kubeletVersion": self.version, "kubeProxyVersion": self.version,
                             "operatingSystem": "linux", "architecture": "amd64",
                             "containerRuntimeVersion": "lab-sandbox://1", "osImage": "lab sandbox",
                             "kernelVersion": "", "machineID": "", "systemUUID": "", "bootID": ""}}

    def register(self) -> None:
        for name in self.names:
            body = {"metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/worker": ""}}}
            try:
                self.core.create_node(body)
            except ApiException as e:
                if e.status != 409:
                    raise
            self.core.patch_node_status(name, {"status": self._node_status()})

    def heartbeat(self) -> None:
        for name in self.names:
            self.core.patch_node_status(name, {"status": {"conditions": self._node_status()["conditions"]}})

    def renew_leases(self) -> None:
        for name in self.names:
            body = {"metadata": {"name": name, "namespace": "kube-node-lease"},
                    "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now_micro()}}
            try:
                self.coord.patch_namespaced_lease(name, "kube-node-lease", body)
            except ApiException as e:
                if e.status != 404:
                    raise
                self.coord.create_namespaced_lease("kube-node-lease", body)

    # -- pods ------------------------------------------------------------------
    # Images no registry serves. `auto` is the placeholder of a gateway Deployment's istio-proxy
    # container that only injection replaces (istio.io "Installing Gateways", the Sail operator's
    # chart/samples/ingress-gateway.yaml): a pod created without injection keeps it, and a real
    # kubelet cannot pull it (ErrImagePull, then ImagePullBackOff), so the pod never runs.
    def _ip(self, uid: str) -> str:
        with self._lock:
            if uid not in self._ips:
                self._ips[uid] = str(ipaddress.ip_address("10.244.0.0") + self._next_ip)
                self._next_ip += 1
            return self._ips[uid]

    def on_pod(self, typ: str, pod: dict) -> None:
        if typ == "DELETED":
            self._ips.pop(pod["metadata"].get("uid", ""), None)
            return
        md, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        if spec.get("nodeName") not in self.names:
            return
        if md.get("deletionTimestamp"):
            # Containers "stop" at once; finish the graceful deletion as a kubelet would.
            ignore_missing(self.core.delete_namespaced_pod, md["name"], md["namespace"],
                           grace_period_seconds=0, body=client.V1DeleteOptions(
                               grace_period_seconds=0, preconditions=client.V1Preconditions(uid=md["uid"])))
            return
        if status.get("containerStatuses"):
            return  # started (or failed to) once already
        t = now()
        unpullable = [c["name"] for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
                      if c.get("image") in UNPULLABLE]

        def cstatus(c: dict, init: bool) -> dict:
            st = {"name": c["name"], "image": c.get("image", ""), "imageID": "", "restartCount": 0,
                  "containerID": f"lab-sandbox://{md['uid'][:8]}-{c['name']}"}
            if c.get("image") in UNPULLABLE:
                st.pop("containerID")
                st.update(ready=False, started=False, state={"waiting": {
                    "reason": "ImagePullBackOff",
                    "message": f'Back-off pulling image "{c.get("image")}": no such image in any registry'}})
            elif unpullable:  # the pod never starts: its other containers wait too
                st.pop("containerID")
                st.update(ready=False, started=False, state={"waiting": {"reason": "PodInitializing"}})
            elif init and c.get("restartPolicy") != "Always":
                st.update(ready=True, state={"terminated": {"exitCode": 0, "reason": "Completed",
                                                            "startedAt": t, "finishedAt": t}})
            else:
                st.update(ready=True, started=True, state={"running": {"startedAt": t}})
            return st

        ip = self._ip(md["uid"])
        conds = [{"type": c, "status": "False" if unpullable and c in ("Ready", "ContainersReady") else "True",
                  "lastProbeTime": None, "lastTransitionTime": t}
                 for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
        for c in conds if unpullable else []:
            if c["status"] == "False":
                c.update(reason="ContainersNotReady",
                         message=f"containers with unready status: [{' '.join(unpullable)}]")
        new_status = {
            "phase": "Pending" if unpullable else "Running", "hostIP": "127.0.0.1", "podIP": ip,
            "podIPs": [{"ip": ip}], "startTime": t,
            "conditions": conds, "qosClass": status.get("qosClass", "BestEffort"),
            "containerStatuses": [cstatus(c, False) for c in spec.get("containers") or []],
        }
        if spec.get("initContainers"):
            new_status["initContainerStatuses"] = [cstatus(c, True) for c in spec["initContainers"]]
        self.core.patch_namespaced_pod_status(md["name"], md["namespace"], {"status": new_status})

    # -- run ---------------------------------------------------------------------
    def start(self) -> list[threading.Thread]:
        self.register()
        threads = [
            threading.Thread(target=every, args=(self.stop, 10.0, self.renew_leases, "lease"), daemon=True),
            threading.Thread(target=every, args=(self.stop, 30.0, self.heartbeat, "node-heartbeat"), daemon=True),
        ]
        for name in self.names:
            threads.append(threading.Thread(target=watch_forever, daemon=True, kwargs=dict(
                stop=self.stop, list_fn=self.core.list_pod_for_all_namespaces, handle=self.on_pod,
                api=self.api, name=f"kubelet-{name}", field_selector=f"spec.nodeName={name}")))
        for t in threads:
            t.start()
        log.info("kubelet: nodes %s registered", ", ".join(self.names))
        return threads
