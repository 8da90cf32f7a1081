"""Check types of grader/checks/workloads.py: workload-sidecar, workload-ready (canary
scenario), service-port and namespace-sidecars (sandbox scenario)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from harness import (
    NS,
    check,
    drop,
    find,
    find_prefix,
    no_annotation,
    strip_sidecar,
)

from grader import kinds as K
from grader.model import Status
from grader.snapshot import Snapshot

V2 = {"namespace": "webapp", "deployment": "web-v2"}
V1 = {"namespace": "webapp", "deployment": "web-v1"}




# -- workload-sidecar ------------------------------------------------------------------
def test_sidecar_pass(variant, check):
    out = check(
        "workload-sidecar", variant(), **V1, min_ready=2, labels={"app": "web", "version": "v1"}, image="nginx:alpine"
    )
    assert out.status is Status.PASS
    assert "Deployment webapp/web-v1" in out.reason and "2 pod(s)" in out.reason


def test_sidecar_ignores_terminating_pre_injection_pod(variant, check):
    # web-v1's old ReplicaSet left a terminating pod without sidecar: not a current pod
    assert check("workload-sidecar", variant(), **V1).ok


def test_sidecar_native_sidecar_passes(variant, check):
    out = check("workload-sidecar", variant("v2-native-sidecar.yaml"), **V2)
    assert out.status is Status.PASS and "native sidecar" in out.reason


def test_sidecar_missing_deployment(variant, check):
    out = check("workload-sidecar", variant(), namespace="webapp", deployment="web-v3")
    assert out.status is Status.FAIL
    assert "Deployment webapp/web-v3 not found" in out.reason
    assert "web-v1" in out.reason and "web-v2" in out.reason


@pytest.mark.parametrize(("flavour", "ns_labels", "says"), [
    ("istio", {}, "has neither label istio-injection=enabled nor istio.io/rev"),
    ("ossm3", {"istio-injection": "disabled"}, "has label istio-injection=disabled"),
    ("istio", {"istio-injection": "enabled"}, None),
    ("istio", {"istio.io/rev": "default"}, None),
    ("ossm2", {}, None),  # OSSM 2.x: the pod asks, the namespace label neither needed nor enough
])
def test_sidecar_missing_deployment_namespace_not_injected(load_scenario, get, make_snap, check, flavour, ns_labels,
                                                           says):
    """istioctl analyze's IST0102 NamespaceNotInjected names the namespace before any pod exists (the injection
    lab as set up on upstream Istio): the missing Deployment's verdict names it too, where the label decides."""
    objs = load_scenario("v2-no-sidecar-injection-label.yaml")
    get(objs, "Namespace", "webapp", "")["metadata"]["labels"] = ns_labels
    out = check("workload-sidecar", make_snap(objs, flavour=flavour), namespace="webapp", deployment="web-v3")
    assert out.status is Status.FAIL and out.reason.startswith("Deployment webapp/web-v3 not found")
    if says:
        assert f"Namespace webapp {says}" in out.reason and "(IST0102)" in out.reason, out.reason
        assert "label namespace webapp istio-injection=enabled" in out.hint
    else:
        assert "IST0102" not in out.reason and "Namespace webapp" not in out.reason, out.reason


def test_sidecar_v2_without_sidecar_ossm_injection_label(variant, check):
    """Canary: namespace labelled istio-injection=enabled, template without the annotation."""
    out = check("workload-sidecar", variant("v2-no-sidecar-injection-label.yaml"), **V2)
    assert out.status is Status.FAIL
    assert "Namespace webapp has label istio-injection=enabled" in out.reason
    assert "neither needed nor enough" in out.reason
    assert "Deployment webapp/web-v2" in out.reason
    assert "spec.template.metadata.annotations" in out.reason
    assert 'sidecar.istio.io/inject: "true"' in out.reason
    assert "web-v2-84b6fd7c9b-h8j2c" in out.reason
    assert "oc patch deployment/web-v2" in out.hint


def test_sidecar_v2_without_sidecar_no_namespace_label(variant, check, load_scenario, get, make_snap):
    objs = load_scenario("v2-no-sidecar-injection-label.yaml")
    del get(objs, "Namespace", "webapp", "")["metadata"]["labels"]["istio-injection"]
    out = check("workload-sidecar", make_snap(objs), **V2)
    assert out.status is Status.FAIL
    assert "istio-injection" not in out.reason
    assert "lacks annotation sidecar.istio.io/inject" in out.reason
    assert "spec.template.metadata.annotations" in out.reason


