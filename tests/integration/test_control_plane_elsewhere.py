"""Real clusters as they come (issue 11): a sandbox whose control plane is ServiceMeshControlPlane
`prod` in `mesh-system`, not the guide's `basic` in `istio-system`. `lab start canary` uses it
(no second control plane, the ServiceMeshMember points at it, the waits wait for it), the task
text names it, and the solved lab grades full marks on the configuration checks."""

from __future__ import annotations

import json

import pytest

from grader import lifecycle
from grader import manifests as M
from grader import student as S
from grader.cluster import Cluster, Target
from grader.labs import data_root, load

from .helpers import run

pytestmark = pytest.mark.sandbox

MOVED = {"basic": "prod", "istio-system": "mesh-system"}


class _Quiet:
    def step(self, text):
        import contextlib
        return contextlib.nullcontext()

    def note(self, text):
        pass


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory):
    """A fresh ossm2 sandbox with the operators installed and SMCP prod in mesh-system Ready."""
    from grader.sandbox.control_plane import Sandbox
    from tests.conftest import _binaries_or_skip
    _binaries_or_skip()
    sb = Sandbox(root=tmp_path_factory.mktemp("cp-elsewhere"))
    sb.up(flavour="ossm2", timeout=120)
    try:
        cluster = Cluster(Target(str(sb.kubeconfig), None))
        canary = load("canary")
        # the operators, as the labs' shared steps install them (Subscriptions, then the CSV's wait)
        operators = tuple(s for s in canary.setup if "ossm2" in s.flavours
                          and (s.args.get("kind") == "ClusterServiceVersion"
                               or (s.type == "apply" and s.args["path"].name == "10-operators.yaml")))
        assert len(operators) == 2
        lifecycle.run_steps(canary, operators, cluster, "ossm2", _Quiet())
        smcp_file = data_root() / "labs" / "_base" / "control-plane" / "20-smcp.yaml"
        for obj in M.apply_order(M.read(smcp_file)):
            cluster.apply(M.prepare(S.rename(obj, MOVED), "cluster-admin", shared=False))
        cluster.wait("maistra.io/v2", "ServiceMeshControlPlane", "prod", "mesh-system",
                     lambda o: lifecycle.condition_true(o, "Ready"), timeout=120, what="Ready")
        yield str(sb.kubeconfig), cluster
    finally:
        sb.down(purge=True)


def test_start_solve_grade_on_the_cluster_s_control_plane(elsewhere):
    kubeconfig, cluster = elsewhere
    code, _, err = run(kubeconfig, "start", "canary")
    assert code == 0, err
    assert "this cluster's control plane is prod in mesh-system (v2.5): the lab uses it instead of basic in " \
           "istio-system" in " ".join(err.split()), err
    assert cluster.get("maistra.io/v2", "ServiceMeshControlPlane", "basic", "istio-system") is None
    assert cluster.get("v1", "Namespace", "istio-system") is None, "no second control plane, not even its namespace"
    member = cluster.get("maistra.io/v1", "ServiceMeshMember", "default", "webapp")
    assert member["spec"]["controlPlaneRef"] == {"name": "prod", "namespace": "mesh-system"}
    pods = cluster.request("GET", "/api/v1/namespaces/webapp/pods")["items"]
    assert pods and all("istio-proxy" in [c["name"] for c in p["spec"]["containers"]] for p in pods)

    code, out, _ = run(kubeconfig, "show", "injection")
    assert code == 0 and "prod" in out and "mesh-system" in out and "basic" not in out

    code, _, err = run(kubeconfig, "solve", "canary")
    assert code == 0, err
    code, out, err = run(kubeconfig, "grade", "canary", "--no-traffic", "-o", "json")
    report = json.loads(out)
    assert code == 0 and report["score"] == report["total"] > 0, (err, report)
    gateway = next(c for c in report["checks"] if c["id"] == "gateway-bound")
    assert "mesh-system/istio-ingressgateway" in gateway["reason"], gateway

    code, _, err = run(kubeconfig, "finish", "canary")
    assert code == 0, err
    assert cluster.get("maistra.io/v2", "ServiceMeshControlPlane", "prod", "mesh-system") is not None
