"""The control-plane lab (guide step 2) end to end on the sandbox's Service Mesh operator.

Each wrong answer re-applies SMCP basic with one guide mistake and waits until the
operator has reconciled that generation, so the grade judges the operator's report.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from grader.cluster import Cluster
from grader.labs import data_root

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox

SMCP = "maistra.io/v2"


def _smcp() -> dict:
    docs = yaml.safe_load_all((data_root() / "solutions" / "control-plane" / "10-smcp.yaml").read_text())
    return next(d for d in docs if d and d["kind"] == "ServiceMeshControlPlane")


def _reconciled(obj: dict | None) -> bool:
    st = (obj or {}).get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
    return ready and st.get("observedGeneration") == (obj or {}).get("metadata", {}).get("generation")


def _smcp_with(change: Callable[[dict], None]) -> Callable[[Cluster], None]:
    def apply(cluster: Cluster) -> None:
        smcp = _smcp()
        change(smcp["spec"])
        cluster.apply(smcp)
        cluster.wait(SMCP, "ServiceMeshControlPlane", "basic", "istio-system", _reconciled, timeout=60,
                     what="reconciled")

    return apply


def test_control_plane_lab(kubeconfig, cluster):
    assert_lab_lifecycle(
        kubeconfig, cluster, "control-plane",
        fails_at_start={"smcp-version", "tracing-jaeger", "addons-enabled", "data-plane-mtls", "smcp-ready"},
        wrong_answers=[
            WrongAnswer(
                "sampling 100 meant as 100 %",
                _smcp_with(lambda spec: spec["tracing"].update(sampling=100)),
                fails={"tracing-jaeger"},
                reason_has={"tracing-jaeger": [
                    "ServiceMeshControlPlane istio-system/basic spec.tracing.sampling is 100; expected 10000",
                    "hundredths of a percent",
                    "100 traces 1% of requests and 10000 traces 100% of requests",
                ]},
            ),
            WrongAnswer(
                "data plane mTLS off",
                _smcp_with(lambda spec: spec["security"]["dataPlane"].update(mtls=False)),
                fails={"data-plane-mtls"},
                reason_has={"data-plane-mtls": [
                    "ServiceMeshControlPlane istio-system/basic spec.security.dataPlane.mtls is false; expected true",
                    "PERMISSIVE",
                ]},
            ),
            WrongAnswer(
                # the operator removes Kiali, and the control plane is still Ready without it
                "Kiali addon disabled",
                _smcp_with(lambda spec: spec["addons"]["kiali"].update(enabled=False)),
                fails={"addons-enabled"},
                reason_has={"addons-enabled": [
                    "spec.addons.kiali.enabled is false; expected true",
                    "does not deploy the kiali addon",
                ]},
            ),
        ],
    )