def test_sidecar_template_says_false(load_scenario, get, make_snap, check):
    objs = load_scenario("v2-no-sidecar-injection-label.yaml")
    tmpl = get(objs, "Deployment", "web-v2")["spec"]["template"]["metadata"]
    tmpl["labels"]["sidecar.istio.io/inject"] = "false"
    tmpl["annotations"] = {"sidecar.istio.io/inject": "true"}
    out = check("workload-sidecar", make_snap(objs), **V2)
    assert out.status is Status.FAIL
    # maistra inject.go: the label wins over the annotation
    assert "sets label sidecar.istio.io/inject: 'false'" in out.reason
    assert "spec.template.metadata.labels" in out.reason
    assert "label wins" in out.reason


def test_sidecar_pods_predate_injection_need_restart(variant, check):
    out = check("workload-sidecar", variant("v2-pods-predate-injection.yaml"), **V2)
    assert out.status is Status.FAIL
    assert "created before injection was enabled" in out.reason
    assert "Deployment webapp/web-v2" in out.reason
    assert "oc rollout restart deployment/web-v2 -n webapp" in out.hint


def test_sidecar_namespace_not_member(variant, check):
    out = check("workload-sidecar", variant("ns-not-member.yaml"), **V2)
    assert out.status is Status.FAIL
    assert "Namespace webapp is not a member of the mesh" in out.reason
    assert "maistra.io/member-of=istio-system" in out.reason
    assert "ServiceMeshMemberRoll default in istio-system" in out.hint
    assert "rollout restart" in out.hint


def test_sidecar_namespace_member_of_other_mesh(load_scenario, get, make_snap, check):
    objs = load_scenario("v2-pods-predate-injection.yaml")
    get(objs, "Namespace", "webapp", "")["metadata"]["labels"]["maistra.io/member-of"] = "other-mesh"
    out = check("workload-sidecar", make_snap(objs), **V2)
    assert out.status is Status.FAIL
    assert "maistra.io/member-of=other-mesh" in out.reason and "istio-system" in out.reason


def test_sidecar_upstream_istio_annotation_alone(variant, check):
    """Upstream Istio: the webhook reads labels; an annotation alone does not inject."""
    out = check("workload-sidecar", variant("v2-pods-predate-injection.yaml", flavour="istio"), **V2)
    assert out.status is Status.FAIL
    assert "annotation alone does not trigger injection" in out.reason
    assert "istio-injection=enabled" in out.hint


def test_sidecar_upstream_istio_namespace_label_means_restart(variant, check):
    out = check("workload-sidecar", variant("v2-no-sidecar-injection-label.yaml", flavour="istio"), **V2)
    assert out.status is Status.FAIL
    assert "created before injection was enabled" in out.reason
    assert "kubectl rollout restart deployment/web-v2" in out.hint


