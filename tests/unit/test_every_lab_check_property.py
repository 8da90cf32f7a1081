"""Property: every check of every lab, fed generated and mutated versions of the objects that
lab's setup and reference solution create (plus the control plane), returns a result with a
reason. It never crashes, and never needs the framework's last-resort guard (a crash is an ERROR)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.engine import grade_snapshot, manifests
from grader.labs import lab_names, load
from grader.model import Status
from grader.snapshot import Snapshot

CLUSTER_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks" / "cluster"


def _objects(lab_name: str) -> list[dict]:
    lab = load(lab_name)
    objs: list[dict] = []
    for steps in (lab.setup, lab.solution):
        for step in steps:
            if step.type == "apply":
                objs.extend(manifests(step.args["path"]))
    if CLUSTER_FIXTURES.is_dir():
        objs.extend(manifests(CLUSTER_FIXTURES))
    return objs


LABS = lab_names()
BASE = {name: _objects(name) for name in LABS}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from(["80", "STRICT", "v1", "*", "web", "5s", "ünï✓", "istio-system"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["name", "host", "subset", "weight", "mode", "labels", "spec", "x"]),
                      children, max_size=3),
    max_leaves=8,
)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _set(obj: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def _assert_copes(lab_name: str, objs: list[dict], flavour: str) -> None:
    snap = Snapshot.from_objects(copy.deepcopy(objs), flavour=flavour)
    report = grade_snapshot(load(lab_name), snap)
    for r in report.results:
        assert r.status in (Status.PASS, Status.FAIL, Status.SKIP), (lab_name, r)
        assert not r.reason.startswith("grader error"), (lab_name, r)  # the guard was not needed
        if r.status is not Status.PASS:
            assert r.reason.strip(), (lab_name, r)


@pytest.mark.parametrize("lab_name", LABS)
def test_reference_objects_grade_without_errors(lab_name):
    _assert_copes(lab_name, BASE[lab_name], "ossm2")


@pytest.mark.parametrize("lab_name", LABS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data(), flavour=st.sampled_from(["ossm2", "istio"]))
def test_mutated_objects_never_crash_a_check(lab_name, data, flavour):
    objs = copy.deepcopy(BASE[lab_name])
    candidates = [(i, p) for i, o in enumerate(objs) for p in _paths(o) if p[0] in ("spec", "metadata")]
    for _ in range(data.draw(st.integers(1, 4))):
        index, path = data.draw(st.sampled_from(candidates))
        try:
            _set(objs[index], path, data.draw(json_values))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced a parent of this path
    _assert_copes(lab_name, objs, flavour)
