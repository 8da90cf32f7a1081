"""Per-student labs: renaming a lab's owned namespaces, class-safety, the roster."""

from __future__ import annotations

import dataclasses
import re

import pytest

from grader import manifests as M
from grader import student as S
from grader.classroom import ClassError, read_roster, student_namespaces
from grader.labs import load, load_all

RENAMES = {"webapp": "alice-webapp"}


@pytest.mark.parametrize(("text", "expected"), [
    ("webapp", "alice-webapp"),
    ("web.webapp.svc.cluster.local", "web.alice-webapp.svc.cluster.local"),
    ("webapp/web-gateway", "alice-webapp/web-gateway"),
    ("Namespace webapp is a member", "Namespace alice-webapp is a member"),
    ("webapp2", "webapp2"),
    ("my-webapp", "my-webapp"),
    ("webapp-db", "webapp-db"),
    ("mywebapp", "mywebapp"),
    ("web_webapp", "web_webapp"),
])
def test_rename_whole_labels_only(text, expected):
    assert S.rename(text, RENAMES) == expected


def test_rename_walks_values_not_keys():
    value = {"webapp": ["webapp", {"hosts": ["web.webapp.svc.cluster.local"]}], "n": 3}
    assert S.rename(value, RENAMES) == {"webapp": ["alice-webapp", {"hosts": ["web.alice-webapp.svc.cluster.local"]}],
                                        "n": 3}


REFUSED = {"operators", "control-plane", "member-roll", "fix-injection", "review",
           "operators-3", "control-plane-3", "injection-3",  # OSSM 3: the cluster-scoped Istio and its operator
           "review-3",  # owns istio-system (and writes the cluster-scoped Istio and IstioCNI)
           "fix-injection-3",  # its own RevisionBased Istio default
           "migrate-3",  # the cluster-scoped Istio ossm-3 beside the 2.x control plane
           "observability-3"}  # openshift-monitoring's cluster-monitoring-config, Istio default, istio-system


def test_labs_that_change_shared_state_are_refused():
    verdicts = {lab.name: S.class_unsafe(lab) for lab in load_all()}
    assert {n for n, why in verdicts.items() if why} == REFUSED
    for name in REFUSED:
        with pytest.raises(S.StudentError, match=f"lab {name} cannot run in a class: "):
            S.for_student(load(name), "alice")


def _owned_token(lab_owns):
    return re.compile(rf"(?<![A-Za-z0-9_-])({'|'.join(map(re.escape, lab_owns))})(?![A-Za-z0-9_-])")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


@pytest.mark.parametrize("name", sorted(lab.name for lab in load_all() if lab.name not in REFUSED))
def test_no_owned_namespace_left_for_a_student(name):
    lab = load(name)
    theirs = S.for_student(lab, "alice")
    token = _owned_token(lab.owns)
    assert theirs.namespace == f"alice-{lab.namespace}"
    assert theirs.owns == tuple(f"alice-{ns}" for ns in lab.owns)
    for spec in theirs.checks:
        params = theirs.params_for(spec)
        assert not [s for s in _strings(params) if token.search(s)], (spec.id, params)
    for step in (*theirs.setup, *theirs.cleanup, *theirs.solution):
        if step.type == "apply":
            for lookup in step.args["values"].values():
                assert not token.search(str(lookup.namespace)), lookup
            if step.shared:
                continue  # the instructor's, applied once and never renamed
            for obj in M.read(step.args["path"]):
                mine = S.prepare(obj, theirs)
                assert mine["metadata"]["labels"][S.STUDENT_LABEL] == "alice"
                leftovers = [s for s in _strings(mine) if token.search(s)]
                assert not leftovers, (M.describe(obj), leftovers)
        else:
            assert not [s for s in _strings(step.args) if token.search(s)], step


def test_a_student_lab_keeps_the_shared_steps_and_their_namespaces():
    theirs = S.for_student(load("canary"), "bob")
    waits = [s.args for s in theirs.setup if s.type == "wait"]
    assert {"kind": "ServiceMeshControlPlane", "name": "basic", "namespace": "istio-system"}.items() <= waits[1].items()
    assert any(w.get("namespace") == "bob-webapp" and w["kind"] == "Deployment" for w in waits)


def test_prepare_leaves_the_instructors_manifests_alone():
    lab = load("canary")
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "webapp"}}
    assert S.prepare(obj, lab) is obj


@pytest.mark.parametrize("bad", ["Alice", "a_b", "-a", "a-", "x" * 31, ""])
def test_bad_student_names(bad):
    with pytest.raises(S.StudentError, match="not usable in namespace names"):
        S.check_name(bad)


def test_roster(tmp_path):
    f = tmp_path / "roster.csv"
    f.write_text("# name,email\nalice,alice@example.com\n\nbob\n")
    assert [(s.name, s.email) for s in read_roster(f)] == [("alice", "alice@example.com"), ("bob", "")]
    # gateway-3 owns istio-ingress; mtls and fix-mtls own no-sidecar
    assert student_namespaces(load_all(), "bob") == ["bob-istio-ingress", "bob-no-sidecar", "bob-webapp"]


@pytest.mark.parametrize(("text", "message"), [
    ("alice\nBob\n", "line 2: student name 'Bob'"),
    ("alice\nalice\n", "line 2: student 'alice' is listed twice"),
    ("alice,a@x,extra\n", "line 1: expected 'name' or 'name,email'"),
    ("# nobody\n", "no students"),
])
def test_bad_rosters(tmp_path, text, message):
    f = tmp_path / "roster.csv"
    f.write_text(text)
    with pytest.raises(ClassError, match=re.escape(message)):
        read_roster(f)


def test_for_student_is_a_copy():
    lab = load("canary")
    S.for_student(lab, "alice")
    assert lab.namespace == "webapp" and lab.student is None
    assert dataclasses.replace(lab).renames == {}


def test_a_prometheus_lookup_is_renamed_for_the_student():
    """The observability solution records what a PromQL query answers: its namespace label is the student's."""
    lab = S.for_student(load("observability"), "alice")
    (lookup,) = [lk for s in lab.solution if s.type == "apply" for lk in s.args["values"].values() if lk.promql]
    assert 'destination_workload_namespace="alice-webapp"' in lookup.promql
    assert lookup.describe().startswith("Prometheus query sum(istio_requests_total{")
