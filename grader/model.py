"""Result model shared by the engine, the checks and the reporters (no I/O here)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the check itself crashed or its input could not be read
    SKIP = "skip"  # a prerequisite is missing; the check awards nothing


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: pass/fail with a reason naming object and field."""

    status: Status
    reason: str = ""
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.status is Status.PASS


def passed(reason: str = "") -> Outcome:
    return Outcome(Status.PASS, reason)


def failed(reason: str, hint: str = "") -> Outcome:
    return Outcome(Status.FAIL, reason, hint)


def skipped(reason: str, hint: str = "") -> Outcome:
    return Outcome(Status.SKIP, reason, hint)


@dataclass(frozen=True)
class CheckResult:
    id: str
    description: str
    status: Status
    points: int
    max_points: int
    reason: str
    hint: str

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "description": self.description,
            "status": self.status.value,
            "points": self.points,
            "max_points": self.max_points,
            "reason": self.reason,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class LabReport:
    lab: str
    title: str
    pass_mark: int
    results: tuple[CheckResult, ...]
    flavour: str = ""
    duration_s: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    namespace: str = ""
    requests: int = 0  # HTTP requests sent to judge the traffic checks (grader.probe)

    @property
    def score(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def total(self) -> int:
        return sum(r.max_points for r in self.results)

    @property
    def passed(self) -> bool:
        return self.score >= self.pass_mark

    def to_dict(self) -> dict:
        return {
            "lab": self.lab,
            "title": self.title,
            "flavour": self.flavour,
            "namespace": self.namespace,
            "score": self.score,
            "total": self.total,
            "pass_mark": self.pass_mark,
            "passed": self.passed,
            "duration_s": round(self.duration_s, 3),
            "requests": self.requests,
            "checks": [r.to_dict() for r in self.results],
        }
