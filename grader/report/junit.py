"""JUnit XML reporter (for CI dashboards), built with the stdlib ElementTree only."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import assert_never

from grader.model import CheckResult, LabReport, Status

# Characters that XML 1.0 forbids even when escaped (C0 controls except TAB/LF/CR,
# lone surrogates, U+FFFE/U+FFFF). Cluster output can carry e.g. ANSI escapes.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    """Drop characters that cannot appear in an XML 1.0 document."""
    return _INVALID_XML.sub("", text)


def _outcome_element(result: CheckResult) -> ET.Element | None:
    """The child element JUnit uses for *result*'s status (None for a pass)."""
    match result.status:
        case Status.PASS:
            return None
        case Status.FAIL:
            tag = "failure"
        case Status.ERROR:
            tag = "error"
        case Status.SKIP:
            tag = "skipped"
        case _:
            assert_never(result.status)
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


def to_junit(report: LabReport) -> str:
    """Render *report* as a JUnit XML document (one testcase per check)."""
    counts = dict.fromkeys(Status, 0)
    for r in report.results:
        counts[r.status] += 1
    summary = {
        "tests": str(len(report.results)),
        "failures": str(counts[Status.FAIL]),
        "errors": str(counts[Status.ERROR]),
        "skipped": str(counts[Status.SKIP]),
        "time": f"{report.duration_s:.3f}",
    }
    root = ET.Element("testsuites", name=_clean(f"lab:{report.lab}"), **summary)
    suite = ET.SubElement(root, "testsuite", name=_clean(f"lab:{report.lab}"), **summary)
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("title", report.title),
        ("flavour", report.flavour),
        ("score", str(report.score)),
        ("total", str(report.total)),
        ("pass_mark", str(report.pass_mark)),
        ("passed", str(report.passed).lower()),
    ):
        ET.SubElement(props, "property", name=name, value=_clean(value))
    for r in report.results:
        suite.append(_testcase(report, r))
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
