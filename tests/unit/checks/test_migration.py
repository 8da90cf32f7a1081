"""Migration checks (OSSM 2.x -> OSSM 3, one namespace): ossm3-migrated-namespace, pods-on-revision,
ossm2-member-removed, on the migrate-3 lab solved (tests/fixtures/checks/ossm3/migration.yaml) and
its wrong answers: labels missing or both set, pods not restarted, the old member left. The fixture
was captured from `lab sandbox up --flavour ossm3 --with-ossm2` with the lab solved."""

from __future__ import annotations

import json

import pytest
from harness import check, docs, find

from grader.model import Status

MIGRATE = {"namespace": "webapp", "istio": "ossm-3"}
MAISTRA_STATUS = json.dumps({"initContainers": None, "containers": ["istio-proxy"], "volumes": ["istio-envoy"],
                             "imagePullSecrets": None, "revision": "basic"})


def solved() -> list[dict]:
    return docs("ossm3/migration.yaml")




def label(objs: list[dict], key: str, value: str | None) -> list[dict]:
    md = find(objs, "Namespace", "webapp")["metadata"]
    if value is None:
        md["labels"].pop(key, None)
    else:
        md["labels"][key] = value
    return objs


def pods(objs: list[dict]) -> list[dict]:
    """web-v1's pod, then web-v2's."""
    return sorted((o for o in objs if o["kind"] == "Pod"), key=lambda p: p["metadata"]["name"])


V1, V2 = (p["metadata"]["name"] for p in pods(docs("ossm3/migration.yaml")))


def on_maistra(pod: dict) -> None:
    """The pod as the 2.x injector left it (revision basic, maistra-version, no init container)."""
    pod["metadata"]["annotations"]["sidecar.istio.io/status"] = MAISTRA_STATUS
    pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"] = "v2-5-istio-cni"
    pod["metadata"]["annotations"].pop("istio.io/rev")
    pod["metadata"]["labels"]["maistra-version"] = "2.5.2"


@pytest.mark.parametrize("name", ["ossm3-migrated-namespace", "pods-on-revision"])
def test_solved_passes(name):
    out = check(name, solved(), **MIGRATE)
    assert out.status is Status.PASS, out
    assert "revision ossm-3-v1-30-3" in out.reason


def test_member_removed_passes_when_no_member_is_left():
    out = check("ossm2-member-removed", solved(), namespace="webapp")
    assert out.status is Status.PASS, out


def test_both_labels_istio_injection_wins():
    out = check("ossm3-migrated-namespace", label(solved(), "istio-injection", "enabled"), **MIGRATE)
    assert out.status is Status.FAIL
    assert "istio-injection wins" in out.reason and "no revision or IstioRevisionTag is named default" in out.reason
    assert "istio.io/rev=ossm-3-v1-30-3" in out.hint and "istio-injection-" in out.hint


def test_ignore_namespace_missing():
    out = check("ossm3-migrated-namespace", label(solved(), "maistra.io/ignore-namespace", None), **MIGRATE)
    assert out.status is Status.FAIL
    assert "Namespace webapp has no label maistra.io/ignore-namespace" in out.reason
    assert 'maistra.io/ignore-namespace="true"' in out.hint


def test_ignore_namespace_any_value_works_as_the_webhook_only_asks_it_exists():
    out = check("ossm3-migrated-namespace", label(solved(), "maistra.io/ignore-namespace", "yes"), **MIGRATE)
    assert out.status is Status.PASS and 'Red Hat\'s steps set "true"' in out.reason


def test_revision_of_another_control_plane_or_none():
    out = check("ossm3-migrated-namespace", label(solved(), "istio.io/rev", "ossm-3"), **MIGRATE)
    assert out.status is Status.FAIL and "label istio.io/rev=ossm-3 names no revision or tag" in out.reason
    out = check("ossm3-migrated-namespace", label(solved(), "istio.io/rev", None), **MIGRATE)
    assert out.status is Status.FAIL and "neither label istio-injection=enabled nor istio.io/rev" in out.reason


def test_a_default_tag_on_the_revision_makes_istio_injection_work():
    objs = label(label(solved(), "istio.io/rev", None), "istio-injection", "enabled")
    objs.append({"apiVersion": "sailoperator.io/v1", "kind": "IstioRevisionTag", "metadata": {"name": "default"},
                 "spec": {"targetRef": {"kind": "Istio", "name": "ossm-3"}}})
    out = check("ossm3-migrated-namespace", objs, **MIGRATE)
    assert out.status is Status.PASS, out


