"""grader/checks/framework.py and the package's discovery: registration, the guard every
check type runs behind (one policy for a check that raises: ERROR), the shared helpers."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import sys

import pytest
from harness import run, scenario, snap_of

import grader.checks
from grader import kinds as K
from grader.checks import REGISTRY, load_builtin
from grader.checks.framework import bad_param, check, crashed, not_found, others_in, str_params
from grader.engine import grade_snapshot
from grader.labs import CheckSpec, load
from grader.model import Outcome, Status, passed
from grader.snapshot import Snapshot


@pytest.fixture
def scratch():
    """Check type names registered by a test, removed afterwards (the registry is global)."""
    names: list[str] = []
    yield names
    for name in names:
        REGISTRY.pop(name, None)


def _raising(scratch: list[str], name: str = "test-raises") -> None:
    scratch.append(name)

    @check(name, reads=[K.SERVICE])
    def raises(snap: Snapshot, *, namespace: str) -> Outcome:
        """Always raises, like a check meeting content its author did not foresee."""
        raise KeyError("spec")


# -- defect 6: a check that raises is an ERROR, never a FAIL, whichever path it takes -------------
def test_a_check_that_raises_is_an_error_of_the_grader(scratch):
    _raising(scratch)
    out = run("test-raises", snap_of([]), namespace="webapp")
    assert out.status is Status.ERROR, out
    assert out.reason.startswith("grader error: check test-raises could not judge the cluster (KeyError: ")
    assert "not a mistake in your work" in out.reason
    assert "report it" in out.hint


def test_a_check_that_raises_is_reported_as_error_with_no_points(scratch):
    _raising(scratch)
    lab = load("canary")
    spec = CheckSpec(id="raises", check="test-raises", points=10, description="raises", params={"namespace": "${namespace}"},
                     hint="a hint for the student")
    report = grade_snapshot(dataclasses.replace(lab, checks=(spec,)), snap_of(scenario()))
    (result,) = report.results
    assert result.status is Status.ERROR and result.points == 0 and result.max_points == 10
    assert result.reason == crashed("test-raises", KeyError("spec")).reason
    assert result.hint != "a hint for the student"  # the student's hint would blame the student


def test_unread_kind_is_an_error_and_unserved_kind_a_failure(scratch):
    _raising(scratch)
    snap = Snapshot()
    out = run("test-raises", snap, namespace="webapp")
    assert out.status is Status.ERROR and "kinds not read from the cluster: Service" in out.reason
    snap.missing_kinds.add("Service")
    out = run("test-raises", snap, namespace="webapp")
    assert out.status is Status.FAIL and out.reason.startswith("the cluster does not serve Service (core)")


def test_a_wrong_parameter_name_raises(scratch):
    _raising(scratch)
    with pytest.raises(TypeError):
        run("test-raises", snap_of([]), namespace="webapp", namespce="typo")


# -- registration --------------------------------------------------------------------------------
def test_another_function_under_a_taken_name_is_refused(scratch):
    _raising(scratch)
    with pytest.raises(ValueError, match="registered twice"):
        @check("test-raises", reads=[])
        def other(snap: Snapshot) -> Outcome:
            """Another check."""
            return passed("x")


def test_loading_a_check_module_again_replaces_its_own_entries():
    load_builtin()
    before = REGISTRY["resource-field"]
    importlib.reload(sys.modules["grader.checks.generic"])
    assert REGISTRY["resource-field"] is not before
    assert REGISTRY["resource-field"].fn(snap_of([]), kind="Service", name="web", namespace="webapp", path="spec",
                                         expected={}).status is Status.FAIL


def test_every_module_of_the_package_is_loaded_without_a_list():
    load_builtin()
    modules = {f"grader.checks.{m.name}" for m in pkgutil.iter_modules(grader.checks.__path__)}
    assert modules <= set(sys.modules)
    registering = {ct.fn.__module__ for ct in REGISTRY.values()}
    assert registering <= modules
    assert {"grader.checks.workloads", "grader.checks.gateways", "grader.checks.routing", "grader.checks.resilience",
            "grader.checks.security", "grader.checks.platform", "grader.checks.generic"} <= registering


def test_every_check_type_runs_behind_the_guard():
    load_builtin()
    for name, ct in REGISTRY.items():
        assert ct.fn.__name__ == "guarded" or hasattr(ct.fn, "__wrapped__"), name
        assert ct.description, f"{name} has no docstring"


# -- shared helpers ------------------------------------------------------------------------------
def test_not_found_names_what_the_namespace_holds_instead():
    snap = snap_of(scenario())
    out = not_found(snap, K.GATEWAY, "webapp", "public")
    assert out.status is Status.FAIL
    assert out.reason == "Gateway webapp/public not found; Gateways in webapp: web-gateway"
    assert out.hint == "create Gateway public in namespace webapp"
    assert others_in(snap, K.GATEWAY, "nowhere") == "namespace nowhere has no Gateways"
    why = not_found(snap, K.SERVICE, "webapp", "api", "expose it", why=", so nothing answers")
    assert why.reason.startswith("Service webapp/api not found, so nothing answers; Services in webapp: ")
    assert why.hint == "expose it"


def test_param_helpers():
    assert str_params(a="x", b="y") is None
    bad = str_params(a="x", b=" ")
    assert bad is not None and bad.reason == "check parameter b is ' '; expected a non-empty string"
    assert bad_param("port", "80", "a port number").hint == "fix the check parameters in the lab definition"
