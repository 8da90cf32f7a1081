"""JSON reporter: the stable machine-readable contract for a graded lab (documented field by
field in the README, "Machine-readable output"; a test keeps the two in step).

Shape (keys in this order)::

    {"lab", "title", "flavour", "namespace", "score", "total", "pass_mark", "passed",
     "duration_s", "requests", "checks": [{"id", "description", "status", "points",
     "max_points", "reason", "hint"}], "checksum"}

``status`` is one of ``"pass" | "fail" | "error" | "skip"``. ``checksum`` is grader.seal's
SHA-256 over the rest: `lab class gradebook` flags a report edited after grading.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from grader import seal
from grader.model import LabReport


def sealed(report: LabReport) -> dict:
    """The report's contract object with its checksum last."""
    return seal.sealed(report.to_dict(), seal.REPORT)


def to_json(report: LabReport | Sequence[LabReport]) -> str:
    """One report as a pretty-printed object, several as a list; terminated by a newline."""
    data = sealed(report) if isinstance(report, LabReport) else [sealed(r) for r in report]
    return json.dumps(data, indent=2) + "\n"


def to_json_lines(reports: Sequence[LabReport]) -> str:
    """One compact JSON object per report, one per line (a stream a reader can follow)."""
    return "".join(json.dumps(sealed(r), separators=(",", ":")) + "\n" for r in reports)
