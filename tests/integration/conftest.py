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


@pytest.fixture(scope="module")
def ossm3_with_ossm2_kubeconfig(tmp_path_factory):
    """The ossm3 flavour with the OSSM 2.x (Maistra) operator beside it, as a cluster migrating
    from OSSM 2.6 to 3 runs them (the migrate-3 lab), for one test module, purged afterwards."""
    from grader.sandbox.control_plane import Sandbox
    from tests.conftest import _binaries_or_skip
    _binaries_or_skip()
    sb = Sandbox(root=tmp_path_factory.mktemp("ossm3-ossm2-sandbox"))
    sb.up(flavour="ossm3", with_ossm2=True, timeout=120)
    yield str(sb.kubeconfig)
    sb.down(purge=True)
