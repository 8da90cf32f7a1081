"""JSON reporter: the stable machine-readable contract for a graded lab (documented field by
field in the README, "Machine-readable output"; a test keeps the two in step).

Shape (keys in this order)::

    {"lab", "title", "flavour", "namespace", "score", "total", "pass_mark", "passed",
     "duration_s", "checks": [{"id", "description", "status", "points",
     "max_points", "reason", "hint"}]}

``status`` is one of ``"pass" | "fail" | "error" | "skip"``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from grader.model import LabReport


def to_json(report: LabReport | Sequence[LabReport]) -> str:
    """One report as a pretty-printed object, several as a list; terminated by a newline."""
    data = report.to_dict() if isinstance(report, LabReport) else [r.to_dict() for r in report]
    return json.dumps(data, indent=2) + "\n"


def to_json_lines(reports: Sequence[LabReport]) -> str:
    """One compact JSON object per report, one per line (a stream a reader can follow)."""
    return "".join(json.dumps(r.to_dict(), separators=(",", ":")) + "\n" for r in reports)
