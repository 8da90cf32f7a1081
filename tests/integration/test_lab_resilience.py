"""The resilience lab end to end on the sandbox (guide step 9, advanced): start → grade
fails → solve → full score → realistic wrong answers (among them the guide's
consecutiveErrors) each fail exactly the expected check → finish."""

from __future__ import annotations

import pytest
import yaml

from grader.labs import data_root

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox
SOLUTION = data_root() / "solutions" / "resilience"


def _solution(name: str) -> dict:
    return yaml.safe_load((SOLUTION / name).read_text())


def _dr_with_consecutive_errors() -> dict:
    dr = _solution("20-destinationrule.yaml")
    od = dr["spec"]["trafficPolicy"]["outlierDetection"]
    od["consecutiveErrors"] = od.pop("consecutive5xxErrors")
    return dr


def _vs(change) -> dict:
    vs = _solution("10-virtualservice.yaml")
    change(vs["spec"]["http"][0])
    return vs


def test_resilience_lifecycle(kubeconfig, cluster):
    assert_lab_lifecycle(
        kubeconfig,
        cluster,
        "resilience",
        fails_at_start={"timeout-and-retries", "connection-pool", "outlier-detection"},
        wrong_answers=[
            WrongAnswer(
                "the guide's consecutiveErrors",
                lambda c: c.apply(_dr_with_consecutive_errors()),
                {"outlier-detection"},
                {"outlier-detection": ["DestinationRule webapp/web",
                                       "spec.trafficPolicy.outlierDetection.consecutiveErrors",
                                       "pilot ignores it in every Istio release OSSM 2.x ships",
                                       "configures no outlier detection", "consecutive5xxErrors"]},
            ),
            WrongAnswer(
                "timeout 1s",
                lambda c: c.apply(_vs(lambda h: h.update(timeout="1s"))),
                {"timeout-and-retries"},
                {"timeout-and-retries": ["VirtualService webapp/web", "spec.http[0].timeout is '1s'",
                                         "expected 10s"]},
            ),
            WrongAnswer(
                "perTryTimeout missing",
                lambda c: c.apply(_vs(lambda h: h["retries"].pop("perTryTimeout"))),
                {"timeout-and-retries"},
                {"timeout-and-retries": ["VirtualService webapp/web", "spec.http[0].retries.perTryTimeout is not set",
                                         "expected 2s"]},
            ),
            WrongAnswer(
                "maxConnections under http",
                lambda c: c.apply(_dr_pool_in_http()),
                {"connection-pool"},
                {"connection-pool": ["DestinationRule webapp/web",
                                     "spec.trafficPolicy.connectionPool.tcp.maxConnections is not set"]},
            ),
        ],
    )


def _dr_pool_in_http() -> dict:
    dr = _solution("20-destinationrule.yaml")
    cp = dr["spec"]["trafficPolicy"]["connectionPool"]
    # (keep tcp an object: server-side apply on Kubernetes 1.20 would leave an emptied tcp as null)
    cp["http"]["maxConnections"] = cp["tcp"].pop("maxConnections")
    cp["tcp"]["connectTimeout"] = "10s"
    return dr
