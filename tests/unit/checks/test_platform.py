"""Platform checks: operator-installed, smcp-spec, smcp-ready, smmr-member, route-answer.

The fixtures under tests/fixtures/checks/platform/ were captured from `lab sandbox` (OLM-lite and
the Service Mesh operator simulator), so the status shapes are the ones the labs meet.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from harness import (
    NS,
    check,
    drop,
    find,
    judged,
    not_member,
    run,
    scenario,
    snap_of,
)
from harness import (
    key as obj_key,
)

from grader.model import Outcome, Status
from grader.snapshot import Snapshot

OPS = "openshift-operators"

OPERATORS = {
    "servicemeshoperator": "servicemeshoperator",
    "kiali-ossm": "kiali-operator",
    "jaeger-product": "jaeger-operator",
    "elasticsearch-operator": "elasticsearch-operator",
}
SMCP_FIELDS = {
    "version": "v2.5",
    "tracing.type": "Jaeger",
    "tracing.sampling": 10000,
    "addons.jaeger.install.storage.type": "Memory",
    "addons.kiali.enabled": True,
    "addons.prometheus.enabled": True,
    "security.dataPlane.mtls": True,
}


# -- fixtures -------------------------------------------------------------------------------------
def objects(*variants: str, drop: tuple[tuple[str, str, str], ...] = ()) -> list[dict]:
    """The solved platform scenario, each variant file's objects replacing (or adding to) it, minus ``drop``."""
    return [o for o in scenario(*variants, base="platform") if obj_key(o) not in drop]


def get(objs: list[dict], kind: str, name: str, namespace: str = "") -> dict:
    return next(o for o in objs if obj_key(o) == (kind, namespace, name))


def op(snapshot: Snapshot, package: str, **kw: Any) -> Outcome:
    return run("operator-installed", snapshot, namespace=OPS, package=package, csv_prefix=OPERATORS[package], **kw)


def spec_check(snapshot: Snapshot, fields: dict | None = None) -> Outcome:
    return run("smcp-spec", snapshot, namespace="istio-system", name="basic", fields=fields or SMCP_FIELDS)


def ready(snapshot: Snapshot) -> Outcome:
    return run("smcp-ready", snapshot, namespace="istio-system", name="basic")


def member(snapshot: Snapshot, ns: str = "webapp") -> Outcome:
    return run("smmr-member", snapshot, cp_namespace="istio-system", member=ns)


def answer(snapshot: Snapshot, key: str, route: str | None = None) -> Outcome:
    return run(
        "route-answer", snapshot, configmap_namespace="webapp", configmap="lab-answers", key=key,
        route_namespace="istio-system", route=route or key,
    )


CSV_NAMES = {"servicemeshoperator": "servicemeshoperator.v2.5.2", "kiali-ossm": "kiali-operator.v1.73.4",
             "jaeger-product": "jaeger-operator.v1.51.0-1"}


def csv_name(package: str) -> tuple[str, str, str]:
    """The (kind, namespace, name) key of a package's CSV, for ``drop``."""
    return "ClusterServiceVersion", OPS, CSV_NAMES[package]


def csv_of(objs: list[dict], package: str) -> dict:
    return get(objs, "ClusterServiceVersion", CSV_NAMES[package], OPS)


# -- operator-installed -----------------------------------------------------------------------------
@pytest.mark.parametrize("package", ["servicemeshoperator", "kiali-ossm", "jaeger-product"])
def test_operator_installed(package):
    out = op(snap_of(objects()), package)
    assert out.status is Status.PASS, out.reason
    assert f"Subscription {OPS}/{package} (package {package}) installed ClusterServiceVersion" in out.reason
    assert "Succeeded" in out.reason


def test_optional_operator_absent_passes_and_says_optional():
    out = op(snap_of(objects()), "elasticsearch-operator", optional=True)
    assert out.status is Status.PASS
    assert "optional" in out.reason and "elasticsearch-operator" in out.reason


def test_required_operator_absent_fails():
    out = op(snap_of(objects()), "elasticsearch-operator")
    assert out.status is Status.FAIL
    assert f"no Subscription in {OPS} has spec.name elasticsearch-operator" in out.reason
    assert "Subscriptions in openshift-operators: jaeger-product (package jaeger-product)" in out.reason
    assert "spec.name: elasticsearch-operator" in out.hint and "redhat-operators" in out.hint


