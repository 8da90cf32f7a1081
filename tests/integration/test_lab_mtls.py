"""The mtls lab (guide step 7) end to end on the sandbox, plus wrong answers: a PERMISSIVE
namespace policy, and STRICT next to a DestinationRule that disables TLS."""

from __future__ import annotations

import pytest
import yaml

from grader.labs import data_root

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox
SOLUTION = data_root() / "solutions" / "mtls" / "10-peerauthentication.yaml"


def _permissive(cluster) -> None:
    pa = yaml.safe_load(SOLUTION.read_text())
    pa["spec"]["mtls"]["mode"] = "PERMISSIVE"
    cluster.apply(pa)


def _strict_with_tls_disabled(cluster) -> None:
    cluster.apply({"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule",
                   "metadata": {"name": "web", "namespace": "webapp"},
                   "spec": {"host": "web", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}})


WRONG = [
    WrongAnswer(
        "mode PERMISSIVE", _permissive, {"namespace-mtls-strict"},
        {"namespace-mtls-strict": ["PeerAuthentication webapp/default spec.mtls.mode is PERMISSIVE; expected STRICT"]},
    ),
    WrongAnswer(
        "STRICT plus DestinationRule tls DISABLE", _strict_with_tls_disabled, {"no-mtls-disable"},
        {"no-mtls-disable": ["DestinationRule webapp/web sets spec.trafficPolicy.tls.mode DISABLE",
                             "effective mTLS mode of namespace webapp is STRICT", "KIA0207"]},
    ),
]


def test_mtls_lab_lifecycle(kubeconfig, cluster):
    assert_lab_lifecycle(kubeconfig, cluster, "mtls", fails_at_start={"namespace-mtls-strict"},
                         wrong_answers=WRONG)


def test_mtls_start_explains_the_mesh_wide_default(kubeconfig, cluster):
    """OSSM's basic SMCP makes the mesh STRICT already: the grader says why the lab still asks."""
    from .helpers import by_id, grade_json, run
    assert run(kubeconfig, "start", "mtls")[0] == 0
    try:
        _, report = grade_json(kubeconfig, "mtls")
        reason = by_id(report)["namespace-mtls-strict"]["reason"]
        assert "namespace webapp has no namespace-wide PeerAuthentication" in reason
        assert "set by PeerAuthentication istio-system/default (mesh-wide" in reason
        assert "only because of that default" in reason
    finally:
        assert run(kubeconfig, "finish", "mtls")[0] == 0
