"""grader/mesh/membership.py: which namespaces an OpenShift Service Mesh 2.x control plane manages."""

from __future__ import annotations

import pytest

from grader.mesh.membership import never_member, smmr_lists


def _roll(**spec):
    return {"kind": "ServiceMeshMemberRoll", "metadata": {"name": "default", "namespace": "istio-system"}, "spec": spec}


@pytest.mark.parametrize("spec, labels, via", [
    ({"members": ["webapp"]}, {}, "spec.members"),
    ({"members": ["*"]}, {}, 'spec.members ["*"]'),
    ({"members": ["other"], "memberSelectors": [{"matchLabels": {"mesh": "yes"}}]}, {"mesh": "yes"},
     "spec.memberSelectors[0]"),
    ({"memberSelectors": [{}, {"matchExpressions": [{"key": "mesh", "operator": "Exists"}]}]}, {"mesh": ""},
     "spec.memberSelectors[1]"),
    ({"members": ["other"], "memberSelectors": [{"matchLabels": {"mesh": "yes"}}]}, {"mesh": "no"}, None),
    ({"members": "webapp"}, {}, None),
    ({}, {}, None),
])
def test_smmr_lists(spec, labels, via):
    assert smmr_lists(_roll(**spec), "webapp", labels) == via


@pytest.mark.parametrize("namespace, never", [
    ("istio-system", True), ("kube-system", True), ("openshift-operators", True), ("ibm-cert", True),
    ("kube", True), ("openshift", True), ("webapp", False), ("kubeflow", False),
])
def test_never_member(namespace, never):
    assert never_member(namespace, "istio-system") is never