def test_package_typo_shows_resolution_failed():
    objs = objects("subscriptions-wrong.yaml", drop=(csv_name("servicemeshoperator"),))
    out = op(snap_of(objs), "servicemeshoperator")
    assert out.status is Status.FAIL
    assert f"Subscription {OPS}/servicemeshoperator cannot be resolved" in out.reason
    assert "spec.name is 'servicemesh-operator' (expected package servicemeshoperator)" in out.reason
    assert "ResolutionFailed (ConstraintsNotSatisfiable)" in out.reason
    assert "no operators found in package servicemesh-operator in the catalog" in out.reason
    assert "spec.name: servicemeshoperator" in out.hint


def test_package_typo_under_another_subscription_name_is_found():
    objs = objects("subscriptions-wrong.yaml", drop=(csv_name("servicemeshoperator"),))
    sub = get(objs, "Subscription", "servicemeshoperator", OPS)
    sub["metadata"]["name"] = "my-mesh"
    out = op(snap_of(objs), "servicemeshoperator")
    assert out.status is Status.FAIL
    assert f"Subscription {OPS}/my-mesh cannot be resolved" in out.reason


def test_wrong_catalog_shows_resolution_failed():
    objs = objects("subscriptions-wrong.yaml", drop=(csv_name("kiali-ossm"),))
    out = op(snap_of(objs), "kiali-ossm")
    assert out.status is Status.FAIL
    assert "spec.source is 'redhat-operator' (expected catalog redhat-operators)" in out.reason
    assert "no operators found from catalog redhat-operator in namespace openshift-marketplace" in out.reason


def test_catalog_without_the_package():
    objs = objects("subscriptions-wrong.yaml", drop=(csv_name("jaeger-product"),))
    out = op(snap_of(objs), "jaeger-product")
    assert out.status is Status.FAIL
    assert "spec.source is 'community-operators'" in out.reason
    assert "no operators found in package jaeger-product in the catalog referenced by subscription" in out.reason


def test_manual_approval_pending():
    objs = objects("subscriptions-wrong.yaml")
    out = op(snap_of(objs), "elasticsearch-operator")
    assert out.status is Status.FAIL
    assert "is waiting for approval: InstallPlan openshift-operators/install-qjghn has not been approved" in out.reason
    assert "spec.installPlanApproval is 'Manual'" in out.reason
    assert "patch installplan install-qjghn" in out.hint


def test_optional_operator_broken_skips_never_fails():
    out = op(snap_of(objects("subscriptions-wrong.yaml")), "elasticsearch-operator", optional=True)
    assert out.status is Status.SKIP
    assert "optional" in out.reason and "0 points" in out.reason and "waiting for approval" in out.reason


def test_optional_operator_installed_passes():
    objs = objects()
    sub = copy.deepcopy(get(objs, "Subscription", "jaeger-product", OPS))
    csv = copy.deepcopy(csv_of(objs, "jaeger-product"))
    sub["metadata"]["name"] = sub["spec"]["name"] = "elasticsearch-operator"
    sub["status"]["installedCSV"] = csv["metadata"]["name"] = "elasticsearch-operator.v5.8.1"
    out = op(snap_of(objs + [sub, csv]), "elasticsearch-operator", optional=True)
    assert out.status is Status.PASS
    assert out.reason.startswith("optional operator installed: ")


def test_typo_with_the_operator_still_installed_passes_with_a_note():
    # OLM keeps the CSV of an earlier install: the operator runs, the Subscription is broken.
    out = op(snap_of(objects("subscriptions-wrong.yaml")), "servicemeshoperator")
    assert out.status is Status.PASS
    assert "servicemeshoperator.v2.5.2 (Red Hat OpenShift Service Mesh 2.5.2-0) status.phase is Succeeded" in (
        out.reason
    )
    assert "but Subscription openshift-operators/servicemeshoperator cannot be resolved" in out.reason


def test_deleted_subscription_keeps_the_operator():
    objs = objects(drop=(("Subscription", OPS, "kiali-ossm"),))
    out = op(snap_of(objs), "kiali-ossm")
    assert out.status is Status.PASS
    assert "kiali-operator.v1.73.4" in out.reason and "gets no updates" in out.reason


