"""Shared fixtures. Integration tests run against ONE real sandbox per session
(real etcd, kube-apiserver, controller-manager, scheduler + simulators)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session", autouse=True)
def _caches_outside_the_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """kubectl (run by some tests) keeps discovery and HTTP caches in KUBECACHEDIR (else
    $HOME/.kube/cache): a temporary folder, never the source tree or the user's home."""
    cache = tmp_path_factory.mktemp("caches")
    saved = {k: os.environ.get(k) for k in ("KUBECACHEDIR",)}
    os.environ["KUBECACHEDIR"] = str(cache / "kube")
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _binaries_or_skip() -> None:
    from grader.sandbox.binaries import MissingBinaries, find
    try:
        find()
    except MissingBinaries as e:
        if os.environ.get("LAB_REQUIRE_SANDBOX"):
            pytest.fail(f"LAB_REQUIRE_SANDBOX is set but {e}")
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A running ossm2 sandbox for the whole session; torn down (and purged) at the end."""
    _binaries_or_skip()
    from grader.sandbox.control_plane import Sandbox
    root = Path(os.environ.get("LAB_TEST_SANDBOX_DIR") or tmp_path_factory.mktemp("sandbox"))
    sb = Sandbox(root=root)
    sb.up(flavour="ossm2", timeout=120)
    yield sb
    sb.down(purge=not os.environ.get("LAB_TEST_SANDBOX_DIR"))


@pytest.fixture(scope="session")
def kubeconfig(sandbox) -> str:
    return str(sandbox.kubeconfig)


@pytest.fixture(scope="session")
def cluster(kubeconfig: str):
    from grader.cluster import Cluster, Target
    return Cluster(Target(kubeconfig, None))


@pytest.fixture(scope="session")
def k8s(kubeconfig: str):
    """The official kubernetes client (for tests that act like a student with kubectl)."""
    from kubernetes import config
    return config.new_client_from_config(config_file=kubeconfig)
