"""`lab sandbox up|down|status|env` as a user runs them, on a sandbox of its own."""

from __future__ import annotations

import json
import os
import re
import shlex
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
    """eval $(lab sandbox env) in a real shell: KUBECONFIG is set, and the sandbox's own kubectl (and istioctl,
    when built) come first on PATH, at the control plane's version."""
    res = lab(own_sandbox, "sandbox", "env")
    assert res.exit_code == 0 and res.stdout.startswith("export KUBECONFIG=")
    assert len(res.stdout.strip().splitlines()) == 1  # eval $(...) joins lines: one export
    script = f'eval {shlex.quote(res.stdout.strip())}; echo "$KUBECONFIG"; command -v kubectl; ' \
             'kubectl get nodes -o json'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    if out.returncode != 0 and "kubectl" in out.stderr and "not found" in out.stderr:
        pytest.skip("no kubectl on PATH and none built")
    assert out.returncode == 0, out.stderr
    kubeconfig, kubectl, body = out.stdout.split("\n", 2)
    assert kubeconfig == str(Sandbox(root=own_sandbox).kubeconfig)
    tools = Sandbox(root=own_sandbox).env().get("PATH")
    if tools:
        assert kubectl == str(Path(tools) / "kubectl")
    nodes = json.loads(body)["items"]
    assert nodes and all(any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
                         for n in nodes)


def test_status_and_nodes_report_the_real_version(own_sandbox):
    """`lab sandbox status` shows the API server's own version; the kubelet stand-in reports the same one."""
    sb = Sandbox(root=own_sandbox)
    res = lab(own_sandbox, "sandbox", "status")
    version = sb.status()["kubernetes_version"]
    assert re.fullmatch(r"v1\.(\d+)\.\d+", version) and int(version.split(".")[1]) >= 29, version
    assert f"kubernetes: {version}" in res.stdout
    from kubernetes import client, config
    api = config.new_client_from_config(config_file=str(sb.kubeconfig))
    assert client.VersionApi(api).get_code().git_version == version
    nodes = client.CoreV1Api(api).list_node().items
    assert nodes and {n.status.node_info.kubelet_version for n in nodes} == {version}


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


def test_with_ossm2_needs_the_ossm3_flavour(tmp_path):
    """--with-ossm2 (the 2.x operator beside OSSM 3, a migration) is refused on another flavour, in one line."""
    res = lab(tmp_path / "sb", "sandbox", "up", "--flavour", "ossm2", "--with-ossm2")
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [
        "error: --with-ossm2 runs the OSSM 2.x operator beside OSSM 3; it needs flavour ossm3, not ossm2"]


def test_up_forgets_the_discovery_cached_for_the_sandbox(own_sandbox):
    """The sandbox keeps its address and CA across down/up: a discovery cached for an earlier run
    (another flavour, other API groups) must not decide the flavour of the new one. (The user's
    cache folder: XDG_CACHE_HOME also locates the sandbox binaries; the entry is this sandbox's own.)"""
    from grader.cluster import Cluster, DiscoveryCache, Target
    assert lab(own_sandbox, "sandbox", "up").exit_code == 0
    identity = Cluster(Target(str(Sandbox(root=own_sandbox).kubeconfig), None)).transport.identity
    cache = DiscoveryCache.default()
    cache.save(identity, {"maistra.io": {"versions": ["v1"], "preferred": "v1"}})
    assert cache.load(identity) is not None
    assert lab(own_sandbox, "sandbox", "up").exit_code == 0
    assert cache.load(identity) is None
