"""The class gradebook's formats, from reports built by hand (no cluster)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from grader.model import CheckResult, LabReport, Status
from grader.report import render_class
from grader.report.classbook import COLOURS, pass_rates


def _report(ns: str, statuses: list[Status]) -> LabReport:
    results = tuple(CheckResult(id=f"c{i}", description=f"check {i}", status=st, points=10 if st is Status.PASS else 0,
                                max_points=10, reason=f"{ns} reason {i} <&>", hint="")
                    for i, st in enumerate(statuses))
    return LabReport(lab="canary", title="Canary", pass_mark=20, results=results, flavour="ossm2", namespace=ns)


ROWS = [("alice", _report("alice-webapp", [Status.PASS, Status.PASS])),
        ("bob", _report("bob-webapp", [Status.PASS, Status.FAIL])),
        ("carol", _report("carol-webapp", [Status.ERROR, Status.SKIP]))]


def test_pass_rates():
    assert pass_rates(ROWS) == {"c0": pytest.approx(2 / 3), "c1": pytest.approx(1 / 3)}


def test_csv_one_row_per_student():
    rows = list(csv.DictReader(io.StringIO(render_class(ROWS, "csv"))))
    assert [(r["student"], r["score"], r["passed"]) for r in rows] == [
        ("alice", "20", "true"), ("bob", "10", "false"), ("carol", "0", "false")]
    assert rows[1]["c1 (status)"] == "fail" and rows[2]["c0 (status)"] == "error"


def test_json_names_the_student():
    data = json.loads(render_class(ROWS, "json"))
    assert [(d["student"], d["namespace"], d["passed"]) for d in data] == [
        ("alice", "alice-webapp", True), ("bob", "bob-webapp", False), ("carol", "carol-webapp", False)]


def test_junit_a_suite_per_student():
    root = ET.fromstring(render_class(ROWS, "junit"))
    assert [s.get("name") for s in root.iter("testsuite")] == [
        "lab:canary:alice-webapp", "lab:canary:bob-webapp", "lab:canary:carol-webapp"]


def test_table_has_a_pass_rate_row():
    lines = render_class(ROWS, "table").splitlines()
    assert lines[0].split() == ["student", "c0", "c1", "score", "passed"]
    assert lines[-1].split() == ["pass", "rate", "67%", "33%", "1/3"]


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "td" and a.get("class") in {s.value for s in Status}:
            self.cells.append(a)


def test_html_heat_map_is_self_contained():
    text = render_class(ROWS, "html")
    p = _Cells()
    p.feed(text)
    assert [c["class"] for c in p.cells] == ["pass", "pass", "pass", "fail", "error", "skip"]
    assert p.cells[3]["title"] == "bob-webapp reason 1 <&>"  # the reason on hover, unescaped by the parser
    assert not p.tags & {"script", "link", "img"} and "http" not in text.split("<body>")[0]
    for status, colour in COLOURS.items():
        assert f"td.{status.value}{{background:{colour}" in text
    assert "1 of 3 students passed" in text


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown class report format"):
        render_class(ROWS, "pdf")


def test_html_live_board_reloads_itself():
    assert "http-equiv='refresh' content='5'" in render_class(ROWS, "html", refresh=5)
    assert "refresh" not in render_class(ROWS, "html")
