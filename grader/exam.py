"""A timed exam: several labs set up together, each task in namespaces of its own (the lab
renamed for a task, as grader.student renames it for a student: `task1-webapp`), one score.

The exam lives in the cluster (ConfigMap `exam` in namespace `lab-exam`), so `status` survives
a closed terminal. Work after the deadline is not scored: the exam's grade is the one taken at
the deadline by a running `lab exam status --watch` (it grades when time runs out); without
one, the first grade after the deadline is recorded instead, marked late. Either is kept in the
ConfigMap and every later `lab exam grade` reports it. During an exam `lab solve` refuses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import time
from dataclasses import dataclass

from grader import grading, lifecycle, seal
from grader import student as S
from grader.classroom import _shared_steps
from grader.cluster import Cluster, Forbidden
from grader.errors import UserError
from grader.labs import Lab, load
from grader.model import LabReport

NAMESPACE = "lab-exam"
CONFIG_MAP = "exam"
EXAM_LABEL = "lab.grader/exam"
PASS_PERCENT = 70  # EX328's pass mark
MINUTES = 120  # the mock's time and every exam's default (two hours, as killer.sh's simulators)


@dataclass(frozen=True)
class Mock:
    """A named exam: fixed labs and time (pass mark PASS_PERCENT, as every exam)."""
    name: str
    title: str
    labs: tuple[str, ...]
    minutes: int


# `lab exam start --mock`: one task for each area of the EX328 objectives that a lab of this
# project practises (Red Hat Certified Specialist in Building Resilient Microservices,
# www.redhat.com/en/services/training/ex328-red-hat-certified-specialist-in-building-resilient-
# microservices-exam: applications in the mesh with sidecar injection, traffic management,
# fault injection, resilience, securing services with mTLS), each lab one that runs in every
# flavour, so the mock starts on any mesh the project supports.
MOCK = Mock(name="mock-ex328", title="Mock EX328 exam",
            labs=("injection", "canary", "fault-delay", "resilience", "mtls"), minutes=MINUTES)


class ExamError(UserError):
    """No exam, an exam already running, a lab that cannot be a task; one line."""


@dataclass(frozen=True)
class Exam:
    labs: tuple[str, ...]
    started: dt.datetime
    deadline: dt.datetime
    final: dict | None  # the recorded grade: {"at", "late", "reports"}
    name: str = ""  # a named exam's (MOCK.name), else ''

    def tasks(self) -> list[tuple[str, Lab]]:
        """(task id, the lab renamed into the task's namespaces)."""
        return [(f"task{i}", S.for_student(load(name), f"task{i}")) for i, name in enumerate(self.labs, start=1)]

    def left(self, now: dt.datetime | None = None) -> float:
        return ((self.deadline - (now or _now())).total_seconds())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _parse(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def current(cluster: Cluster) -> Exam | None:
    """The running exam, if any (None also for a class's student, who may not read lab-exam:
    exams run on the candidate's own cluster)."""
    try:
        cm = cluster.get("v1", "ConfigMap", CONFIG_MAP, NAMESPACE)
    except Forbidden:
        return None
    if cm is None or (cm.get("metadata") or {}).get("deletionTimestamp"):
        return None
    d = cm.get("data") or {}
    return Exam(labs=tuple(json.loads(d["labs"])), started=_parse(d["started"]), deadline=_parse(d["deadline"]),
                final=json.loads(d["final"]) if d.get("final") else None, name=d.get("name", ""))


def start(cluster: Cluster, labs: list[str], minutes: float, flavour: str | None, progress: lifecycle.Progress,
          name: str = "") -> Exam:
    if current(cluster) is not None:
        raise ExamError("an exam is already running; see lab exam status, or end it with lab exam finish")
    if not labs:
        raise ExamError("an exam needs at least one lab: --labs a,b")
    chosen = [load(n) for n in labs]
    for lab in chosen:
        why = S.class_unsafe(lab)
        if why:
            raise ExamError(f"lab {lab.name} cannot be an exam task: {why}")
    decided = lifecycle.decide_flavour(cluster, flavour)
    for lab in chosen:  # before anything is applied: no half-made exam
        if decided not in lab.flavours:
            raise ExamError(f"lab {lab.name} cannot be a task on this {decided} cluster (it supports "
                            f"{', '.join(lab.flavours)}); choose other labs")
    shared = _shared_steps([lab for lab in chosen if decided in lab.flavours])
    if shared:
        lifecycle.run_shared(shared[0], shared[1], cluster, decided, progress)
    begun: list[Lab] = []
    try:
        for _, lab in Exam(tuple(labs), _now(), _now(), None).tasks():
            begun.append(lab)
            for ns in lab.owns:  # a task's namespaces exist before its lab runs in them, as a student's do
                lifecycle.wait_namespace_free(cluster, ns, progress)
                cluster.apply({"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": ns, "labels": {EXAM_LABEL: "true"}}}, manager="lab-exam")
            lifecycle.start(lab, cluster, progress, decided)
        lifecycle.wait_namespace_free(cluster, NAMESPACE, progress)
        cluster.apply({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": NAMESPACE, "labels": {EXAM_LABEL: "true"}}}, manager="lab-exam")
        exam = Exam(labs=tuple(labs), started=_now(), deadline=_now() + dt.timedelta(minutes=minutes), final=None,
                    name=name)
        _save(cluster, exam)
    except (UserError, OSError):
        _undo(cluster, begun, decided, progress)
        raise
    return exam


def _undo(cluster: Cluster, begun: list[Lab], flavour: str, progress: lifecycle.Progress) -> None:
    """A start that failed half-way takes back the tasks it set up (no exam record points at
    them, so `lab exam finish` could not); the error that stopped it is the one reported."""
    for lab in reversed(begun):
        with contextlib.suppress(UserError, OSError):
            lifecycle.finish(lab, cluster, progress, flavour)
            for ns in lab.owns:
                lifecycle.delete_namespace(cluster, ns, progress)
    with contextlib.suppress(UserError, OSError):
        lifecycle.delete_namespace(cluster, NAMESPACE, progress)


def _save(cluster: Cluster, exam: Exam) -> None:
    data = {"labs": json.dumps(list(exam.labs)), "started": iso(exam.started), "deadline": iso(exam.deadline)}
    if exam.name:
        data["name"] = exam.name
    if exam.final:
        data["final"] = json.dumps(exam.final)
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "data": data,
                   "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE, "labels": {EXAM_LABEL: "true"}}},
                  manager="lab-exam")


def grade_now(cluster: Cluster, exam: Exam, flavour: str | None) -> list[LabReport]:
    """Every task from one snapshot of the cluster."""
    from grader import flavour as F
    tasks = exam.tasks()
    decided, openshift = F.of_cluster(flavour, cluster)
    kinds = list(dict.fromkeys(k for _, lab in tasks for k in grading.kinds_read_by(lab)))
    snap = cluster.snapshot(kinds, [ns for _, lab in tasks for ns in lab.owns] + sorted(S.SHARED_NAMESPACES),
                            decided, openshift)
    return [grading.report_of(lab, grading.judge(lab, snap), snap, lab.namespace) for _, lab in tasks]


def verify(result: object) -> str:
    """'' when the result file is as `lab exam grade` wrote it, else what is wrong."""
    wrong = seal.problem(result, seal.EXAM)
    if wrong == "no checksum":
        return "not an exam result (no checksum): write it with lab exam grade -o json"
    if wrong:
        return "the result was edited after grading (its checksum does not match)"
    assert isinstance(result, dict)
    tasks = result.get("tasks") or []
    if sum(t.get("score", 0) for t in tasks) != result.get("score") or any(
            t.get("score") != sum(c.get("points", 0) for c in t.get("checks", [])) for t in tasks):
        return "the scores do not add up"
    return ""


def choose(labs: str | None, random_n: int | None, seed: int | None, mock: bool = False) -> list[str]:
    """The exam's labs: the mock exam's, the named ones, or N drawn at random (reproducible
    with a seed) from the labs that can be tasks."""
    if mock:
        return list(MOCK.labs)
    if labs:
        return [n.strip() for n in labs.split(",") if n.strip()]
    import random

    from grader.labs import load_all
    pool = sorted(lab.name for lab in load_all() if not S.class_unsafe(lab))
    if not random_n or not 0 < random_n <= len(pool):
        raise ExamError(f"--random takes 1 to {len(pool)} (the labs that can be exam tasks), or name them with --labs")
    return sorted(random.Random(seed).sample(pool, random_n))


def summary(reports: list[LabReport], at: dt.datetime, late: bool) -> dict:
    score, total = sum(r.score for r in reports), sum(r.total for r in reports)
    return {"at": iso(at), "late": late, "score": score, "total": total,
            "percent": round(100 * score / total, 1) if total else 0.0,
            "passed": total > 0 and 100 * score >= PASS_PERCENT * total,
            "tasks": [r.to_dict() for r in reports]}


def sealed(result: dict) -> dict:
    return seal.sealed(result, seal.EXAM)


def grade(cluster: Cluster, flavour: str | None) -> dict:
    """The exam's grade: now while it runs; after the deadline the recorded one (taken at the
    deadline by `status --watch`, or else this first grade after it, recorded as late)."""
    exam = current(cluster)
    if exam is None:
        raise ExamError("no exam is running; start one with lab exam start --labs a,b")
    if exam.final:
        return exam.final
    now = _now()
    result = sealed(summary(grade_now(cluster, exam, flavour), now, late=now > exam.deadline))
    if now > exam.deadline:
        _save(cluster, dataclasses.replace(exam, final=result))
    return result


def grade_at_deadline(cluster: Cluster, flavour: str | None) -> dict:
    """Wait for the deadline, then grade and record the exam's grade (not late)."""
    exam = current(cluster)
    if exam is None:
        raise ExamError("no exam is running; start one with lab exam start --labs a,b")
    if exam.final:
        return exam.final
    while (left := exam.left()) > 0:
        time.sleep(min(left, 1.0))
    result = sealed(summary(grade_now(cluster, exam, flavour), exam.deadline, late=False))
    _save(cluster, dataclasses.replace(exam, final=result))
    return result


def finish(cluster: Cluster, flavour: str | None, progress: lifecycle.Progress) -> None:
    exam = current(cluster)
    if exam is None:
        raise ExamError("no exam is running")
    for _, lab in exam.tasks():
        lifecycle.finish(lab, cluster, progress, flavour)
        for ns in lab.owns:
            lifecycle.delete_namespace(cluster, ns, progress)
    cluster.delete("v1", "ConfigMap", CONFIG_MAP, NAMESPACE)  # the exam ends now, not with its namespace
    lifecycle.delete_namespace(cluster, NAMESPACE, progress)
