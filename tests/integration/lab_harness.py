"""The shape every lab's integration test follows:

start → grade fails with the expected checks → solve → full score → wrong answers each fail
exactly the expected check with a reason naming object and field → finish leaves nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from grader import kinds as K
from grader.cluster import Cluster
from grader.labs import load
from grader.manifests import LAB_LABEL

from .helpers import by_id, failing, grade_json, run


@dataclass
class WrongAnswer:
    """Break a solved lab (`apply` gets the Cluster), then expect exactly `fails` to fail,
    each reason containing every string in `reason_has`."""

    name: str
    apply: Callable[[Cluster], None]
    fails: set[str]
    reason_has: dict[str, list[str]] = field(default_factory=dict)


def assert_lab_lifecycle(kubeconfig: str, cluster: Cluster, lab_name: str, fails_at_start: set[str],
                         wrong_answers: list[WrongAnswer]) -> None:
    lab = load(lab_name)
    code, _, err = run(kubeconfig, "start", lab_name)
    assert code == 0, err
    try:
        code, report = grade_json(kubeconfig, lab_name)
        assert code == 1, report
        assert failing(report) == fails_at_start, by_id(report)
        for check in report["checks"]:
            if check["status"] != "pass":
                assert check["reason"] and check["points"] == 0

        code, _, err = run(kubeconfig, "solve", lab_name)
        assert code == 0, err
        code, report = grade_json(kubeconfig, lab_name)
        assert code == 0 and report["score"] == report["total"] == lab.total, by_id(report)

        for wrong in wrong_answers:
            wrong.apply(cluster)
            code, report = grade_json(kubeconfig, lab_name)
            # exit 0 exactly when passed (score >= pass mark), even with a check failed
            passed = report["score"] >= report["pass_mark"]
            assert report["passed"] is passed and code == (0 if passed else 1), (wrong.name, by_id(report))
            assert failing(report) == wrong.fails, (wrong.name, by_id(report))
            for check_id, needles in wrong.reason_has.items():
                reason = by_id(report)[check_id]["reason"] + " " + by_id(report)[check_id]["hint"]
                for needle in needles:
                    assert needle in reason, (wrong.name, check_id, needle, reason)
            code, _, err = run(kubeconfig, "solve", lab_name)  # back to the reference answer
            assert code == 0, err
            code, report = grade_json(kubeconfig, lab_name)
            assert code == 0 and report["score"] == report["total"], (f"solve did not repair {wrong.name}", by_id(report))
    finally:
        code, _, err = run(kubeconfig, "finish", lab_name)
    assert code == 0, err
    for ns in lab.owns:
        assert cluster.get("v1", "Namespace", ns) is None
    for kind in (K.NAMESPACE, K.DEPLOYMENT, K.SERVICE, K.CONFIG_MAP, K.GATEWAY, K.VIRTUAL_SERVICE,
                 K.DESTINATION_RULE, K.PEER_AUTHENTICATION):
        assert cluster.list(kind, label_selector=f"{LAB_LABEL}={lab_name}") == [], kind.kind
