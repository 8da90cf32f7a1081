"""The one check-test harness: scenarios built from the one fixture tree, tests/fixtures/checks.

A scenario is a base (a whole cluster's objects) with variant files on top, each variant
object replacing the base object of the same kind, namespace and name (or adding to it):

- ``canary``: the canary lab solved (cluster/ and webapp/), written by hand;
- ``sandbox``: the sandbox's own state with the labs solved, dumped from its API server;
- ``platform``: the operators, control plane and answers of the platform labs, captured
  from `lab sandbox` (OLM-lite and the Service Mesh operator simulator).

Variants live in variants/. Tests of grader/checks/<module>.py are in checks/test_<module>.py,
tests of grader/mesh/<topic>.py in mesh/test_<topic>.py.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from grader.checks import REGISTRY, load_builtin
from grader.model import Outcome, Status
from grader.snapshot import Snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"
SHARED = Path(__file__).resolve().parents[3] / "shared"
NS = "webapp"  # the lab namespace of every scenario
# Parameters of the route checks on the canary scenario.
ROUTE = {"namespace": "webapp", "host": "web", "gateway": "web-gateway"}
DELAY = ROUTE | {"delay": {"fixed": "5s", "percent": 100}}
ABORT = ROUTE | {"abort": {"status": 500, "percent": 50}}
TO_V1 = ROUTE | {"subset": "v1"}
RESILIENCE = ROUTE | {"timeout": "10s", "attempts": 3, "per_try_timeout": "2s"}
POOL = {
    "namespace": "webapp",
    "host": "web",
    "max_connections": 100,
    "http1_max_pending": 50,
    "max_requests_per_connection": 2,
}
BASES: dict[str, tuple[str, ...]] = {
    "canary": ("cluster", "webapp"),
    "sandbox": ("sandbox",),
    "platform": ("platform/operators.yaml", "platform/control-plane.yaml", "platform/answers.yaml"),
}


@functools.cache
def _parsed(path: Path) -> tuple[dict, ...]:
    files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: list[dict] = []
    for f in files:
        out.extend(d for d in yaml.load_all(f.read_text(), Loader=loader) if isinstance(d, dict))
    return tuple(out)


def docs(path: str | Path) -> list[dict]:
    """Fresh (deep-copied) documents of a fixture file or directory (relative to the tree)."""
    return copy.deepcopy(list(_parsed(FIXTURES / path)))


def key(obj: dict) -> tuple[str, str, str]:
    md = obj.get("metadata") or {}
    return obj.get("kind", ""), md.get("namespace") or "", md.get("name") or ""


def scenario(*variants: str, base: str | tuple[str, ...] = "canary") -> list[dict]:
    """Objects of a base with each variant file's objects replacing (or adding to) them."""
    parts = BASES[base] if isinstance(base, str) else base
    objs = [d for b in parts for d in docs(b)]
    for v in variants:
        for new in docs(Path("variants") / v):
            objs = [o for o in objs if key(o) != key(new)] + [new]
    return objs


def snap_of(objs: list[dict], **kw: Any) -> Snapshot:
    return Snapshot.from_objects(copy.deepcopy(objs), **kw)


def find(objs: list[dict], kind: str, name: str, namespace: str = "webapp") -> dict:
    """One object by kind, namespace and name (a Namespace is found by name alone)."""
    for o in objs:
        if key(o) == (kind, namespace if kind != "Namespace" else "", name):
            return o
    raise KeyError((kind, namespace, name))


def run(check: str, snap: Snapshot, **params: Any) -> Outcome:
    load_builtin()
    return REGISTRY[check].fn(snap, **params)


def judged(out: Any) -> bool:
    """The check judged the input itself: an Outcome with a reason, not the guard's ERROR for a crash."""
    return isinstance(out, Outcome) and out.status is not Status.ERROR and bool(out.reason)


def find_prefix(objs: list[dict], kind: str, prefix: str, ns: str = "webapp") -> dict:
    """The first object of a kind whose name starts with prefix (pods and ReplicaSets)."""
    return next(o for o in objs if o["kind"] == kind and (o["metadata"].get("namespace") or "") == ns
                and o["metadata"]["name"].startswith(prefix))


def drop(objs: list[dict], kind: str, name: str, ns: str = "webapp") -> list[dict]:
    """The objects without one (a Namespace is found by name alone)."""
    return [o for o in objs if key(o) != (kind, ns if kind != "Namespace" else "", name)]


def check(name: str, objs: list[dict], snap_kw: dict | None = None, **params: Any) -> Outcome:
    """Run a check on (a copy of) the objects; the check must have judged them itself."""
    out = run(name, snap_of(objs, **(snap_kw or {})), **params)
    assert judged(out), (name, out)
    return out


def fails(name: str, objs: list[dict], **params: Any) -> str:
    """The reason of a FAIL that starts by naming the route object at fault."""
    out = check(name, objs, **params)
    assert out.status is Status.FAIL, out
    assert out.reason.startswith(("VirtualService ", "DestinationRule ", "no ")), out.reason
    return out.reason


def vs_http(objs: list[dict], i: int = 0) -> dict:
    """spec.http[i] of VirtualService webapp/web."""
    return find(objs, "VirtualService", "web")["spec"]["http"][i]


def set_at(obj: Any, path: tuple, value: Any) -> bool:
    """Replace the value at ``path``; False when the path does not exist."""
    try:
        for step in path[:-1]:
            obj = obj[step]
        obj[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        return False
    return True


# -- the sandbox scenario's edits -------------------------------------------------------------
def strip_sidecar(pod: dict) -> None:
    """A pod as it runs when the injector did not touch it."""
    pod["spec"]["containers"] = [c for c in pod["spec"]["containers"] if c["name"] != "istio-proxy"]
    pod["status"]["containerStatuses"] = [c for c in pod["status"]["containerStatuses"] if c["name"] != "istio-proxy"]
    for k in ("sidecar.istio.io/status", "k8s.v1.cni.cncf.io/networks", "kubectl.kubernetes.io/default-container"):
        pod["metadata"].get("annotations", {}).pop(k, None)
    for k in ("security.istio.io/tlsMode", "service.istio.io/canonical-name",
                "service.istio.io/canonical-revision", "maistra-version"):
        pod["metadata"]["labels"].pop(k, None)


def no_annotation(dep: dict) -> None:
    dep["spec"]["template"]["metadata"].pop("annotations", None)


def not_member(objs: list[dict]) -> list[dict]:
    """webapp without its ServiceMeshMember and without the operator's label."""
    objs = drop(objs, "ServiceMeshMember", "default")
    find(objs, "Namespace", "webapp")["metadata"]["labels"].pop("maistra.io/member-of")
    return objs


def pa(name: str, mode: Any, ns: str = NS, ts: str = "2026-11-26T09:00:00Z", selector: dict | None = None,
       **spec: Any) -> dict:
    body: dict = {"mtls": {"mode": mode}} if mode is not None else {}
    if selector:
        body["selector"] = {"matchLabels": selector}
    body.update(spec)
    return {"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": ts}, "spec": body}
