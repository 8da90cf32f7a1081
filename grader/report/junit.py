"""JUnit XML reporter (for CI dashboards), built with the stdlib ElementTree only."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from grader.model import CheckResult, LabReport, Status

# Characters that XML 1.0 forbids even when escaped (C0 controls except TAB/LF/CR,
# lone surrogates, U+FFFE/U+FFFF). Cluster output can carry e.g. ANSI escapes.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    """Drop characters that cannot appear in an XML 1.0 document."""
    return _INVALID_XML.sub("", text)


# The child element JUnit uses for each status (None: a pass has none). Every Status has an
# entry (a unit test says so).
TAGS: dict[Status, str | None] = {Status.PASS: None, Status.FAIL: "failure", Status.ERROR: "error",
                                  Status.SKIP: "skipped"}


def _outcome_element(result: CheckResult) -> ET.Element | None:
    """The child element JUnit uses for *result*'s status (None for a pass)."""
    tag = TAGS[result.status]
    if tag is None:
        return None
    el = ET.Element(tag, message=_clean(result.reason))
    if result.hint:
        el.text = _clean(result.hint)
    return el


def _testcase(report: LabReport, result: CheckResult) -> ET.Element:
    case = ET.Element("testcase", classname=_clean(report.lab), name=_clean(result.id))
    case.set("time", "0")
    child = _outcome_element(result)
    if child is not None:
        case.append(child)
    return case


def _summary(reports: Sequence[LabReport]) -> dict[str, str]:
    results = [r for report in reports for r in report.results]
    return {
        "tests": str(len(results)),
        "failures": str(sum(r.status is Status.FAIL for r in results)),
        "errors": str(sum(r.status is Status.ERROR for r in results)),
        "skipped": str(sum(r.status is Status.SKIP for r in results)),
        "time": f"{max((r.duration_s for r in reports), default=0.0):.3f}",
    }


INTACT_CASE = "report-intact"  # the testcase a handed-in report's integrity adds (lab class gradebook)


def to_junit(reports: LabReport | Sequence[LabReport], *, students: Sequence[str] | None = None,
             problems: Sequence[str] | None = None) -> str:
    """Render reports as one JUnit XML document: a testsuite per report (its namespace in the
    suite's name when there are several), a testcase per check.

    With `students` (reports handed in as files), each suite is named for its student and
    `problems` (one per report, '' when intact) adds a testcase `report-intact` to each
    suite, failed when the report was edited after grading (and the suite not passed)."""
    many = [reports] if isinstance(reports, LabReport) else list(reports)
    lab = many[0].lab if many else ""
    flagged = list(problems) if problems is not None else None
    summary = _summary(many)
    if flagged is not None:
        summary["tests"] = str(int(summary["tests"]) + len(many))
        summary["failures"] = str(int(summary["failures"]) + sum(bool(p) for p in flagged))
    root = ET.Element("testsuites", name=_clean(f"lab:{lab}"), **summary)
    for i, report in enumerate(many):
        who = students[i] if students is not None else report.namespace
        name = f"lab:{report.lab}" + (f":{who}" if len(many) > 1 or students is not None else "")
        problem = flagged[i] if flagged is not None else ""
        suite_summary = _summary([report])
        if flagged is not None:
            suite_summary["tests"] = str(int(suite_summary["tests"]) + 1)
            suite_summary["failures"] = str(int(suite_summary["failures"]) + bool(problem))
        suite = ET.SubElement(root, "testsuite", name=_clean(name), **suite_summary)
        props = ET.SubElement(suite, "properties")
        for key, value in (
            *((("student", who),) if students is not None else ()),
            ("title", report.title),
            ("flavour", report.flavour),
            ("score", str(report.score)),
            ("total", str(report.total)),
            ("pass_mark", str(report.pass_mark)),
            ("passed", str(report.passed and not problem).lower()),
            *((("report", "edited" if problem else "intact"),) if flagged is not None else ()),
        ):
            ET.SubElement(props, "property", name=key, value=_clean(value))
        for r in report.results:
            suite.append(_testcase(report, r))
        if flagged is not None:
            case = ET.SubElement(suite, "testcase", classname=_clean(report.lab), name=INTACT_CASE, time="0")
            if problem:
                ET.SubElement(case, "failure", message=_clean(f"edited after grading: {problem}"))
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
