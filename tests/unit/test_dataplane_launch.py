"""How `lab sandbox up` runs the data plane and Prometheus, without starting anything."""

from __future__ import annotations

import json

import pytest
import yaml

from grader.sandbox.control_plane import COMPONENTS, Sandbox
from grader.sandbox.dataplane import launch

PORTS = {"dataplane-gateway": 1001, "dataplane-mesh": 1002, "dataplane-pods": 1003, "dataplane-admin": 1004,
         "prometheus": 1005}


def test_prometheus_scrapes_the_data_plane_admin_port_on_loopback(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "prometheus_binary", lambda: "/usr/bin/prometheus")
    argv = launch.argv(tmp_path, PORTS)
    cfg = yaml.safe_load((tmp_path / "prometheus" / "prometheus.yml").read_text())
    assert cfg["scrape_configs"][0]["static_configs"][0]["targets"] == ["127.0.0.1:1004"]
    assert "--web.listen-address=127.0.0.1:1005" in argv["prometheus"]
    assert any(a.startswith("--storage.tsdb.path=" + str(tmp_path)) for a in argv["prometheus"])
    dp = argv["dataplane"]
    assert dp[1:3] == ["-m", "grader.sandbox.dataplane"] and f"--state-dir={tmp_path}" in dp


def test_without_prometheus_the_sandbox_runs_the_data_plane_and_says_prometheus_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "prometheus_binary", lambda: None)
    assert "prometheus" not in launch.argv(tmp_path, PORTS)
    sb = Sandbox(root=tmp_path)
    (tmp_path / "state.json").write_text(json.dumps({"flavour": "ossm2", "ports": PORTS}))
    assert sb.wanted() == COMPONENTS + ("dataplane",)
    comps = sb.components()
    assert "not installed" in comps["prometheus"]["note"] and not comps["prometheus"]["running"]
    assert comps["dataplane"]["port"] == 1001
    assert sb.urls() == {}   # nothing running: no GATEWAY_URL to export


def test_the_kubernetes_flavour_has_no_data_plane(tmp_path):
    sb = Sandbox(root=tmp_path)
    (tmp_path / "state.json").write_text(json.dumps({"flavour": "kubernetes"}))
    assert sb.wanted() == COMPONENTS and "dataplane" not in sb.components()


@pytest.mark.parametrize("flavour", ["ossm2", "ossm3", "istio"])
def test_every_mesh_flavour_runs_the_data_plane(tmp_path, monkeypatch, flavour):
    monkeypatch.setattr(launch, "prometheus_binary", lambda: None)
    sb = Sandbox(root=tmp_path)
    (tmp_path / "state.json").write_text(json.dumps({"flavour": flavour, "ports": PORTS}))
    assert sb.wanted() == COMPONENTS + ("dataplane",) and "dataplane" in sb.components()