def test_failed_csv():
    objs = objects()
    csv = csv_of(objs, "servicemeshoperator")
    csv["status"].update(phase="Failed", reason="NoOperatorGroup", message="csv in namespace with no operatorgroups")
    out = op(snap_of(objs), "servicemeshoperator")
    assert out.status is Status.FAIL
    assert (
        "ClusterServiceVersion openshift-operators/servicemeshoperator.v2.5.2 (Red Hat OpenShift Service Mesh "
        "2.5.2-0) status.phase is Failed; expected Succeeded (NoOperatorGroup: csv in namespace with no "
        "operatorgroups)"
    ) in out.reason


def test_installed_csv_missing():
    objs = objects(drop=(csv_name("jaeger-product"),))
    out = op(snap_of(objs), "jaeger-product")
    assert out.status is Status.FAIL
    assert "status.installedCSV is 'jaeger-operator.v1.51.0-1' but namespace openshift-operators has no" in out.reason


def test_subscription_without_status():
    objs = objects(drop=(csv_name("kiali-ossm"),))
    del get(objs, "Subscription", "kiali-ossm", OPS)["status"]
    out = op(snap_of(objs), "kiali-ossm")
    assert out.status is Status.FAIL
    assert "Subscription openshift-operators/kiali-ossm has no status: OLM has not resolved it yet" in out.reason


def test_subscription_in_another_namespace():
    objs = objects(drop=(csv_name("kiali-ossm"), ("Subscription", OPS, "kiali-ossm")))
    sub = copy.deepcopy(get(objects(), "Subscription", "kiali-ossm", OPS))
    sub["metadata"]["namespace"] = "istio-system"
    out = op(snap_of(objs + [sub]), "kiali-ossm")
    assert out.status is Status.FAIL
    assert "Subscription istio-system/kiali-ossm subscribes to package kiali-ossm in namespace istio-system" in (
        out.reason
    )


def test_nothing_installed_at_all():
    out = op(snap_of([]), "servicemeshoperator")
    assert out.status is Status.FAIL
    assert "namespace openshift-operators has no Subscriptions" in out.reason


def test_olm_not_served():
    s = snap_of([])
    s.missing_kinds.add("Subscription")
    out = op(s, "servicemeshoperator")
    assert out.status is Status.FAIL and "does not serve Subscription" in out.reason


@pytest.mark.parametrize("params", [{"package": ""}, {"csv_prefix": None}, {"optional": "yes"}, {"namespace": 3}])
def test_operator_bad_params(params):
    base = {"namespace": OPS, "package": "kiali-ossm", "csv_prefix": "kiali-operator"}
    out = run("operator-installed", snap_of(objects()), **(base | params))
    assert out.status is Status.FAIL and "check parameter" in out.reason


# -- smcp-spec --------------------------------------------------------------------------------------
def test_smcp_spec_pass():
    out = spec_check(snap_of(objects()))
    assert out.status is Status.PASS, out.reason
    assert "spec.tracing.sampling is 10000" in out.reason and "spec.security.dataPlane.mtls is true" in out.reason


def test_smcp_sampling_100_is_one_percent():
    out = spec_check(snap_of(objects("smcp-guide-mistakes.yaml")), {"tracing.sampling": 10000})
    assert out.status is Status.FAIL
    assert "ServiceMeshControlPlane istio-system/basic spec.tracing.sampling is 100; expected 10000" in out.reason
    assert "hundredths of a percent" in out.reason
    assert "100 traces 1% of requests and 10000 traces 100% of requests" in out.reason


def test_smcp_mtls_false():
    out = spec_check(snap_of(objects("smcp-guide-mistakes.yaml")), {"security.dataPlane.mtls": True})
    assert out.status is Status.FAIL
    assert "spec.security.dataPlane.mtls is false; expected true" in out.reason
    assert "STRICT" in out.reason and "PERMISSIVE" in out.reason


def test_smcp_every_problem_reported():
    out = spec_check(snap_of(objects("smcp-guide-mistakes.yaml")))
    assert out.status is Status.FAIL
    for needle in ("tracing.sampling", "dataPlane.mtls", "addons.kiali.enabled is false"):
        assert needle in out.reason
    assert "spec.addons.kiali.enabled: true" in out.hint


