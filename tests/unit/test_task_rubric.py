"""The rubric is written once, in lab.yaml: `lab show` renders the table of check ids and
points and the pass mark from it, and no task text keeps a hand-made copy that could drift."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.labs import lab_names, load

ROW = re.compile(r"^\| `([a-z0-9-]+)`: .*\| (\d+) \|\s*$", re.M)
PASS = re.compile(r"Pass mark: (\d+) of (\d+)")


@pytest.mark.parametrize("name", lab_names())
def test_show_renders_the_rubric_from_lab_yaml(name, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line
    lab = load(name)
    res = CliRunner().invoke(main, ["--no-color", "show", name], catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    for c in lab.checks:
        rows = [line.strip() for line in res.stdout.splitlines() if line.strip().startswith(f"{c.id}: ")]
        assert len(rows) == 1, f"{c.id}: not one rubric row in lab show {name}"
        assert rows[0].endswith(f" {c.points}"), f"{c.id}: {c.points} points not shown: {rows[0]!r}"
    assert PASS.findall(res.stdout) == [(str(lab.pass_mark), str(lab.total))]


@pytest.mark.parametrize("name", lab_names())
def test_task_keeps_no_copy_of_the_rubric(name):
    lab = load(name)
    text = lab.task()
    assert ROW.findall(text) == [], f"{lab.task_file}: a hand-kept rubric row; lab show renders it from lab.yaml"
    assert PASS.findall(text) == [], f"{lab.task_file}: a hand-kept pass mark; lab show renders it from lab.yaml"
