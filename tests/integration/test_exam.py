"""A timed exam on the sandbox: two labs as two tasks in namespaces of their own, solve
refused while it runs, the grade taken at the deadline (work after it not scored)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from grader import exam
from grader import student as S
from grader.labs import load
from grader.lifecycle import solve

from .helpers import run

pytestmark = pytest.mark.sandbox


class _Quiet:
    def step(self, text):
        import contextlib
        return contextlib.nullcontext()

    def note(self, text):
        pass


def test_exam_end_to_end(kubeconfig, cluster, tmp_path):
    code, _, err = run(kubeconfig, "exam", "start", "--labs", "canary,mtls", "--minutes", "0.5")
    assert code == 0, err
    try:
        assert f"task1: canary ({load('canary').total} points) in namespace task1-webapp" in err, err
        code, _, err = run(kubeconfig, "exam", "start", "--labs", "canary")
        assert code == 2 and "already running" in err
        code, _, err = run(kubeconfig, "solve", "canary")
        assert code == 2 and err.strip() == ("error: an exam is running: solutions are shown after it ends "
                                             "(lab exam finish)")
        code, out, _ = run(kubeconfig, "exam", "status", "-o", "json")
        status = json.loads(out)
        assert [(t["task"], t["lab"], t["namespace"]) for t in status["tasks"]] == [
            ("task1", "canary", "task1-webapp"), ("task2", "mtls", "task2-webapp")]
        assert 0 < status["seconds_left"] <= 30
        # the candidate's work before the deadline: task 1 (done here with the library, as kubectl would)
        solve(S.for_student(load("canary"), "task1"), cluster, _Quiet())
        watcher = subprocess.Popen([sys.executable, "-m", "grader", "--kubeconfig", kubeconfig, "--no-color", "exam",
                                    "status", "--watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, werr = watcher.communicate(timeout=90)
        assert watcher.returncode == 0 and "Time is up" in werr, werr
        # work after the deadline: task 2, not scored
        solve(S.for_student(load("mtls"), "task2"), cluster, _Quiet())
        code, out, err = run(kubeconfig, "exam", "grade", "-o", "json")
        result = json.loads(out)
        assert result["at"] == status["deadline"] and result["late"] is False, result
        scores = {t["lab"]: (t["score"], t["total"]) for t in result["tasks"]}
        assert scores["canary"][0] == scores["canary"][1] > 0, scores  # solved before the deadline: full marks
        assert scores["mtls"][0] < scores["mtls"][1], scores
        assert code == (0 if result["passed"] else 1)
        # the result file: intact verifies, an edited score does not
        f = tmp_path / "result.json"
        f.write_text(out)
        code, vout, err = run(kubeconfig, "exam", "verify", str(f))
        assert code == 0 and "intact" in vout, err
        f.write_text(out.replace(f'"score": {result["score"]},', f'"score": {result["score"] + 50},', 1))
        code, _, err = run(kubeconfig, "exam", "verify", str(f))
        assert code == 1 and "edited after grading" in err, err
    finally:
        code, _, err = run(kubeconfig, "exam", "finish")
    assert code == 0, err
    assert exam.current(cluster) is None
    deadline = time.monotonic() + 120
    while cluster.get("v1", "Namespace", "task1-webapp") is not None and time.monotonic() < deadline:
        time.sleep(1)
    assert cluster.get("v1", "Namespace", "task1-webapp") is None


def test_exam_commands_without_an_exam(kubeconfig):
    for args in (("exam", "status"), ("exam", "grade"), ("exam", "finish")):
        code, _, err = run(kubeconfig, *args)
        assert code == 2 and "no exam is running" in err, (args, err)
    code, _, err = run(kubeconfig, "exam", "start", "--labs", "member-roll", "--minutes", "1")
    assert code == 2 and "lab member-roll cannot be an exam task" in err
    code, _, err = run(kubeconfig, "exam", "start", "--labs", "canary", "--random", "2")
    assert code == 2 and "exactly one of --labs" in err


def test_a_task_the_flavour_cannot_run_is_refused_before_anything_is_set_up(kubeconfig, cluster):
    code, _, err = run(kubeconfig, "exam", "start", "--labs", "canary,gateway-3", "--minutes", "1")
    assert code == 2 and err.strip() == ("error: lab gateway-3 cannot be a task on this ossm2 cluster (it supports "
                                         "ossm3); choose other labs"), err
    assert exam.current(cluster) is None
    assert cluster.get("v1", "Namespace", "task1-webapp") is None


def test_the_mock_exam_starts_its_five_tasks(kubeconfig, cluster):
    code, _, err = run(kubeconfig, "exam", "start", "--mock", "--minutes", "1")
    try:
        assert code == 0, err
        assert "Mock EX328 exam: 5 tasks" in err and "pass mark 70 %" in err, err
        code, out, _ = run(kubeconfig, "exam", "status", "-o", "json")
        status = json.loads(out)
        assert status["name"] == "mock-ex328" and status["labs"] == list(exam.MOCK.labs)
        assert [t["namespace"] for t in status["tasks"]] == [f"task{i}-webapp" for i in range(1, 6)]
        assert 0 < status["seconds_left"] <= 60
    finally:
        code, _, err = run(kubeconfig, "exam", "finish")
    assert code == 0, err


def test_a_start_that_fails_half_way_takes_back_what_it_set_up(kubeconfig, cluster):
    """Task 2's namespace is still being deleted and cannot go (a finalizer holds an object in
    it): the start fails with one line naming it, and task 1's namespace goes again."""
    held = ("v1", "ConfigMap", "held", "task2-webapp")
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "task2-webapp"}})
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "held", "namespace": "task2-webapp", "finalizers": ["test.lab/hold"]}})
    cluster.delete("v1", "Namespace", "task2-webapp")
    try:
        code, _, err = run(kubeconfig, "exam", "start", "--labs", "canary,mtls", "--minutes", "1")
        assert code == 2, err
        last = err.strip().splitlines()[-1]
        assert last.startswith("error: namespace task2-webapp is stuck Terminating") and "test.lab/hold" in last, err
        assert exam.current(cluster) is None
        assert cluster.get("v1", "Namespace", "task1-webapp") is None, "task 1 was left behind"
    finally:
        cluster.patch(*held, {"metadata": {"finalizers": None}})
        cluster.wait("v1", "Namespace", "task2-webapp", None, lambda o: o is None, timeout=60, what="deleted")


def test_exam_finish_returns_once_its_namespaces_are_gone(kubeconfig, cluster):
    """A namespace still Terminating refuses new content: the next `exam start` (or a class)
    could not use the name, so finish waits until they are gone."""
    code, _, err = run(kubeconfig, "exam", "start", "--labs", "canary", "--minutes", "1")
    assert code == 0, err
    code, _, err = run(kubeconfig, "exam", "finish")
    assert code == 0, err
    assert cluster.get("v1", "Namespace", "task1-webapp") is None, "finish returned before the namespace was gone"
    assert cluster.get("v1", "Namespace", exam.NAMESPACE) is None
