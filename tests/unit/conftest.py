"""Fixtures for check and mesh tests: a solved lab cluster plus YAML variants on top."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from harness import SHARED, find, run, scenario, snap_of

from grader.model import Outcome
from grader.snapshot import Snapshot


@pytest.fixture
def objs() -> list[dict]:
    return scenario()


@pytest.fixture
def variant() -> Callable[..., Snapshot]:
    """``variant("vs-weights-80-30.yaml")`` -> Snapshot of the solved lab with that change."""
    return lambda *names, **kw: snap_of(scenario(*names), **kw)


@pytest.fixture
def check() -> Callable[..., Outcome]:
    return run


@pytest.fixture
def make_snap() -> Callable[..., Snapshot]:
    """``make_snap(objs, flavour="istio")`` -> Snapshot of (a deep copy of) the objects."""
    return snap_of


@pytest.fixture
def get() -> Callable[..., dict]:
    """``get(objs, "Deployment", "web-v2")`` -> that object (namespace defaults to webapp)."""
    return find


@pytest.fixture
def load_scenario() -> Callable[..., list[dict]]:
    """``load_scenario("vs-weights-8-2.yaml")`` -> mutable objects of that scenario."""
    return scenario


@pytest.fixture
def shared_dir() -> Path:
    """/work/shared (Istio corpus and facts) when present; skip the test otherwise."""
    if not (SHARED / "istio-corpus").is_dir():
        pytest.skip("shared Istio corpus not available")
    return SHARED
