"""Kubeconfig handling of the lean transport (no server needed)."""

from __future__ import annotations

import json

import pytest

from grader import transport as T


def _write(tmp_path, name: str, user: dict, cluster: dict | None = None, current: str | None = "ctx") -> str:
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": current,
           "clusters": [{"name": "c", "cluster": cluster or {"server": "https://127.0.0.1:6443",
                                                             "insecure-skip-tls-verify": True}}],
           "users": [{"name": "u", "user": user}],
           "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}]}
    path = tmp_path / name
    path.write_text(json.dumps(cfg))
    return str(path)


def test_token_user(tmp_path):
    t = T.HttpTransport.from_kubeconfig([_write(tmp_path, "k", {"token": "abc"})], None, "ua")
    assert t.headers["Authorization"] == "Bearer abc" and t.headers["User-Agent"] == "ua"
    assert t.host == "https://127.0.0.1:6443"


def test_token_file_relative_to_kubeconfig(tmp_path):
    (tmp_path / "tok").write_text("from-file\n")
    t = T.HttpTransport.from_kubeconfig([_write(tmp_path, "k", {"tokenFile": "tok"})], None, "ua")
    assert t.headers["Authorization"] == "Bearer from-file"


def test_exec_plugin_needs_the_official_client(tmp_path):
    path = _write(tmp_path, "k", {"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1"}})
    with pytest.raises(T.NeedsKubernetesClient):
        T.HttpTransport.from_kubeconfig([path], None, "ua")


def test_unknown_context_and_missing_current_context(tmp_path):
    path = _write(tmp_path, "k", {"token": "x"}, current=None)
    with pytest.raises(T.ConfigError, match="no current-context"):
        T.load_kubeconfig([path], None)
    with pytest.raises(T.ConfigError, match="'nope' not found"):
        T.load_kubeconfig([path], "nope")


def test_first_file_wins_when_merging(tmp_path):
    a = _write(tmp_path, "a", {"token": "first"})
    b = _write(tmp_path, "b", {"token": "second"})
    assert T.load_kubeconfig([a, b], None)["user"]["token"] == "first"


def test_unreachable_server_is_a_transport_error(tmp_path):
    from grader.sandbox.control_plane import free_port
    path = _write(tmp_path, "k", {"token": "x"}, {"server": f"https://127.0.0.1:{free_port()}",
                                                  "insecure-skip-tls-verify": True})
    t = T.HttpTransport.from_kubeconfig([path], None, "ua")
    with pytest.raises(T.TransportError):
        t.request("GET", "/apis", None, None, "application/json", (1.0, 1.0))
