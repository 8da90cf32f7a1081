"""The fix-mtls troubleshooting lab end to end on the sandbox: STRICT stays, the
DestinationRule that disables TLS goes, legacy gets a sidecar. Wrong answers: "fixing" by
going PERMISSIVE, and fixing the DestinationRule while legacy still has no sidecar."""

from __future__ import annotations

import pytest
import yaml

from grader.labs import data_root
from grader.lifecycle import rollout_complete
from grader.manifests import for_flavour, prepare

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox
LAB = data_root() / "labs" / "fix-mtls"
SOLUTION = data_root() / "solutions" / "fix-mtls"


def _doc(path, kind: str) -> dict:
    doc = next(d for d in yaml.safe_load_all(path.read_text()) if d["kind"] == kind and for_flavour(d, "ossm2"))
    return prepare(doc, "fix-mtls", shared=False)


def _permissive(cluster) -> None:
    pa = _doc(SOLUTION / "10-peerauthentication.yaml", "PeerAuthentication")
    pa["spec"]["mtls"]["mode"] = "PERMISSIVE"
    cluster.apply(pa)


def _legacy_still_without_sidecar(cluster) -> None:
    cluster.apply(_doc(LAB / "setup" / "30-broken-mtls.yaml", "Deployment"))
    cluster.wait("apps/v1", "Deployment", "legacy", "webapp", rollout_complete, timeout=90)


WRONG = [
    WrongAnswer(
        "PERMISSIVE instead of a fix", _permissive, {"mtls-still-strict"},
        {"mtls-still-strict": ["PeerAuthentication webapp/default spec.mtls.mode is PERMISSIVE; expected STRICT"]},
    ),
    WrongAnswer(
        "DestinationRule fixed, legacy still without sidecar", _legacy_still_without_sidecar,
        {"all-pods-have-sidecars"},
        {"all-pods-have-sidecars": [
            "1 of 2 pod(s) in namespace webapp run without an istio-proxy sidecar (legacy-",
            "under STRICT mTLS",
            'the pod template of Deployment webapp/legacy lacks annotation sidecar.istio.io/inject: "true"']},
    ),
]


def test_fix_mtls_lab_lifecycle(kubeconfig, cluster):
    assert_lab_lifecycle(kubeconfig, cluster, "fix-mtls", fails_at_start={"no-mtls-disable", "all-pods-have-sidecars"},
                         wrong_answers=WRONG)
