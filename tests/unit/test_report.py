"""Tests for grader.report: JSON / JUnit / console reporters.

Golden files live in tests/golden/. Regenerate them after an intended output change with::

    UPDATE_GOLDEN=1 python -m pytest tests/unit/test_report.py -q
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import get_args

import pytest

from grader.model import CheckResult, LabReport, Status
from grader.report import FORMATS, Format, render
from grader.report.console import LABELS, print_report, render_text
from grader.report.json import to_json
from grader.report.junit import TAGS, to_junit

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
REPO = Path(__file__).resolve().parents[2]


def _result(id: str, status: Status, points: int, max_points: int, reason: str = "", hint: str = "") -> CheckResult:
    return CheckResult(
        id=id,
        description=f"description of {id}",
        status=status,
        points=points,
        max_points=max_points,
        reason=reason,
        hint=hint,
    )


def sample_report() -> LabReport:
    """One check of each status; the failure carries quotes, <, & and unicode."""
    return LabReport(
        lab="traffic-shifting",
        title="Weighted routing with a VirtualService",
        pass_mark=8,
        flavour="ossm3",
        duration_s=2.34567,
        notes=("snapshot taken from namespace bookinfo",),
        results=(
            _result(
                "gateway-exists",
                Status.PASS,
                5,
                5,
                "Gateway bookinfo/bookinfo-gateway selects istio=ingressgateway",
            ),
            _result(
                "vs-weights",
                Status.FAIL,
                0,
                3,
                'VirtualService bookinfo/reviews: spec.http[0].route weights are "50/50" <expected 80/20> & v3 missing — ünïcødé ✓',
                "set route[0].weight: 80 and route[1].weight: 20",
            ),
            _result(
                "dr-subsets",
                Status.ERROR,
                0,
                1,
                "could not read DestinationRule bookinfo/reviews: forbidden",
                "grant the grader 'get' on destinationrules.networking.istio.io",
            ),
            _result(
                "mtls-strict",
                Status.SKIP,
                0,
                1,
                "PeerAuthentication CRD not served by this cluster",
                "install the mesh control plane first",
            ),
        ),
    )


def passing_report() -> LabReport:
    return LabReport(
        lab="hello-mesh",
        title="Sidecar injection",
        pass_mark=2,
        results=(_result("injected", Status.PASS, 2, 2, "Pod productpage-v1 has istio-proxy"),),
    )


def assert_golden(name: str, actual: str) -> None:
    """Compare *actual* with tests/golden/<name>; write it instead when UPDATE_GOLDEN=1."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(actual)
    if not path.exists():
        pytest.fail(f"missing golden file {path}; run with UPDATE_GOLDEN=1 to create it")
    with path.open(encoding="utf-8", newline="") as fh:
        expected = fh.read()
    assert actual == expected, f"{name} differs from golden; run with UPDATE_GOLDEN=1 if intended"


# --- goldens -----------------------------------------------------------------


def test_json_golden() -> None:
    assert_golden("report.json", to_json(sample_report()))


def test_junit_golden() -> None:
    assert_golden("report.xml", to_junit(sample_report()))


def test_console_golden() -> None:
    assert_golden("console.txt", render_text(sample_report(), width=100, color=False))


# --- render / FORMATS ---------------------------------------------------------


def test_formats_are_exhaustive() -> None:
    assert FORMATS == ("table", "json", "junit", "jsonl")
    assert set(FORMATS) == set(get_args(Format))


def test_every_status_has_a_label_and_a_junit_tag() -> None:
    assert set(LABELS) == set(Status) and set(TAGS) == set(Status)


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_every_format(fmt: str) -> None:
    out = render(sample_report(), fmt)
    assert out.endswith("\n")
    assert render([sample_report()], fmt) == out  # one report alone or in a list: the same text


def test_render_dispatch() -> None:
    report = sample_report()
    assert render(report, "json") == to_json(report)
    assert render(report, "junit") == to_junit(report)
    assert render(report, "table") == render_text(report)


@pytest.mark.parametrize("fmt", ["yaml", "", "JSON", "xml"])
def test_render_unknown_format(fmt: str) -> None:
    with pytest.raises(ValueError, match="unknown report format"):
        render(sample_report(), fmt)


def _in(namespace: str) -> LabReport:
    return LabReport(lab="l", title="t", pass_mark=1, namespace=namespace,
                     results=(_result("c", Status.PASS, 1, 1, f"ok in {namespace}"),))


