"""The shape the code promises: only the CLI imports click; only the CLI and the console
reporter import rich; checks are pure (they never reach the cluster) and share only the
framework; mesh semantics never depend on checks; the sandbox's simulators import nothing of
the grader; CHECKS.md is what `lab checks -o markdown` prints."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.checks import REGISTRY, load_builtin
from grader.cli import main

PACKAGE = Path(__file__).resolve().parents[2] / "grader"
ROOT = PACKAGE.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _imported_names(path: Path) -> set[tuple[str, str]]:
    """``(module, name)`` of every ``from module import name``."""
    return {(node.module, a.name) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module for a in node.names}


REACHING = ("grader.cluster", "grader.transport", "grader.grading", "grader.lifecycle", "grader.manifests",
            "grader.labs", "grader.cli", "grader.report",
            "grader.sandbox", "grader.probe")


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_import_boundaries(path):
    rel = str(path.relative_to(PACKAGE))
    imported = _imports(path)
    top = {n.split(".")[0] for n in imported}
    if rel != "cli.py":
        assert "click" not in top, f"{rel} imports click: only grader/cli.py may"
    if rel not in ("cli.py", "report/console.py"):
        assert "rich" not in top, f"{rel} imports rich: only the CLI and the console reporter may"
    if rel.startswith(("checks/", "mesh/")) or rel in ("objects.py", "text.py"):
        reaching = {n for n in imported if n.startswith(REACHING) or n.split(".")[0] in ("kubernetes", "urllib3")}
        assert not reaching, f"{rel} imports {reaching}: checks and mesh semantics judge a Snapshot, nothing else"
    if rel.startswith("checks/") and rel not in ("checks/__init__.py", "checks/framework.py"):
        shared = {n for n in imported if n.startswith("grader.checks")} - {"grader.checks.framework", "grader.checks.lookup"}
        assert not shared, f"{rel} imports {shared}: check modules share only the framework and lookup"
    if rel.startswith(("mesh/", "checks/")) or rel in ("objects.py", "text.py"):
        private = {f"{m}.{n}" for m, n in _imported_names(path) if m.startswith("grader") and n.startswith("_")}
        assert not private, f"{rel} imports private names {private}"
    if rel.startswith("mesh/"):
        assert not {n for n in imported if n.startswith("grader.checks")}, f"{rel}: mesh semantics never import checks"
    if rel in ("objects.py", "text.py"):
        assert {n for n in imported if n.startswith("grader")} <= {"grader.objects"}, \
            f"{rel}: accessors and wording sit below every other grader module"
    if rel.startswith("sandbox/simulators/"):
        borrowed = {n for n in imported if n.split(".")[0] == "grader" and not n.startswith("grader.sandbox.simulators")}
        assert not borrowed, f"{rel} imports {borrowed}: a simulator is a second reading of the products, not the grader's"


@pytest.mark.parametrize("path", [p for p in MODULES if p.relative_to(PACKAGE).parts[0] in ("checks", "mesh")
                                  or p.name in ("objects.py", "text.py")], ids=lambda p: str(p.relative_to(PACKAGE)))
def test_sources_are_cited_in_the_repository_itself(path):
    """Comments cite upstream sources (istio/api, pilot, maistra) or files of this repository."""
    assert "MESH-FACTS" not in path.read_text() and "/work/shared" not in path.read_text()


def test_checks_md_is_generated_from_the_registry():
    res = CliRunner().invoke(main, ["--no-color", "checks", "-o", "markdown"], catch_exceptions=False)
    assert res.exit_code == 0
    assert (ROOT / "CHECKS.md").read_text() == res.stdout, "CHECKS.md is stale: run lab checks -o markdown > CHECKS.md"


def test_checks_json_lists_every_check_type_with_its_users():
    load_builtin()
    res = CliRunner().invoke(main, ["--no-color", "checks", "-o", "json"], catch_exceptions=False)
    entries = {e["name"]: e for e in json.loads(res.stdout)}
    assert set(entries) == set(REGISTRY)
    canary = entries["traffic-split"]
    assert "canary/traffic-split-80-20" in canary["used_by"]
    assert [p["name"] for p in canary["params"] if p["required"]][:1] == ["namespace"]
    assert "VirtualService" in canary["reads"]
    for e in entries.values():
        assert e["description"], f"check {e['name']} has no docstring"
        required = [p["required"] for p in e["params"]]
        assert required == sorted(required, reverse=True), f"{e['name']}: required params must come first"


def test_no_kubectl_cache_in_the_tree():
    """kubectl writes discovery and HTTP caches under $HOME/.kube/cache (or $KUBECACHEDIR); one was
    once committed under tests/fixtures. The tests point KUBECACHEDIR at a temporary folder
    (tests/conftest.py) and git ignores any .kube/ folder."""
    import os
    import subprocess
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.splitlines()
    if tracked:  # a source tree without git (an sdist) has nothing to check here
        assert not [f for f in tracked if "/.kube/" in f or f.startswith(".kube/")]
    assert ".kube/" in (ROOT / ".gitignore").read_text().split()
    assert not list((ROOT / "tests").rglob(".kube")), "a test wrote a kubectl cache into the tree"
    kube_cache = Path(os.environ.get("KUBECACHEDIR", ROOT)).resolve()
    assert ROOT not in (kube_cache, *kube_cache.parents), "kubectl's cache must not be in the tree"
