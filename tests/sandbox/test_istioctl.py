"""The real istioctl (built by install-k8s.sh beside the control plane) against the sandbox: analyze reports the
fix-gateway lab's broken gateway reference (upstream-Istio flavour: the istioctl the module proxy serves reads
networking.istio.io/v1, which OSSM 2.x does not serve), kube-inject injects from the ConfigMaps the ossm2
sandbox provides as istiod's chart does, and what needs live proxies fails with istioctl's own message."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from grader.sandbox.binaries import tools_dir
from tests.integration.helpers import grade_json, run

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


@pytest.fixture(scope="module")
def fix_gateway(istioctl: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The fix-gateway lab started on an upstream-Istio sandbox of its own."""
    from grader.sandbox.control_plane import Sandbox
    sb = Sandbox(root=tmp_path_factory.mktemp("istioctl-sandbox"))
    try:
        sb.up(flavour="istio", timeout=120)
        kubeconfig = str(sb.kubeconfig)
        assert run(kubeconfig, "start", "fix-gateway")[0] == 0
        yield kubeconfig
    finally:
        sb.down(purge=True)


def test_analyze_reports_the_broken_gateway_reference(istioctl: Path, fix_gateway: str) -> None:
    res = istioctl_run(istioctl, fix_gateway, "analyze", "-n", "webapp")
    out = res.stdout + res.stderr
    # IST0101 ReferencedResourceNotFound on the VirtualService that names Gateway web-gw
    assert "IST0101" in out and "VirtualService webapp/web" in out and "web-gw" in out, out
    assert res.returncode != 0  # analyze exits non-zero when it finds errors
    everywhere = istioctl_run(istioctl, fix_gateway, "analyze", "-A")
    assert "VirtualService webapp/web" in everywhere.stdout + everywhere.stderr


# istioctl's finding (code, object) -> the grader check that must fail on the same object (fix-gateway as set up)
AGREEMENT = {
    ("IST0101", "Gateway webapp/web-gateway"): ("gateway-selects-ingress", "web-gateway"),
    ("IST0101", "VirtualService webapp/web"): ("virtualservice-uses-gateway", "VirtualService webapp/web"),
    ("IST0132", "VirtualService webapp/web"): ("hosts-match", "VirtualService webapp/web"),
}


def test_analyze_and_the_grader_agree_on_fix_gateway(istioctl: Path, fix_gateway: str) -> None:
    """istioctl as an outside referee: each of its findings on the lab's broken objects is a failing check of the
    grader naming the same object."""
    res = istioctl_run(istioctl, fix_gateway, "analyze", "-n", "webapp", "-o", "json")
    findings = {(m["code"], m["origin"]) for m in json.loads(res.stdout)}
    findings = {(code, origin) for code, origin in findings if code != "IST0164"}  # webhook URL on loopback
    code, report = grade_json(fix_gateway, "fix-gateway")
    assert code == 1
    checks = {c["id"]: c for c in report["checks"]}
    for finding, (check, obj) in AGREEMENT.items():
        assert finding in findings, (finding, sorted(findings))
        assert checks[check]["status"] == "fail" and obj in checks[check]["reason"], checks[check]


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


def test_describe_pod_and_proxy_status(istioctl: Path, fix_gateway: str) -> None:
    """describe reads the pod from the API server, then needs the sidecar's Envoy (port-forward through a
    kubelet, which the sandbox does not run); proxy-status needs live proxies: both say so themselves."""
    from kubernetes import client, config
    pods = client.CoreV1Api(config.new_client_from_config(config_file=fix_gateway)).list_namespaced_pod("webapp")
    pod = pods.items[0].metadata.name
    res = istioctl_run(istioctl, fix_gateway, "x", "describe", "pod", pod, "-n", "webapp")
    assert f"Pod: {pod}" in res.stdout and "Pod Revision: default" in res.stdout, res.stdout + res.stderr
    assert "port forward" in res.stderr
    res = istioctl_run(istioctl, fix_gateway, "proxy-status")
    assert res.returncode != 0 and "port forward" in res.stderr, res.stderr
