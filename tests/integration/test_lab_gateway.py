"""The gateway lab (guide step 6) end to end on the sandbox, plus wrong answers that copy
common mistakes: a selector no ingress pod carries, a VirtualService naming a Gateway
that does not exist."""

from __future__ import annotations

import pytest
import yaml

from grader.labs import data_root

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox
SOLUTION = data_root() / "solutions" / "gateway" / "10-gateway.yaml"


def _solution(kind: str) -> dict:
    return next(d for d in yaml.safe_load_all(SOLUTION.read_text()) if d["kind"] == kind)


def _selector_with_dash(cluster) -> None:
    gw = _solution("Gateway")
    gw["spec"]["selector"] = {"istio": "ingress-gateway"}
    cluster.apply(gw)


def _gateway_name_without_dash(cluster) -> None:
    vs = _solution("VirtualService")
    vs["spec"]["gateways"] = ["webgateway"]
    cluster.apply(vs)


WRONG = [
    WrongAnswer(
        "selector istio: ingress-gateway", _selector_with_dash, {"gateway-bound"},
        {"gateway-bound": ["Gateway webapp/web-gateway spec.selector {istio: ingress-gateway}",
                           "matches no running pod in any namespace (IST0101)",
                           "pods with label istio=ingressgateway: istio-system/istio-ingressgateway-"]},
    ),
    WrongAnswer(
        "gateways: [webgateway]", _gateway_name_without_dash, {"virtualservice-bound"},
        {"virtualservice-bound": ["VirtualService webapp/web spec.gateways is [webgateway]",
                                  "refers to Gateway webapp/webgateway, which does not exist (IST0101, KIA1102)"]},
    ),
]


def test_gateway_lab_lifecycle(kubeconfig, cluster):
    assert_lab_lifecycle(kubeconfig, cluster, "gateway",
                         fails_at_start={"gateway-bound", "virtualservice-bound", "route-reaches-web"},
                         wrong_answers=WRONG)
