"""Lab tests that are not of the lifecycle's shape (test_lab_lifecycle.py): what `solve`
records in the observability lab, and how `start` finds the operators lab's operators."""

from __future__ import annotations

import pytest
import yaml

from grader.labs import data_root

from .helpers import assert_exit_code, grade_json, run
from .lab_harness import load

pytestmark = pytest.mark.sandbox

OLM = "operators.coreos.com/v1alpha1"
NS = "openshift-operators"


def _subscription(name: str) -> dict:
    docs = yaml.safe_load_all((data_root() / "solutions" / "operators" / "10-subscriptions.yaml").read_text())
    return next(d for d in docs if d and d["metadata"]["name"] == name)


def test_solution_hosts_are_live_and_urls_accepted(kubeconfig, cluster):
    """`solve` records the hosts the operator gave the Routes (read when it runs, so it holds on
    any cluster's router domain); URLs of them count too."""
    assert run(kubeconfig, "start", "observability")[0] == 0
    try:
        assert run(kubeconfig, "solve", "observability")[0] == 0
        data = cluster.get("v1", "ConfigMap", "lab-answers", "webapp")["data"]
        assert sorted(data) == ["jaeger", "kiali", "prometheus", "web-requests"]
        assert data.pop("web-requests").isdigit()   # what Prometheus answered (test_dataplane_labs.py checks it)
        for key, host in data.items():
            route = cluster.get("route.openshift.io/v1", "Route", key, "istio-system")
            assert route is not None and route["spec"]["host"] == host
        urls = {"kiali": f"https://{data['kiali']}/", "jaeger": f"http://{data['jaeger']}",
                "prometheus": data["prometheus"]}
        cluster.patch("v1", "ConfigMap", "lab-answers", "webapp", {"data": urls})
        code, report = grade_json(kubeconfig, "observability")
        assert report["score"] == load("observability").total, report
        assert_exit_code(code, report)
    finally:
        assert run(kubeconfig, "finish", "observability")[0] == 0


def test_reset_finds_operators_by_olm_label(kubeconfig, cluster):
    """`start` uninstalls the lab's operators whatever the Subscription is called and whatever
    CSV version is installed: it selects them by OLM's operators.coreos.com/<package>.<ns> label."""
    assert run(kubeconfig, "start", "operators")[0] == 0
    try:
        sub = _subscription("servicemeshoperator")
        sub["metadata"]["name"] = "my-mesh"
        cluster.apply(sub)
        cluster.wait(OLM, "Subscription", "my-mesh", NS,
                     lambda o: ((o or {}).get("status") or {}).get("installedCSV") == "servicemeshoperator.v2.5.2",
                     timeout=60, what="installed")
        older = {"apiVersion": OLM, "kind": "ClusterServiceVersion",
                 "metadata": {"name": "servicemeshoperator.v2.4.9", "namespace": NS,
                              "labels": {"operators.coreos.com/servicemeshoperator.openshift-operators": ""}},
                 "spec": {"displayName": "Red Hat OpenShift Service Mesh", "version": "2.4.9",
                          "install": {"strategy": "deployment", "spec": {"deployments": []}}}}
        cluster.apply(older)
        unrelated = _subscription("kiali-ossm")  # applied as its own, without the lab's label
        unrelated["metadata"]["name"] = "someone-elses"
        unrelated["spec"]["name"] = "tempo-product"
        cluster.apply(unrelated)

        code, _, err = run(kubeconfig, "start", "operators")
        assert code == 0, err
        assert cluster.get(OLM, "Subscription", "my-mesh", NS) is None
        assert cluster.get(OLM, "ClusterServiceVersion", "servicemeshoperator.v2.5.2", NS) is None
        assert cluster.get(OLM, "ClusterServiceVersion", "servicemeshoperator.v2.4.9", NS) is None
        assert cluster.get(OLM, "Subscription", "someone-elses", NS) is not None  # not the lab's
    finally:
        assert run(kubeconfig, "finish", "operators")[0] == 0
        cluster.delete(OLM, "Subscription", "someone-elses", NS)
        cluster.delete(OLM, "ClusterServiceVersion", "tempo-operator.v0.8.0-2", NS)
