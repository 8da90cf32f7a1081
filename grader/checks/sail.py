"""OpenShift Service Mesh 3 check types: the Sail operator's Istio and IstioCNI (readiness
and spec), and a namespace's place in an OSSM 3 mesh (discovery and injection).

Status shapes follow istio-ecosystem/sail-operator api/v1/istio_types.go and
istiocni_types.go: conditions Reconciled, Ready (IstiodNotReady, DaemonSetNotReady),
DependenciesHealthy (IstioCNINotFound, IstioCNINotHealthy), status.state (Healthy),
activeRevisionName and revisions{total, ready, inUse}. Membership and injection follow
grader/mesh/sail.py. Like every check type these read only the Snapshot.
"""

from __future__ import annotations

from typing import Any

from grader import kinds as K
from grader.checks.framework import bad_param, check, cli_name, not_found, str_params
from grader.checks.lookup import find_namespace
from grader.mesh.sail import (
    discovered,
    discovery_selectors,
    injector_names,
    namespace_injection,
    revision_name,
    strategy,
)
from grader.mesh.workloads import deployment_pods, inject_value_true, sidecar_status, template_annotations, template_labels
from grader.model import Outcome, failed, passed
from grader.objects import (
    MISSING,
    as_dict,
    as_list,
    condition,
    is_int,
    is_true,
    json_equal,
    label_str,
    labels_of,
    name_of,
    path_parts,
    ref,
    spec_of,
    status_of,
    walk,
)
from grader.snapshot import Snapshot
from grader.text import join, name_list, short

# What the API server fills in when spec leaves a field out (the CRDs' defaults).
ISTIO_DEFAULTS = {"namespace": "istio-system", "updateStrategy": {"type": "InPlace"}, "version": "v1.30-latest"}
CNI_DEFAULTS = {"namespace": "istio-cni", "version": "v1.30-latest"}


def _cond_text(obj: dict, ctype: str) -> str:
    c = condition(obj, ctype)
    if c is None:
        return f"{ref(obj)} has no {ctype} condition"
    detail = ": ".join(x for x in (label_str(c.get("reason")), label_str(c.get("message"))) if x)
    return f"{ref(obj)} condition {ctype} is {label_str(c.get('status')) or 'not set'}" + (
        f" ({detail})" if detail else "")


def _lag(obj: dict) -> str:
    gen, observed = as_dict(obj.get("metadata")).get("generation"), status_of(obj).get("observedGeneration")
    if is_int(gen) and is_int(observed) and observed < gen:
        return (f"; status.observedGeneration is {observed} but metadata.generation is {gen}: the operator has not "
                "reconciled the latest spec yet")
    return ""


def _no_status(obj: dict, cli: str) -> Outcome:
    return failed(f"{ref(obj)} has no status: the Sail operator has not reconciled it",
                  f"is the OpenShift Service Mesh 3 operator installed? {cli} get csv -n openshift-operators")