def test_smcp_field_left_to_the_profile_counts_as_applied():
    objs = objects()
    del get(objs, "ServiceMeshControlPlane", "basic", "istio-system")["spec"]["addons"]["prometheus"]
    out = spec_check(snap_of(objs), {"addons.prometheus.enabled": True})
    assert out.status is Status.PASS, out.reason
    assert "spec.addons.prometheus.enabled (not set; the operator applied true from its profile)" in out.reason


def test_smcp_field_not_set_anywhere():
    objs = objects()
    smcp = get(objs, "ServiceMeshControlPlane", "basic", "istio-system")
    del smcp["spec"]["tracing"]["sampling"], smcp["status"]["appliedSpec"]["tracing"]["sampling"]
    out = spec_check(snap_of(objs), {"tracing.sampling": 10000})
    assert out.status is Status.FAIL
    assert "spec.tracing.sampling is not set; expected 10000" in out.reason


def test_smcp_field_wrong_type():
    objs = objects()
    get(objs, "ServiceMeshControlPlane", "basic", "istio-system")["spec"]["tracing"]["sampling"] = "10000"
    out = spec_check(snap_of(objs), {"tracing.sampling": 10000})
    assert out.status is Status.FAIL and "(a str, not a int)" in out.reason


def test_smcp_missing():
    objs = objects()
    get(objs, "ServiceMeshControlPlane", "basic", "istio-system")["metadata"]["name"] = "production"
    out = spec_check(snap_of(objs))
    assert out.status is Status.FAIL
    assert "ServiceMeshControlPlane istio-system/basic not found; ServiceMeshControlPlanes in istio-system: " \
           "production" in out.reason
    out = ready(snap_of([]))
    assert "namespace istio-system has no ServiceMeshControlPlane" in out.reason


@pytest.mark.parametrize("fields", [{}, None, "version", {"": 1}])
def test_smcp_spec_bad_fields(fields):
    out = run("smcp-spec", snap_of(objects()), namespace="istio-system", name="basic", fields=fields)
    assert out.status is Status.FAIL and "check parameter fields" in out.reason


# -- smcp-ready -------------------------------------------------------------------------------------
def test_smcp_ready():
    out = ready(snap_of(objects()))
    assert out.status is Status.PASS, out.reason
    assert "condition Ready is True (ComponentsReady), readyComponentCount 7/7" in out.reason


def _not_ready(objs: list[dict], unready: list[str], pending: list[str]) -> None:
    st = get(objs, "ServiceMeshControlPlane", "basic", "istio-system")["status"]
    comps = st["readiness"]["components"]
    comps["ready"] = [c for c in comps["ready"] if c not in unready + pending]
    comps["unready"], comps["pending"] = unready, pending
    st["annotations"]["readyComponentCount"] = f"{len(comps['ready'])}/7"
    cond = next(c for c in st["conditions"] if c["type"] == "Ready")
    cond.update(status="False", reason="ComponentsNotReady",
                message=f"the following components are not fully available: [{' '.join(sorted(unready + pending))}]")


def test_smcp_not_ready_names_components_and_count():
    objs = objects()
    _not_ready(objs, ["kiali"], ["tracing"])
    out = ready(snap_of(objs))
    assert out.status is Status.FAIL
    assert "ServiceMeshControlPlane istio-system/basic is not ready (readyComponentCount 5/7)" in out.reason
    assert "condition Ready is False (ComponentsNotReady: the following components are not fully available: " \
           "[kiali tracing])" in out.reason
    assert "status.readiness.components.unready is [kiali]" in out.reason
    assert "status.readiness.components.pending is [tracing]" in out.reason


def test_smcp_ready_with_stale_generation_is_noted():
    objs = objects()
    get(objs, "ServiceMeshControlPlane", "basic", "istio-system")["metadata"]["generation"] = 5
    out = ready(snap_of(objs))
    assert out.status is Status.PASS
    assert "note: " in out.reason and "status.observedGeneration is 1 but metadata.generation is 5" in out.reason
    _not_ready(objs, ["kiali"], [])
    out = ready(snap_of(objs))
    assert out.status is Status.FAIL and "has not reconciled the latest spec yet" in out.reason


