"""Check types of a migration from OpenShift Service Mesh 2.6 (Maistra) to OSSM 3 (the Sail
operator), one data plane namespace at a time, with both control planes running side by side.

The procedure (Red Hat "Migrating from Service Mesh 2 to Service Mesh 3", chapters "Multitenant
migration guide" and "Cluster-wide migration guide",
https://docs.redhat.com/en/documentation/red_hat_openshift_service_mesh/3.0/html-single/migrating_from_service_mesh_2_to_service_mesh_3/index;
istio-ecosystem/sail-operator docs/ossm2-migration):

1. the namespace gets ``istio.io/rev=<the OSSM 3 revision>`` (without ``istio-injection``, which
   wins over ``istio.io/rev``) and ``maistra.io/ignore-namespace: "true"``: the 2.x injector's
   webhook selects ``maistra.io/ignore-namespace DoesNotExist``, so the label makes the 2.x
   control plane ignore the namespace, and only the OSSM 3 revision injects it;
2. its workloads are restarted: pods are injected only when created, so every pod must be
   re-created to move to the new proxy;
3. the namespace leaves the 2.x mesh: its ServiceMeshMember is deleted (or it is taken out of
   the ServiceMeshMemberRoll), and the operator removes ``maistra.io/member-of``. The
   ignore-namespace label stays until the 2.x control plane is uninstalled.

Like every check type these read only the Snapshot.
"""

from __future__ import annotations

import json

from grader import kinds as K
from grader.checks.framework import check, cli_name, str_params
from grader.checks.lookup import find_namespace
from grader.mesh.membership import IGNORE_NAMESPACE_LABEL, MEMBER_OF_LABEL, smmr_lists
from grader.mesh.sail import (
    INJECTION_LABEL,
    REV_LABEL,
    discovered,
    discovery_selectors,
    injector_names,
    namespace_injection,
    revision_name,
)
from grader.mesh.workloads import SIDECAR_STATUS_ANNOTATION, owner_deployment, sidecar_status
from grader.model import Outcome, failed, passed
from grader.objects import annotations_of, as_dict, is_terminating, label_str, labels_of, name_of, ref, spec_of
from grader.snapshot import Snapshot
from grader.text import join, name_list, short


def _relabel(cli: str, namespace: str, revision: str) -> str:
    return (f"{cli} label namespace {namespace} {REV_LABEL}={revision} {IGNORE_NAMESPACE_LABEL}=\"true\" "
            f"{INJECTION_LABEL}- --overwrite")


def _istio_or_fail(snap: Snapshot, istio: str) -> tuple[dict | None, Outcome | None]:
    mesh = snap.get(K.ISTIO, istio)
    if mesh is None:
        return None, failed(f"Istio {istio} not found (Istio is cluster-scoped; Istios: "
                            f"{name_list(snap.list(K.ISTIO)) or 'none'}): there is no OSSM 3 control plane to migrate to",
                            f"create Istio {istio} (apiVersion sailoperator.io/v1) with spec.namespace set to the "
                            "namespace of the 2.x control plane")
    return mesh, None


