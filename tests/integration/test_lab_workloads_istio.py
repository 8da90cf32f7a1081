"""The gateway, injection and fix-mtls labs on the upstream-Istio flavour of the sandbox
(namespace-label injection, no maistra.io API, no Routes): same labs, same checks, the
flavour's own way to inject and to reach the ingress gateway."""

from __future__ import annotations

import pytest

from .helpers import by_id, failing, grade_json, run

pytestmark = pytest.mark.sandbox


def _lifecycle(kubeconfig: str, lab: str, fails_at_start: set[str]) -> tuple[dict, dict]:
    code, _, err = run(kubeconfig, "start", lab)
    assert code == 0, err
    assert "ServiceMeshControlPlane" not in err and "ServiceMeshMember" not in err  # OSSM-only steps skipped
    try:
        code, start = grade_json(kubeconfig, lab)
        assert start["flavour"] == "istio"
        assert code == 1 and failing(start) == fails_at_start, by_id(start)
        assert run(kubeconfig, "solve", lab)[0] == 0
        code, solved = grade_json(kubeconfig, lab)
        assert code == 0 and solved["score"] == solved["total"], by_id(solved)
    finally:
        assert run(kubeconfig, "finish", lab)[0] == 0
    return start, solved


def test_gateway_on_upstream_istio_uses_the_ingress_service(istio_kubeconfig):
    _, solved = _lifecycle(istio_kubeconfig, "gateway", {"gateway-bound", "virtualservice-bound", "route-reaches-web"})
    reason = by_id(solved)["ingress-endpoint"]["reason"]
    assert "Service istio-system/istio-ingressgateway serves port 80" in reason and "GATEWAY_URL" in reason


def test_injection_on_upstream_istio_needs_the_namespace_label(istio_kubeconfig):
    start, _ = _lifecycle(istio_kubeconfig, "injection", {"web-v1-sidecar", "service-web-http"})
    assert "web-v1" in by_id(start)["web-v1-sidecar"]["reason"]


def test_fix_mtls_on_upstream_istio_drops_the_opt_out(istio_kubeconfig):
    start, _ = _lifecycle(istio_kubeconfig, "fix-mtls", {"no-mtls-disable", "all-pods-have-sidecars"})
    reason = by_id(start)["all-pods-have-sidecars"]["reason"]
    assert "sets label sidecar.istio.io/inject=false" in reason and "legacy-" in reason
