"""A class without a shared cluster: each student grades the lab on their own sandbox and hands
in `lab grade LAB -o json > NAME.json`; `lab class gradebook FILE...` merges the reports into
the class's gradebook (grader.report.classbook, the formats of `lab class grade`).

The student is the file's name without `.json` (`alice.json` is alice): a report from a
student's own sandbox names no student (its namespace is the lab's own, `webapp`), and the
instructor names the files as they collect them. Each report carries the checksum `lab grade`
wrote (grader.seal); a report whose checksum is missing or does not match, or whose scores do
not add up, is flagged as edited, never merged as good.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader import seal
from grader.errors import UserError
from grader.model import CheckResult, LabReport, Status

# the contract's fields (README, "Machine-readable output") a report must have, with their types
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "lab": str, "title": str, "flavour": str, "namespace": str, "score": int, "total": int, "pass_mark": int,
    "passed": bool, "duration_s": (int, float), "requests": int, "checks": list}
_CHECK_FIELDS: dict[str, type] = {"id": str, "description": str, "status": str, "points": int, "max_points": int,
                                  "reason": str, "hint": str}


class GradebookError(UserError):
    """A file that cannot be merged (unreadable, not a report, another lab, a second copy of a
    student); str() is one line naming the file."""


@dataclass(frozen=True)
class HandedIn:
    student: str
    path: Path
    report: LabReport  # as the file says (scores recomputed from its checks)
    problem: str  # '' when the report is as `lab grade -o json` wrote it, else why it is flagged


def student_of(path: Path) -> str:
    """The student a file is from: its name without the `.json` suffix."""
    return path.name[:-len(".json")] if path.name.lower().endswith(".json") and len(path.name) > 5 else path.name


def _not_a_report(path: Path, why: str) -> GradebookError:
    return GradebookError(f"{path}: not a lab report ({why}); hand in the output of lab grade LAB -o json")


def _typed(doc: dict, fields: dict, path: Path, where: str) -> None:
    for key, kind in fields.items():
        if key not in doc:
            raise _not_a_report(path, f"no {key!r}{where}")
        value = doc[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _not_a_report(path, f"{key!r}{where} is {type(value).__name__}")


def _parse(path: Path, doc: object) -> LabReport:
    if isinstance(doc, list):
        if len(doc) != 1:
            raise GradebookError(f"{path}: holds {len(doc)} reports (lab grade -n ...); hand in one report per "
                                 "student: lab grade LAB -o json")
        doc = doc[0]
    if not isinstance(doc, dict):
        raise _not_a_report(path, f"a JSON {type(doc).__name__}, not an object")
    _typed(doc, _FIELDS, path, "")
    results = []
    for i, c in enumerate(doc["checks"]):
        if not isinstance(c, dict):
            raise _not_a_report(path, f"checks[{i}] is not an object")
        _typed(c, _CHECK_FIELDS, path, f" in checks[{i}]")
        try:
            status = Status(c["status"])
        except ValueError:
            raise _not_a_report(path, f"checks[{i}] has status {c['status']!r}") from None
        results.append(CheckResult(c["id"], c["description"], status, c["points"], c["max_points"], c["reason"],
                                   c["hint"]))
    return LabReport(lab=doc["lab"], title=doc["title"], pass_mark=doc["pass_mark"], results=tuple(results),
                     flavour=doc["flavour"], duration_s=float(doc["duration_s"]), namespace=doc["namespace"],
                     requests=doc["requests"])


def problem(doc: dict, report: LabReport) -> str:
    """'' when the report is as `lab grade` wrote it; else why not, in a few words."""
    wrong = seal.problem(doc, seal.REPORT)
    if wrong:
        return wrong
    # the checksum matches yet the numbers disagree: it was computed again over an edited report
    if (doc["score"], doc["total"], doc["passed"]) != (report.score, report.total, report.passed) or any(
            r.points != (r.max_points if r.status is Status.PASS else 0) for r in report.results):
        return "scores do not add up"
    return ""


def read(path: Path) -> HandedIn:
    """One handed-in report; GradebookError when it cannot be read or is no report."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _not_a_report(path, "not UTF-8 text") from None
    except OSError as e:
        raise GradebookError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise _not_a_report(path, f"not JSON: {getattr(e, 'msg', e)} at line {getattr(e, 'lineno', '?')}") from None
    report = _parse(path, doc)
    return HandedIn(student_of(path), path, report, problem(doc[0] if isinstance(doc, list) else doc, report))


def merge(paths: Sequence[Path]) -> list[HandedIn]:
    """The handed-in reports of one lab, one per student, sorted by student."""
    if not paths:
        raise GradebookError("no reports given: lab class gradebook alice.json bob.json ...")
    out: list[HandedIn] = []
    for path in paths:
        h = read(path)
        if out:
            first = out[0]
            if h.report.lab != first.report.lab:
                raise GradebookError(f"{path}: a report of lab {h.report.lab}, but {first.path} is of lab "
                                     f"{first.report.lab}; one gradebook per lab")
            ids, first_ids = [r.id for r in h.report.results], [r.id for r in first.report.results]
            if ids != first_ids:
                raise GradebookError(f"{path}: checks {', '.join(ids) or '(none)'} differ from {first.path}'s "
                                     f"({', '.join(first_ids) or 'none'}); grade both with the same version of lab")
        twin = next((o for o in out if o.student == h.student), None)
        if twin is not None:
            raise GradebookError(f"{path} and {twin.path}: both are student {h.student!r} (the file name names the "
                                 "student); keep one, or rename the files")
        out.append(h)
    return sorted(out, key=lambda h: h.student)
