"""The simulators' REST helper (grader/sandbox/simulators/rest.py) and shared pieces
(common.py): paths as the Kubernetes API lays them out (API conventions: /api/v1 for the
core group, /apis/GROUP/VERSION otherwise; namespaced resources under namespaces/NS),
merge patches as RFC 7386 defines them, conditions as metav1.Condition keeps them."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.sandbox.simulators import rest
from grader.sandbox.simulators.common import condition

SIMULATORS = Path(rest.__file__).resolve().parent


@pytest.mark.parametrize(("kind", "resource"), [
    ("Deployment", "deployments"), ("Ingress", "ingresses"), ("Endpoints", "endpoints"),
    ("NetworkPolicy", "networkpolicies"), ("ClusterServiceVersion", "clusterserviceversions"),
    ("ServiceMeshMemberRoll", "servicemeshmemberrolls"), ("PeerAuthentication", "peerauthentications"),
])
def test_plural_is_the_resource_name(kind, resource):
    assert rest.plural(kind) == resource


def test_paths_of_core_and_group_resources():
    assert rest.kind_path("v1", "Service", "webapp", "web") == "/api/v1/namespaces/webapp/services/web"
    assert rest.kind_path("apps/v1", "Deployment", "webapp") == "/apis/apps/v1/namespaces/webapp/deployments"
    assert rest.path("maistra.io/v1", "servicemeshmembers") == "/apis/maistra.io/v1/servicemeshmembers"
    assert rest.path("v1", "namespaces", name="webapp") == "/api/v1/namespaces/webapp"


def test_cluster_scoped_kinds_have_no_namespace_in_their_path():
    assert rest.kind_path("v1", "Namespace", "ignored", "webapp") == "/api/v1/namespaces/webapp"
    webhook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
               "metadata": {"name": "istio-sidecar-injector", "namespace": "istio-system"}}
    assert rest.object_path(webhook) == \
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector"


def test_merge_diff_is_a_json_merge_patch():
    old = {"a": 1, "b": {"c": 2, "d": 3}, "gone": True, "list": [1, 2]}
    new = {"a": 1, "b": {"c": 2, "d": 4}, "list": [1], "added": "x"}
    patch = rest.merge_diff(old, new)
    assert patch == {"b": {"d": 4}, "gone": None, "list": [1], "added": "x"}
    assert rest.merge_diff(new, new) is None


def test_merge_diff_applied_gives_the_new_object():
    def apply(target, patch):  # RFC 7386 MergePatch
        if not isinstance(patch, dict):
            return patch
        out = dict(target) if isinstance(target, dict) else {}
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = apply(out.get(k), v)
        return out

    old = {"conditions": [{"type": "Ready"}], "annotations": {"x": "1", "y": "2"}, "members": ["a"]}
    new = {"conditions": [{"type": "Ready", "status": "True"}], "annotations": {"x": "1"}, "pending": []}
    assert apply(old, rest.merge_diff(old, new)) == new


def test_condition_keeps_its_transition_time_while_the_status_holds():
    first = condition("Ready", False, "ComponentsNotReady", "", None)
    assert first["status"] == "False" and "message" not in first  # an empty message is left out
    again = condition("Ready", "False", "ComponentsNotReady", "still", [dict(first, lastTransitionTime="T0")])
    assert again["lastTransitionTime"] == "T0"
    flipped = condition("Ready", True, "ComponentsReady", "", [dict(first, lastTransitionTime="T0")])
    assert flipped["status"] == "True" and flipped["lastTransitionTime"] != "T0"


@pytest.mark.parametrize("path", sorted(SIMULATORS.rglob("*.py")), ids=lambda p: str(p.relative_to(SIMULATORS)))
def test_requests_go_through_rest(path):
    """The simulators call the API server through rest.py (or the typed client), one helper for all
    (tests/unit/test_architecture.py: they import nothing of the grader)."""
    if path.name != "rest.py":
        assert "call_api" not in path.read_text(), f"{path.name}: requests go through rest.call"
