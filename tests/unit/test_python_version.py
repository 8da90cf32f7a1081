"""pyproject.toml promises Python >= 3.10 while the machine runs 3.11: vermin (configured in
vermin.ini, also run by `make lint`) fails on any syntax or standard-library name newer than
that, e.g. typing.assert_never (3.11), which once crashed `lab grade` on Ubuntu 22.04."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _vermin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_targets_the_promised_python():
    promised = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert f"targets = {promised}-" in (ROOT / "vermin.ini").read_text()


def test_the_code_runs_on_the_oldest_promised_python():
    res = _vermin("-q", "grader", "tests", "benchmarks")
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_checker_catches_a_newer_name(tmp_path):
    """The check can fail: a 3.11-only import in the tree is reported."""
    probe = ROOT / "grader" / f"_probe_{tmp_path.name}.py"
    probe.write_text("from typing import assert_never\n")
    try:
        res = _vermin(str(probe.relative_to(ROOT)))
    finally:
        probe.unlink()
    assert res.returncode != 0 and "Minimum required versions: 3.11" in res.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_lint_runs_it():
    assert "vermin" in (ROOT / "Makefile").read_text().split("lint:")[1].split("\n\n")[0]
