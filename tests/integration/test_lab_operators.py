"""The operators lab (guide step 1) end to end on the sandbox's OLM-lite.

start uninstalls the mesh operators, the reference Subscriptions install them, and each
wrong answer replaces one Subscription (same name, so `solve` repairs it) after
uninstalling its CSV, as a student on a fresh cluster would meet it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from grader.cluster import Cluster
from grader.labs import data_root

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox

OLM = "operators.coreos.com/v1alpha1"
NS = "openshift-operators"
CSVS = {"servicemeshoperator": "servicemeshoperator.v2.5.2", "kiali-ossm": "kiali-operator.v1.73.4",
        "jaeger-product": "jaeger-operator.v1.51.0-1", "elasticsearch-operator": "elasticsearch-operator.v5.8.1"}


def _subscription(name: str) -> dict:
    docs = yaml.safe_load_all((data_root() / "solutions" / "operators" / "10-subscriptions.yaml").read_text())
    return next(d for d in docs if d and d["metadata"]["name"] == name)


def _resolution_failed(obj: dict | None) -> bool:
    return any(c.get("type") == "ResolutionFailed" and c.get("status") == "True"
               for c in ((obj or {}).get("status") or {}).get("conditions") or [])


def _broken(sub_name: str, **spec: str) -> Callable[[Cluster], None]:
    """Uninstall the operator, then subscribe again with ``spec`` changed; wait for OLM's verdict."""

    def apply(cluster: Cluster) -> None:
        for kind, obj_name in (("Subscription", sub_name), ("ClusterServiceVersion", CSVS[sub_name])):
            cluster.delete(OLM, kind, obj_name, NS)
            cluster.wait(OLM, kind, obj_name, NS, lambda o: o is None, timeout=60, what="deleted")
        sub = _subscription(sub_name)
        sub["spec"].update(spec)
        cluster.apply(sub)
        cluster.wait(OLM, "Subscription", sub_name, NS, _resolution_failed, timeout=60, what="ResolutionFailed")
        # OLM installs nothing for it; a stale event for the deleted Subscription must not either
        assert cluster.get(OLM, "ClusterServiceVersion", CSVS[sub_name], NS) is None

    return apply


def test_operators_lab(kubeconfig, cluster):
    assert_lab_lifecycle(
        kubeconfig, cluster, "operators",
        fails_at_start={"servicemesh-operator", "kiali-operator", "tracing-operator"},
        wrong_answers=[
            WrongAnswer(
                "package name typo servicemesh-operator",
                _broken("servicemeshoperator", name="servicemesh-operator"),
                fails={"servicemesh-operator"},
                reason_has={"servicemesh-operator": [
                    "Subscription openshift-operators/servicemeshoperator cannot be resolved",
                    "spec.name is 'servicemesh-operator' (expected package servicemeshoperator)",
                    "ResolutionFailed (ConstraintsNotSatisfiable)",
                    "no operators found in package servicemesh-operator in the catalog referenced by subscription "
                    "servicemeshoperator",
                ]},
            ),
            WrongAnswer(
                "catalog name typo redhat-operator",
                _broken("kiali-ossm", source="redhat-operator"),
                fails={"kiali-operator"},
                reason_has={"kiali-operator": [
                    "Subscription openshift-operators/kiali-ossm cannot be resolved",
                    "spec.source is 'redhat-operator' (expected catalog redhat-operators)",
                    "no operators found from catalog redhat-operator in namespace openshift-marketplace",
                ]},
            ),
        ],
    )
    # finish uninstalled them: no Subscription and no CSV of the lab's operators is left
    for name, csv in CSVS.items():
        assert cluster.get(OLM, "Subscription", name, NS) is None
        assert cluster.get(OLM, "ClusterServiceVersion", csv, NS) is None


def test_optional_skip_keeps_the_score(kubeconfig, cluster):
    """A SKIPped 0-point (optional) check changes neither score, pass mark nor exit code."""
    from .helpers import by_id, grade_json, run

    assert run(kubeconfig, "start", "operators")[0] == 0
    try:
        assert run(kubeconfig, "solve", "operators")[0] == 0
        _broken("elasticsearch-operator", source="community-operators")(cluster)
        code, report = grade_json(kubeconfig, "operators")
        assert code == 0
        optional = by_id(report)["elasticsearch-operator-optional"]
        assert optional["status"] == "skip"
        for needle in ("optional operator elasticsearch-operator (0 points, never fails)",
                       "spec.source is 'community-operators'",
                       "no operators found in package elasticsearch-operator in the catalog"):
            assert needle in optional["reason"]
        assert report["score"] == report["total"] == 100 and report["passed"] is True
    finally:
        assert run(kubeconfig, "finish", "operators")[0] == 0


def test_reset_finds_operators_by_olm_label(kubeconfig, cluster):
    """`start` uninstalls the lab's operators whatever the Subscription is called and whatever
    CSV version is installed: it selects them by OLM's operators.coreos.com/<package>.<ns> label."""
    from .helpers import run

    assert run(kubeconfig, "start", "operators")[0] == 0
    try:
        sub = _subscription("servicemeshoperator")
        sub["metadata"]["name"] = "my-mesh"
        cluster.apply(sub)
        cluster.wait(OLM, "Subscription", "my-mesh", NS,
                     lambda o: ((o or {}).get("status") or {}).get("installedCSV") == CSVS["servicemeshoperator"],
                     timeout=60, what="installed")
        older = {"apiVersion": OLM, "kind": "ClusterServiceVersion",
                 "metadata": {"name": "servicemeshoperator.v2.4.9", "namespace": NS,
                              "labels": {"operators.coreos.com/servicemeshoperator.openshift-operators": ""}},
                 "spec": {"displayName": "Red Hat OpenShift Service Mesh", "version": "2.4.9",
                          "install": {"strategy": "deployment", "spec": {"deployments": []}}}}
        cluster.apply(older)
        unrelated = _subscription("kiali-ossm")
        unrelated["metadata"]["name"] = "someone-elses"
        unrelated["spec"]["name"] = "tempo-product"
        cluster.apply(unrelated)

        code, _, err = run(kubeconfig, "start", "operators")
        assert code == 0, err
        assert cluster.get(OLM, "Subscription", "my-mesh", NS) is None
        assert cluster.get(OLM, "ClusterServiceVersion", CSVS["servicemeshoperator"], NS) is None
        assert cluster.get(OLM, "ClusterServiceVersion", "servicemeshoperator.v2.4.9", NS) is None
        assert cluster.get(OLM, "Subscription", "someone-elses", NS) is not None  # not the lab's
    finally:
        assert run(kubeconfig, "finish", "operators")[0] == 0
        for name in ("someone-elses",):
            cluster.delete(OLM, "Subscription", name, NS)
        cluster.delete(OLM, "ClusterServiceVersion", "tempo-operator.v0.8.0-2", NS)
