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


def _result() -> dict:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return exam.sealed(exam.summary([_report("canary", 100, 100), _report("mtls", 0, 100)], at, late=False))


def test_an_untouched_result_verifies():
    assert exam.verify(_result()) == ""


def test_edits_are_detected():
    r = _result()
    r["score"] = 200
    assert "edited" in exam.verify(r)
    r = _result()
    r["tasks"][1]["checks"][0]["points"] = 100
    assert "edited" in exam.verify(r)
    r = _result()
    del r["checksum"]
    assert "no checksum" in exam.verify(r)
    assert "no checksum" in exam.verify([1, 2])


def test_random_choice_is_reproducible_and_only_takes_task_labs():
    a, b = exam.choose(None, 3, 7), exam.choose(None, 3, 7)
    assert a == b and len(set(a)) == 3
    assert not set(a) & {"operators", "control-plane", "member-roll", "fix-injection", "review"}
    assert exam.choose("canary, mtls", None, None) == ["canary", "mtls"]
    import pytest
    with pytest.raises(exam.ExamError, match="--random takes 1 to"):
        exam.choose(None, 99, 1)


def test_the_mock_ex328_exam():
    """Five tasks from the catalogue, each a lab that can be a task on every flavour, 120
    minutes, pass mark 70 %: 434 of its 620 points pass, 433 do not."""
    from grader.labs import load
    from grader.student import class_unsafe
    assert exam.MOCK.name == "mock-ex328" and exam.MOCK.minutes == 120 and exam.PASS_PERCENT == 70
    assert exam.choose(None, None, None, mock=True) == list(exam.MOCK.labs) == [
        "injection", "canary", "fault-delay", "resilience", "mtls"]
    labs = [load(n) for n in exam.MOCK.labs]
    assert not [lab.name for lab in labs if class_unsafe(lab)]
    assert all(set(lab.flavours) == {"ossm2", "ossm3", "istio"} for lab in labs)
    total = sum(lab.total for lab in labs)
    assert total == 620
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert exam.summary([_report("mock", 434, total)], at, late=False)["passed"] is True
    assert exam.summary([_report("mock", 433, total)], at, late=False)["passed"] is False


def test_a_named_exam_is_recorded_with_its_name():
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    e = exam.Exam(labs=exam.MOCK.labs, started=now, deadline=now, final=None, name=exam.MOCK.name)
    assert [t for t, _ in e.tasks()] == ["task1", "task2", "task3", "task4", "task5"]
    assert {lab.namespace for _, lab in e.tasks()} == {f"task{i}-webapp" for i in range(1, 6)}