def test_sidecar_upstream_istio_pod_label_opt_out(load_scenario, get, make_snap, check):
    objs = load_scenario("v2-no-sidecar-injection-label.yaml")
    get(objs, "Deployment", "web-v2")["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] = "false"
    out = check("workload-sidecar", make_snap(objs, flavour="istio"), **V2)
    assert out.status is Status.FAIL and "opts out" in out.reason


def test_sidecar_upstream_istio_revision_label(load_scenario, get, make_snap, check):
    objs = load_scenario("v2-no-sidecar-injection-label.yaml")
    labels = get(objs, "Namespace", "webapp", "")["metadata"]["labels"]
    del labels["istio-injection"]
    labels["istio.io/rev"] = "default"
    out = check("workload-sidecar", make_snap(objs, flavour="istio"), **V2)
    assert "created before injection was enabled" in out.reason


def test_sidecar_not_ready(load_scenario, get, make_snap, check):
    objs = load_scenario()
    pod = get(objs, "Pod", "web-v2-84b6fd7c9b-h8j2c")
    pod["status"]["containerStatuses"][0]["ready"] = False
    pod["status"]["conditions"][1]["status"] = "False"
    out = check("workload-sidecar", make_snap(objs), **V2)
    assert out.status is Status.FAIL
    assert "pod web-v2-84b6fd7c9b-h8j2c: its istio-proxy container is not ready" in out.reason


def test_sidecar_hand_written_proxy_without_status_annotation(load_scenario, get, make_snap, check):
    objs = load_scenario()
    del get(objs, "Pod", "web-v2-84b6fd7c9b-h8j2c")["metadata"]["annotations"]["sidecar.istio.io/status"]
    out = check("workload-sidecar", make_snap(objs), **V2)
    assert out.status is Status.FAIL
    assert "no sidecar.istio.io/status annotation" in out.reason


def test_sidecar_crashloop(variant, check):
    out = check("workload-sidecar", variant("v2-crashloop.yaml"), **V2)
    assert out.status is Status.FAIL
    assert "web-v2-84b6fd7c9b-h8j2c" in out.reason and "CrashLoopBackOff" in out.reason


def test_sidecar_min_ready(variant, check):
    out = check("workload-sidecar", variant(), **V2, min_ready=2)
    assert out.status is Status.FAIL
    assert "Deployment webapp/web-v2 has 1 ready pod(s); expected at least 2" in out.reason


def test_sidecar_wrong_labels(variant, check):
    out = check("workload-sidecar", variant(), **V2, labels={"app": "web", "version": "v3"})
    assert out.status is Status.FAIL
    assert "Deployment webapp/web-v2 spec.template.metadata.labels.version is 'v2'; expected 'v3'" in out.reason
    out = check("workload-sidecar", variant(), **V2, labels={"tier": "front"})
    assert "spec.template.metadata.labels lacks tier: front" in out.reason


def test_sidecar_wrong_image(variant, check):
    out = check("workload-sidecar", variant(), **V2, image="httpd:alpine")
    assert out.status is Status.FAIL
    assert (
        "spec.template.spec.containers[*].image is 'nginx:alpine'; expected a container with image httpd:alpine"
        in out.reason
    )
    assert check("workload-sidecar", variant(), **V2, image="docker.io/library/nginx:alpine").ok


def test_sidecar_no_pods(load_scenario, make_snap, get, check):
    objs = [o for o in load_scenario() if not (o["kind"] == "Pod" and o["metadata"]["name"].startswith("web-v2"))]
    dep = get(objs, "Deployment", "web-v2")
    dep["status"]["conditions"].append(
        {
            "type": "ReplicaFailure",
            "status": "True",
            "reason": "FailedCreate",
            "message": 'pods "web-v2-84b6fd7c9b-" is forbidden: '
            "unable to validate against any security context constraint",
        }
    )
    out = check("workload-sidecar", make_snap(objs), **V2)
    assert out.status is Status.FAIL
    assert "Deployment webapp/web-v2 has no current pods" in out.reason
    assert "ReplicaFailure" in out.reason


def test_sidecar_scaled_to_zero(load_scenario, make_snap, get, check):
    objs = [o for o in load_scenario() if not (o["kind"] == "Pod" and o["metadata"]["name"].startswith("web-v2"))]
    get(objs, "Deployment", "web-v2")["spec"]["replicas"] = 0
    out = check("workload-sidecar", make_snap(objs), **V2)
    assert "spec.replicas is 0" in out.reason


@pytest.mark.parametrize(
    "params", [{"min_ready": "1"}, {"min_ready": -1}, {"labels": "app=web"}, {"image": 5}, {"namespace": ""}]
)
def test_sidecar_bad_params(variant, check, params):
    out = check("workload-sidecar", variant(), **(V2 | params))
    assert out.status is Status.FAIL and "check parameter" in out.reason


def test_sidecar_unknown_param_is_a_lab_bug(variant, check):
    with pytest.raises(TypeError):
        check("workload-sidecar", variant(), **V2, replicas=1)


def test_sidecar_unread_kind_is_an_error(check):
    snap = Snapshot()
    snap.mark_read(K.DEPLOYMENT)
    out = check("workload-sidecar", snap, **V2)
    assert out.status is Status.ERROR and "Pod" in out.reason


def test_sidecar_cluster_without_kind(check):
    snap = Snapshot.from_objects([])
    snap.missing_kinds.add("Deployment")
    out = check("workload-sidecar", snap, **V2)
    assert out.status is Status.FAIL and "does not serve Deployment" in out.reason


def test_sidecar_namespace_not_read(variant, check):
    snap = variant("v2-pods-predate-injection.yaml")
    snap.objects["Namespace"] = []
    out = check("workload-sidecar", snap, **V2)
    assert out.status is Status.FAIL and "could not be read" in out.reason


# -- workload-ready --------------------------------------------------------------------------
def test_ready_pass(variant, check):
    out = check("workload-ready", variant(), **V1, min_ready=2)
    assert out.status is Status.PASS and "Deployment webapp/web-v1" in out.reason


def test_ready_does_not_need_sidecar(variant, check):
    assert check("workload-ready", variant("v2-no-sidecar-injection-label.yaml"), **V2).ok


def test_ready_crashloop(variant, check):
    out = check("workload-ready", variant("v2-crashloop.yaml"), **V2)
    assert out.status is Status.FAIL
    assert (
        "pod web-v2-84b6fd7c9b-h8j2c is Running but not Ready (container web waiting: CrashLoopBackOff)" in out.reason
    )
    assert "Deployment webapp/web-v2 has 0 ready pod(s)" in out.reason


def test_ready_pending(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "Pod", "web-v2-84b6fd7c9b-h8j2c")["status"] = {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient memory.",
            }
        ],
    }
    out = check("workload-ready", make_snap(objs), **V2)
    assert out.status is Status.FAIL and "is Pending" in out.reason and "Insufficient memory" in out.reason