def test_smcp_without_status():
    objs = objects()
    del get(objs, "ServiceMeshControlPlane", "basic", "istio-system")["status"]
    out = ready(snap_of(objs))
    assert out.status is Status.FAIL
    assert "has no status: the Service Mesh operator has not reconciled it" in out.reason


def test_smcp_validation_error():
    objs = objects()
    st = get(objs, "ServiceMeshControlPlane", "basic", "istio-system")["status"]
    for c in st["conditions"]:
        c.update(status="False", reason="ValidationError", message="version v2.9 is not supported by this operator")
    out = ready(snap_of(objs))
    assert out.status is Status.FAIL
    assert "condition Reconciled is False (ValidationError: version v2.9 is not supported" in out.reason


# -- smmr-member ------------------------------------------------------------------------------------
def test_member_configured():
    out = member(snap_of(objects()))
    assert out.status is Status.PASS, out.reason
    assert "ServiceMeshMemberRoll istio-system/default lists webapp" in out.reason
    assert "configuredMemberCount 1/1" in out.reason and "maistra.io/member-of=istio-system" in out.reason


def test_roll_named_after_the_control_plane():
    objs = objects("smmr-wrong-name.yaml", drop=(("ServiceMeshMemberRoll", "istio-system", "default"),))
    out = member(snap_of(objs))
    assert out.status is Status.FAIL
    assert "no ServiceMeshMemberRoll named default in namespace istio-system" in out.reason
    assert "ServiceMeshMemberRoll istio-system/basic is ignored: the operator only reconciles a " \
           "ServiceMeshMemberRoll named default" in out.reason
    assert "ErrInvalidName" in out.reason and 'must be "default"' in out.reason
    assert "spec.members: [webapp]" in out.hint


def test_member_typo():
    objs = objects("smmr-member-typo.yaml", drop=(("ServiceMeshMember", "webapp", "default"),))
    out = member(snap_of(objs))
    assert out.status is Status.FAIL
    assert "ServiceMeshMemberRoll istio-system/default spec.members is [\"web-app\"]; expected it to list webapp" in (
        out.reason
    )
    assert "'web-app' is not 'webapp'" in out.reason
    assert "condition Reconciled is False (NamespaceNotExists: Namespace web-app does not exist)" in out.reason


def test_member_pending():
    objs = objects()
    st = get(objs, "ServiceMeshMemberRoll", "default", "istio-system")["status"]
    st.update(configuredMembers=[], pendingMembers=["webapp"])
    st["annotations"]["configuredMemberCount"] = "0/1"
    st["memberStatuses"][0]["conditions"][0].update(status="False", reason="ReconcileError", message="boom")
    st["conditions"][0].update(status="False", reason="ReconcileError",
                               message="The following namespaces are not yet configured: [webapp]")
    out = member(snap_of(objs))
    assert out.status is Status.FAIL
    assert "status.configuredMembers is [] (configuredMemberCount 0/1); webapp is not configured (it is in " \
           "status.pendingMembers): condition Reconciled is False (ReconcileError: boom)" in out.reason
    assert "condition Ready is False (ReconcileError: The following namespaces are not yet configured: [webapp])" in (
        out.reason
    )


def test_member_label_missing():
    objs = objects()
    get(objs, "Namespace", "webapp")["metadata"]["labels"] = {"istio-injection": "enabled"}
    out = member(snap_of(objs))
    assert out.status is Status.FAIL
    assert "Namespace webapp label maistra.io/member-of is not set; expected istio-system" in out.reason


def test_member_namespace_missing():
    out = member(snap_of(objects(drop=(("Namespace", "", "webapp"),))))
    assert out.status is Status.FAIL and "Namespace webapp does not exist" in out.reason


@pytest.mark.parametrize("spec", [{"members": ["*"]}, {"memberSelectors": [{"matchLabels": {"team": "web"}}]}])
def test_member_by_wildcard_or_selector(spec):
    objs = objects()
    get(objs, "ServiceMeshMemberRoll", "default", "istio-system")["spec"] = spec
    out = member(snap_of(objs))
    assert out.status is Status.PASS, out.reason


def test_member_roll_in_wrong_namespace():
    objs = objects()
    get(objs, "ServiceMeshMemberRoll", "default", "istio-system")["metadata"]["namespace"] = "webapp"
    out = member(snap_of(objs))
    assert out.status is Status.FAIL
    assert "ServiceMeshMemberRoll webapp/default lists webapp but is in namespace webapp" in out.reason