@check("ossm3-migrated-namespace", reads=[K.NAMESPACE, K.ISTIO, K.ISTIO_REVISION_TAG, K.ISTIO_REVISION])
def ossm3_migrated_namespace(snap: Snapshot, *, namespace: str, istio: str) -> Outcome:
    """The namespace is labelled for the OSSM 3 revision of the Istio (istio.io/rev, no istio-injection) and
    maistra.io/ignore-namespace, so only OSSM 3 injects its pods."""
    bad = str_params(namespace=namespace, istio=istio)
    if bad:
        return bad
    cli = cli_name(snap)
    ns_obj, missing = find_namespace(snap, namespace, f"{cli} get namespaces")
    if ns_obj is None:
        return missing  # type: ignore[return-value]
    mesh, missing = _istio_or_fail(snap, istio)
    if mesh is None:
        return missing  # type: ignore[return-value]
    active = revision_name(mesh)
    labels = labels_of(ns_obj)
    names = injector_names(snap.list(K.ISTIO), snap.list(K.ISTIO_REVISION_TAG), snap.list(K.ISTIO_REVISION))
    rev, why = namespace_injection(labels, names)
    problems, hints = [], []
    if rev is None:
        problems.append(f"Namespace {namespace}: {why}, so no OSSM 3 revision injects its pods")
        hints.append(_relabel(cli, namespace, active))
    elif rev != active:
        problems.append(f"Namespace {namespace}: {why}, which is revision {rev}, not the active revision {active} "
                        f"of {ref(mesh)}")
        hints.append(_relabel(cli, namespace, active))
    if IGNORE_NAMESPACE_LABEL not in labels:
        problems.append(f"Namespace {namespace} has no label {IGNORE_NAMESPACE_LABEL} (expected \"true\"): the 2.x "
                        f"injector's webhook selects namespaces without it, so while the namespace is a 2.x member "
                        "the 2.x control plane still injects pods that ask with sidecar.istio.io/inject")
        if not hints:  # the relabel command above sets it already
            hints.append(f"{cli} label namespace {namespace} {IGNORE_NAMESPACE_LABEL}=\"true\" (keep it until the "
                         "2.x control plane is uninstalled)")
    sels = discovery_selectors(mesh)
    if sels is not None and not discovered(mesh, labels):
        problems.append(f"{ref(mesh)} spec.values.meshConfig.discoverySelectors {short(sels)} do not select "
                        f"Namespace {namespace}: istiod of the new revision does not see it")
        hints.append(f"label namespace {namespace} so that a discovery selector matches it")
    if problems:
        return failed(join(problems), "; ".join(hints) + f"; then restart the workloads in {namespace}")
    ignore = label_str(labels.get(IGNORE_NAMESPACE_LABEL))
    note = "" if ignore == "true" else " (the webhook only asks that the label exists; Red Hat's steps set \"true\")"
    return passed(f"Namespace {namespace} is injected by revision {active} of {ref(mesh)} ({why}) and has "
                  f"{IGNORE_NAMESPACE_LABEL}={ignore}{note}, so the 2.x injector ignores it")


def pod_revision(pod: dict) -> str | None:
    """The revision whose injector injected the pod: sidecar.istio.io/status `revision` (istio
    pkg/kube/inject webhook.go), else the istio.io/rev annotation; None when not injected."""
    ann = annotations_of(pod)
    raw = ann.get(SIDECAR_STATUS_ANNOTATION)
    if raw is None:
        return None
    try:
        status = json.loads(label_str(raw))
    except ValueError:
        status = {}
    rev = as_dict(status).get("revision") if isinstance(status, dict) else None
    return label_str(rev) or label_str(ann.get(REV_LABEL)) or "default"


@check("pods-on-revision", reads=[K.POD, K.NAMESPACE, K.ISTIO, K.ISTIO_REVISION_TAG, K.ISTIO_REVISION, K.REPLICA_SET, K.DEPLOYMENT,
                                   K.SMCP], needs=[K.POD, K.ISTIO])