def test_ready_missing_and_min_ready(variant, check):
    assert (
        "Deployment webapp/nope not found"
        in check("workload-ready", variant(), namespace="webapp", deployment="nope").reason
    )
    out = check("workload-ready", variant(), **V1, min_ready=3)
    assert out.status is Status.FAIL and "expected at least 3" in out.reason


def test_ready_no_pods(load_scenario, make_snap, check):
    objs = [o for o in load_scenario() if o["kind"] != "Pod"]
    out = check("workload-ready", make_snap(objs), **V1)
    assert out.status is Status.FAIL and "Deployment webapp/web-v1 has no current pods" in out.reason


# -- service-port -----------------------------------------------------------------------------
SP = {"namespace": NS, "service": "web", "port": 80, "deployment": "web-v1"}


def _svc_port(objs: list[dict], **changes: Any) -> None:
    port = find(objs, "Service", "web")["spec"]["ports"][0]
    for k, v in changes.items():
        if v is None:
            port.pop(k, None)
        else:
            port[k] = v


def test_service_port_pass(objs):
    out = check("service-port", objs, **SP)
    assert out.status is Status.PASS
    assert "Service webapp/web port 80" in out.reason and "HTTP from its name" in out.reason
    assert "web-v1-" in out.reason and "targetPort 80 reaches container port 80" in out.reason


def test_service_port_named_web_fails_with_protocol_selection(objs):
    _svc_port(objs, name="web")
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL
    assert "Service webapp/web spec.ports[0] name 'web' (port 80)" in out.reason
    assert "protocol sniffing" in out.reason and "KIA0601" in out.reason
    assert "expected a name http" in out.reason
    assert "http" in out.hint


def test_service_port_app_protocol_counts(objs):
    _svc_port(objs, name="web", appProtocol="http")
    out = check("service-port", objs, **SP)
    assert out.ok and "from its appProtocol" in out.reason


@pytest.mark.parametrize("name", ["http-web", "http2", "grpc", "HTTP"])
def test_service_port_other_http_names(objs, name):
    _svc_port(objs, name=name)
    assert check("service-port", objs, **SP).ok


def test_service_port_tcp_name(objs):
    _svc_port(objs, name="tcp")
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL and "opaque TCP" in out.reason and "from the name" in out.reason


def test_service_port_exact_protocol_param(objs):
    _svc_port(objs, name="grpc")
    assert check("service-port", objs, **SP | {"protocol": "grpc"}).ok
    assert not check("service-port", objs, **SP | {"protocol": "http2"}).ok


def test_service_port_missing_port(objs):
    _svc_port(objs, port=8080)
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL
    assert "Service webapp/web spec.ports has no port 80 (ports: 8080->80)" in out.reason


def test_service_port_selector_mismatch(objs):
    find(objs, "Service", "web")["spec"]["selector"] = {"app": "webx"}
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL
    assert "spec.selector {app: webx} does not select the pods of Deployment webapp/web-v1" in out.reason


def test_service_port_without_selector(objs):
    del find(objs, "Service", "web")["spec"]["selector"]
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL and "spec.selector is not set" in out.reason
    out = check("service-port", objs, **{k: v for k, v in SP.items() if k != "deployment"})
    assert out.status is Status.FAIL and "spec.selector is not set" in out.reason


def test_service_port_target_port_not_a_container_port(objs):
    _svc_port(objs, targetPort=8080)
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL
    assert "Service webapp/web spec.ports[0].targetPort is 8080" in out.reason
    assert "containerPort 8080" in out.reason and "web:80 (http)" in out.reason