def test_member_roll_stale_status_does_not_count_an_unlisted_member():
    objs = objects()
    roll = get(objs, "ServiceMeshMemberRoll", "default", "istio-system")
    roll["metadata"]["generation"] = 9
    assert member(snap_of(objs)).ok  # listed in spec, configured in the (older) status
    roll["spec"]["members"] = ["web-app"]  # just edited: the status still shows webapp configured
    out = member(snap_of(objs))
    assert out.status is Status.FAIL and "expected it to list webapp" in out.reason




# -- namespace-member ------------------------------------------------------------------------------
NM = {"namespace": NS, "control_plane": "istio-system"}


def test_namespace_member_pass_through_smm(objs):
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.PASS
    assert "label maistra.io/member-of=istio-system, through ServiceMeshMember webapp/default" in out.reason


def test_namespace_member_not_a_member(objs):
    out = check("namespace-member", not_member(objs), **NM)
    assert out.status is Status.FAIL
    assert "Namespace webapp is not a member of the mesh: there is no ServiceMeshMember default in webapp" in out.reason
    assert "ServiceMeshMemberRoll istio-system/default spec.members [] does not include it" in out.reason
    assert "the sidecar injection webhook never sees its pods" in out.reason
    assert "ServiceMeshMember default in webapp" in out.hint


def test_namespace_member_without_member_roll(objs):
    objs = drop(not_member(objs), "ServiceMeshMemberRoll", "default", "istio-system")
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.FAIL and "there is no ServiceMeshMemberRoll default in istio-system" in out.reason


@pytest.mark.parametrize("roll, via", [
    ({"members": ["webapp"]}, "spec.members"),
    ({"members": ["*"]}, 'spec.members ["*"]'),
    ({"memberSelectors": [{"matchLabels": {"team": "web"}}]}, "spec.memberSelectors[0]"),
])
def test_namespace_member_through_member_roll(objs, roll, via):
    objs = drop(objs, "ServiceMeshMember", "default")
    find(objs, "ServiceMeshMemberRoll", "default", "istio-system")["spec"] = roll
    find(objs, "Namespace", "webapp")["metadata"]["labels"]["team"] = "web"
    out = check("namespace-member", objs, **NM)
    assert out.ok and f"through ServiceMeshMemberRoll istio-system/default {via}" in out.reason


def test_namespace_member_label_set_by_hand(objs):
    objs = drop(objs, "ServiceMeshMember", "default")
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.FAIL
    assert "carries label maistra.io/member-of=istio-system, but nothing makes it a member" in out.reason
    assert "a hand-set label does not make a working member" in out.reason


def test_namespace_member_misnamed_smm(objs):
    objs = not_member(objs)
    smm = copy.deepcopy(next(o for o in scenario(base="sandbox") if o["kind"] == "ServiceMeshMember"))
    smm["metadata"]["name"] = "webapp"
    out = check("namespace-member", objs + [smm], **NM)
    assert out.status is Status.FAIL
    assert "ServiceMeshMember webapp/webapp is ignored: a ServiceMeshMember must be named default" in out.reason


def test_namespace_member_smm_wrong_control_plane(objs):
    objs = not_member(objs)
    smm = copy.deepcopy(next(o for o in scenario(base="sandbox") if o["kind"] == "ServiceMeshMember"))
    smm["spec"]["controlPlaneRef"] = {"name": "basic", "namespace": "istio-system2"}
    out = check("namespace-member", objs + [smm], **NM)
    assert out.status is Status.FAIL
    assert "ServiceMeshMember webapp/default spec.controlPlaneRef.namespace is 'istio-system2'" in out.reason
    smm["spec"]["controlPlaneRef"] = {"name": "full", "namespace": "istio-system"}
    out = check("namespace-member", objs + [smm], **NM)
    assert "spec.controlPlaneRef.name is 'full', but the ServiceMeshControlPlane in istio-system is basic" \
        in out.reason


