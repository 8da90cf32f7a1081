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


def to_junit(reports: LabReport | Sequence[LabReport]) -> str:
    """Render reports as one JUnit XML document: a testsuite per report (its namespace in the
    suite's name when there are several), a testcase per check."""
    many = [reports] if isinstance(reports, LabReport) else list(reports)
    lab = many[0].lab if many else ""
    root = ET.Element("testsuites", name=_clean(f"lab:{lab}"), **_summary(many))
    for report in many:
        name = f"lab:{report.lab}" + (f":{report.namespace}" if len(many) > 1 else "")
        suite = ET.SubElement(root, "testsuite", name=_clean(name), **_summary([report]))
        props = ET.SubElement(suite, "properties")
        for key, value in (
            ("title", report.title),
            ("flavour", report.flavour),
            ("score", str(report.score)),
            ("total", str(report.total)),
            ("pass_mark", str(report.pass_mark)),
            ("passed", str(report.passed).lower()),
        ):
            ET.SubElement(props, "property", name=key, value=_clean(value))
        for r in report.results:
            suite.append(_testcase(report, r))
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