@check("istio-ready", reads=[K.ISTIO, K.ISTIO_CNI])
def istio_ready(snap: Snapshot, *, name: str = "default") -> Outcome:
    """The Istio control plane is Healthy: Reconciled, Ready (istiod available) and DependenciesHealthy (IstioCNI)."""
    bad = str_params(name=name)
    if bad:
        return bad
    cli = cli_name(snap)
    istio = snap.get(K.ISTIO, name)
    if istio is None:
        others = name_list(snap.list(K.ISTIO))
        return failed(f"Istio {name} not found (Istio is cluster-scoped; Istios: {others or 'none'})",
                      f"create Istio {name} (apiVersion sailoperator.io/v1) with spec.namespace istio-system")
    st = status_of(istio)
    if not st:
        return _no_status(istio, cli)
    problems = [_cond_text(istio, t) for t in ("Reconciled", "Ready", "DependenciesHealthy")
                if not is_true(condition(istio, t))]
    state = label_str(st.get("state")) or "not reported"
    revs = as_dict(st.get("revisions"))
    summary = (f"status.state {state}, activeRevisionName {label_str(st.get('activeRevisionName')) or 'not set'}, "
               f"revisions ready {revs.get('ready', '?')}/{revs.get('total', '?')}")
    if problems:
        hints = [f"{cli} get istio {name}; {cli} get pods -n {label_str(spec_of(istio).get('namespace')) or 'istio-system'}"]
        dep = condition(istio, "DependenciesHealthy")
        reason = label_str(as_dict(dep).get("reason"))
        if reason == "IstioCNINotFound":
            wrong = [c for c in snap.list(K.ISTIO_CNI) if name_of(c) != "default"]
            hints.insert(0, "create IstioCNI default (spec.namespace istio-cni): the OpenShift profile needs the CNI "
                            "plugin" + (f"; {ref(wrong[0])} does not count, it must be named default" if wrong else ""))
        elif reason == "IstioCNINotHealthy":
            hints.insert(0, f"{cli} get istiocni default; {cli} get pods -n istio-cni")
        return failed(f"{ref(istio)} is not healthy ({summary}): " + join(problems) + _lag(istio), "; ".join(hints))
    return passed(f"{ref(istio)} conditions Reconciled, Ready and DependenciesHealthy are True; {summary}")


@check("istiocni-ready", reads=[K.ISTIO_CNI])
def istiocni_ready(snap: Snapshot, *, name: str = "default") -> Outcome:
    """The IstioCNI (which must be named default) is Ready: its istio-cni-node DaemonSet runs on every node."""
    bad = str_params(name=name)
    if bad:
        return bad
    cli = cli_name(snap)
    cni = snap.get(K.ISTIO_CNI, name)
    if cni is None:
        others = snap.list(K.ISTIO_CNI)
        why = ""
        if others:
            why = (f"; found IstioCNI {name_list(others)}, but the operator only accepts an IstioCNI named default "
                   "(the CRD rejects any other name)")
        return failed(f"IstioCNI {name} not found (IstioCNI is cluster-scoped){why or '; there is no IstioCNI'}",
                      "create IstioCNI default (apiVersion sailoperator.io/v1) with spec.namespace istio-cni, "
                      "after creating namespace istio-cni")
    if not status_of(cni):
        return _no_status(cni, cli)
    problems = [_cond_text(cni, t) for t in ("Reconciled", "Ready") if not is_true(condition(cni, t))]
    state = label_str(status_of(cni).get("state")) or "not reported"
    if problems:
        ns = label_str(spec_of(cni).get("namespace")) or "istio-cni"
        return failed(f"{ref(cni)} is not ready (status.state {state}): " + join(problems) + _lag(cni),
                      f"{cli} get istiocni {name}; {cli} get daemonset,pods -n {ns}")
    return passed(f"{ref(cni)} conditions Reconciled and Ready are True; status.state {state}")


def _spec_fields(snap: Snapshot, kind: K.Kind, name: str, fields: Any, defaults: dict) -> Outcome:
    bad = str_params(name=name)
    if bad:
        return bad
    if not isinstance(fields, dict) or not fields or not all(isinstance(k, str) and k for k in fields):
        return bad_param("fields", fields, "a map of spec paths to expected values")
    obj = snap.get(kind, name)
    if obj is None:
        return failed(f"{kind.kind} {name} not found ({kind.kind} is cluster-scoped; found: "
                      f"{name_list(snap.list(kind)) or 'none'})", f"create {kind.kind} {name}")
    spec = spec_of(obj)
    problems, shown, hints = [], [], []
    for path, expected in fields.items():
        parts = path_parts(path)
        found, _ = walk(spec, parts)
        field = f"spec.{path} is {short(found)}"
        if found is MISSING:
            found, _ = walk(defaults, parts)
            field = f"spec.{path} (not set; the default is {short(found)})"
            if found is MISSING:
                problems.append(f"{ref(obj)} spec.{path} is not set; expected {short(expected)}")
                hints.append(f"spec.{path}: {short(expected)}")
                continue
        if json_equal(found, expected):
            shown.append(field)
        else:
            problems.append(f"{ref(obj)} {field}; expected {short(expected)}")
            hints.append(f"spec.{path}: {short(expected)}")
    if problems:
        return failed(join(problems), f"set {', '.join(hints)} in {kind.kind} {name}")
    return passed(f"{ref(obj)} " + join(shown))