def test_service_port_named_target_port(objs):
    _svc_port(objs, targetPort="http")
    out = check("service-port", objs, **SP)
    assert out.ok and "resolves to container port 80" in out.reason
    _svc_port(objs, targetPort="www")
    out = check("service-port", objs, **SP)
    assert out.status is Status.FAIL and "has a port named 'www'" in out.reason and "no endpoints" in out.reason


def test_service_port_default_target_port(objs):
    _svc_port(objs, targetPort=None)  # defaults to port
    assert check("service-port", objs, **SP).ok


def test_service_port_container_declares_no_ports(objs):
    pod = find_prefix(objs, "Pod", "web-v1-")
    del pod["spec"]["containers"][0]["ports"]
    out = check("service-port", objs, **SP)
    assert out.ok and "not verifiable" in out.reason


def test_service_port_missing_service_and_deployment(objs):
    out = check("service-port", drop(objs, "Service", "web"), **SP)
    assert out.status is Status.FAIL and "Service webapp/web not found" in out.reason
    out = check("service-port", drop(objs, "Deployment", "web-v1"), **SP)
    assert out.status is Status.FAIL and "Deployment webapp/web-v1 not found" in out.reason


def test_service_port_without_deployment_param(objs):
    out = check("service-port", objs, namespace=NS, service="web")
    assert out.ok and "web-v1-" in out.reason
    find(objs, "Service", "web")["spec"]["selector"] = {"app": "nothing"}
    out = check("service-port", objs, namespace=NS, service="web")
    assert out.status is Status.FAIL and "selects no running pod" in out.reason


@pytest.mark.parametrize("params", [{"port": "80"}, {"port": 0}, {"service": ""}, {"deployment": 3},
                                    {"protocol": None}])
def test_service_port_bad_params(objs, params):
    out = check("service-port", objs, **SP | params)
    assert out.status is Status.FAIL and "check parameter" in out.reason


# -- namespace-sidecars ----------------------------------------------------------------------------
NSC = {"namespace": NS, "deployments": ["web-v1", "legacy"]}


def test_namespace_sidecars_pass(objs):
    out = check("namespace-sidecars", objs, **NSC)
    assert out.status is Status.PASS
    assert "all 2 pod(s) in namespace webapp carry an istio-proxy sidecar (Deployments legacy, web-v1)" in out.reason


def test_namespace_sidecars_legacy_without_sidecar_ossm(objs):
    strip_sidecar(find_prefix(objs, "Pod", "legacy-"))
    no_annotation(find(objs, "Deployment", "legacy"))
    out = check("namespace-sidecars", objs, **NSC)
    assert out.status is Status.FAIL
    assert "1 of 2 pod(s) in namespace webapp run without an istio-proxy sidecar (legacy-" in out.reason
    assert "STRICT" in out.reason
    assert 'the pod template of Deployment webapp/legacy lacks annotation ' \
           'sidecar.istio.io/inject: "true"' in out.reason
    assert "oc patch deployment/legacy" in out.hint


def test_namespace_sidecars_pods_predate_injection(objs):
    strip_sidecar(find_prefix(objs, "Pod", "legacy-"))
    out = check("namespace-sidecars", objs, **NSC)
    assert out.status is Status.FAIL and "created before injection was enabled" in out.reason
    assert "oc rollout restart deployment/legacy -n webapp" in out.hint