def test_istio_missing():
    objs = [o for o in solved() if o["kind"] != "Istio"]
    for name in ("ossm3-migrated-namespace", "pods-on-revision"):
        out = check(name, objs, **MIGRATE)
        assert out.status is Status.FAIL and "Istio ossm-3 not found" in out.reason


def test_before_the_istio_exists_the_pods_are_described():
    objs = [o for o in solved() if o["kind"] != "Istio"]
    on_maistra(pods(objs)[0])
    out = check("pods-on-revision", objs, **MIGRATE)
    assert out.status is Status.FAIL
    assert out.reason.startswith("Istio ossm-3 not found")
    assert out.reason.endswith(f"; pods {V1} run the 2.x proxy")


def test_relabel_hint_is_given_once():
    objs = label(label(solved(), "istio.io/rev", None), "maistra.io/ignore-namespace", None)
    out = check("ossm3-migrated-namespace", objs, **MIGRATE)
    assert out.status is Status.FAIL and out.hint.count("oc label namespace webapp") == 1


def test_pods_not_restarted_keep_the_2x_proxy():
    objs = solved()
    for p in pods(objs):
        on_maistra(p)
    out = check("pods-on-revision", objs, **MIGRATE)
    assert out.status is Status.FAIL
    assert f"pods {V1}, {V2} still run the 2.x proxy" in out.reason
    assert "revision basic" in out.reason
    assert out.hint == "oc rollout restart deployment/web-v1 deployment/web-v2 -n webapp"


def test_one_pod_left_behind_and_one_without_sidecar():
    objs = solved()
    web_v1, web_v2 = pods(objs)
    on_maistra(web_v1)
    for k in ("sidecar.istio.io/status", "istio.io/rev"):
        web_v2["metadata"]["annotations"].pop(k)
    web_v2["spec"]["containers"] = web_v2["spec"]["containers"][:1]
    out = check("pods-on-revision", objs, **MIGRATE)
    assert out.status is Status.FAIL
    assert f"pods {V1} still run the 2.x proxy" in out.reason
    assert f"pods {V2} have no sidecar" in out.reason
    assert "deployment/web-v1 deployment/web-v2" in out.hint


def test_pod_of_another_revision_and_unready_sidecar():
    objs = solved()
    web_v1, web_v2 = pods(objs)
    web_v1["metadata"]["annotations"]["sidecar.istio.io/status"] = json.dumps({"revision": "default"})
    web_v2["status"]["containerStatuses"][1]["ready"] = False
    out = check("pods-on-revision", objs, **MIGRATE)
    assert out.status is Status.FAIL
    assert f"pod {V1} was injected by revision default, expected ossm-3-v1-30-3" in out.reason
    assert f"the sidecars of pods {V2} (revision ossm-3-v1-30-3) are not ready" in out.reason


def test_no_pods():
    out = check("pods-on-revision", [o for o in solved() if o["kind"] != "Pod"], **MIGRATE)
    assert out.status is Status.FAIL and "Namespace webapp has no running pods" in out.reason


SMM = {"apiVersion": "maistra.io/v1", "kind": "ServiceMeshMember",
       "metadata": {"name": "default", "namespace": "webapp"},
       "spec": {"controlPlaneRef": {"name": "basic", "namespace": "istio-system"}}}


def test_old_member_left():
    objs = label(solved(), "maistra.io/member-of", "istio-system") + [SMM]
    out = check("ossm2-member-removed", objs, namespace="webapp")
    assert out.status is Status.FAIL
    assert out.reason.startswith("ServiceMeshMember webapp/default still makes Namespace webapp a member")
    assert "spec.controlPlaneRef istio-system/basic" in out.reason
    assert out.hint.startswith("oc delete servicemeshmember default -n webapp")


def test_member_roll_still_lists_the_namespace():
    objs = solved()
    find(objs, "ServiceMeshMemberRoll", "default", "istio-system")["spec"] = {"members": ["webapp"]}
    out = check("ossm2-member-removed", objs, namespace="webapp")
    assert out.status is Status.FAIL
    assert "ServiceMeshMemberRoll istio-system/default includes Namespace webapp (spec.members)" in out.reason
    assert "take webapp out of spec.members" in out.hint


def test_member_of_label_not_yet_removed():
    out = check("ossm2-member-removed", label(solved(), "maistra.io/member-of", "istio-system"), namespace="webapp")
    assert out.status is Status.FAIL and "still has label maistra.io/member-of=istio-system" in out.reason
