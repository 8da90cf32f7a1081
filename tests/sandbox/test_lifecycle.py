"""`lab sandbox up|down|status|env` as a user runs them, on a sandbox of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.sandbox.control_plane import Sandbox

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def own_sandbox(tmp_path_factory, request):
    from tests.conftest import _binaries_or_skip
    _binaries_or_skip()
    root = tmp_path_factory.mktemp("lifecycle")
    yield root
    Sandbox(root=root).down(purge=True)


def lab(root: Path, *args: str):
    env = {"LAB_SANDBOX_DIR": str(root), "KUBECONFIG": ""}
    return CliRunner().invoke(main, ["--no-color", *args], env=env, catch_exceptions=False)


def test_up_twice_then_status(own_sandbox):
    t0 = time.monotonic()
    res = lab(own_sandbox, "sandbox", "up")
    assert res.exit_code == 0, res.stderr
    cold = time.monotonic() - t0
    res = lab(own_sandbox, "sandbox", "up")
    assert res.exit_code == 0 and "already running" in res.stderr
    res = lab(own_sandbox, "sandbox", "status", "-o", "json")
    st = json.loads(res.stdout)
    assert st["running"] is True and st["flavour"] == "ossm2"
    assert Path(st["kubeconfig"]).exists() and Path(st["audit_log"]).exists()
    assert set(st["components"]) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                                     "simulators", "dataplane", "prometheus"}
    assert all(c["running"] or c.get("note") for c in st["components"].values())
    assert st["components"]["dataplane"]["running"]
    print(f"cold start {cold:.1f}s")


def test_env_works_with_kubectl(own_sandbox):
    res = lab(own_sandbox, "sandbox", "env")
    assert res.exit_code == 0 and res.stdout.startswith("export KUBECONFIG=")
    kubeconfig = res.stdout.splitlines()[0].split("=", 1)[1].strip("'")   # then GATEWAY_URL, PROMETHEUS_URL
    out = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get", "nodes", "-o", "json"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0 and "not found" in out.stderr:
        pytest.skip("no kubectl on PATH")
    nodes = json.loads(out.stdout)["items"]
    assert nodes and all(any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
                         for n in nodes)


def test_listens_on_loopback_only(own_sandbox):
    st = Sandbox(root=own_sandbox).status()
    pids = {str(c["pid"]) for c in st["components"].values() if c["pid"]}
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("ss not available")
    for line in out.stdout.splitlines():
        if any(f"pid={p}," in line for p in pids):
            local = line.split()[3]
            assert local.startswith(("127.0.0.1:", "[::1]:", "localhost:")), line


def test_up_recovers_after_apiserver_killed(own_sandbox):
    sb = Sandbox(root=own_sandbox)
    pid = sb.pid("kube-apiserver")
    assert pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while sb.pid("kube-apiserver") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sb.running()
    res = lab(own_sandbox, "sandbox", "status", "-o", "json")
    assert res.exit_code == 1 and json.loads(res.stdout)["running"] is False
    t0 = time.monotonic()
    res = lab(own_sandbox, "sandbox", "up")
    assert res.exit_code == 0, res.stderr
    assert sb.running() and sb.pid("kube-apiserver") != pid
    print(f"recovery {time.monotonic() - t0:.1f}s")


def test_stale_pid_file_is_ignored(own_sandbox):
    sb = Sandbox(root=own_sandbox)
    # the scheduler died and its pid was reused by a process that is not ours (pid 1):
    # that process must never be signalled, and `up` must start a new scheduler
    os.kill(sb.pid("kube-scheduler"), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while sb.pid("kube-scheduler") and time.monotonic() < deadline:
        time.sleep(0.1)
    sb.pidfile("kube-scheduler").write_text("1")
    assert sb.pid("kube-scheduler") is None
    res = lab(own_sandbox, "sandbox", "up")
    assert res.exit_code == 0, res.stderr
    assert sb.pid("kube-scheduler") not in (None, 1)


def test_down_twice_and_up_again_warm(own_sandbox):
    res = lab(own_sandbox, "sandbox", "down")
    assert res.exit_code == 0
    assert not any(c["running"] for c in Sandbox(root=own_sandbox).components().values())
    res = lab(own_sandbox, "sandbox", "down")
    assert res.exit_code == 0
    t0 = time.monotonic()
    res = lab(own_sandbox, "sandbox", "up")
    assert res.exit_code == 0, res.stderr
    print(f"warm start {time.monotonic() - t0:.1f}s")
    res = lab(own_sandbox, "sandbox", "down", "--purge")
    assert res.exit_code == 0 and not own_sandbox.exists()


def test_missing_binaries_message(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", "/nonexistent")
    res = lab(tmp_path / "sb", "sandbox", "up")
    assert res.exit_code == 2
    assert "lab sandbox install" in res.stderr and "KUBEBUILDER_ASSETS" in res.stderr
