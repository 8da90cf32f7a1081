"""The injection lab (guide steps 4-5) end to end on the sandbox, plus wrong answers that
copy the guide's trap (namespace label istio-injection=enabled instead of the pod
annotation) and a Service port whose name declares no protocol."""

from __future__ import annotations

import pytest
import yaml

from grader.labs import data_root
from grader.lifecycle import rollout_complete
from grader.manifests import prepare

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox
SOLUTION = data_root() / "solutions" / "injection" / "10-web-v1.yaml"


def _solution(kind: str) -> dict:
    doc = next(d for d in yaml.safe_load_all(SOLUTION.read_text()) if d["kind"] == kind)
    return prepare(doc, "injection", shared=False)


def _namespace_label_only(cluster) -> None:
    cluster.patch("v1", "Namespace", "webapp", None, {"metadata": {"labels": {"istio-injection": "enabled"}}})
    dep = _solution("Deployment")
    del dep["spec"]["template"]["metadata"]["annotations"]
    cluster.apply(dep)
    cluster.wait("apps/v1", "Deployment", "web-v1", "webapp", rollout_complete, timeout=90)


def _port_named_web(cluster) -> None:
    svc = _solution("Service")
    svc["spec"]["ports"][0]["name"] = "web"
    cluster.apply(svc)


WRONG = [
    WrongAnswer(
        "namespace label istio-injection=enabled, no annotation", _namespace_label_only, {"web-v1-sidecar"},
        {"web-v1-sidecar": [
            "Namespace webapp has label istio-injection=enabled, but on OpenShift Service Mesh 2.x that label is "
            "neither needed nor enough",
            'Deployment webapp/web-v1 lacks annotation sidecar.istio.io/inject: "true" '
            "(spec.template.metadata.annotations)",
            "oc patch deployment/web-v1"]},
    ),
    WrongAnswer(
        "Service port named web", _port_named_web, {"service-web-http"},
        {"service-web-http": ["Service webapp/web spec.ports[0] name 'web' (port 80)", "protocol sniffing",
                              "expected a name http"]},
    ),
]


def test_injection_lab_lifecycle(kubeconfig, cluster):
    assert_lab_lifecycle(kubeconfig, cluster, "injection", fails_at_start={"web-v1-sidecar", "service-web-http"},
                         wrong_answers=WRONG)
