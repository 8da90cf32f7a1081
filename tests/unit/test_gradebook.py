"""`lab class gradebook`: reports handed in as files, merged into the class's gradebook. The
reports are real ones: `lab grade canary -f ...` (offline grading of the YAML fixtures) as
`-o json` writes them."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader import grading, seal
from grader.gradebook import GradebookError, merge, student_of
from grader.labs import load
from grader.report import render, render_class

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"
SOLVED = [FIXTURES / "cluster", FIXTURES / "webapp"]
WRONG_SPLIT = [*SOLVED, FIXTURES / "variants" / "vs-weights-70-30.yaml"]


def _report_json(lab: str = "canary", files: list[Path] = SOLVED) -> dict:
    """What `lab grade LAB -f FILES -o json` prints, parsed."""
    graded = grading.grade_files(load(lab), files)
    return json.loads(render(graded.reports, "json"))


@pytest.fixture(scope="module")
def solved() -> dict:
    return _report_json()


@pytest.fixture(scope="module")
def wrong() -> dict:
    return _report_json(files=WRONG_SPLIT)


def _hand_in(folder: Path, name: str, doc: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(doc, indent=2) if not isinstance(doc, str) else doc)
    return path


def _class(tmp_path: Path, solved: dict, wrong: dict, **edited: dict) -> list[Path]:
    docs = {"alice.json": solved, "bob.json": wrong, **{f"{k}.json": v for k, v in edited.items()}}
    return [_hand_in(tmp_path, name, doc) for name, doc in docs.items()]


def _edited_score(doc: dict) -> dict:
    d = json.loads(json.dumps(doc))
    d["score"] = d["total"]
    d["passed"] = True
    return d


def test_a_report_carries_the_checksum_lab_grade_wrote(solved):
    assert list(solved)[-1] == "checksum" and seal.problem(solved, seal.REPORT) == ""
    graded = grading.grade_files(load("canary"), SOLVED)
    line = json.loads(render(graded.reports, "jsonl"))  # grade --watch -o json: the same sealed object
    assert seal.problem(line, seal.REPORT) == ""
    assert seal.problem(line, seal.EXAM) == "checksum does not match", "a report's checksum never verifies an exam"


def test_intact_reports_merge_one_row_per_student(tmp_path, solved, wrong):
    handed = merge(list(reversed(_class(tmp_path, solved, wrong))))
    assert [(h.student, h.report.score, h.report.passed, h.problem) for h in handed] == [
        ("alice", 100, True, ""), ("bob", 75, False, "")]
    assert [r.status.value for r in handed[1].report.results] == [c["status"] for c in wrong["checks"]]


@pytest.mark.parametrize("edit, why", [
    (_edited_score, "checksum does not match"),
    (lambda d: {k: v for k, v in d.items() if k != "checksum"}, "no checksum"),
    # a forger who recomputes the checksum but not the score behind it
    (lambda d: seal.sealed(_edited_score(d), seal.REPORT), "scores do not add up"),
])
def test_edits_are_flagged(tmp_path, solved, wrong, edit, why):
    handed = merge(_class(tmp_path, solved, wrong, carol=edit(wrong)))
    carol = handed[-1]
    assert (carol.student, carol.problem) == ("carol", why)
    assert carol.report.score == 75, "scores are recomputed from the file's checks"


def test_a_checksum_is_not_a_signature(tmp_path, wrong):
    """Documented limit: whoever recomputes every number and the checksum goes undetected."""
    d = json.loads(json.dumps(wrong))
    for c in d["checks"]:
        if c["status"] == "fail":
            c["status"], c["points"] = "pass", c["max_points"]
    d["score"], d["passed"] = d["total"], True
    (h,) = merge([_hand_in(tmp_path, "mallory.json", seal.sealed(d, seal.REPORT))])
    assert h.problem == "" and h.report.passed


def test_every_format_flags_an_edited_report(tmp_path, solved, wrong):
    carol_doc = json.loads(json.dumps(solved))
    carol_doc["checks"][0]["reason"] = "edited"  # a report that would pass: flagged, not counted
    handed = merge(_class(tmp_path, solved, wrong, carol=carol_doc))
    rows, flags = [(h.student, h.report) for h in handed], {h.student: h.problem for h in handed}
    assert flags == {"alice": "", "bob": "", "carol": "checksum does not match"}

    table = render_class(rows, "table", flags=flags).splitlines()
    assert table[0].split()[-3:] == ["score", "passed", "report"]
    assert [line.split()[-2:] for line in table[1:4]] == [["yes", "intact"], ["no", "intact"], ["no", "EDITED"]]
    assert table[-1].split()[-1] == "1/3"

    got = list(csv.DictReader(io.StringIO(render_class(rows, "csv", flags=flags))))
    assert [(r["student"], r["score"], r["passed"], r["report"], r["report_problem"]) for r in got] == [
        ("alice", "100", "true", "intact", ""), ("bob", "75", "false", "intact", ""),
        ("carol", "100", "false", "edited", "checksum does not match")]

    data = json.loads(render_class(rows, "json", flags=flags))
    assert [(d["student"], d["report"], d["passed"]) for d in data] == [
        ("alice", "intact", True), ("bob", "intact", False), ("carol", "edited", False)]

    root = ET.fromstring(render_class(rows, "junit", flags=flags))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["lab:canary:alice", "lab:canary:bob", "lab:canary:carol"]
    carol = suites["lab:canary:carol"]
    case = next(c for c in carol.iter("testcase") if c.get("name") == "report-intact")
    assert case.find("failure").get("message") == "edited after grading: checksum does not match"
    props = {p.get("name"): p.get("value") for p in carol.iter("property")}
    assert (props["student"], props["passed"], props["report"]) == ("carol", "false", "edited")
    assert next(c for c in suites["lab:canary:alice"].iter("testcase") if c.get("name") == "report-intact").find(
        "failure") is None
    assert root.get("failures") == str(1 + 1)  # bob's split, carol's report

    page = render_class(rows, "html", flags=flags)
    assert "<td class='edited' title='edited after grading: checksum does not match'>edited</td>" in page
    assert page.count("<td class='intact'") == 2
    assert "1 report was edited after grading" in page and "1 of 3 students passed" in page


def test_without_flags_the_class_grade_formats_are_unchanged():
    """lab class grade passes no flags: no report column."""
    graded = grading.grade_files(load("canary"), SOLVED).reports[0]
    table = render_class([("alice", graded)], "table")
    assert "report" not in table.splitlines()[0].split()
    assert "report" not in json.loads(render_class([("alice", graded)], "json"))[0]


def test_the_file_name_names_the_student():
    assert student_of(Path("x/alice.json")) == "alice"
    assert student_of(Path("bob.canary.JSON")) == "bob.canary"
    assert student_of(Path("carol")) == "carol"


def test_a_one_report_list_is_a_report(tmp_path, solved):
    (h,) = merge([_hand_in(tmp_path, "alice.json", [solved])])
    assert h.problem == "" and h.report.score == 100


@pytest.mark.parametrize("content, message", [
    ("not json at all", "alice.json: not a lab report (not JSON: Expecting value at line 1)"),
    ("[1, 2]", "alice.json: holds 2 reports (lab grade -n ...)"),
    ("[\"x\"]", "alice.json: not a lab report (a JSON str, not an object)"),
    ("{\"lab\": 3}", "alice.json: not a lab report ('lab' is int)"),
    ("{\"lab\": \"canary\"}", "alice.json: not a lab report (no 'title')"),
])
def test_files_that_are_no_report(tmp_path, content, message):
    with pytest.raises(GradebookError) as e:
        merge([_hand_in(tmp_path, "alice.json", content)])
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_check_that_is_no_check(tmp_path, solved):
    d = json.loads(json.dumps(solved))
    d["checks"][1]["status"] = "great"
    with pytest.raises(GradebookError, match=r"checks\[1\] has status 'great'"):
        merge([_hand_in(tmp_path, "alice.json", d)])
    d["checks"][1] = "pass"
    with pytest.raises(GradebookError, match=r"checks\[1\] is not an object"):
        merge([_hand_in(tmp_path, "alice.json", d)])


def test_unreadable_files(tmp_path):
    with pytest.raises(GradebookError, match="nope.json: cannot read it"):
        merge([tmp_path / "nope.json"])
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(GradebookError, match="bin.json: not a lab report \\(not UTF-8 text\\)"):
        merge([tmp_path / "bin.json"])


def test_mixed_labs_and_twins_are_refused(tmp_path, solved):
    mtls = _report_json("mtls")
    a = _hand_in(tmp_path, "alice.json", solved)
    with pytest.raises(GradebookError, match="eve.json: a report of lab mtls, but .*alice.json is of lab canary"):
        merge([a, _hand_in(tmp_path, "eve.json", mtls)])
    (tmp_path / "again").mkdir()
    with pytest.raises(GradebookError, match="both are student 'alice'"):
        merge([a, _hand_in(tmp_path / "again", "alice.json", solved)])
    other = json.loads(json.dumps(solved))
    other["checks"] = other["checks"][:2]
    with pytest.raises(GradebookError, match="differ from .*alice.json's"):
        merge([a, _hand_in(tmp_path, "bob.json", seal.sealed(other, seal.REPORT))])
    with pytest.raises(GradebookError, match="no reports given"):
        merge([])
