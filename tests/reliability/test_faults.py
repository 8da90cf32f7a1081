"""Faults a student's practice cluster really has: an API server that dies mid-`start`,
two graders at once, a namespace stuck Terminating, and a cluster without Service Mesh."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from grader import kinds as K
from grader.cluster import Cluster, Target
from grader.sandbox.control_plane import Sandbox
from tests.conftest import _binaries_or_skip
from tests.integration.helpers import failing, grade_json, run

pytestmark = pytest.mark.sandbox


def lab_subprocess(kubeconfig: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "grader", "--no-color", "--kubeconfig", kubeconfig, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    """A sandbox of its own: these tests kill its API server."""
    _binaries_or_skip()
    sb = Sandbox(root=tmp_path_factory.mktemp("faults"))
    sb.up(flavour="ossm2", timeout=120)
    yield sb
    sb.down(purge=True)


def test_apiserver_killed_during_start_then_start_converges(faulty):
    kubeconfig = str(faulty.kubeconfig)
    proc = lab_subprocess(kubeconfig, "start", "canary")
    # kill the API server as soon as the first step has succeeded: `start` is mid-way
    first = proc.stderr.readline()
    while first and "SUCCESS" not in first:
        first = proc.stderr.readline()
    os.kill(faulty.pid("kube-apiserver"), signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    err = first + err
    try:
        assert proc.returncode == 2, err
    finally:
        faulty.up(flavour="ossm2", timeout=120)  # `lab sandbox up` restarts only what died
    assert "Traceback" not in err and "error:" in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
    code, _, err = run(kubeconfig, "start", "canary")
    assert code == 0, err
    code, report = grade_json(kubeconfig, "canary")
    # the start state: no web-v2, so neither the configuration nor the observed split is 80/20
    assert failing(report) == {"v2-deployed-with-sidecar", "destinationrule-subsets", "traffic-split-80-20",
                               "split-observed"}


def test_two_grades_at_once(faulty):
    kubeconfig = str(faulty.kubeconfig)
    with ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda _: subprocess.run(
            [sys.executable, "-m", "grader", "--kubeconfig", kubeconfig, "grade", "canary", "-o", "json"],
            capture_output=True, text=True, timeout=60), range(2)))
    reports = [json.loads(p.stdout) for p in procs]
    assert [p.returncode for p in procs] == [1, 1]
    assert [c["status"] for c in reports[0]["checks"]] == [c["status"] for c in reports[1]["checks"]]


def test_start_three_times_converges(faulty):
    kubeconfig = str(faulty.kubeconfig)
    cluster = Cluster(Target(kubeconfig, None))
    states = []
    for _ in range(3):
        code, _, err = run(kubeconfig, "start", "canary")
        assert code == 0, err
        states.append(sorted((o["kind"], o["metadata"]["name"], json.dumps(o.get("spec"), sort_keys=True))
                             for kind in (K.DEPLOYMENT, K.GATEWAY, K.VIRTUAL_SERVICE)
                             for o in cluster.list(kind, "webapp")))
    assert states[0] == states[1] == states[2]


def test_namespace_stuck_terminating_is_reported(faulty):
    kubeconfig = str(faulty.kubeconfig)
    cluster = Cluster(Target(kubeconfig, None))
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "stuck", "namespace": "webapp", "finalizers": ["example.com/never"]}})
    t0 = time.monotonic()
    code, _, err = run(kubeconfig, "finish", "canary")
    assert code == 2
    assert "stuck Terminating" in err and "example.com/never" in err, err
    assert time.monotonic() - t0 < 90
    cluster.patch("v1", "ConfigMap", "stuck", "webapp", {"metadata": {"finalizers": None}})
    code, _, err = run(kubeconfig, "finish", "canary")
    assert code == 0, err
    assert cluster.get("v1", "Namespace", "webapp") is None


def test_cluster_without_service_mesh(tmp_path_factory):
    _binaries_or_skip()
    sb = Sandbox(root=tmp_path_factory.mktemp("plain"))
    sb.up(flavour="kubernetes", timeout=120)
    try:
        for verb in ("start", "grade", "solve"):
            code, _, err = run(str(sb.kubeconfig), verb, "canary")
            assert code == 2, (verb, err)
            assert "Service Mesh is not installed on this cluster" in err, (verb, err)
            assert "Traceback" not in err
    finally:
        sb.down(purge=True)