def test_render_many_reports() -> None:
    """One door for several namespaces: json a list, jsonl a line each, junit one document with a
    suite per namespace, table one after the other."""
    reports = [_in("s1"), _in("s2")]
    data = json.loads(render(reports, "json"))
    assert [d["namespace"] for d in data] == ["s1", "s2"]
    lines = render(reports, "jsonl").splitlines()
    assert [json.loads(line)["namespace"] for line in lines] == ["s1", "s2"]
    assert all("\n" not in line and ": " not in line for line in lines)  # compact, one per line
    root = ET.fromstring(render(reports, "junit"))
    assert [s.get("name") for s in root.findall("testsuite")] == ["lab:l:s1", "lab:l:s2"]
    assert root.get("tests") == "2"
    table = render(reports, "table")
    assert table.index("ok in s1") < table.index("ok in s2")


def test_render_table_for_an_ascii_terminal() -> None:
    text = render(passing_report(), "table", encoding="ascii")
    assert text.splitlines()[-1] == "Score: 2/2 (pass mark 2) - PASSED"
    text.encode("ascii")


def test_import_does_not_load_rich() -> None:
    code = (
        "import sys, grader.report, grader.report.json, grader.report.junit; "
        "sys.exit(any(m == 'rich' or m.startswith('rich.') for m in sys.modules))"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


# --- JSON ----------------------------------------------------------------------


def test_json_round_trip() -> None:
    report = sample_report()
    data = json.loads(to_json(report))
    assert list(data) == ["lab", "title", "flavour", "namespace", "score", "total", "pass_mark", "passed", "duration_s",
                          "requests", "checks", "checksum"]
    assert data["lab"] == "traffic-shifting"
    assert data["flavour"] == "ossm3"
    assert data["duration_s"] == 2.346
    checks = data["checks"]
    assert [c["status"] for c in checks] == ["pass", "fail", "error", "skip"]
    for c in checks:
        assert list(c) == ["id", "description", "status", "points", "max_points", "reason", "hint"]
    assert data["score"] == sum(c["points"] for c in checks) == 5
    assert data["total"] == sum(c["max_points"] for c in checks) == 10
    assert data["passed"] is (data["score"] >= data["pass_mark"]) is False
    assert checks[1]["reason"] == report.results[1].reason  # unicode/quotes survive


def test_json_passing_report() -> None:
    data = json.loads(to_json(passing_report()))
    assert data["passed"] is True
    assert data["score"] == data["total"] == 2


def test_json_empty_report() -> None:
    data = json.loads(to_json(LabReport(lab="x", title="", pass_mark=0, results=())))
    assert data["checks"] == [] and data["score"] == data["total"] == 0 and data["passed"] is True


# --- JUnit ---------------------------------------------------------------------


def test_junit_structure() -> None:
    report = sample_report()
    root = ET.fromstring(to_junit(report))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    for el in (root, suite):
        assert el.get("name") == "lab:traffic-shifting"
        assert el.get("tests") == "4"
        assert el.get("failures") == "1"
        assert el.get("errors") == "1"
        assert el.get("skipped") == "1"
        assert el.get("time") == "2.346"
    props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert props["score"] == "5"
    assert props["total"] == "10"
    assert props["pass_mark"] == "8"

    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r.id for r in report.results]
    assert {c.get("classname") for c in cases} == {"traffic-shifting"}
    passed, failed, errored, skipped = cases
    assert list(passed) == []
    (failure,) = list(failed)
    assert failure.tag == "failure"
    assert failure.get("message") == report.results[1].reason
    assert failure.text == report.results[1].hint
    (error,) = list(errored)
    assert error.tag == "error" and error.get("message") == report.results[2].reason
    (skip,) = list(skipped)
    assert skip.tag == "skipped" and skip.get("message") == report.results[3].reason


@pytest.mark.parametrize("status", list(Status))
def test_junit_handles_every_status(status: Status) -> None:
    report = LabReport(lab="l", title="t", pass_mark=0, results=(_result("c", status, 0, 1, "why", "how"),))
    case = ET.fromstring(to_junit(report)).find("testsuite/testcase")
    assert case is not None
    expected = {Status.PASS: [], Status.FAIL: ["failure"], Status.ERROR: ["error"], Status.SKIP: ["skipped"]}
    assert [c.tag for c in case] == expected[status]


