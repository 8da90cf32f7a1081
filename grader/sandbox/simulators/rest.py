"""The simulators' one way to the API server's REST interface: paths, requests, apply.

The typed kubernetes client serves most calls; this module is for what it has no method
for (server-side apply, status and merge patches of any kind, custom resources by path).
The simulators keep their own helper (they are a second reading of the product and do not
borrow the grader's cluster module).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from grader.sandbox.simulators.common import log

MANAGER = "lab-sandbox"

# Kinds without a namespace in their path (the ones the simulators write or read).
CLUSTER_SCOPED = frozenset({"Namespace", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
                            "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Node",
                            "PersistentVolume"})
_PLURALS = {"ServiceMeshControlPlane": "servicemeshcontrolplanes", "ServiceMeshMemberRoll": "servicemeshmemberrolls",
            "ServiceMeshMember": "servicemeshmembers", "Endpoints": "endpoints", "Ingress": "ingresses"}


# -- paths ----------------------------------------------------------------------------------
def plural(kind: str) -> str:
    """The resource name of a kind, as the API server's RESTMapper guesses it."""
    if kind in _PLURALS:
        return _PLURALS[kind]
    k = kind.lower()
    if k.endswith("y"):
        return k[:-1] + "ies"
    if k.endswith("s"):
        return k + "es"
    return k + "s"


def path(api_version: str, resource: str, namespace: str | None = None, name: str | None = None) -> str:
    """/api/v1[/namespaces/NS]/RESOURCE[/NAME] or /apis/GROUP/VERSION/...; RESOURCE is the plural."""
    out = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespace:
        out += f"/namespaces/{namespace}"
    out += f"/{resource}"
    return f"{out}/{name}" if name else out


def kind_path(api_version: str, kind: str, namespace: str | None = None, name: str | None = None) -> str:
    """The path of a kind's collection (or of one object), ignoring a namespace for cluster-scoped kinds."""
    return path(api_version, plural(kind), None if kind in CLUSTER_SCOPED else namespace, name)


def object_path(obj: dict) -> str:
    md = obj["metadata"]
    return kind_path(obj["apiVersion"], obj["kind"], md.get("namespace"), md["name"])


# -- requests -------------------------------------------------------------------------------
def call(api: client.ApiClient, method: str, url: str, body: Any = None, query: list | None = None,
         content_type: str = "application/json") -> Any:
    """One request; the decoded JSON answer (an ApiException for an error status)."""
    return api.call_api(url, method, query_params=query or [],
                        header_params={"Content-Type": content_type, "Accept": "application/json"},
                        body=body, response_types_map={200: "object", 201: "object", 202: "object"},
                        auth_settings=["BearerToken"], _return_http_data_only=True)


def ignore_missing(fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
    """fn(*a, **kw), or None where the object is not found (404)."""
    try:
        return fn(*a, **kw)
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def get(api: client.ApiClient, url: str) -> dict | None:
    return ignore_missing(call, api, "GET", url)


def list_items(api: client.ApiClient, url: str, label_selector: str | None = None) -> list[dict]:
    """The items of a collection; none where the collection is not served (404)."""
    query = [("labelSelector", label_selector)] if label_selector else []
    return (ignore_missing(call, api, "GET", url, query=query) or {}).get("items") or []


def create(api: client.ApiClient, obj: dict) -> dict:
    md = obj["metadata"]
    return call(api, "POST", kind_path(obj["apiVersion"], obj["kind"], md.get("namespace")), body=obj)


def delete(api: client.ApiClient, url: str, body: dict | None = None) -> None:
    """Delete; an object already gone (404) or being deleted (409) is fine."""
    try:
        call(api, "DELETE", url, body=body)
    except ApiException as e:
        if e.status not in (404, 409):
            raise


def merge_patch(api: client.ApiClient, url: str, body: dict) -> Any:
    return call(api, "PATCH", url, body=body, content_type="application/merge-patch+json")


def patch_status(api: client.ApiClient, url: str, status: dict) -> Any:
    """A merge patch of the object's status subresource."""
    return merge_patch(api, url + "/status", {"status": status})


def apply(api: client.ApiClient, obj: dict, manager: str = MANAGER) -> dict:
    """Server-side apply of one object (forced, as the field manager `manager`)."""
    return call(api, "PATCH", object_path(obj), body=obj, content_type="application/apply-patch+yaml",
                query=[("fieldManager", manager), ("force", "true")])


def apply_objects(api: client.ApiClient, objs: list[dict]) -> list[dict]:
    """Server-side apply of each object, in order."""
    return [apply(api, obj) for obj in objs]


def merge_labels(api: client.ApiClient, url: str, labels: dict[str, str | None]) -> None:
    """Set (or, with None, remove) labels of the object at `url`, patching only what changes."""
    obj = get(api, url)
    if obj is None:
        return
    cur = obj["metadata"].get("labels") or {}
    change = {k: v for k, v in labels.items() if cur.get(k) != v and not (v is None and k not in cur)}
    if change:
        merge_patch(api, url, {"metadata": {"labels": change}})


# -- status ---------------------------------------------------------------------------------
def merge_diff(old: Any, new: Any) -> Any:
    """A JSON merge patch turning `old` into `new` (None: nothing to change)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return None if old == new else new
    patch: dict = {k: None for k in old if k not in new}
    for k, v in new.items():
        if k not in old:
            patch[k] = v
        elif isinstance(old[k], dict) and isinstance(v, dict):
            sub = merge_diff(old[k], v)
            if sub:
                patch[k] = sub
        elif old[k] != v:
            patch[k] = v
    return patch or None


class StatusWriter:
    """Patches a status from `old` to `new` with the smallest merge patch, and remembers the
    fields the API server would not keep (schema pruning), so as not to patch them in a loop."""

    def __init__(self, api: client.ApiClient, name: str) -> None:
        self.api = api
        self.name = name
        self._residue: dict[str, str] = {}

    def __call__(self, url: str, old: dict | None, new: dict) -> None:
        diff = merge_diff(old or {}, new)
        if not diff:
            return
        key = json.dumps(diff, sort_keys=True)
        if self._residue.get(url) == key:
            return  # the API server drops these fields: patching again would loop
        resp = patch_status(self.api, url, diff)
        residue = merge_diff((resp or {}).get("status") or {}, new)
        if residue:
            self._residue[url] = key
            log.warning("%s: %s: status fields not kept by the API server: %s", self.name, url, residue)
        else:
            self._residue.pop(url, None)
