"""Which namespaces a ServiceMeshMemberRoll takes in (grader/sandbox/simulators/servicemesh/members.py),
as Red Hat documents the SMMR (docs.openshift.com service_mesh/v2x/ossm-create-mesh: spec.members,
"*", spec.memberSelectors as label selectors) and maistra/istio-operator maistra-2.5 excludes
namespaces (servicemeshmemberroll_types.go: the control plane's own, kube-*, openshift-*, ibm-*);
and the version members report (status.meshReconciledVersion)."""

from __future__ import annotations

import pytest

from grader.sandbox.simulators.servicemesh.control_plane import reconciled_version
from grader.sandbox.simulators.servicemesh.members import is_member, selector_matches


def roll(**spec) -> dict:
    return {"metadata": {"name": "default", "namespace": "istio-system"}, "spec": spec}


def ns(name: str, **labels: str) -> dict:
    return {"metadata": {"name": name, "labels": labels}}


def test_listed_namespaces_are_members():
    assert is_member(roll(members=["webapp"]), ns("webapp"))
    assert not is_member(roll(members=["web-app"]), ns("webapp"))


@pytest.mark.parametrize("name", ["istio-system", "kube-system", "kube-public", "openshift-operators",
                                  "ibm-cloud", "kube", "openshift"])
def test_the_wildcard_never_takes_system_namespaces(name):
    assert not is_member(roll(members=["*"]), ns(name))
    assert not is_member(roll(members=[name]), ns(name))


def test_the_wildcard_takes_the_others():
    assert is_member(roll(members=["*"]), ns("webapp"))


def test_member_selectors():
    by_label = roll(memberSelectors=[{"matchLabels": {"mesh": "yes"}}])
    assert is_member(by_label, ns("webapp", mesh="yes"))
    assert not is_member(by_label, ns("webapp", mesh="no"))
    assert not is_member(roll(memberSelectors=[{}]), ns("webapp"))  # an empty selector is ignored


@pytest.mark.parametrize(("expression", "labels", "matches"), [
    ({"key": "team", "operator": "In", "values": ["a", "b"]}, {"team": "a"}, True),
    ({"key": "team", "operator": "In", "values": ["a", "b"]}, {"team": "c"}, False),
    ({"key": "team", "operator": "NotIn", "values": ["a"]}, {"team": "c"}, True),
    ({"key": "team", "operator": "NotIn", "values": ["a"]}, {}, True),
    ({"key": "team", "operator": "NotIn", "values": ["a"]}, {"team": "a"}, False),
    ({"key": "team", "operator": "Exists"}, {"team": ""}, True),
    ({"key": "team", "operator": "Exists"}, {}, False),
    ({"key": "team", "operator": "DoesNotExist"}, {}, True),
    ({"key": "team", "operator": "DoesNotExist"}, {"team": "a"}, False),
])
def test_label_selector_expressions(expression, labels, matches):
    assert selector_matches({"matchExpressions": [expression]}, labels) is matches


def test_reconciled_version_is_operator_version_and_smcp_generation():
    assert reconciled_version({"status": {"operatorVersion": "2.5.2", "observedGeneration": 3}}) == "2.5.2-3"
    assert reconciled_version(None) == ""
