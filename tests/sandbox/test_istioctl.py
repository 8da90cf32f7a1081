"""The real istioctl (built by install-k8s.sh beside the control plane) against the sandbox: analyze reports the
fix-gateway lab's broken gateway reference (upstream-Istio flavour: the istioctl the module proxy serves reads
networking.istio.io/v1, which OSSM 2.x does not serve) and, as an outside referee, agrees with the grader on
every wrong answer of every lab of that flavour (the case files' `istioctl` entries); kube-inject injects from
the ConfigMaps the ossm2 sandbox provides as istiod's chart does, and what needs live proxies fails with
istioctl's own message."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from grader.sandbox.binaries import tools_dir
from tests.integration.helpers import by_id, run
from tests.integration.lab_harness import ISTIOCTL_FLAVOUR, do, istioctl_expected, istioctl_params, istioctl_wrong_answer

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def istioctl() -> Path:
    d = tools_dir()
    if d is None or not (d / "istioctl").exists():
        if os.environ.get("LAB_REQUIRE_SANDBOX"):
            pytest.fail("LAB_REQUIRE_SANDBOX is set but no istioctl was built; run 'lab sandbox install'")
        pytest.skip("no istioctl built; run 'lab sandbox install'")
    return d / "istioctl"


def istioctl_run(istioctl: Path, kubeconfig: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(istioctl), "--kubeconfig", kubeconfig, *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


class IstioLabs:
    """One upstream-Istio sandbox for the module, one lab started on it at a time. A lab is started
    once: its start state and its reference answer are graded and analysed then, and each wrong answer
    is applied to the reference answer and undone by `lab solve` (as the lifecycle test does)."""

    def __init__(self, kubeconfig: str, istioctl: Path) -> None:
        self.kubeconfig, self.istioctl = kubeconfig, istioctl
        self.current: str | None = None
        self.recorded: str | None = None  # the lab whose start and reference answer are recorded
        self.start: tuple[dict, set] = ({}, set())  # (grade report, findings) of the current lab as set up
        self.solved: tuple[dict, set] = ({}, set())  # ... and with its reference answer

    def fresh(self, lab: str) -> None:
        """The lab as set up, started anew."""
        self.finish()
        assert run(self.kubeconfig, "start", lab)[0] == 0
        self.current, self.recorded = lab, None

    def ready(self, lab: str) -> None:
        """The lab started and solved, its start state and reference answer recorded."""
        if self.recorded == lab:
            return
        self.fresh(lab)
        self.start = (self.grade(), self.analyze())
        self.solve()
        self.solved = (self.grade(), self.analyze())
        self.recorded = lab

    def solve(self) -> None:
        code, _, err = run(self.kubeconfig, "solve", self.current)
        assert code == 0, err

    def finish(self) -> None:
        if self.current:
            lab, self.current = self.current, None
            assert run(self.kubeconfig, "finish", lab)[0] == 0

    def grade(self) -> dict:
        """The lab's grade without its traffic checks (istioctl reads configuration, sends nothing)."""
        code, out, err = run(self.kubeconfig, "grade", self.current, "-o", "json", "--no-traffic")
        assert out.strip(), err
        report = json.loads(out)
        assert report["flavour"] == ISTIOCTL_FLAVOUR and code == (0 if report["passed"] else 1), report
        return report

    def analyze(self) -> set[tuple[str, str]]:
        """`istioctl analyze -n webapp`'s findings as (code, object), the sandbox's own aside."""
        res = istioctl_run(self.istioctl, self.kubeconfig, "analyze", "-n", "webapp", "-o", "json")
        assert res.returncode in (0, 79), res.stderr  # 79: analyze found errors
        return {(m["code"], _object(m["origin"])) for m in json.loads(res.stdout or "[]")
                if m["code"] not in SANDBOX_FINDINGS}


# IST0164 ExternalControlPlaneAddressIsNotAHostname: the sandbox's injector webhook is reached at an IP on
# loopback (istioctl reads the webhook configurations whatever the namespace). Nothing a student did.
SANDBOX_FINDINGS = {"IST0164"}


def _object(origin: str) -> str:
    """istioctl's origin ("Kind ns/name"), a Deployment's pods named as the Deployment (web-v1-5f7d8c9b4-x2x7q
    is web-v1), so a restarted pod is the same object."""
    kind, _, name = origin.partition(" ")
    return f"{kind} {re.sub(r'-[a-z0-9]{5,10}-[a-z0-9]{5}$', '', name)}" if kind == "Pod" else origin


@pytest.fixture(scope="module")
def istio_labs(istioctl: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IstioLabs]:
    from grader.sandbox.control_plane import Sandbox
    sb = Sandbox(root=tmp_path_factory.mktemp("istioctl-sandbox"))
    try:
        sb.up(flavour=ISTIOCTL_FLAVOUR, timeout=120)
        labs = IstioLabs(str(sb.kubeconfig), istioctl)
        yield labs
        labs.finish()
    finally:
        sb.down(purge=True)


