"""The canary lab on the upstream-Istio flavour of the sandbox (namespace-label injection,
no maistra.io API, no Routes): the same lab, graded by the same checks."""

from __future__ import annotations

import pytest

from .helpers import by_id, failing, grade_json, run

pytestmark = pytest.mark.sandbox


def test_canary_lifecycle_on_upstream_istio(istio_kubeconfig):
    code, _, err = run(istio_kubeconfig, "start", "canary")
    assert code == 0, err
    assert "ServiceMeshControlPlane" not in err  # OSSM-only steps are skipped
    code, report = grade_json(istio_kubeconfig, "canary")
    assert report["flavour"] == "istio"
    assert code == 1 and failing(report) == {"v2-deployed-with-sidecar", "destinationrule-subsets",
                                             "traffic-split-80-20"}, by_id(report)
    assert run(istio_kubeconfig, "solve", "canary")[0] == 0
    code, report = grade_json(istio_kubeconfig, "canary")
    assert code == 0 and report["score"] == 100, by_id(report)
    assert run(istio_kubeconfig, "finish", "canary")[0] == 0
