"""The canary lab's grading outside the lifecycle (that is test_lab_lifecycle.py with
lifecycle/canary.yaml): junit and table outputs, grading only reads, `start` again resets,
`finish` removes only the lab."""

from __future__ import annotations

import pytest

from grader import kinds as K
from grader.manifests import LAB_LABEL

from .helpers import assert_exit_code, audit_events, audit_lines, by_id, failing, grade_json, run

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def started(sandbox, kubeconfig):
    code, _, err = run(kubeconfig, "start", "canary")
    assert code == 0, err
    assert "SUCCESS" in err
    yield
    run(kubeconfig, "finish", "canary")


def test_junit_and_table_outputs(started, kubeconfig):
    import xml.etree.ElementTree as ET
    _, report = grade_json(kubeconfig, "canary")
    code, out, _ = run(kubeconfig, "grade", "canary", "-o", "junit")
    assert_exit_code(code, report)
    suite = ET.fromstring(out).find("testsuite")
    assert suite.get("tests") == "7" and suite.get("failures") == "4"
    names = {tc.get("name") for tc in suite.iter("testcase") if tc.find("failure") is not None}
    assert names == {"v2-deployed-with-sidecar", "destinationrule-subsets", "traffic-split-80-20", "split-observed"}
    code, out, _ = run(kubeconfig, "grade", "canary")
    assert_exit_code(code, report)
    assert "Score: 35/125" in out and "NOT PASSED" in out


def test_no_traffic_leaves_the_traffic_check_out(started, kubeconfig):
    """`--no-traffic`: no request, the traffic check SKIPs and weighs nothing, the pass mark is scaled."""
    run(kubeconfig, "solve", "canary")
    code, out, err = run(kubeconfig, "grade", "canary", "--no-traffic", "-o", "json")
    import json
    report = json.loads(out)
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["split-observed"]["status"] == "skip", checks["split-observed"]
    assert checks["split-observed"]["reason"] == "--no-traffic given: no requests sent"
    assert (report["requests"], report["score"], report["total"], report["pass_mark"]) == (0, 100, 100, 80)
    assert code == 0, err
    code, report = grade_json(kubeconfig, "canary")
    assert report["requests"] == 1000 and report["total"] == 125 and report["pass_mark"] == 100
    assert by_id(report)["split-observed"]["status"] == "pass", by_id(report)["split-observed"]


def test_grading_only_reads(started, sandbox, kubeconfig):
    before = audit_lines(sandbox.audit_log)
    grade_json(kubeconfig, "canary")
    events = [e for e in audit_events(sandbox.audit_log, before, "lab-grader/0.1.0 (grade)")
              if e["stage"] == "ResponseComplete"]
    assert events, "the grader's requests are missing from the audit log"
    verbs = {e["verb"] for e in events}
    assert verbs <= {"get", "list"}, verbs
    assert len(events) <= 10, [e["requestURI"] for e in events]


def test_start_again_resets(started, cluster, kubeconfig):
    run(kubeconfig, "solve", "canary")
    code, _, err = run(kubeconfig, "start", "canary")
    assert code == 0, err
    code, report = grade_json(kubeconfig, "canary")
    assert failing(report) == {"v2-deployed-with-sidecar", "destinationrule-subsets", "traffic-split-80-20",
                               "split-observed"}


def test_start_again_leaves_nothing_of_the_old_namespace(started, cluster, kubeconfig):
    """The reset empties and finalizes the namespace itself (not waiting for the namespace
    controller): every object of the old namespace goes, including kinds served only at a
    group's older version (maistra.io/v1 ServiceMeshMember beside maistra.io/v2), and the new
    pods come up injected (a stale Ready member once let them start before membership)."""
    run(kubeconfig, "solve", "canary")
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "student-notes", "namespace": "webapp"},
                   "data": {"a": "b"}})
    cluster.patch("v1", "Namespace", "webapp", None, {"metadata": {"labels": {"istio-injection": "enabled"}}})
    old = {kind: cluster.get(api, kind, name, ns)["metadata"]["uid"]
           for api, kind, name, ns in [("v1", "Namespace", "webapp", None),
                                       ("maistra.io/v1", "ServiceMeshMember", "default", "webapp")]}
    code, _, err = run(kubeconfig, "start", "canary")
    assert code == 0, err
    assert cluster.get("v1", "ConfigMap", "student-notes", "webapp") is None
    ns = cluster.get("v1", "Namespace", "webapp")
    assert ns["metadata"]["uid"] != old["Namespace"] and "istio-injection" not in ns["metadata"].get("labels", {})
    assert cluster.get("maistra.io/v1", "ServiceMeshMember", "default", "webapp")["metadata"]["uid"] \
        != old["ServiceMeshMember"]
    assert cluster.list(K.DEPLOYMENT, "webapp") and [d["metadata"]["name"] for d in cluster.list(K.DEPLOYMENT, "webapp")] \
        == ["web-v1"]
    for pod in cluster.list(K.POD, "webapp"):
        assert "istio-proxy" in [c["name"] for c in pod["spec"]["containers"]], pod["metadata"]["name"]


def test_finish_removes_only_the_lab(started, sandbox, cluster, kubeconfig):
    run(kubeconfig, "solve", "canary")
    watched = [K.DEPLOYMENT, K.SERVICE, K.CONFIG_MAP, K.GATEWAY, K.VIRTUAL_SERVICE, K.DESTINATION_RULE,
               K.PEER_AUTHENTICATION, K.SMCP, K.SUBSCRIPTION, K.CSV, K.ROUTE]
    def others() -> dict[str, str]:
        out = {}
        for kind in watched:
            for o in cluster.list(kind):
                md = o["metadata"]
                if md.get("namespace") != "webapp":
                    out[f"{kind.kind}/{md.get('namespace')}/{md['name']}"] = md["resourceVersion"]
        return out
    before_objects = others()
    before = audit_lines(sandbox.audit_log)
    code, _, err = run(kubeconfig, "finish", "canary")
    assert code == 0, err
    assert cluster.get("v1", "Namespace", "webapp") is None
    for kind in watched + [K.NAMESPACE]:
        assert cluster.list(kind, label_selector=f"{LAB_LABEL}=canary") == []
    assert others() == before_objects
    writes = [e for e in audit_events(sandbox.audit_log, before, "lab-grader/0.1.0 (finish)")
              if e["verb"] not in ("get", "list", "watch") and e["stage"] == "ResponseComplete"]
    for e in writes:
        ref = e.get("objectRef", {})
        assert e["verb"] == "delete" and (ref.get("namespace") == "webapp" or ref.get("name") == "webapp"), e
    # finishing twice is fine
    code, _, err = run(kubeconfig, "finish", "canary")
    assert code == 0, err
