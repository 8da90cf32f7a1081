"""The checksum `lab` writes into a JSON document it hands out (a lab report from `lab grade
-o json`, an exam's result from `lab exam grade -o json`) and checks when the document comes
back (`lab class gradebook`, `lab exam verify`).

A SHA-256 over the document without its checksum, in a canonical form (sorted keys, no
spaces), prefixed with the kind of document so a report's checksum never verifies an exam
result. Not a signature: whoever has `lab` can compute it again; it catches a score edited by
hand, not a forger who reads this function. There is no secret to sign with: the grade is
taken on the student's own machine, so any key `lab` used there would be the student's too.
"""

from __future__ import annotations

import hashlib
import json

FIELD = "checksum"
REPORT = "lab-report-v1"  # a lab report (grader.report.json)
EXAM = "lab-exam-v1"  # an exam's result (grader.exam)


def checksum(doc: dict, kind: str) -> str:
    """SHA-256 (hex) over `doc` without its checksum field."""
    body = {k: v for k, v in doc.items() if k != FIELD}
    return hashlib.sha256((kind + json.dumps(body, sort_keys=True, separators=(",", ":"))).encode()).hexdigest()


def sealed(doc: dict, kind: str) -> dict:
    """`doc` with its checksum as the last field."""
    return {**{k: v for k, v in doc.items() if k != FIELD}, FIELD: checksum(doc, kind)}


def problem(doc: object, kind: str) -> str:
    """'' when `doc` carries the checksum `sealed` gave it; else what is wrong, in a few words
    ("no checksum", "checksum does not match")."""
    if not isinstance(doc, dict) or FIELD not in doc:
        return "no checksum"
    if doc[FIELD] != checksum(doc, kind):
        return "checksum does not match"
    return ""