@check("istio-spec", reads=[K.ISTIO])
def istio_spec(snap: Snapshot, *, fields: dict, name: str = "default") -> Outcome:
    """Istio spec fields (paths relative to spec, e.g. values.meshConfig...) have the expected values."""
    return _spec_fields(snap, K.ISTIO, name, fields, ISTIO_DEFAULTS)


@check("istiocni-spec", reads=[K.ISTIO_CNI])
def istiocni_spec(snap: Snapshot, *, fields: dict, name: str = "default") -> Outcome:
    """IstioCNI spec fields (paths relative to spec) have the expected values."""
    return _spec_fields(snap, K.ISTIO_CNI, name, fields, CNI_DEFAULTS)


@check("ossm3-namespace", reads=[K.NAMESPACE, K.ISTIO, K.ISTIO_REVISION_TAG, K.ISTIO_REVISION])
def ossm3_namespace(snap: Snapshot, *, namespace: str, istio: str = "default") -> Outcome:
    """The namespace is in the OSSM 3 mesh: istiod discovers it, and its labels make a revision inject its pods."""
    bad = str_params(namespace=namespace, istio=istio)
    if bad:
        return bad
    cli = cli_name(snap)
    ns_obj, missing = find_namespace(snap, namespace, f"{cli} create namespace {namespace}")
    if ns_obj is None:
        return missing  # type: ignore[return-value]
    mesh = snap.get(K.ISTIO, istio)
    if mesh is None:
        return failed(f"Istio {istio} not found, so no control plane serves Namespace {namespace}",
                      f"create Istio {istio} first")
    labels = labels_of(ns_obj)
    problems, hints = [], []
    sels = discovery_selectors(mesh)
    cp_ns = label_str(spec_of(mesh).get("namespace")) or "istio-system"
    if sels is not None:
        if not discovered(mesh, labels):
            problems.append(f"{ref(mesh)} spec.values.meshConfig.discoverySelectors {short(sels)} do not select "
                            f"Namespace {namespace} (labels {short(labels)}): istiod does not see it")
            hints.append(f"label namespace {namespace} so that a discovery selector matches it")
        cp = snap.get(K.NAMESPACE, cp_ns)
        if cp is not None and not discovered(mesh, labels_of(cp)):
            problems.append(f"the discoverySelectors of {ref(mesh)} leave out its own namespace {cp_ns}: istiod "
                            "must discover the control plane namespace too")
            hints.append(f"label namespace {cp_ns} so that a discovery selector matches it as well")
    names = injector_names(snap.list(K.ISTIO), snap.list(K.ISTIO_REVISION_TAG), snap.list(K.ISTIO_REVISION))
    rev, why = namespace_injection(labels, names)
    if rev is None:
        active = revision_name(mesh)
        problems.append(f"Namespace {namespace}: {why}, so its pods get no sidecar")
        if strategy(mesh) == "RevisionBased":
            hints.append(f"{cli} label namespace {namespace} istio.io/rev={active} (RevisionBased: the revision "
                         f"is {active}); remove istio-injection")
        else:
            hints.append(f"{cli} label namespace {namespace} istio-injection=enabled")
    if problems:
        return failed(join(problems), "; ".join(hints) + f"; then restart the workloads in {namespace}")
    scope = "every namespace (no discoverySelectors)" if sels is None else "the namespace (a discovery selector matches)"
    return passed(f"{ref(mesh)} discovers {scope}; Namespace {namespace} is injected: {why}")


