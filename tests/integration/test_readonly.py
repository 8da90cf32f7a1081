"""Grading works with a ServiceAccount bound only to `view` plus read access to the mesh
CRDs, gives the same result as admin, and writes nothing."""

from __future__ import annotations

import base64
import json

import pytest

from .helpers import audit_events, audit_lines, grade_json, run

pytestmark = pytest.mark.sandbox

MESH_READ = {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
    "metadata": {"name": "test-mesh-read"},
    "rules": [{"apiGroups": ["networking.istio.io", "security.istio.io", "maistra.io", "route.openshift.io",
                             "operators.coreos.com"], "resources": ["*"], "verbs": ["get", "list", "watch"]}],
}


def _binding(name: str, role: str) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "grader-viewer", "namespace": "default"}]}


@pytest.fixture(scope="module")
def viewer_kubeconfig(cluster, sandbox, tmp_path_factory):
    cluster.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "grader-viewer", "namespace": "default"}})
    cluster.apply(MESH_READ)
    cluster.apply(_binding("test-grader-view", "view"))
    cluster.apply(_binding("test-grader-mesh-read", "test-mesh-read"))
    # Kubernetes < 1.24: the token controller creates the token Secret; ask for one explicitly
    # so this works on newer control planes too.
    cluster.apply({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                   "metadata": {"name": "grader-viewer-token", "namespace": "default",
                                "annotations": {"kubernetes.io/service-account.name": "grader-viewer"}}})
    secret = cluster.wait("v1", "Secret", "grader-viewer-token", "default",
                          lambda o: bool(o and (o.get("data") or {}).get("token")), timeout=60)
    token = base64.b64decode(secret["data"]["token"]).decode()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == "system:serviceaccount:default:grader-viewer", claims
    admin = json.loads(sandbox.kubeconfig.read_text())
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "viewer",
           "clusters": admin["clusters"],
           "users": [{"name": "viewer", "user": {"token": token}}],
           "contexts": [{"name": "viewer", "context": {"cluster": admin["clusters"][0]["name"], "user": "viewer"}}]}
    path = tmp_path_factory.mktemp("viewer") / "kubeconfig"
    path.write_text(json.dumps(cfg))
    yield str(path)
    for kind, name in (("ClusterRoleBinding", "test-grader-view"), ("ClusterRoleBinding", "test-grader-mesh-read"),
                       ("ClusterRole", "test-mesh-read")):
        cluster.delete("rbac.authorization.k8s.io/v1", kind, name)
    cluster.delete("v1", "ServiceAccount", "grader-viewer", "default")


TRAFFIC = {"split-observed"}   # the canary lab's traffic check: random counts, and the viewer's kubeconfig is not
                               # the sandbox's own (its gateway is found from the sandbox state next to it)


def _comparable(report: dict) -> list:
    return [(c["id"], c["status"], c["points"], c["reason"]) for c in report["checks"] if c["id"] not in TRAFFIC]


def test_viewer_grades_like_admin_and_writes_nothing(sandbox, kubeconfig, viewer_kubeconfig):
    assert run(kubeconfig, "start", "canary")[0] == 0
    try:
        for stage in ("started", "solved"):
            before = audit_lines(sandbox.audit_log)
            code_admin, admin = grade_json(kubeconfig, "canary")   # with traffic: still only reads
            events = audit_events(sandbox.audit_log, before, "lab-grader/0.1.0 (grade)")
            assert admin["requests"] == 1000 and events and all(e["verb"] in ("get", "list") for e in events)
            code_admin, admin = (lambda r: (r[0], json.loads(r[1])))(
                run(kubeconfig, "grade", "canary", "--no-traffic", "-o", "json"))
            before = audit_lines(sandbox.audit_log)
            code, out, _ = run(viewer_kubeconfig, "grade", "canary", "--no-traffic", "-o", "json")
            code_viewer, viewer = code, json.loads(out)
            assert code_viewer == code_admin and _comparable(viewer) == _comparable(admin), stage
            events = audit_events(sandbox.audit_log, before, "lab-grader/0.1.0 (grade)")
            assert events and all(e["verb"] in ("get", "list") for e in events)
            assert all(e["user"]["username"] == "system:serviceaccount:default:grader-viewer" for e in events)
            if stage == "started":
                assert run(kubeconfig, "solve", "canary")[0] == 0
        # the viewer's kubeconfig is not the sandbox's: grading takes the real-cluster path (the ingress Route's
        # host, read with GET) and its traffic check is skipped with the reason, still reading only
        before = audit_lines(sandbox.audit_log)
        code, out, _ = run(viewer_kubeconfig, "grade", "canary", "-o", "json")
        split = next(c for c in json.loads(out)["checks"] if c["id"] == "split-observed")
        assert split["status"] == "skip" and split["max_points"] == 0, split
        events = audit_events(sandbox.audit_log, before, "lab-grader/0.1.0 (grade)")
        assert events and all(e["verb"] in ("get", "list") for e in events), {e["verb"] for e in events}
        assert admin["score"] == 100
    finally:
        run(kubeconfig, "finish", "canary")


def test_viewer_cannot_start(viewer_kubeconfig):
    code, _, err = run(viewer_kubeconfig, "start", "canary")
    assert code == 2
    assert "forbidden" in err and "Traceback" not in err
    assert "cannot patch /api" in err and "namespaces" in err  # the verb and the resource
    assert len(err.strip().splitlines()) <= 2  # the optional "using ..." note plus one error line
