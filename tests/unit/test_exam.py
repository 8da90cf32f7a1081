"""Exam scoring and tasks, without a cluster."""

from __future__ import annotations

import datetime as dt

from grader import exam
from grader.model import CheckResult, LabReport, Status


def _report(lab: str, got: int, of: int) -> LabReport:
    return LabReport(lab=lab, title=lab, pass_mark=of, namespace=f"x-{lab}", results=(
        CheckResult("a", "a", Status.PASS if got else Status.FAIL, got, of, "", ""),))


def test_summary_sums_the_tasks_and_applies_the_pass_mark():
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    s = exam.summary([_report("canary", 100, 100), _report("mtls", 0, 100)], at, late=False)
    assert (s["score"], s["total"], s["percent"], s["passed"]) == (100, 200, 50.0, False)
    assert s["at"] == "2026-01-01T00:00:00Z" and not s["late"]
    s = exam.summary([_report("canary", 100, 100), _report("mtls", 40, 100)], at, late=True)
    assert (s["percent"], s["passed"], s["late"]) == (70.0, True, True)


def test_tasks_live_in_namespaces_of_their_own():
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    e = exam.Exam(labs=("canary", "mtls"), started=now, deadline=now + dt.timedelta(minutes=1), final=None)
    tasks = e.tasks()
    assert [(t, lab.name, lab.namespace) for t, lab in tasks] == [("task1", "canary", "task1-webapp"),
                                                                  ("task2", "mtls", "task2-webapp")]
    assert 0 < e.left() <= 60
