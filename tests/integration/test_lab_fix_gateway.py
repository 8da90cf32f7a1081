"""The fix-gateway troubleshooting lab end to end on the sandbox: three faults, each graded
by its own check; wrong answers fix only some of them and the grader names the rest."""

from __future__ import annotations

import pytest
import yaml

from grader.labs import data_root

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox
SOLUTION = data_root() / "solutions" / "fix-gateway" / "10-gateway.yaml"
BROKEN = data_root() / "labs" / "fix-gateway" / "setup" / "30-broken-gateway.yaml"


def _doc(path, kind: str) -> dict:
    return next(d for d in yaml.safe_load_all(path.read_text()) if d["kind"] == kind)


def _only_selector_fixed(cluster) -> None:
    cluster.apply(_doc(SOLUTION, "Gateway"))
    cluster.apply(_doc(BROKEN, "VirtualService"))


def _all_but_hosts_fixed(cluster) -> None:
    vs = _doc(SOLUTION, "VirtualService")
    vs["spec"]["hosts"] = ["web.example.com"]
    cluster.apply(vs)


WRONG = [
    WrongAnswer(
        "only the selector fixed", _only_selector_fixed, {"virtualservice-uses-gateway", "hosts-match"},
        {"virtualservice-uses-gateway": [
            "VirtualService webapp/web spec.gateways is [web-gw]; expected it to list webapp/web-gateway",
            "refers to Gateway webapp/web-gw, which does not exist (IST0101, KIA1102)"],
         "hosts-match": ["VirtualService webapp/web spec.hosts [web.example.com] match none of the hosts of "
                         "Gateway webapp/web-gateway spec.servers[*].hosts [www.example.com] (IST0132)"]},
    ),
    WrongAnswer(
        "everything but the host mismatch fixed", _all_but_hosts_fixed, {"hosts-match"},
        {"hosts-match": ["spec.hosts [web.example.com] match none of the hosts",
                         "use host www.example.com in spec.hosts of VirtualService webapp/web"]},
    ),
]


def test_fix_gateway_lab_lifecycle(kubeconfig, cluster):
    assert_lab_lifecycle(kubeconfig, cluster, "fix-gateway",
                         fails_at_start={"gateway-selects-ingress", "virtualservice-uses-gateway", "hosts-match"},
                         wrong_answers=WRONG)
