"""Pods, Deployments and their ReplicaSets, the Envoy sidecar and the injection annotation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader import kinds as K
from grader.mesh.selectors import label_selector_matches
from grader.objects import (
    annotations_of,
    as_dict,
    as_list,
    condition,
    creation_key,
    is_terminating,
    is_true,
    label_str,
    labels_of,
    name_of,
    namespace_of,
    spec_of,
    status_of,
)
from grader.snapshot import Snapshot

SIDECAR_CONTAINER = "istio-proxy"
SIDECAR_STATUS_ANNOTATION = "sidecar.istio.io/status"
INJECT_KEY = "sidecar.istio.io/inject"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def pod_phase(pod: dict) -> str:
    return label_str(status_of(pod).get("phase")) or "Unknown"


def pod_running(pod: dict) -> bool:
    return pod_phase(pod) == "Running" and not is_terminating(pod)


def pod_ready(pod: dict) -> bool:
    """Phase Running and condition Ready=True."""
    if not pod_running(pod):
        return False
    return is_true(condition(pod, "Ready"))


def pod_problem(pod: dict) -> str:
    """A short human explanation of why a pod is not Running+Ready ('' when it is)."""
    if pod_ready(pod):
        return ""
    if is_terminating(pod):
        return "is terminating"
    status = status_of(pod)
    details: list[str] = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in as_list(status.get(key)):
            cs = as_dict(cs)
            state = as_dict(cs.get("state"))
            waiting = as_dict(state.get("waiting"))
            terminated = as_dict(state.get("terminated"))
            if waiting.get("reason"):
                details.append(f"container {label_str(cs.get('name'))} waiting: {label_str(waiting['reason'])}")
            elif terminated.get("reason") and key == "containerStatuses":
                details.append(f"container {label_str(cs.get('name'))} terminated: {label_str(terminated['reason'])}")
            elif cs.get("ready") is False and key == "containerStatuses":
                details.append(f"container {label_str(cs.get('name'))} not ready")
    scheduled = condition(pod, "PodScheduled")
    if scheduled is not None and label_str(scheduled.get("status")) == "False":
        details.append(f"unschedulable: {label_str(scheduled.get('message') or scheduled.get('reason'))}"[:160])
    text = f"is {pod_phase(pod)}"
    if pod_phase(pod) == "Running":
        text = "is Running but not Ready"
    return text + (f" ({'; '.join(details[:3])})" if details else "")


def _owned_by(obj: dict, kind: str, name: str, uid: Any = None) -> bool:
    for ref in as_list(as_dict(obj.get("metadata")).get("ownerReferences")):
        r = as_dict(ref)
        if r.get("kind") == kind and r.get("name") == name:
            if uid and r.get("uid") and r.get("uid") != uid:
                continue
            return True
    return False


def _revision(obj: dict) -> int | None:
    value = annotations_of(obj).get(REVISION_ANNOTATION)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def current_replicaset(snap: Snapshot, deployment: dict) -> dict | None:
    """The Deployment's current ReplicaSet (same revision annotation), if any is in the snapshot.

    Without a revision annotation on the Deployment, the owned RS with the highest revision.
    """
    ns, name = namespace_of(deployment), name_of(deployment)
    uid = as_dict(deployment.get("metadata")).get("uid")
    owned = [rs for rs in snap.list(K.REPLICA_SET, ns) if _owned_by(rs, "Deployment", name, uid)]
    if not owned:
        return None
    want = _revision(deployment)
    if want is not None:
        for rs in owned:
            if _revision(rs) == want:
                return rs
        return None
    return max(owned, key=lambda rs: (_revision(rs) or -1, creation_key(rs)))


def deployment_pods(snap: Snapshot, deployment: dict) -> list[dict]:
    """Non-terminating pods of a Deployment's current ReplicaSet (or its selector alone)."""
    ns = namespace_of(deployment)
    selector = spec_of(deployment).get("selector")
    if not isinstance(selector, dict) or not selector:
        return []
    pods = [p for p in snap.list(K.POD, ns) if not is_terminating(p) and label_selector_matches(selector, labels_of(p))]
    uid = as_dict(deployment.get("metadata")).get("uid")
    if not any(_owned_by(rs, "Deployment", name_of(deployment), uid) for rs in snap.list(K.REPLICA_SET, ns)):
        return pods
    rs = current_replicaset(snap, deployment)
    if rs is None:
        return []
    rs_name = name_of(rs)
    rs_hash = labels_of(rs).get("pod-template-hash")
    result = []
    for p in pods:
        refs = as_list(as_dict(p.get("metadata")).get("ownerReferences"))
        if refs:
            if _owned_by(p, "ReplicaSet", rs_name):
                result.append(p)
        elif rs_hash is not None and labels_of(p).get("pod-template-hash") == rs_hash:
            result.append(p)
    return result


