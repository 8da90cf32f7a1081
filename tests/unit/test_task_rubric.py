"""Every task text shows the rubric (`| `check-id`: what | points |` rows and "Pass mark: X of
Y"); it must say what lab.yaml grades, so the two cannot drift apart."""

from __future__ import annotations

import re

import pytest

from grader.labs import lab_names, load

ROW = re.compile(r"^\| `([a-z0-9-]+)`: .*\| (\d+) \|\s*$", re.M)
PASS = re.compile(r"^Pass mark: (\d+) of (\d+)", re.M)


@pytest.mark.parametrize("name", lab_names())
def test_task_rubric_matches_lab_yaml(name):
    lab = load(name)
    text = lab.task()
    rows = {cid: int(points) for cid, points in ROW.findall(text)}
    assert rows == {c.id: c.points for c in lab.checks}, f"{lab.task_file}: rubric rows differ from lab.yaml"
    marks = PASS.findall(text)
    assert marks == [(str(lab.pass_mark), str(lab.total))], f"{lab.task_file}: pass mark line"