def test_namespace_member_smm_not_configured_yet(objs):
    find(objs, "Namespace", "webapp")["metadata"]["labels"].pop("maistra.io/member-of")
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.FAIL
    assert "has no label maistra.io/member-of=istio-system yet: the operator has not configured it" in out.reason
    smm = find(objs, "ServiceMeshMember", "default")
    smm["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "ErrorConfiguringNamespace",
                                    "message": "already a member of other-mesh"}]
    out = check("namespace-member", objs, **NM)
    assert "ServiceMeshMember webapp/default is not Ready (ErrorConfiguringNamespace" in out.reason


def test_namespace_member_other_mesh_and_ignored(objs):
    labels = find(objs, "Namespace", "webapp")["metadata"]["labels"]
    labels["maistra.io/member-of"] = "other-mesh"
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.FAIL and "it belongs to the control plane in other-mesh" in out.reason
    labels["maistra.io/member-of"] = "istio-system"
    labels["maistra.io/ignore-namespace"] = "ignore"
    out = check("namespace-member", objs, **NM)
    assert out.status is Status.FAIL and "maistra.io/ignore-namespace" in out.reason


@pytest.mark.parametrize("namespace", ["istio-system", "openshift-monitoring", "kube-system"])
def test_namespace_member_excluded_namespaces(objs, namespace):
    out = check("namespace-member", objs, namespace=namespace)
    assert out.status is Status.FAIL and "can never be a mesh member" in out.reason


def test_namespace_member_namespace_missing(objs):
    out = check("namespace-member", objs, namespace="shop")
    assert out.status is Status.FAIL and "Namespace shop does not exist" in out.reason


def test_namespace_member_without_maistra_api(objs):
    s = snap_of([o for o in objs if not o["apiVersion"].startswith("maistra.io")], flavour="istio")
    s.missing_kinds |= {"ServiceMeshMember", "ServiceMeshMemberRoll", "ServiceMeshControlPlane"}
    out = run("namespace-member", s, **NM)
    assert out.status is Status.FAIL and "does not serve ServiceMeshMember" in out.reason


# -- route-answer -----------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["kiali", "jaeger", "prometheus"])
def test_route_answers(key):
    out = answer(snap_of(objects()), key)
    assert out.status is Status.PASS, out.reason
    assert f"ConfigMap webapp/lab-answers data.{key} is" in out.reason
    assert f"the host of Route istio-system/{key}" in out.reason


def _answers(objs: list[dict]) -> dict:
    return get(objs, "ConfigMap", "lab-answers", "webapp")["data"]


def test_route_answers_swapped():
    objs = objects()
    data = _answers(objs)
    data["kiali"], data["jaeger"] = "jaeger-istio-system.apps.sandbox.lab", "kiali-istio-system.apps.sandbox.lab"
    out = answer(snap_of(objs), "kiali")
    assert out.status is Status.FAIL
    assert (
        "ConfigMap webapp/lab-answers data.kiali is 'jaeger-istio-system.apps.sandbox.lab', the host of Route "
        "istio-system/jaeger; expected the host of Route istio-system/kiali: kiali-istio-system.apps.sandbox.lab"
    ) == out.reason
    assert "oc get route kiali -n istio-system" in out.hint


def test_route_answer_missing_key():
    objs = objects()
    del _answers(objs)["prometheus"]
    out = answer(snap_of(objs), "prometheus")
    assert out.status is Status.FAIL
    assert "ConfigMap webapp/lab-answers has no key prometheus in data (keys: jaeger, kiali)" in out.reason


@pytest.mark.parametrize(
    "value, ok, needle",
    [
        ("  KIALI-istio-system.apps.sandbox.lab\n", True, ""),
        ("https://kiali-istio-system.apps.sandbox.lab/", True, ""),
        ("https://kiali-istio-system.apps.sandbox.lab/console", False, "has a path ('/console')"),
        ("ftp://kiali-istio-system.apps.sandbox.lab", False, "uses scheme 'ftp'"),
        ("kiali.example.com", False, "expected the host of Route istio-system/kiali"),
        ("", False, "data.kiali is ''"),
    ],
)
def test_route_answer_forms(value, ok, needle):
    objs = objects()
    _answers(objs)["kiali"] = value
    out = answer(snap_of(objs), "kiali")
    assert out.ok is ok, out.reason
    assert needle in out.reason