def template_metadata(deployment: dict) -> dict:
    return as_dict(as_dict(spec_of(deployment).get("template")).get("metadata"))


def template_labels(deployment: dict) -> dict:
    return as_dict(template_metadata(deployment).get("labels"))


def template_annotations(deployment: dict) -> dict:
    return as_dict(template_metadata(deployment).get("annotations"))


def template_containers(deployment: dict) -> list[dict]:
    pod_spec = as_dict(as_dict(spec_of(deployment).get("template")).get("spec"))
    return [as_dict(c) for c in as_list(pod_spec.get("containers"))]


# -- sidecars ----------------------------------------------------------------
@dataclass(frozen=True)
class SidecarStatus:
    """What a pod shows about its Envoy sidecar."""

    present: bool = False  # an istio-proxy container (regular or native sidecar)
    native: bool = False  # in initContainers with restartPolicy Always (Istio >= 1.27, kubelet >= 1.33)
    ready: bool = False  # its container status says ready
    annotated: bool = False  # sidecar.istio.io/status annotation present (added by the injector)

    @property
    def ok(self) -> bool:
        return self.present and self.ready and self.annotated


def sidecar_status(pod: dict) -> SidecarStatus:
    """Find the istio-proxy sidecar in ``containers`` or as a native sidecar init container."""
    spec = spec_of(pod)
    status = status_of(pod)
    present = native = False
    if any(as_dict(c).get("name") == SIDECAR_CONTAINER for c in as_list(spec.get("containers"))):
        present = True
    elif any(
        as_dict(c).get("name") == SIDECAR_CONTAINER and as_dict(c).get("restartPolicy") == "Always"
        for c in as_list(spec.get("initContainers"))
    ):
        present = native = True
    statuses = as_list(status.get("initContainerStatuses" if native else "containerStatuses"))
    ready = present and any(
        as_dict(cs).get("name") == SIDECAR_CONTAINER and as_dict(cs).get("ready") is True for cs in statuses
    )
    annotated = SIDECAR_STATUS_ANNOTATION in annotations_of(pod)
    return SidecarStatus(present, native, ready, annotated)


def inject_value_true(value: Any) -> bool:
    """maistra/istio inject.go injectRequired: y/yes/true/on (case-insensitive) mean inject."""
    return label_str(value).strip().lower() in ("y", "yes", "true", "on")


def owner_deployment(snap: Snapshot, pod: dict) -> dict | None:
    """The Deployment that owns a pod through its ReplicaSet, if both are in the snapshot."""
    ns = namespace_of(pod)
    for o in as_list(as_dict(pod.get("metadata")).get("ownerReferences")):
        o = as_dict(o)
        if o.get("kind") != "ReplicaSet" or not isinstance(o.get("name"), str):
            continue
        rs = snap.get(K.REPLICA_SET, o["name"], ns)
        for ro in as_list(as_dict((rs or {}).get("metadata")).get("ownerReferences")):
            ro = as_dict(ro)
            if ro.get("kind") == "Deployment" and isinstance(ro.get("name"), str):
                return snap.get(K.DEPLOYMENT, ro["name"], ns)
    return None
