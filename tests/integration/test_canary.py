"""The canary lab end to end on the sandbox: start → grade fails → solve → grade
passes → wrong answers each fail exactly the expected check → finish leaves nothing."""

from __future__ import annotations

import copy

import pytest
import yaml

from grader import kinds as K
from grader.labs import data_root
from grader.lifecycle import rollout_complete
from grader.manifests import LAB_LABEL

from .helpers import audit_events, audit_lines, by_id, failing, grade_json, run

pytestmark = pytest.mark.sandbox
SOLUTION = data_root() / "solutions" / "canary"


def _solution(name: str) -> dict:
    return yaml.safe_load((SOLUTION / name).read_text())


def _vs_with_weights(w1, w2) -> dict:
    vs = _solution("30-virtualservice.yaml")
    vs["spec"]["http"][0]["route"][0]["weight"] = w1
    vs["spec"]["http"][0]["route"][1]["weight"] = w2
    return vs


@pytest.fixture(scope="module")
def started(sandbox, kubeconfig):
    code, _, err = run(kubeconfig, "start", "canary")
    assert code == 0, err
    assert "SUCCESS" in err
    yield
    run(kubeconfig, "finish", "canary")


def test_start_is_graded_as_unfinished(started, kubeconfig):
    code, report = grade_json(kubeconfig, "canary")
    assert code == 1
    assert failing(report) == {"v2-deployed-with-sidecar", "destinationrule-subsets", "traffic-split-80-20"}
    assert report["score"] == 35 and report["total"] == 100 and report["passed"] is False
    assert "web-v2" in by_id(report)["v2-deployed-with-sidecar"]["reason"]


def test_junit_and_table_outputs(started, kubeconfig):
    import xml.etree.ElementTree as ET
    code, out, _ = run(kubeconfig, "grade", "canary", "-o", "junit")
    assert code == 1
    suite = ET.fromstring(out).find("testsuite")
    assert suite.get("tests") == "6" and suite.get("failures") == "3"
    names = {tc.get("name") for tc in suite.iter("testcase") if tc.find("failure") is not None}
    assert names == {"v2-deployed-with-sidecar", "destinationrule-subsets", "traffic-split-80-20"}
    code, out, _ = run(kubeconfig, "grade", "canary")
    assert code == 1 and "Score: 35/100" in out and "NOT PASSED" in out


def test_solve_then_full_score(started, kubeconfig):
    code, _, err = run(kubeconfig, "solve", "canary")
    assert code == 0, err
    code, report = grade_json(kubeconfig, "canary")
    assert code == 0, report
    assert report["score"] == report["total"] == 100
    assert report["passed"] is True


WRONG_VS = {
    "weights-70-30": (_vs_with_weights(70, 30), "traffic-split-80-20", "70"),
    "weights-80-30": (_vs_with_weights(80, 30), "traffic-split-80-20", "72.7"),
}


@pytest.mark.parametrize("case", sorted(WRONG_VS))
def test_wrong_weights(started, cluster, kubeconfig, case):
    run(kubeconfig, "solve", "canary")
    vs, check, needle = WRONG_VS[case]
    cluster.apply(vs)
    code, report = grade_json(kubeconfig, "canary")
    assert code == 1
    assert failing(report) == {check}
    reason = by_id(report)[check]["reason"]
    assert "VirtualService webapp/web" in reason and needle in reason


def test_subset_name_typo(started, cluster, kubeconfig):
    run(kubeconfig, "solve", "canary")
    dr = _solution("20-destinationrule.yaml")
    dr["spec"]["subsets"][1]["name"] = "v-2"
    cluster.apply(dr)
    code, report = grade_json(kubeconfig, "canary")
    assert code == 1
    # the DR lacks v2, and the route's subset v2 now points at nothing
    assert "destinationrule-subsets" in failing(report)
    assert failing(report) <= {"destinationrule-subsets", "traffic-split-80-20"}
    assert "v-2" in by_id(report)["destinationrule-subsets"]["reason"]


def test_virtualservice_not_bound(started, cluster, kubeconfig):
    run(kubeconfig, "solve", "canary")
    vs = _solution("30-virtualservice.yaml")
    vs["spec"]["gateways"] = ["mesh"]
    cluster.apply(vs)
    code, report = grade_json(kubeconfig, "canary")
    assert code == 1
    assert "virtualservice-bound" in failing(report)
    assert failing(report) <= {"virtualservice-bound", "traffic-split-80-20"}
    assert "web-gateway" in by_id(report)["virtualservice-bound"]["reason"]


def test_v2_without_sidecar(started, cluster, kubeconfig):
    run(kubeconfig, "solve", "canary")
    dep = _solution("10-web-v2.yaml")
    cluster.delete("apps/v1", "Deployment", "web-v2", "webapp")
    cluster.wait("apps/v1", "Deployment", "web-v2", "webapp", lambda o: o is None, timeout=60)
    bare = copy.deepcopy(dep)
    del bare["spec"]["template"]["metadata"]["annotations"]
    cluster.apply(bare)
    cluster.wait("apps/v1", "Deployment", "web-v2", "webapp", rollout_complete, timeout=60)
    code, report = grade_json(kubeconfig, "canary")
    assert failing(report) == {"v2-deployed-with-sidecar"}
    # 80 of 100 reaches the pass mark: passed, so exit 0 (the exit code follows "passed")
    assert report["score"] == 80 and report["passed"] is True and code == 0
    reason = by_id(report)["v2-deployed-with-sidecar"]["reason"]
    assert "istio-proxy" in reason or "sidecar" in reason
    assert "sidecar.istio.io/inject" in reason + by_id(report)["v2-deployed-with-sidecar"]["hint"]
    # put the reference answer back for the tests after this one
    cluster.delete("apps/v1", "Deployment", "web-v2", "webapp")
    cluster.wait("apps/v1", "Deployment", "web-v2", "webapp", lambda o: o is None, timeout=60)
    code, _, _ = run(kubeconfig, "solve", "canary")
    assert code == 0


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
    assert failing(report) == {"v2-deployed-with-sidecar", "destinationrule-subsets", "traffic-split-80-20"}


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