def test_junit_escapes_special_characters() -> None:
    nasty = "a \"quoted\" 'value' <b>bold</b> & more\nline2 ünïcødé ✓ 🚀"
    report = LabReport(
        lab='lab<&>"',
        title=nasty,
        pass_mark=1,
        results=(_result('id"<&>', Status.FAIL, 0, 1, nasty, nasty),),
    )
    xml = to_junit(report)
    assert "<b>" not in xml
    assert "&lt;b&gt;" in xml and "&amp; more" in xml and "&quot;quoted&quot;" in xml
    root = ET.fromstring(xml)  # well-formed
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == 'lab:lab<&>"'
    case = suite.find("testcase")
    assert case is not None
    assert case.get("name") == 'id"<&>' and case.get("classname") == 'lab<&>"'
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == nasty  # newline in attribute preserved as &#10;
    assert failure.text == nasty
    props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert props["title"] == nasty


def test_junit_drops_xml_illegal_control_characters() -> None:
    reason = "kubectl said \x1b[31mred\x1b[0m\x00 done\ttab"
    report = LabReport(lab="l", title="t", pass_mark=1, results=(_result("c", Status.ERROR, 0, 1, reason, "\x07bell"),))
    error = ET.fromstring(to_junit(report)).find("testsuite/testcase/error")
    assert error is not None
    assert error.get("message") == "kubectl said [31mred[0m done\ttab"
    assert error.text == "bell"


# --- console -------------------------------------------------------------------


def test_console_content() -> None:
    text = render_text(sample_report())
    lines = text.splitlines()
    assert lines[-1] == "Score: 5/10 (pass mark 8) — NOT PASSED"
    for label in ("PASS", "FAIL", "ERROR", "SKIP"):
        assert label in text
    assert "5/5" in text and "0/3" in text
    assert "hint: set route[0].weight: 80" in text
    assert "note: snapshot taken from namespace bookinfo" in text
    assert "\x1b" not in text
    assert all(len(line) <= 100 for line in lines)


def test_console_passed_line() -> None:
    assert render_text(passing_report()).splitlines()[-1] == "Score: 2/2 (pass mark 2) — PASSED"


def test_console_hint_only_for_non_pass() -> None:
    report = LabReport(
        lab="l",
        title="t",
        pass_mark=0,
        results=(_result("ok", Status.PASS, 1, 1, "fine", "should not show"),),
    )
    assert "should not show" not in render_text(report)


@pytest.mark.parametrize("status", list(Status))
def test_console_handles_every_status(status: Status) -> None:
    report = LabReport(lab="l", title="t", pass_mark=0, results=(_result("c", status, 0, 1, "why"),))
    assert status.name in render_text(report)


def test_console_does_not_interpret_markup() -> None:
    report = LabReport(
        lab="l",
        title="t",
        pass_mark=1,
        results=(_result("[bold]id", Status.FAIL, 0, 1, "spec.hosts[0] is [red]wrong[/red]", "use [link]"),),
    )
    text = render_text(report)
    assert "[bold]id" in text
    assert "spec.hosts[0] is [red]wrong[/red]" in text
    assert "hint: use [link]" in text


def test_console_color() -> None:
    text = render_text(sample_report(), color=True)
    assert "\x1b[" in text
    plain = render_text(sample_report(), color=False)
    assert "\x1b[" not in plain


def test_print_report_ascii_console_uses_hyphen() -> None:
    from rich.console import Console

    class AsciiIO(io.StringIO):
        encoding = "ascii"

    buf = AsciiIO()
    print_report(passing_report(), Console(file=buf, width=80, color_system=None, _environ={}))
    last = buf.getvalue().rstrip("\n").splitlines()[-1].rstrip()
    assert last == "Score: 2/2 (pass mark 2) - PASSED"
    buf.getvalue().encode("ascii")  # safe for an ASCII terminal


def test_console_empty_report() -> None:
    text = render_text(LabReport(lab="x", title="", pass_mark=0, results=()))
    assert text.splitlines()[-1] == "Score: 0/0 (pass mark 0) — PASSED"


# --- the README's contract -------------------------------------------------------------


def _readme_fields(heading: str) -> list[str]:
    """The `field` column of the README table whose header row starts with *heading*."""
    text = (REPO / "README.md").read_text()
    start = text.index(f"| {heading} | meaning |")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1].strip().strip("`"))
    return rows


def test_json_contract_is_the_readme_s() -> None:
    """Every field the JSON carries is documented in the README, in order, and nothing more."""
    data = json.loads(render(sample_report(), "json"))
    assert list(data) == _readme_fields("field")
    assert list(data["checks"][0]) == _readme_fields("check field")