# -- user-deployed gateways (gateway injection) ------------------------------------------------
TEMPLATES_KEY = "inject.istio.io/templates"


def _proxy_image(obj_spec: dict) -> Any:
    for c in as_list(obj_spec.get("containers")):
        if as_dict(c).get("name") == "istio-proxy":
            return as_dict(c).get("image")
    return MISSING


@check("gateway-injected", reads=[K.DEPLOYMENT, K.REPLICA_SET, K.POD, K.NAMESPACE], needs=[K.DEPLOYMENT, K.POD])
def gateway_injected(snap: Snapshot, *, namespace: str, deployment: str) -> Outcome:
    """A user-deployed gateway Deployment runs pods injected with the gateway template (istio-proxy image auto replaced)."""
    bad = str_params(namespace=namespace, deployment=deployment)
    if bad:
        return bad
    cli = cli_name(snap)
    dep = snap.get(K.DEPLOYMENT, deployment, namespace)
    if dep is None:
        return not_found(snap, K.DEPLOYMENT, namespace, deployment,
                         f"create Deployment {deployment} in {namespace} whose pods carry the annotation "
                         f"{TEMPLATES_KEY}: gateway and the label sidecar.istio.io/inject: \"true\", with a container "
                         "istio-proxy, image auto")
    problems, hints = [], []
    ann, labels = template_annotations(dep), template_labels(dep)
    tmpl_image = _proxy_image(as_dict(as_dict(spec_of(dep).get("template")).get("spec")))
    if label_str(ann.get(TEMPLATES_KEY)) != "gateway":
        problems.append(f"the pod template of {ref(dep)} lacks annotation {TEMPLATES_KEY}: gateway "
                        "(spec.template.metadata.annotations): the injector then adds a sidecar named istio-proxy "
                        "beside the pod's own istio-proxy container, and the API server rejects such pods")
        hints.append(f"add the annotation {TEMPLATES_KEY}: gateway to spec.template.metadata.annotations")
    ns_obj = snap.get(K.NAMESPACE, namespace)
    ns_labels = labels_of(ns_obj) if ns_obj else {}
    asked = inject_value_true(labels.get("sidecar.istio.io/inject")) or bool(labels.get("istio.io/rev")) \
        or label_str(ns_labels.get("istio-injection")) == "enabled" or bool(ns_labels.get("istio.io/rev"))
    if not asked:
        problems.append(f"neither the pod template of {ref(dep)} (label sidecar.istio.io/inject=true or "
                        f"istio.io/rev) nor Namespace {namespace} asks for injection, so image auto is never "
                        "replaced")
        hints.append("add the label sidecar.istio.io/inject: \"true\" to spec.template.metadata.labels")
    if tmpl_image is MISSING:
        problems.append(f"the pod template of {ref(dep)} has no container istio-proxy (the gateway template "
                        "fills in that container; the samples set image: auto)")
        hints.append("a container named istio-proxy with image: auto")
    pods = deployment_pods(snap, dep)
    injected = [p for p in pods if sidecar_status(p).annotated and _proxy_image(spec_of(p)) not in ("auto", MISSING)]
    ready = [p for p in injected if sidecar_status(p).ready]
    if not pods:
        problems.append(f"{ref(dep)} has no pods (status.replicas {status_of(dep).get('replicas', 0)})")
    elif not injected:
        problems.append(f"pods {name_list(pods)} of {ref(dep)} were not injected (no sidecar.istio.io/status "
                        "annotation; istio-proxy image still auto)")
        hints.append(f"then {cli} rollout restart deployment/{deployment} -n {namespace}")
    elif not ready:
        problems.append(f"the injected pods {name_list(injected)} of {ref(dep)} are not ready")
    if problems:
        return failed(join(problems), "; ".join(hints) or f"{cli} get pods -n {namespace}")
    return passed(f"pods {name_list(ready)} of {ref(dep)} run the gateway proxy injected from the gateway template "
                  f"({TEMPLATES_KEY}: gateway)")
