"""Cluster objects for the data plane's unit tests, shaped as the API server returns them.

Pods, Services and Endpoints are built the way the sandbox's kubelet and endpoints controller
leave them (Ready pods with IPs, Endpoints naming their pods), so the routing snapshot is fed
exactly what the store would hold.
"""

from __future__ import annotations

import asyncio
import random

from grader.sandbox.dataplane.proxy import DataPlane
from grader.sandbox.dataplane.routing import Request, Snapshot
from grader.sandbox.dataplane.store import slim_pod


class World:
    def __init__(self) -> None:
        self.objects: dict[str, dict] = {k: {} for k in ("Pod", "Service", "Endpoints", "Gateway", "VirtualService",
                                                          "DestinationRule", "PeerAuthentication")}
        self._ip = 2
        self._ts = 0

    def _meta(self, ns: str, name: str, **extra) -> dict:
        self._ts += 1
        return {"namespace": ns, "name": name, "resourceVersion": str(self._ts),
                "creationTimestamp": f"2024-01-01T00:{self._ts // 60:02d}:{self._ts % 60:02d}Z", **extra}

    def pod(self, ns: str, name: str, labels: dict, image: str = "docker.io/library/nginx:1.25",
            sidecar: bool = True, annotations: dict | None = None, ready: bool = True, port: int = 80,
            deployment: str | None = None) -> None:
        containers = [{"name": "app", "image": image, "ports": [{"name": "http", "containerPort": port}]}]
        if sidecar:
            containers.append({"name": "istio-proxy", "image": "proxyv2"})
        ip = f"10.244.0.{self._ip}"
        self._ip += 1
        owner = [{"kind": "ReplicaSet", "name": f"{deployment or name}-5d9c7f"}]
        full = {"metadata": self._meta(ns, name, labels=labels, annotations=annotations or {}, ownerReferences=owner,
                                       uid=f"uid-{ip}"),
                "spec": {"containers": containers, "serviceAccountName": "default"},
                "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
        p = slim_pod(full)
        self.objects["Pod"][(ns, p["metadata"]["name"])] = p

    def service(self, ns: str, name: str, selector: dict, port: int = 80, target: int | str = 80,
                port_name: str = "http", extra_ports: list | None = None) -> None:
        ports = [{"name": port_name, "port": port, "targetPort": target}] + (extra_ports or [])
        self.objects["Service"][(ns, name)] = {"metadata": self._meta(ns, name),
                                               "spec": {"selector": selector, "ports": ports}}

    def _endpoints(self) -> None:
        self.objects["Endpoints"] = {}
        for (ns, name), svc in self.objects["Service"].items():
            sel = svc["spec"]["selector"]
            ready = [p for (pns, _), p in self.objects["Pod"].items()
                     if pns == ns and all(p["metadata"]["labels"].get(k) == v for k, v in sel.items())]
            addrs = [{"ip": p["ip"], "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"]}}
                     for p in ready if p["ready"]]
            not_ready = [{"ip": p["ip"]} for p in ready if not p["ready"]]
            ports = [{"name": sp["name"], "port": sp["targetPort"] if isinstance(sp["targetPort"], int) else 80}
                     for sp in svc["spec"]["ports"]]
            self.objects["Endpoints"][(ns, name)] = {"metadata": self._meta(ns, name), "subsets": [
                {"addresses": addrs, "notReadyAddresses": not_ready, "ports": ports}]}

    def add(self, kind: str, ns: str, name: str, spec: dict) -> None:
        self.objects[kind][(ns, name)] = {"metadata": self._meta(ns, name), "spec": spec}

    def ingress(self, selector_labels: dict | None = None) -> None:
        """istio-system/istio-ingressgateway as both flavours install it: Service port 80 -> 8080."""
        labels = selector_labels or {"app": "istio-ingressgateway", "istio": "ingressgateway"}
        self.pod("istio-system", "istio-ingressgateway-7d4f9-abcde", labels, image="proxyv2", sidecar=True,
                 port=8080)
        self.service("istio-system", "istio-ingressgateway", {"app": "istio-ingressgateway", "istio": "ingressgateway"},
                     80, 8080, "http2", [{"name": "https", "port": 443, "targetPort": 8443}])

    def snapshot(self) -> Snapshot:
        self._endpoints()
        return Snapshot(self.objects, 1)

    def dataplane(self, seed: int = 7) -> DataPlane:
        dp = DataPlane(rnd=random.Random(seed).random)
        dp.snap = self.snapshot()
        return dp


def bookinfo(w: World, ns: str = "bookinfo") -> None:
    """Bookinfo's workloads (samples/bookinfo/platform/kube/bookinfo.yaml): port 9080 everywhere."""
    for app_name, versions in (("productpage", ("v1",)), ("details", ("v1",)), ("ratings", ("v1",)),
                               ("reviews", ("v1", "v2", "v3"))):
        for v in versions:
            w.pod(ns, f"{app_name}-{v}-6d8b9-x{v}", {"app": app_name, "version": v},
                  image=f"docker.io/istio/examples-bookinfo-{app_name}-{v}:1.18.0", port=9080,
                  deployment=f"{app_name}-{v}")
        w.service(ns, app_name, {"app": app_name}, 9080, 9080)
    subsets = {"productpage": ["v1"], "reviews": ["v1", "v2", "v3"], "ratings": ["v1", "v2"], "details": ["v1", "v2"]}
    for host, vs in subsets.items():   # samples/bookinfo/networking/destination-rule-all.yaml
        w.add("DestinationRule", ns, host, {"host": host, "subsets": [
            {"name": v, "labels": {"version": v}} for v in vs]})


def run(coro):
    return asyncio.run(coro)


def get(dp: DataPlane, path: str = "/", host: str = "127.0.0.1", headers: dict | None = None,
        method: str = "GET"):
    h = {"host": host, **{k.lower(): v for k, v in (headers or {}).items()}}
    return run(dp.ingress(Request(method, path, h, host)))


def from_pod(dp: DataPlane, ns: str, pod: str, url_host: str, port: int = 80, path: str = "/",
             headers: dict | None = None):
    src = dp.snap.pods[(ns, pod)]
    h = {"host": url_host, **{k.lower(): v for k, v in (headers or {}).items()}}
    return run(dp.mesh(Request("GET", path, h, url_host.split(":")[0], port), src))


def pod_of(resp) -> str | None:
    return dict(resp.headers).get("x-lab-pod") if not isinstance(resp, str) else None
