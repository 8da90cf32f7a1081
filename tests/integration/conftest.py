"""Fixtures shared by the integration tests (the ossm2 sandbox is in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def istio_kubeconfig(tmp_path_factory):
    """A sandbox of the upstream-Istio flavour for one test module, purged afterwards."""
    from grader.sandbox.control_plane import Sandbox
    from tests.conftest import _binaries_or_skip
    _binaries_or_skip()
    sb = Sandbox(root=tmp_path_factory.mktemp("istio-sandbox"))
    sb.up(flavour="istio", timeout=120)
    yield str(sb.kubeconfig)
    sb.down(purge=True)


@pytest.fixture(scope="module")
def ossm3_kubeconfig(tmp_path_factory):
    """A sandbox of the OpenShift Service Mesh 3 flavour (OLM-lite, the Sail operator
    simulator) for one test module, purged afterwards."""
    from grader.sandbox.control_plane import Sandbox
    from tests.conftest import _binaries_or_skip
    _binaries_or_skip()
    sb = Sandbox(root=tmp_path_factory.mktemp("ossm3-sandbox"))
    sb.up(flavour="ossm3", timeout=120)
    yield str(sb.kubeconfig)
    sb.down(purge=True)
