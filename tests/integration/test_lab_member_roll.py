"""The member-roll lab (guide step 3) end to end on the sandbox's Service Mesh operator.

Wrong answers: the roll named after the control plane (`basic`: ErrInvalidName) and a
member typo (`web-app`: pending, the namespace does not exist). Each waits until the
operator has reported on it, so the grade judges the operator's status.
"""

from __future__ import annotations

import pytest
import yaml

from grader.cluster import Cluster
from grader.labs import data_root

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox

MAISTRA = "maistra.io/v1"
CP = "istio-system"


def _smmr() -> dict:
    return yaml.safe_load((data_root() / "solutions" / "member-roll" / "10-smmr.yaml").read_text())


def _not_member(cluster: Cluster) -> None:
    cluster.wait("v1", "Namespace", "webapp", None,
                 lambda o: "maistra.io/member-of" not in ((o or {}).get("metadata") or {}).get("labels", {}),
                 timeout=60, what="out of the mesh")


def _roll_named_basic(cluster: Cluster) -> None:
    cluster.delete(MAISTRA, "ServiceMeshMemberRoll", "default", CP)
    cluster.wait(MAISTRA, "ServiceMeshMemberRoll", "default", CP, lambda o: o is None, timeout=60, what="deleted")
    smmr = _smmr()
    smmr["metadata"]["name"] = "basic"
    cluster.apply(smmr)
    cluster.wait(MAISTRA, "ServiceMeshMemberRoll", "basic", CP,
                 lambda o: any(c.get("reason") == "ErrInvalidName"
                               for c in ((o or {}).get("status") or {}).get("conditions") or []),
                 timeout=60, what="rejected")
    _not_member(cluster)


def _member_typo(cluster: Cluster) -> None:
    smmr = _smmr()
    smmr["spec"]["members"] = ["web-app"]
    cluster.apply(smmr)

    def reported(o: dict | None) -> bool:
        st = (o or {}).get("status") or {}
        return st.get("observedGeneration") == (o or {}).get("metadata", {}).get("generation") and \
            st.get("pendingMembers") == ["web-app"]

    cluster.wait(MAISTRA, "ServiceMeshMemberRoll", "default", CP, reported, timeout=60, what="web-app pending")
    _not_member(cluster)


def test_member_roll_lab(kubeconfig, cluster):
    assert_lab_lifecycle(
        kubeconfig, cluster, "member-roll",
        fails_at_start={"member-roll"},
        wrong_answers=[
            WrongAnswer(
                "member roll named basic",
                _roll_named_basic,
                fails={"member-roll"},
                reason_has={"member-roll": [
                    "no ServiceMeshMemberRoll named default in namespace istio-system",
                    "ServiceMeshMemberRoll istio-system/basic is ignored: the operator only reconciles a "
                    "ServiceMeshMemberRoll named default",
                    "condition Ready is False (ErrInvalidName",
                ]},
            ),
            WrongAnswer(
                "member typo web-app",
                _member_typo,
                fails={"member-roll"},
                reason_has={"member-roll": [
                    "ServiceMeshMemberRoll istio-system/default spec.members is [\"web-app\"]; expected it to list "
                    "webapp",
                    "'web-app' is not 'webapp'",
                    "NamespaceNotExists: Namespace web-app does not exist",
                ]},
            ),
        ],
    )
    # finish removed both rolls (the wrong one too) and left the control plane alone
    assert cluster.get(MAISTRA, "ServiceMeshMemberRoll", "default", CP) is None
    assert cluster.get(MAISTRA, "ServiceMeshMemberRoll", "basic", CP) is None
    assert cluster.get("maistra.io/v2", "ServiceMeshControlPlane", "basic", CP) is not None