def pods_on_revision(snap: Snapshot, *, namespace: str, istio: str) -> Outcome:
    """Every pod of the namespace runs a ready sidecar injected by the active OSSM 3 revision of the Istio
    (none left on the 2.x control plane, none without a sidecar)."""
    bad = str_params(namespace=namespace, istio=istio)
    if bad:
        return bad
    cli = cli_name(snap)
    mesh, missing = _istio_or_fail(snap, istio)
    active = revision_name(mesh) if mesh is not None else None
    names = injector_names(snap.list(K.ISTIO), snap.list(K.ISTIO_REVISION_TAG), snap.list(K.ISTIO_REVISION))
    smcps = {name_of(s) for s in snap.list(K.SMCP)}
    pods = [p for p in snap.list(K.POD, namespace) if not is_terminating(p)
            and label_str(as_dict(p.get("status")).get("phase")) not in ("Succeeded", "Failed")]
    if not pods:
        if missing is not None:
            return missing
        return failed(f"Namespace {namespace} has no running pods", f"{cli} get deployments,pods -n {namespace}")
    on_old, no_sidecar, other, unready, good = [], [], [], [], []
    for p in pods:
        rev = pod_revision(p)
        mapped = names.get(rev) if rev else None
        if rev is None:
            no_sidecar.append(p)
        elif rev in smcps or "maistra-version" in labels_of(p):
            on_old.append(p)
        elif mapped != active:
            other.append((p, rev))
        elif not sidecar_status(p).ok:
            unready.append(p)
        else:
            good.append(p)
    if mesh is None:  # nothing can be on its revision yet: say where the pods are
        where = (f"; pods {name_list(on_old)} run the 2.x proxy" if on_old else "") + \
            (f"; pods {name_list(no_sidecar)} have no sidecar" if no_sidecar else "")
        return failed(missing.reason + where, missing.hint)  # type: ignore[union-attr]
    if not (on_old or no_sidecar or other or unready):
        return passed(f"all {len(good)} pods in {namespace} ({name_list(good)}) run a ready sidecar injected by "
                      f"revision {active} of {ref(mesh)}")
    problems = []
    if on_old:
        revs = sorted({pod_revision(p) or "" for p in on_old})
        problems.append(f"pods {name_list(on_old)} still run the 2.x proxy (injected by ServiceMeshControlPlane "
                        f"revision {', '.join(revs)}; sidecar.istio.io/status): pods are injected only when "
                        "created, so they must be re-created after the namespace is relabelled")
    if no_sidecar:
        problems.append(f"pods {name_list(no_sidecar)} have no sidecar (no sidecar.istio.io/status annotation): no "
                        f"injector took them when they were created")
    if other:
        problems.append("; ".join(f"pod {name_of(p)} was injected by revision {rev}, expected {active}"
                                  for p, rev in other))
    if unready:
        problems.append(f"the sidecars of pods {name_list(unready)} (revision {active}) are not ready")
    stale = on_old + no_sidecar + [p for p, _ in other]
    deployments = sorted({name_of(d) for d in (owner_deployment(snap, p) for p in stale) if d})
    if deployments:
        hint = f"{cli} rollout restart " + " ".join(f"deployment/{d}" for d in deployments) + f" -n {namespace}"
    else:
        hint = f"{cli} rollout restart deployment -n {namespace}"
    if no_sidecar and not on_old:
        hint = (f"check the labels of Namespace {namespace} ({REV_LABEL}={active}, no {INJECTION_LABEL}), then "
                + hint)
    return failed(join(problems), hint)


@check("ossm2-member-removed", reads=[K.NAMESPACE, K.SMM, K.SMMR], needs=[K.NAMESPACE])
def ossm2_member_removed(snap: Snapshot, *, namespace: str) -> Outcome:
    """The namespace has left the OSSM 2.x mesh: no ServiceMeshMember in it, no ServiceMeshMemberRoll lists it,
    and the operator has removed its maistra.io/member-of label."""
    bad = str_params(namespace=namespace)
    if bad:
        return bad
    cli = cli_name(snap)
    ns_obj, missing = find_namespace(snap, namespace, f"{cli} get namespaces")
    if ns_obj is None:
        return missing  # type: ignore[return-value]
    labels = labels_of(ns_obj)
    problems, hints = [], []
    for smm in snap.list(K.SMM, namespace):
        cp = as_dict(spec_of(smm).get("controlPlaneRef"))
        problems.append(f"{ref(smm)} still makes Namespace {namespace} a member of the 2.x mesh "
                        f"(spec.controlPlaneRef {label_str(cp.get('namespace')) or '?'}/{label_str(cp.get('name')) or '?'})")
        hints.append(f"{cli} delete servicemeshmember {name_of(smm)} -n {namespace}")
    for smmr in snap.list(K.SMMR):
        how = smmr_lists(smmr, namespace, labels)
        if how:
            problems.append(f"{ref(smmr)} includes Namespace {namespace} ({how})")
            hints.append(f"take {namespace} out of {how} of {ref(smmr)}")
    member_of = labels.get(MEMBER_OF_LABEL)
    if member_of is not None and not problems:
        problems.append(f"Namespace {namespace} still has label {MEMBER_OF_LABEL}={label_str(member_of)}: the 2.x "
                        "operator has not released it yet")
        hints.append(f"{cli} get servicemeshmember,servicemeshmemberroll -A; wait for the operator")
    if problems:
        return failed(join(problems), "; ".join(hints) + f" (keep {IGNORE_NAMESPACE_LABEL} on the namespace until the "
                                                        "2.x control plane is uninstalled)")
    return passed(f"Namespace {namespace} is no 2.x member: no ServiceMeshMember, no ServiceMeshMemberRoll lists it, "
                  f"no {MEMBER_OF_LABEL} label")
