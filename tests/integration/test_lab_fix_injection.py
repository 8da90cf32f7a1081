"""The fix-injection troubleshooting lab end to end on the sandbox (ossm2): the start state
has two faults; wrong answers fix only one of them and the grader names the other."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from grader.labs import data_root
from grader.lifecycle import rollout_complete
from grader.manifests import prepare

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox
SOLUTION = data_root() / "solutions" / "fix-injection"


def _restart(cluster) -> None:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    cluster.patch("apps/v1", "Deployment", "web-v1", "webapp",
                  {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}})
    cluster.wait("apps/v1", "Deployment", "web-v1", "webapp", rollout_complete, timeout=90)


def _annotation_only(cluster) -> None:
    """The pod template asks for a sidecar, but webapp is no mesh member: new pods stay 1/1."""
    cluster.delete("maistra.io/v1", "ServiceMeshMember", "default", "webapp")
    cluster.wait("maistra.io/v1", "ServiceMeshMember", "default", "webapp", lambda o: o is None, timeout=60)
    cluster.wait("v1", "Namespace", "webapp", None,
                 lambda o: "maistra.io/member-of" not in ((o or {}).get("metadata", {}).get("labels") or {}),
                 timeout=60)
    _restart(cluster)


def _membership_only(cluster) -> None:
    """webapp is a member, but the pod template does not ask for injection."""
    dep = prepare(yaml.safe_load((SOLUTION / "20-web-v1.yaml").read_text()), "fix-injection", shared=False)
    del dep["spec"]["template"]["metadata"]["annotations"]
    cluster.apply(dep)
    cluster.wait("apps/v1", "Deployment", "web-v1", "webapp", rollout_complete, timeout=90)


WRONG = [
    WrongAnswer(
        "annotation added, namespace still not a member", _annotation_only, {"namespace-member", "web-v1-sidecar"},
        {"namespace-member": ["Namespace webapp is not a member of the mesh: there is no ServiceMeshMember default "
                              "in webapp", "the sidecar injection webhook never sees its pods"],
         "web-v1-sidecar": ["Namespace webapp is not a member of the mesh",
                            "the injection webhook never sees its pods"]},
    ),
    WrongAnswer(
        "membership fixed, no annotation", _membership_only, {"web-v1-sidecar"},
        {"web-v1-sidecar": ['Deployment webapp/web-v1 lacks annotation sidecar.istio.io/inject: "true" '
                            "(spec.template.metadata.annotations)",
                            "OpenShift Service Mesh 2.x injects only pods that ask for it"]},
    ),
]


def test_fix_injection_lab_lifecycle(kubeconfig, cluster):
    assert_lab_lifecycle(kubeconfig, cluster, "fix-injection", fails_at_start={"namespace-member", "web-v1-sidecar"},
                         wrong_answers=WRONG)
