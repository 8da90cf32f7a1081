"""JSON reporter: the stable machine-readable contract for a graded lab.

Shape (keys in this order)::

    {"lab", "title", "flavour", "score", "total", "pass_mark", "passed",
     "duration_s", "checks": [{"id", "description", "status", "points",
     "max_points", "reason", "hint"}]}

``status`` is one of ``"pass" | "fail" | "error" | "skip"``.
"""

from __future__ import annotations

import json

from grader.model import LabReport


def to_json(report: LabReport) -> str:
    """Serialise *report* as pretty-printed JSON, terminated by a newline."""
    return json.dumps(report.to_dict(), indent=2) + "\n"
