"""The review lab end to end on the sandbox (guide steps 2-9): start deletes the control
plane, grading fails everything, the reference solution builds the whole mesh for a full
score, and realistic wrong answers each fail exactly one check. Finish deletes
istio-system and webapp; the next lab re-creates the shared control plane."""

from __future__ import annotations

import pytest
import yaml

from grader.labs import data_root, load
from grader.lifecycle import rollout_complete
from grader.manifests import LAB_LABEL

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox
SOLUTION = data_root() / "solutions" / "review"


def _docs(name: str) -> dict[str, dict]:
    docs = [d for d in yaml.safe_load_all((SOLUTION / name).read_text()) if d]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def _with_protocols(dep: dict) -> dict:
    """Server-side apply on Kubernetes 1.20 needs the `protocol` key of list entries (as the engine sets)."""
    for c in dep["spec"]["template"]["spec"]["containers"]:
        for p in c.get("ports", []):
            p.setdefault("protocol", "TCP")
    return dep


def _injection_by_namespace_label(cluster) -> None:
    """The guide's way: label the namespace istio-injection=enabled, no pod annotation."""
    ns = _docs("20-member-roll.yaml")["Namespace/webapp"]
    ns["metadata"]["labels"] = {LAB_LABEL: "review", "istio-injection": "enabled"}
    cluster.apply(ns)
    dep = _with_protocols(_docs("30-workloads.yaml")["Deployment/web-v2"])
    del dep["spec"]["template"]["metadata"]["annotations"]
    dep["metadata"]["labels"][LAB_LABEL] = "review"
    cluster.apply(dep)
    cluster.wait("apps/v1", "Deployment", "web-v2", "webapp", rollout_complete, timeout=60)


def _weights_80_30(cluster) -> None:
    vs = _docs("40-traffic.yaml")["VirtualService/web"]
    vs["spec"]["http"][0]["route"][1]["weight"] = 30
    cluster.apply(vs)


def test_review_lifecycle(kubeconfig, cluster):
    everything = {c.id for c in load("review").checks}
    assert_lab_lifecycle(
        kubeconfig,
        cluster,
        "review",
        fails_at_start=everything,
        wrong_answers=[
            WrongAnswer(
                "istio-injection=enabled on the namespace instead of the pod annotation",
                _injection_by_namespace_label,
                {"web-v2-sidecar"},
                {"web-v2-sidecar": ["Deployment webapp/web-v2", "istio-injection=enabled",
                                    "neither needed nor enough", "sidecar.istio.io/inject"]},
            ),
            WrongAnswer(
                "weights 80/30",
                _weights_80_30,
                {"traffic-split-80-20"},
                {"traffic-split-80-20": ["VirtualService webapp/web", "v1=80", "v2=30", "sum to 110", "72.7%"]},
            ),
        ],
    )