def test_analyze_reports_the_broken_gateway_reference(istio_labs: IstioLabs) -> None:
    istio_labs.fresh("fix-gateway")
    res = istioctl_run(istio_labs.istioctl, istio_labs.kubeconfig, "analyze", "-n", "webapp")
    out = res.stdout + res.stderr
    # IST0101 ReferencedResourceNotFound on the VirtualService that names Gateway web-gw
    assert "IST0101" in out and "VirtualService webapp/web" in out and "web-gw" in out, out
    assert res.returncode != 0  # analyze exits non-zero when it finds errors
    everywhere = istioctl_run(istio_labs.istioctl, istio_labs.kubeconfig, "analyze", "-A")
    assert "VirtualService webapp/web" in everywhere.stdout + everywhere.stderr


def test_describe_pod_and_proxy_status(istio_labs: IstioLabs) -> None:
    """describe reads the pod from the API server, then needs the sidecar's Envoy (port-forward through a
    kubelet, which the sandbox does not run); proxy-status needs live proxies: both say so themselves."""
    from kubernetes import client, config
    if istio_labs.current is None:
        istio_labs.fresh("fix-gateway")
    kubeconfig, istioctl = istio_labs.kubeconfig, istio_labs.istioctl
    pods = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig)).list_namespaced_pod("webapp")
    pod = pods.items[0].metadata.name
    res = istioctl_run(istioctl, kubeconfig, "x", "describe", "pod", pod, "-n", "webapp")
    assert f"Pod: {pod}" in res.stdout and "Pod Revision: default" in res.stdout, res.stdout + res.stderr
    assert "port forward" in res.stderr
    res = istioctl_run(istioctl, kubeconfig, "proxy-status")
    assert res.returncode != 0 and "port forward" in res.stderr, res.stderr


@pytest.mark.parametrize(("lab", "case"), istioctl_params(), ids=lambda v: v)
def test_analyze_and_the_grader_agree(istio_labs: IstioLabs, lab: str, case: str) -> None:
    """istioctl as an outside referee, case by case (the case file's `istioctl` block): on the lab as set up,
    its reference answer and each wrong answer (applied to the reference answer), `istioctl analyze` reports
    exactly the expected findings beyond those of the reference answer, each on an object that a failing
    check of the grader names; and the grader fails exactly the expected checks (traffic checks aside)."""
    finds, fails = istioctl_expected(lab, case)
    istio_labs.ready(lab)
    if case in ("start", "solved"):
        report, found = getattr(istio_labs, case)
    else:
        from grader.cluster import Cluster, Target
        from grader.labs import load
        cluster = Cluster(Target(istio_labs.kubeconfig, None))
        for action in istioctl_wrong_answer(lab, case)["do"]:
            do(cluster, load(lab), action, ISTIOCTL_FLAVOUR)
        try:
            report, found = istio_labs.grade(), istio_labs.analyze()
        finally:
            istio_labs.solve()
    if case != "solved":
        found -= istio_labs.solved[1]  # what the case adds to the reference answer
    assert found == {(f["code"], f["object"]) for f in finds}, (lab, case, sorted(found))
    checks = by_id(report)
    assert {i for i, c in checks.items() if c["status"] == "fail"} == fails, (lab, case, checks)
    for f in finds:
        if f.get("check"):
            assert f["object"] in checks[f["check"]]["reason"], (lab, case, f, checks[f["check"]])


def test_kube_inject_uses_the_sandbox_injector_config(istioctl: Path, kubeconfig: str, tmp_path: Path) -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "webapp"},
              "spec": {"selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web", "version": "v1"}},
                                    "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
    f = tmp_path / "deploy.yaml"
    f.write_text(yaml.safe_dump(deploy))
    assert run(kubeconfig, "start", "fix-gateway")[0] == 0  # installs the control plane "basic" (ossm2)
    # Maistra names the ConfigMaps after the control plane (istio-sidecar-injector-basic, istio-basic)
    res = istioctl_run(istioctl, kubeconfig, "kube-inject", "-f", str(f), "--revision", "basic")
    assert res.returncode == 0, res.stderr
    out = next(d for d in yaml.safe_load_all(res.stdout) if d)
    pod = out["spec"]["template"]
    names = [c["name"] for c in pod["spec"]["containers"]]
    assert names[0] == "web" and "istio-proxy" in names
    proxy = next(c for c in pod["spec"]["containers"] if c["name"] == "istio-proxy")
    assert "proxyv2" in proxy["image"]
    assert pod["metadata"]["labels"]["service.istio.io/canonical-name"] == "web"
    assert pod["metadata"]["labels"]["service.istio.io/canonical-revision"] == "v1"
    assert "sidecar.istio.io/status" in pod["metadata"]["annotations"]  # istioctl's own bookkeeping
    # without --revision, istioctl looks for the upstream names, which an OSSM 2 control plane does not have
    plain = istioctl_run(istioctl, kubeconfig, "kube-inject", "-f", str(f))
    assert plain.returncode != 0 and 'configmap "istio"' in plain.stderr, plain.stderr
    assert run(kubeconfig, "finish", "fix-gateway")[0] == 0
