"""`lab grade NAME --watch`: a new report after each change to what the checks read, and
nothing but reads (the installed module runs in a subprocess, as a student runs it)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading

import pytest

from .helpers import audit_events, audit_lines, ctrl_c_works, run

pytestmark = pytest.mark.sandbox


def _lines(stream, q: queue.Queue) -> None:
    for line in stream:
        q.put(line)
    q.put(None)


def _next_report(q: queue.Queue, timeout: float) -> dict:
    line = q.get(timeout=timeout)
    assert line is not None, "grade --watch ended early"
    return json.loads(line)


def test_watch_regrades_on_change_and_only_reads(sandbox, kubeconfig):
    assert run(kubeconfig, "start", "canary")[0] == 0
    before = audit_lines(sandbox.audit_log)
    proc = subprocess.Popen([sys.executable, "-m", "grader", "--kubeconfig", kubeconfig, "--no-color",
                             "grade", "canary", "--watch", "-o", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_works,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    out: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    try:
        first = _next_report(out, timeout=60)
        assert first["lab"] == "canary" and first["score"] < first["total"]

        assert run(kubeconfig, "solve", "canary")[0] == 0
        report = first
        while report["score"] < report["total"]:  # one report per settled burst of changes
            report = _next_report(out, timeout=90)
        assert report["passed"] is True

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0  # Ctrl-C: the exit code of the last verdict
        err = proc.stderr.read()
        assert "graded after a change (" in err and "Traceback" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
        run(kubeconfig, "finish", "canary")
    events = audit_events(sandbox.audit_log, before, "lab-grader/0.1.0 (grade)")
    verbs = {e["verb"] for e in events}
    assert "watch" in verbs and verbs <= {"get", "list", "watch"}, verbs


def test_watch_refuses_files_and_junit(kubeconfig, tmp_path):
    code, _, err = run(kubeconfig, "grade", "canary", "--watch", "-o", "junit")
    assert code == 2 and "--watch grades the live cluster" in err


def test_watch_table_then_ctrl_c_keeps_the_verdict(kubeconfig):
    assert run(kubeconfig, "start", "canary")[0] == 0
    proc = subprocess.Popen([sys.executable, "-m", "grader", "--kubeconfig", kubeconfig, "--no-color",
                             "grade", "canary", "--watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_works,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    out: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    try:
        seen = []
        while not any(line.startswith("Score:") for line in seen):
            line = out.get(timeout=60)
            assert line is not None, "".join(seen)
            seen.append(line)
        text = "".join(seen)
        assert "first grade" in text and "traffic-split-80-20" in text and "NOT PASSED" in text, text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 1  # the last grade failed checks
    finally:
        if proc.poll() is None:
            proc.kill()
        run(kubeconfig, "finish", "canary")
