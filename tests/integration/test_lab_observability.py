"""The observability lab (guide step 10) end to end: answers checked against the live Routes
the sandbox's Service Mesh operator created in istio-system."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from grader.cluster import Cluster
from grader.labs import data_root

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox


def _answers(change: Callable[[dict], None]) -> Callable[[Cluster], None]:
    """Re-apply lab-answers (same name and field manager as `solve`) with its solved data changed."""

    def apply(cluster: Cluster) -> None:
        cm = yaml.safe_load((data_root() / "solutions" / "observability" / "10-answers.yaml").read_text())
        cm["data"] = dict(cluster.get("v1", "ConfigMap", "lab-answers", "webapp")["data"])
        change(cm["data"])
        cluster.apply(cm)

    return apply


def _swap(data: dict) -> None:
    data["kiali"], data["jaeger"] = data["jaeger"], data["kiali"]


def _url_forms(data: dict) -> None:
    """Equivalent answers: URLs of the right hosts (so the solved grade must still be full)."""
    data["kiali"] = f"https://{data['kiali']}/"
    data["jaeger"] = f"http://{data['jaeger']}"


def test_observability_lab(kubeconfig, cluster):
    assert_lab_lifecycle(
        kubeconfig, cluster, "observability",
        fails_at_start={"kiali-route", "jaeger-route", "prometheus-route"},
        wrong_answers=[
            WrongAnswer(
                "kiali and jaeger swapped",
                _answers(_swap),
                fails={"kiali-route", "jaeger-route"},
                reason_has={
                    "kiali-route": [
                        "ConfigMap webapp/lab-answers data.kiali is 'jaeger-istio-system.apps.sandbox.lab', the host "
                        "of Route istio-system/jaeger; expected the host of Route istio-system/kiali",
                    ],
                    "jaeger-route": ["data.jaeger", "the host of Route istio-system/kiali",
                                     "expected the host of Route istio-system/jaeger"],
                },
            ),
            WrongAnswer(
                "prometheus key missing",
                _answers(lambda data: data.pop("prometheus")),
                fails={"prometheus-route"},
                reason_has={"prometheus-route": [
                    "ConfigMap webapp/lab-answers has no key prometheus in data (keys: jaeger, kiali)",
                    "oc get route prometheus -n istio-system",
                ]},
            ),
            WrongAnswer(
                "a URL with a console path",
                _answers(lambda data: data.update(prometheus=f"https://{data['prometheus']}/graph")),
                fails={"prometheus-route"},
                reason_has={"prometheus-route": ["data.prometheus", "has a path ('/graph'); expected only the host"]},
            ),
        ],
    )


def test_solution_hosts_are_live_and_urls_accepted(kubeconfig, cluster):
    """`solve` records the hosts the operator gave the Routes (read when it runs, so it holds on
    any cluster's router domain); URLs of them count too."""
    from .helpers import grade_json, run

    assert run(kubeconfig, "start", "observability")[0] == 0
    try:
        assert run(kubeconfig, "solve", "observability")[0] == 0
        data = cluster.get("v1", "ConfigMap", "lab-answers", "webapp")["data"]
        assert sorted(data) == ["jaeger", "kiali", "prometheus"]
        for key, host in data.items():
            route = cluster.get("route.openshift.io/v1", "Route", key, "istio-system")
            assert route is not None and route["spec"]["host"] == host
        _answers(_url_forms)(cluster)
        code, report = grade_json(kubeconfig, "observability")
        assert code == 0 and report["score"] == 100, report
    finally:
        assert run(kubeconfig, "finish", "observability")[0] == 0
