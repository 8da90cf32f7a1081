"""grader/objects.py: tolerant accessors, the path walker, JSON equality, conditions."""

from __future__ import annotations

import pytest

from grader.objects import (
    MISSING,
    as_dict,
    as_list,
    condition,
    creation_key,
    is_int,
    is_true,
    json_equal,
    json_number,
    label_str,
    path_parts,
    value_at,
    walk,
)

OBJ = {"metadata": {"annotations": {"sidecar.istio.io/inject": "true"}},
       "spec": {"http": [{"timeout": "5s"}, {"route": [{"weight": 20}]}], "x.y": {"z": 1}}}


@pytest.mark.parametrize("path, value", [
    ("spec.http[0].timeout", "5s"),
    ("spec.http.0.timeout", "5s"),
    ("spec.http[-1].route[0].weight", 20),
    ("metadata.annotations.sidecar.istio.io/inject", "true"),
    ("spec.x.y.z", 1),
    ("spec.http[2]", None),
    ("spec.nothing", None),
    ("spec.http.first", None),
])
def test_value_at(path, value):
    assert value_at(OBJ, path) == value


def test_walk_reports_how_far_it_got():
    assert walk(OBJ, path_parts("spec.http[0].retries")) == (MISSING, 3)
    assert walk({"a": None}, ["a"]) == (None, 1)


@pytest.mark.parametrize("a, b, equal", [
    (1, 1.0, True), (True, 1, False), ("1", 1, False), ({"a": [1, 2]}, {"a": [1, 2.0]}, True), ([1], [1, 2], False),
])
def test_json_equal(a, b, equal):
    assert json_equal(a, b) is equal


def test_tolerant_accessors():
    assert as_dict("x") == {} and as_list({"a": 1}) == [] and label_str(True) == "true" and label_str(None) == ""
    assert is_int(3) and not is_int(True) and not is_int("3")
    assert json_number(True) is None and json_number(float("inf")) is None and json_number(0.5) == 0.5


def test_condition_lookup():
    obj = {"status": {"conditions": ["junk", {"type": "Ready", "status": "True"}, {"type": "Ready", "status": "False"}]}}
    assert is_true(condition(obj, "Ready"))
    assert condition(obj, "Reconciled") is None and not is_true(None)
    assert condition({"status": {"conditions": "Ready"}}, "Ready") is None


def test_creation_key_orders_unreadable_timestamps_first():
    objs = [{"metadata": {"name": "b", "creationTimestamp": "2026-01-02T00:00:00Z"}},
            {"metadata": {"name": "a", "creationTimestamp": "not a time"}},
            {"metadata": {"name": "c", "creationTimestamp": "2026-01-01T00:00:00Z"}}]
    assert [o["metadata"]["name"] for o in sorted(objs, key=creation_key)] == ["a", "c", "b"]