def test_route_answer_no_configmap_or_route():
    out = answer(snap_of(objects(drop=(("ConfigMap", "webapp", "lab-answers"),))), "kiali")
    assert out.status is Status.FAIL and "ConfigMap webapp/lab-answers not found" in out.reason
    assert "oc create configmap lab-answers -n webapp --from-literal=kiali=<host>" in out.hint
    out = answer(snap_of(objects(drop=(("Route", "istio-system", "kiali"),))), "kiali")
    assert out.status is Status.FAIL and "Route istio-system/kiali not found" in out.reason


def test_route_host_from_status():
    objs = objects()
    del get(objs, "Route", "kiali", "istio-system")["spec"]["host"]
    assert answer(snap_of(objs), "kiali").ok


def test_route_answer_non_string_data():
    objs = objects()
    get(objs, "ConfigMap", "lab-answers", "webapp")["data"] = {"kiali": 3}
    out = answer(snap_of(objs), "kiali")
    assert out.status is Status.FAIL and "not a string" in out.reason


# -- robustness: odd content never crashes a check ----------------------------------------------------
CHECKS: list[tuple[str, dict]] = [
    *[("operator-installed", {"namespace": OPS, "package": p, "csv_prefix": c}) for p, c in OPERATORS.items()],
    ("operator-installed", {"namespace": OPS, "package": "elasticsearch-operator",
                            "csv_prefix": "elasticsearch-operator", "optional": True}),
    ("smcp-spec", {"namespace": "istio-system", "name": "basic", "fields": SMCP_FIELDS}),
    ("smcp-ready", {"namespace": "istio-system", "name": "basic"}),
    ("smmr-member", {"cp_namespace": "istio-system", "member": "webapp"}),
    *[("route-answer", {"configmap_namespace": "webapp", "configmap": "lab-answers", "key": k,
                        "route_namespace": "istio-system", "route": k}) for k in ("kiali", "jaeger")],
]
ODD: list[Any] = [None, "", "80", 0, -1, 1.5, True, [], {}, [None, "x", 3, {"a": []}], {"status": "True"}, ["x"] * 50]
BASE = objects("subscriptions-wrong.yaml", "smmr-wrong-name.yaml")


def _paths(value: Any, prefix: tuple = (), depth: int = 4) -> Iterator[tuple]:
    if depth == 0:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if prefix == () and k in ("kind", "metadata", "apiVersion"):
                continue
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,), depth - 1)
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,), depth - 1)


def _set(obj: Any, path: tuple, value: Any) -> None:
    for step in path[:-1]:
        obj = obj[step]
    obj[path[-1]] = value


def _cope(objs: list[dict]) -> None:
    s = Snapshot.from_objects(objs)  # checks only read: no copy needed
    for name, params in CHECKS:
        out = run(name, s, **params)
        assert isinstance(out, Outcome), name
        assert out.status in (Status.PASS, Status.FAIL, Status.SKIP), (name, out)
        assert judged(out), (name, out.reason)


def test_base_for_robustness_passes_where_expected():
    s = snap_of(BASE)
    assert all(run(n, s, **p).status is not Status.ERROR for n, p in CHECKS)


@pytest.mark.parametrize("index", range(len(BASE)), ids=lambda i: "/".join(obj_key(BASE[i])[::2]))
def test_odd_values_never_raise(index):
    for path in list(_paths(BASE[index])):
        for value in ODD:
            objs = list(BASE)
            objs[index] = copy.deepcopy(BASE[index])
            _set(objs[index], path, copy.deepcopy(value))
            _cope(objs)


def test_odd_metadata_never_raises():
    for index in range(len(BASE)):
        for field in ("labels", "generation", "creationTimestamp", "name"):
            for value in ODD:
                objs = list(BASE)
                objs[index] = copy.deepcopy(BASE[index])
                objs[index]["metadata"][field] = copy.deepcopy(value)
                _cope(objs)


def test_empty_snapshot_never_raises():
    _cope([])


@pytest.mark.parametrize("name, params", CHECKS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CHECKS)])
def test_odd_parameters_never_raise(name, params):
    s = snap_of(BASE)
    for key in params:
        for value in ODD:
            out = run(name, s, **(params | {key: copy.deepcopy(value)}))
            assert isinstance(out, Outcome)
            assert judged(out), (name, key, value, out.reason)
