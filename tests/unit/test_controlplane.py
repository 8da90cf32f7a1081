"""The cluster's own control plane (grader.controlplane): found among the cluster's
ServiceMeshControlPlanes, and the labs renamed from the guide's `basic` in `istio-system` to it,
in steps, manifests, check parameters, task text and grading."""

from __future__ import annotations

from pathlib import Path

from grader import controlplane as CP
from grader import grading, manifests
from grader import student as S
from grader.labs import load
from grader.snapshot import Snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"
PROD = CP.ControlPlane("prod", "mesh-system", "v2.4")


def _smcp(name: str, ns: str, ready: bool = True, version: str | None = "v2.4", **md: object) -> dict:
    return {"apiVersion": "maistra.io/v2", "kind": "ServiceMeshControlPlane",
            "metadata": {"name": name, "namespace": ns, **md}, "spec": {"version": version} if version else {},
            "status": {"chartVersion": "2.4.5", "conditions": [{"type": "Ready", "status": str(ready)}]}}


def test_the_control_plane_among_the_cluster_s():
    assert CP.of_objects([]) is None
    assert CP.of_objects([_smcp("prod", "mesh-system")]) == PROD
    assert CP.of_objects([_smcp("prod", "mesh-system", version=None)]).version == "2.4.5"
    # the guide's wins when it is there; else a Ready one, then namespace/name order
    assert CP.of_objects([_smcp("prod", "a-mesh"), _smcp("basic", "istio-system", ready=False)]) == CP.ControlPlane(
        "basic", "istio-system", "v2.4")
    assert CP.of_objects([_smcp("x", "a-mesh", ready=False), _smcp("prod", "mesh-system")]).name == "prod"
    assert CP.of_objects([_smcp("old", "a-mesh", deletionTimestamp="2026-01-01T00:00:00Z"),
                          _smcp("prod", "mesh-system")]).name == "prod"


def test_a_lab_on_another_control_plane():
    canary = load("canary")
    lab = CP.for_control_plane(canary, PROD)
    assert lab.renames == {"basic": "prod", "istio-system": "mesh-system"}
    waits = [s.args for s in lab.setup if s.type == "wait" and s.args["kind"] == "ServiceMeshControlPlane"]
    assert waits == [{"apiVersion": "maistra.io/v2", "kind": "ServiceMeshControlPlane", "name": "prod",
                      "namespace": "mesh-system", "for": "condition=Ready"}]
    namespace_step = next(s for s in lab.setup if s.type == "apply" and s.args["path"].name == "10-namespace.yaml")
    member = next(S.prepare(o, lab) for o in manifests.read(namespace_step.args["path"])
                  if o["kind"] == "ServiceMeshMember")
    assert member["spec"]["controlPlaneRef"] == {"name": "prod", "namespace": "mesh-system"}
    assert "lab.grader/student" not in member["metadata"].get("labels", {})
    # the guide's control plane, or none at all: the lab as written
    assert CP.for_control_plane(canary, CP.GUIDE) is canary and CP.for_control_plane(canary, None) is canary


def test_checks_and_texts_name_the_cluster_s_control_plane():
    lab = CP.for_control_plane(load("member-roll"), PROD)
    ready = next(c for c in lab.checks if c.params.get("name") == "prod")
    assert ready.params == {"namespace": "mesh-system", "name": "prod"}
    assert "The control plane prod" in ready.description
    assert "basic" not in S.rename(load("injection").task(), CP.for_control_plane(load("injection"), PROD).renames)


def test_labs_that_make_the_guide_s_control_plane_stay_as_written():
    for name in ("control-plane", "review"):
        lab = load(name)
        assert CP.for_control_plane(lab, PROD) is lab


def test_a_student_s_lab_on_another_control_plane_keeps_both_renames():
    lab = CP.for_control_plane(S.for_student(load("canary"), "alice"), PROD)
    assert lab.renames == {"webapp": "alice-webapp", "basic": "prod", "istio-system": "mesh-system"}
    assert lab.namespace == "alice-webapp"


def test_shared_steps_on_another_control_plane():
    steps = CP.steps_for(load("canary").setup, PROD)
    assert {s.args.get("namespace") for s in steps if s.type == "wait"} >= {"mesh-system"}
    assert "istio-system" not in str([s.args for s in steps if s.type == "wait"])
    assert CP.steps_for(load("canary").setup, None) == load("canary").setup


def _moved(objs: list[dict]) -> list[dict]:
    """The fixture cluster with its control plane `prod` in `mesh-system` (what the operator
    would make of it there: the same objects in that namespace, member-of labels included)."""
    return S.rename(objs, {"basic": "prod", "istio-system": "mesh-system"})


def test_grading_judges_the_cluster_s_control_plane():
    """The solved canary grades the same on a cluster whose control plane is prod in
    mesh-system; without the renaming its gateway checks would look in istio-system."""
    objs = [d for p in (FIXTURES / "cluster", FIXTURES / "webapp") for d in manifests.read(p)]
    lab = load("canary")
    expected = grading.grade_snapshot(lab, Snapshot.from_objects(objs))[0]
    snap = Snapshot.from_objects(_moved(objs))
    assert snap.control_plane_namespace == "mesh-system"
    got = grading.grade_snapshot(lab, snap)[0]
    assert [(r.id, r.status) for r in got.results] == [(r.id, r.status) for r in expected.results]
    assert got.score == expected.score == 100
    assert "mesh-system" in str([r.reason for r in got.results])


def test_kinds_read_include_the_control_planes():
    from grader import kinds as K
    assert K.SMCP in grading.kinds_read_by(load("canary"))
    assert grading.kinds_read_by(load("control-plane")).count(K.SMCP) == 1
