"""grader/mesh/selectors.py: label selectors and subset labels."""

from __future__ import annotations

import pytest

from grader.mesh.selectors import label_selector_matches, map_selector_matches, selector_matches, subset_selects


# -- selectors ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "selector, labels, expected",
    [
        ({"matchLabels": {"app": "web"}}, {"app": "web", "version": "v1"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "api"}, False),
        ({}, {"anything": "x"}, True),  # empty LabelSelector matches everything
        ({"matchExpressions": [{"key": "version", "operator": "In", "values": ["v1", "v2"]}]}, {"version": "v2"}, True),
        ({"matchExpressions": [{"key": "version", "operator": "In", "values": ["v1"]}]}, {"version": "v2"}, False),
        ({"matchExpressions": [{"key": "version", "operator": "NotIn", "values": ["v1"]}]}, {"app": "web"}, True),
        ({"matchExpressions": [{"key": "version", "operator": "NotIn", "values": ["v1"]}]}, {"version": "v1"}, False),
        ({"matchExpressions": [{"key": "canary", "operator": "Exists"}]}, {"canary": ""}, True),
        ({"matchExpressions": [{"key": "canary", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}, {}, True),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "version", "operator": "In", "values": ["v1"]}],
            },
            {"app": "web", "version": "v1"},
            True,
        ),
        ({"matchExpressions": [{"key": "x", "operator": "Gt", "values": ["1"]}]}, {"x": "2"}, False),
        ({"matchExpressions": "app=web"}, {"app": "web"}, False),
        ({"matchLabels": "app=web"}, {"app": "web"}, False),
        ("app=web", {"app": "web"}, False),
        (None, {"app": "web"}, False),
    ],
)
def test_label_selector(selector, labels, expected):
    assert label_selector_matches(selector, labels) is expected


def test_map_selector_and_auto_detection():
    assert map_selector_matches({"istio": "ingressgateway"}, {"istio": "ingressgateway", "app": "x"})
    assert not map_selector_matches({"istio": "ingressgateway"}, {"istio": "ingress"})
    assert not map_selector_matches({}, {"a": "b"})  # an empty Service selector selects nothing
    assert map_selector_matches({}, {"a": "b"}, empty_matches=True)  # a subset without labels: all pods
    assert map_selector_matches({"inject": True}, {"inject": "true"})  # YAML bool vs API string
    assert selector_matches({"matchLabels": {"app": "web"}}, {"app": "web"})
    assert selector_matches({"app": "web"}, {"app": "web"})
    assert not selector_matches({"app": "web"}, "app=web")


def test_subset_selects():
    assert subset_selects(None, {"app": "web"})
    assert subset_selects({}, {"app": "web"})
    assert subset_selects({"version": "v1"}, {"version": "v1", "app": "web"})
    assert not subset_selects({"version": "v1"}, {"version": "v2"})
    assert not subset_selects("version=v1", {"version": "v1"})
    # locality labels come from the node, which is not read: non-empty assumed to match
    assert subset_selects({"topology.kubernetes.io/region": "us-west-1", "version": "v1"}, {"version": "v1"})
    assert not subset_selects({"topology.kubernetes.io/region": ""}, {"version": "v1"})
