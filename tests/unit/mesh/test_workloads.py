"""grader/mesh/workloads.py: pods of a Deployment, readiness, sidecars, injection."""

from __future__ import annotations

import pytest

from grader.mesh.workloads import (
    SIDECAR_STATUS_ANNOTATION,
    current_replicaset,
    deployment_pods,
    inject_value_true,
    pod_problem,
    pod_ready,
    sidecar_status,
)
from grader.objects import name_of


# -- pods of a Deployment ---------------------------------------------------------------
def test_deployment_pods_uses_current_replicaset(objs, make_snap, get):
    snap = make_snap(objs)
    dep = get(objs, "Deployment", "web-v1")
    pods = deployment_pods(snap, dep)
    # the terminating pod of the old ReplicaSet is excluded
    assert sorted(name_of(p) for p in pods) == ["web-v1-7d9f8b6c5d-m4t8z", "web-v1-7d9f8b6c5d-x2k9p"]
    assert name_of(current_replicaset(snap, dep)) == "web-v1-7d9f8b6c5d"


def test_deployment_pods_excludes_old_replicaset_pods(objs, make_snap, get):
    old = get(objs, "Pod", "web-v1-5c7b9d8f46-b6q5r")
    del old["metadata"]["deletionTimestamp"]  # an old pod still running, not terminating
    pods = deployment_pods(make_snap(objs), get(objs, "Deployment", "web-v1"))
    assert "web-v1-5c7b9d8f46-b6q5r" not in [name_of(p) for p in pods]


def test_deployment_pods_without_replicasets_uses_selector(objs, make_snap, get):
    no_rs = [o for o in objs if o["kind"] != "ReplicaSet"]
    pods = deployment_pods(make_snap(no_rs), get(no_rs, "Deployment", "web-v2"))
    assert [name_of(p) for p in pods] == ["web-v2-84b6fd7c9b-h8j2c"]


def test_deployment_pods_pod_template_hash_when_no_owner_refs(objs, make_snap, get):
    pod = get(objs, "Pod", "web-v2-84b6fd7c9b-h8j2c")
    del pod["metadata"]["ownerReferences"]
    assert len(deployment_pods(make_snap(objs), get(objs, "Deployment", "web-v2"))) == 1


def test_deployment_pods_revision_not_yet_listed(objs, make_snap, get):
    dep = get(objs, "Deployment", "web-v2")
    dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "3"
    assert deployment_pods(make_snap(objs), dep) == []


def test_deployment_pods_highest_revision_without_annotation(objs, make_snap, get):
    dep = get(objs, "Deployment", "web-v1")
    del dep["metadata"]["annotations"]
    snap = make_snap(objs)
    assert name_of(current_replicaset(snap, dep)) == "web-v1-7d9f8b6c5d"


def test_deployment_pods_missing_selector(objs, make_snap, get):
    dep = get(objs, "Deployment", "web-v1")
    dep["spec"]["selector"] = None
    assert deployment_pods(make_snap(objs), dep) == []


# -- pod readiness and sidecars -----------------------------------------------------------
def test_pod_ready_and_problem(objs, get):
    pod = get(objs, "Pod", "web-v2-84b6fd7c9b-h8j2c")
    assert pod_ready(pod)
    assert pod_problem(pod) == ""
    pod["status"]["conditions"][1]["status"] = "False"
    pod["status"]["containerStatuses"][1]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    assert not pod_ready(pod)
    assert "ImagePullBackOff" in pod_problem(pod)
    pod["status"] = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/3 nodes are available"}],
    }
    assert pod_problem(pod).startswith("is Pending")
    assert "0/3 nodes" in pod_problem(pod)


def test_pod_ready_needs_running_phase():
    pod = {"status": {"phase": "Succeeded", "conditions": [{"type": "Ready", "status": "True"}]}}
    assert not pod_ready(pod)
    assert not pod_ready({"status": "Running"})


def test_sidecar_status_regular(objs, get):
    sc = sidecar_status(get(objs, "Pod", "web-v1-7d9f8b6c5d-x2k9p"))
    assert sc.present and sc.ready and sc.annotated and not sc.native and sc.ok


def test_sidecar_status_native(load_scenario, get):
    objs = load_scenario("v2-native-sidecar.yaml")
    sc = sidecar_status(get(objs, "Pod", "web-v2-84b6fd7c9b-h8j2c"))
    assert sc.present and sc.native and sc.ready and sc.ok


def test_sidecar_init_container_without_restart_policy_is_not_a_sidecar():
    pod = {
        "metadata": {"annotations": {SIDECAR_STATUS_ANNOTATION: "{}"}},
        "spec": {"initContainers": [{"name": "istio-proxy"}], "containers": [{"name": "app"}]},
        "status": {"initContainerStatuses": [{"name": "istio-proxy", "ready": True}]},
    }
    assert not sidecar_status(pod).present


def test_sidecar_not_ready_or_not_annotated(objs, get):
    pod = get(objs, "Pod", "web-v1-7d9f8b6c5d-x2k9p")
    pod["status"]["containerStatuses"][0]["ready"] = False
    assert not sidecar_status(pod).ready
    del pod["metadata"]["annotations"][SIDECAR_STATUS_ANNOTATION]
    assert not sidecar_status(pod).annotated
    assert not sidecar_status(pod).ok


@pytest.mark.parametrize(
    "value, expected",
    [
        ("true", True),
        ("yes", True),
        ("On", True),
        ("y", True),
        (True, True),
        ("false", False),
        ("enabled", False),
        (None, False),
        ("", False),
    ],
)
def test_inject_value(value, expected):
    assert inject_value_true(value) is expected
