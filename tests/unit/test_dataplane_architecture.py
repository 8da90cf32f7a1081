"""The data plane is a second, independent reading of Istio: it imports none of the grader's semantics."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DATAPLANE = Path(__file__).resolve().parents[2] / "grader" / "sandbox" / "dataplane"
FILES = sorted(DATAPLANE.glob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import; name the module in full"
            names.add(node.module or "")
    return names


def test_the_package_exists():
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_dataplane_imports_nothing_from_the_graders_semantics(path):
    bad = {n for n in _imports(path)
           if n == "grader.mesh" or n.startswith(("grader.mesh", "grader.checks", "grader.engine", "grader.cli"))}
    assert not bad, f"{path.name} imports {sorted(bad)}: the data plane must not reuse the grader's semantics"
    assert "click" not in {n.split(".")[0] for n in _imports(path)}