def test_namespace_sidecars_upstream_opt_out(objs):
    strip_sidecar(find_prefix(objs, "Pod", "legacy-"))
    dep = find(objs, "Deployment", "legacy")
    no_annotation(dep)
    dep["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] = "false"
    find(objs, "Namespace", "webapp")["metadata"]["labels"]["istio-injection"] = "enabled"
    out = check("namespace-sidecars", objs, {"flavour": "istio"}, **NSC)
    assert out.status is Status.FAIL and "sets label sidecar.istio.io/inject=false" in out.reason


def test_namespace_sidecars_deleted_workload_does_not_count(objs):
    objs = [o for o in objs if not o["metadata"]["name"].startswith("legacy")]
    out = check("namespace-sidecars", objs, **NSC)
    assert out.status is Status.FAIL and "Deployment webapp/legacy not found" in out.reason
    assert check("namespace-sidecars", objs, namespace=NS).ok


def test_namespace_sidecars_scaled_to_zero(objs):
    objs = [o for o in objs if not (o["kind"] == "Pod" and o["metadata"]["name"].startswith("legacy"))]
    out = check("namespace-sidecars", objs, **NSC)
    assert out.status is Status.FAIL and "Deployment webapp/legacy has no current pods" in out.reason


def test_namespace_sidecars_ignores_terminating_and_finished_pods(objs):
    pod = find_prefix(objs, "Pod", "legacy-")
    strip_sidecar(pod)
    pod["metadata"]["deletionTimestamp"] = "2026-11-26T09:00:00Z"
    job_pod = copy.deepcopy(pod)
    del job_pod["metadata"]["deletionTimestamp"]
    job_pod["metadata"]["name"] = "migrate-x1"
    job_pod["metadata"]["ownerReferences"] = [{"kind": "Job", "name": "migrate", "apiVersion": "batch/v1"}]
    job_pod["status"]["phase"] = "Succeeded"
    out = check("namespace-sidecars", objs + [job_pod], namespace=NS)
    assert out.ok, out.reason


def test_namespace_sidecars_bare_pod(objs):
    pod = copy.deepcopy(find_prefix(objs, "Pod", "legacy-"))
    strip_sidecar(pod)
    pod["metadata"]["name"] = "debug"
    del pod["metadata"]["ownerReferences"]
    out = check("namespace-sidecars", objs + [pod], namespace=NS)
    assert out.status is Status.FAIL and "pod debug has no controller and no sidecar" in out.reason


def test_namespace_sidecars_empty_namespace(objs):
    objs = [o for o in objs if o["kind"] != "Pod" or o["metadata"]["namespace"] != NS]
    out = check("namespace-sidecars", objs, namespace=NS)
    assert out.ok and "no running pods" in out.reason


@pytest.mark.parametrize("value", ["legacy", [""], [1], {}])
def test_namespace_sidecars_bad_params(objs, value):
    out = check("namespace-sidecars", objs, namespace=NS, deployments=value)
    assert out.status is Status.FAIL and "check parameter deployments" in out.reason


# OSSM 3: which revision the namespace's labels reach (grader/mesh/sail.py); a RevisionBased Istio
# `default` has the revision default-v1-30-3, so istio-injection=enabled reaches no webhook.
def _istio(name: str = "default", strategy: str = "RevisionBased") -> dict:
    return {"apiVersion": "sailoperator.io/v1", "kind": "Istio", "metadata": {"name": name},
            "spec": {"namespace": "istio-system", "version": "v1.30-latest", "updateStrategy": {"type": strategy}}}


@pytest.mark.parametrize(("ns_labels", "extra", "says"), [
    ({"istio-injection": "enabled"}, [],
     "label istio-injection=enabled, but no revision or IstioRevisionTag is named default"),
    ({"istio-injection": "enabled", "istio.io/rev": "default-v1-30-3"}, [], "istio-injection wins"),
    ({"istio.io/rev": "default"}, [], "label istio.io/rev=default names no revision or tag"),
    # restarting helps once a label reaches a revision
    ({"istio.io/rev": "default-v1-30-3"}, [], None),
    ({"istio-injection": "enabled"}, [{"apiVersion": "sailoperator.io/v1", "kind": "IstioRevisionTag",
                                       "metadata": {"name": "default"},
                                       "spec": {"targetRef": {"kind": "Istio", "name": "default"}}}], None),
])
def test_sidecar_ossm3_labels_reach_no_revision(load_scenario, get, make_snap, check, ns_labels, extra, says):
    objs = load_scenario("v2-no-sidecar-injection-label.yaml") + [_istio(), *extra]
    get(objs, "Namespace", "webapp", "")["metadata"]["labels"] = ns_labels
    out = check("workload-sidecar", make_snap(objs, flavour="ossm3"), **V2)
    assert out.status is Status.FAIL
    if says:
        assert out.reason.startswith("Namespace webapp: label ") and says in out.reason, out.reason
        assert "Deployment webapp/web-v2 get no sidecar however often they are restarted" in out.reason
        assert "oc label namespace webapp istio.io/rev=default-v1-30-3 istio-injection-" in out.hint
        assert "IstioRevisionTag default" in out.hint and "rollout restart deployment/web-v2" in out.hint
    else:
        assert "created before injection was enabled" in out.reason, out.reason


def test_sidecar_ossm3_inplace_default_means_restart(load_scenario, make_snap, check):
    """InPlace Istio default: its revision is default, so istio-injection=enabled injects new pods."""
    objs = load_scenario("v2-no-sidecar-injection-label.yaml") + [_istio(strategy="InPlace")]
    out = check("workload-sidecar", make_snap(objs, flavour="ossm3"), **V2)
    assert out.status is Status.FAIL and "created before injection was enabled" in out.reason
