"""install-k8s.sh without building anything: a finished install is recognised by its stamp, and a machine
without a usable Go gets one line saying what to do (build with Go, or KUBEBUILDER_ASSETS)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from grader.sandbox.binaries import INSTALLER

GO_DIR = INSTALLER.parent / "go"


def pinned(module_dir: str, module: str) -> str:
    text = (GO_DIR / module_dir / "go.mod").read_text()
    m = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", text, re.M)
    assert m, f"{module} not required in go/{module_dir}/go.mod"
    return m.group(1)


def run(cache: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INSTALLER), str(cache)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_versions_are_pinned_with_their_checksums() -> None:
    k8s = pinned("k8s", "k8s.io/kubernetes")
    assert re.fullmatch(r"v1\.(\d+)\.\d+", k8s) and int(k8s.split(".")[1]) >= 33
    staging = pinned("k8s", "k8s.io/client-go")
    assert staging == "v0" + k8s[2:], "staging modules must be pinned to the matching v0.X.Y"
    assert re.fullmatch(r"v3\.\d+\.\d+", pinned("etcd", "go.etcd.io/etcd/server/v3"))
    for d in ("k8s", "etcd"):
        assert (GO_DIR / d / "go.sum").stat().st_size > 10_000


def test_a_finished_install_is_not_rebuilt(tmp_path: Path) -> None:
    first = run(tmp_path, GO="/nonexistent/go")  # never reaches the build: Go is not needed to notice
    assert first.returncode == 2
    version = pinned("k8s", "k8s.io/kubernetes")
    bin_dir = tmp_path / version / "bin"
    bin_dir.mkdir(parents=True)
    tools = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"]
    if (GO_DIR / "istio" / "go.mod").exists():
        tools.append("istioctl")
    for t in tools:
        (bin_dir / t).write_text("#!/bin/sh\n")
        (bin_dir / t).chmod(0o755)
    want = f"kubernetes={version} etcd={pinned('etcd', 'go.etcd.io/etcd/server/v3')}"
    if "istioctl" in tools:
        want += f" istioctl={pinned('istio', 'istio.io/istio')}"
    recipe = re.search(r"^RECIPE=(\d+)", INSTALLER.read_text(), re.M).group(1)
    (tmp_path / version / "STAMP").write_text(f"{want} recipe={recipe} built today\n")
    again = run(tmp_path, GO="/nonexistent/go")
    assert again.returncode == 0, again.stderr
    assert "already installed" in again.stderr
    (bin_dir / "kube-apiserver").unlink()  # a missing binary means: build again
    assert run(tmp_path, GO="/nonexistent/go").returncode == 2


@pytest.mark.parametrize("go", ["/nonexistent/go", "old"])
def test_without_a_usable_go_one_line_says_what_to_do(tmp_path: Path, go: str) -> None:
    if go == "old":
        fake = tmp_path / "go"
        fake.write_text("#!/bin/sh\necho go1.20.14\n")
        fake.chmod(0o755)
        go = str(fake)
    res = run(tmp_path / "cache", GO=go)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Go >= 1.24" in lines[0] and "KUBEBUILDER_ASSETS" in lines[0]
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("kube-apiserver"))
