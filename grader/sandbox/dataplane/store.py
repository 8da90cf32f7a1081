"""What the data plane knows of the cluster: one watch per kind, kept as plain dicts.

Lists then watches each kind over the API server's REST interface (JSON lines, no model
classes: 2,000 pods stay cheap), and tells a listener after every change so the routing
snapshot is rebuilt. `in_sync_with` answers "does the store reflect everything a fresh,
consistent list returns?", which is how `lab sandbox wait` knows a write has taken effect.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from kubernetes import client
from kubernetes.client.rest import ApiException

log = logging.getLogger("dataplane")

# kind -> collection path (all namespaces)
KINDS: dict[str, str] = {
    "Service": "/api/v1/services",
    "Pod": "/api/v1/pods",
    "Endpoints": "/api/v1/endpoints",
    "Gateway": "/apis/networking.istio.io/v1beta1/gateways",
    "VirtualService": "/apis/networking.istio.io/v1beta1/virtualservices",
    "DestinationRule": "/apis/networking.istio.io/v1beta1/destinationrules",
    "PeerAuthentication": "/apis/security.istio.io/v1beta1/peerauthentications",
}

Key = tuple[str, str]  # (namespace, name)


def _key(obj: dict) -> Key:
    md = obj.get("metadata") or {}
    return (md.get("namespace") or "", md.get("name") or "")


def _rv(obj: dict) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def slim_pod(pod: dict) -> dict:
    """Only what routing needs: 2,000 full pods would cost megabytes for nothing."""
    md, spec, st = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
    containers = spec.get("containers") or []
    ann = md.get("annotations") or {}
    return {"metadata": {"name": md.get("name"), "namespace": md.get("namespace"), "uid": md.get("uid"),
                         "resourceVersion": md.get("resourceVersion"), "labels": md.get("labels") or {},
                         "annotations": {k: v for k, v in ann.items() if k.startswith(("lab.grader/", "sidecar.istio.io/"))},
                         "ownerReferences": md.get("ownerReferences") or [],
                         "deletionTimestamp": md.get("deletionTimestamp")},
            "containers": [{"name": c.get("name"), "image": c.get("image") or "",
                            "ports": [{"name": p.get("name"), "containerPort": p.get("containerPort")}
                                      for p in c.get("ports") or []]} for c in containers],
            "initContainers": [c.get("name") for c in spec.get("initContainers") or []],
            "serviceAccountName": spec.get("serviceAccountName") or "default",
            "ready": ready and not md.get("deletionTimestamp"), "ip": st.get("podIP")}


class Store:
    def __init__(self, api: client.ApiClient, stop: threading.Event) -> None:
        self.api = api
        self.stop = stop
        self.lock = threading.Lock()
        self.objects: dict[str, dict[Key, dict]] = {k: {} for k in KINDS}
        self.synced: dict[str, bool] = dict.fromkeys(KINDS, False)
        self.listeners: list[Callable[[], None]] = []
        self.version = 0   # bumped on every change; a snapshot records the version it was built from

    # -- REST ------------------------------------------------------------------------
    def _get(self, path: str, query: list | None = None, stream: bool = False, timeout: float | None = None):
        return self.api.call_api(path, "GET", query_params=query or [], header_params={"Accept": "application/json"},
                                 response_types_map={200: "object"}, auth_settings=["BearerToken"],
                                 _return_http_data_only=True, _preload_content=not stream,
                                 _request_timeout=timeout)

    def list(self, kind: str) -> dict:
        """A consistent (quorum) list of one kind, as a dict."""
        resp = self._get(KINDS[kind], stream=True, timeout=10)
        try:
            return json.loads(resp.data)
        finally:
            resp.release_conn()

    # -- watching --------------------------------------------------------------------
    def _notify(self) -> None:
        for fn in self.listeners:
            fn()

    def _put(self, kind: str, typ: str, obj: dict) -> None:
        if kind == "Pod":
            obj = slim_pod(obj)
        k = _key(obj)
        with self.lock:
            if typ == "DELETED":
                self.objects[kind].pop(k, None)
            else:
                self.objects[kind][k] = obj
            self.version += 1

    def watch(self, kind: str) -> None:
        """List, then watch; relist after an expired watch or an error. Runs until stop."""
        path = KINDS[kind]
        while not self.stop.is_set():
            try:
                listing = self.list(kind)
                rv = listing.get("metadata", {}).get("resourceVersion")
                items = {}
                for item in listing.get("items") or []:
                    items[_key(item)] = slim_pod(item) if kind == "Pod" else item
                with self.lock:
                    self.objects[kind] = items
                    self.synced[kind] = True
                    self.version += 1
                self._notify()
                resp = self._get(path, [("watch", "true"), ("resourceVersion", rv), ("allowWatchBookmarks", "true"),
                                        ("timeoutSeconds", "300")], stream=True, timeout=(10, 330))
                try:
                    buf = b""
                    for chunk in resp.stream(65536, decode_content=False):
                        if self.stop.is_set():
                            return
                        buf += chunk
                        *lines, buf = buf.split(b"\n")
                        changed = False
                        for line in lines:
                            if not line.strip():
                                continue
                            ev = json.loads(line)
                            typ, obj = ev.get("type"), ev.get("object") or {}
                            if typ == "ERROR":
                                raise _Relist()
                            if typ == "BOOKMARK":
                                continue
                            self._put(kind, typ, obj)
                            changed = True
                        if changed:
                            self._notify()
                finally:
                    resp.release_conn()
            except _Relist:
                continue
            except ApiException as e:
                if e.status != 404:  # 404: the CRD is not installed yet
                    log.warning("watch %s: %s %s", kind, e.status, e.reason)
                self.stop.wait(1.0)
            except Exception as e:  # noqa: BLE001 - the data plane keeps running through API hiccups
                if not self.stop.is_set():
                    log.warning("watch %s: %s", kind, e)
                self.stop.wait(1.0)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.watch, args=(k,), name=f"watch-{k}", daemon=True) for k in KINDS]
        for t in threads:
            t.start()
        return threads

    # -- read ------------------------------------------------------------------------
    def snapshot(self) -> tuple[int, dict[str, dict[Key, dict]]]:
        with self.lock:
            return self.version, {k: dict(v) for k, v in self.objects.items()}

    def in_sync_with(self, kind: str, listing: dict) -> bool:
        """True when every object of a fresh list is in the store at that version or newer,
        and the store holds nothing the list no longer has (unless it is newer than the list)."""
        list_rv = _rv(listing)
        want = {_key(i): _rv(i) for i in listing.get("items") or []}
        with self.lock:
            have = {k: _rv(o) for k, o in self.objects[kind].items()}
        for k, rv in want.items():
            if have.get(k, -1) < rv:
                return False
        return all(k in want or rv > list_rv for k, rv in have.items())


class _Relist(Exception):
    pass
