"""The built-in check types.

Each check reads only the Snapshot and returns an Outcome whose reason names the
object (``VirtualService webapp/web``), the field at fault, what was expected and
what was found. Checks never raise on odd cluster content: ill-typed fields become
failures that name the field. Istio/OSSM rules follow /work/shared/MESH-FACTS.md.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from grader import kinds as K
from grader import mesh as M
from grader.checks import check_type
from grader.kinds import Kind
from grader.model import Outcome, Status, failed, passed
from grader.snapshot import Snapshot, labels_of, name_of, namespace_of, ref

_MAX_LISTED = 8


# -- registration -----------------------------------------------------------------
def _check(name: str, reads: Sequence[Kind], needs: Sequence[Kind] | None = None) -> Callable:
    """Register a check; guard against unread kinds and turn any crash into a failure.

    ``needs`` are the kinds without which the check cannot judge (default: ``reads``).
    """
    required = tuple(reads if needs is None else needs)

    def deco(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def safe(snap: Snapshot, **params: Any) -> Outcome:
            sig.bind(snap, **params)  # a wrong parameter name is a lab-definition bug: let it raise
            unserved = [k for k in required if k.kind in snap.missing_kinds]
            if unserved:
                k = unserved[0]
                return failed(
                    f"the cluster does not serve {k.kind} ({k.group or 'core'}); cannot check {name}",
                    f"install the operator that provides {k.kind} (for Istio kinds: the Service Mesh operator and "
                    "control plane)",
                )
            unread = [k.kind for k in required if k.kind not in snap.read_kinds]
            if unread:
                return Outcome(Status.ERROR, f"{name}: kinds not read from the cluster: {', '.join(unread)}")
            try:
                return fn(snap, **params)
            except Exception as exc:  # last resort: a check never raises on odd input
                return failed(
                    f"{name}: unexpected content could not be evaluated ({type(exc).__name__}: "
                    f"{M.short(str(exc), 120)})",
                    "inspect the objects named in the check parameters for ill-typed fields",
                )

        return check_type(name, reads=list(reads))(safe)

    return deco


# -- small helpers ------------------------------------------------------------------
def _bad_param(name: str, value: Any, expected: str) -> Outcome:
    return failed(
        f"check parameter {name} is {M.short(value)}; expected {expected}",
        "fix the check parameters in the lab definition",
    )


def _str_params(**values: Any) -> Outcome | None:
    for key, value in values.items():
        if not isinstance(value, str) or not value.strip():
            return _bad_param(key, value, "a non-empty string")
    return None


def _names(objs: Sequence[dict], *, with_ns: bool = False) -> str:
    items = [f"{namespace_of(o)}/{name_of(o)}" if with_ns else name_of(o) for o in objs]
    extra = len(items) - _MAX_LISTED
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {extra} more" if extra > 0 else "")


def _cli(snap: Snapshot) -> str:
    return "oc" if snap.openshift or snap.flavour == "ossm2" else "kubectl"


def _join(problems: Sequence[str]) -> str:
    shown = list(problems[:6])
    if len(problems) > 6:
        shown.append(f"and {len(problems) - 6} more problems")
    return "; ".join(shown)


def _find_deployment(snap: Snapshot, namespace: str, name: str) -> tuple[dict | None, Outcome | None]:
    dep = snap.get(K.DEPLOYMENT, name, namespace)
    if dep is not None:
        return dep, None
    others = snap.list(K.DEPLOYMENT, namespace)
    found = f"Deployments in {namespace}: {_names(others)}" if others else f"namespace {namespace} has no Deployments"
    return None, failed(
        f"Deployment {namespace}/{name} not found; {found}",
        f"create Deployment {name} in namespace {namespace}",
    )


def _no_pods_reason(dep: dict) -> str:
    spec, status = M.spec_of(dep), M.status_of(dep)
    details = []
    if M.is_int(spec.get("replicas")) and spec["replicas"] == 0:
        details.append("spec.replicas is 0")
    for cond in M.as_list(status.get("conditions")):
        c = M.as_dict(cond)
        if c.get("type") == "ReplicaFailure" or (
            c.get("type") in ("Available", "Progressing") and c.get("status") == "False"
        ):
            details.append(
                f"condition {M.label_str(c.get('type'))}: {M.short(c.get('message') or c.get('reason'), 160)}"
            )
    return f"{ref(dep)} has no current pods" + (f" ({'; '.join(details[:3])})" if details else "")


def _int_param(name: str, value: Any, minimum: int = 0) -> Outcome | None:
    if not M.is_int(value) or value < minimum:
        return _bad_param(name, value, f"an integer >= {minimum}")
    return None


def _readiness_problems(dep: dict, pods: list[dict], min_ready: int) -> list[str]:
    problems = []
    for p in pods:
        why = M.pod_problem(p)
        if why:
            problems.append(f"pod {name_of(p)} {why}")
    ready = sum(1 for p in pods if M.pod_ready(p))
    if ready < min_ready:
        problems.append(f"{ref(dep)} has {ready} ready pod(s); expected at least {min_ready}")
    return problems


# -- 1/2: workloads ----------------------------------------------------------------------
def _template_problems(dep: dict, labels: Any, image: Any) -> list[str]:
    problems = []
    if labels is not None:
        have = M.template_labels(dep)
        for key, value in M.as_dict(labels).items():
            if key not in have:
                problems.append(
                    f"{ref(dep)} spec.template.metadata.labels lacks {key}: {M.label_str(value)} (has "
                    f"{M.format_labels(have)})"
                )
            elif M.label_str(have[key]) != M.label_str(value):
                problems.append(
                    f"{ref(dep)} spec.template.metadata.labels.{key} is {M.short(have[key])}; expected "
                    f"{M.short(M.label_str(value))}"
                )
    if image is not None:
        containers = M.template_containers(dep)
        images = [c.get("image") for c in containers]
        if not any(_same_image(i, image) for i in images):
            problems.append(
                f"{ref(dep)} spec.template.spec.containers[*].image is "
                f"{', '.join(M.short(i) for i in images) or 'not set'}; "
                f"expected a container with image {image}"
            )
    return problems


def _same_image(found: Any, expected: Any) -> bool:
    def norm(i: Any) -> str:
        s = M.label_str(i).strip()
        for prefix in ("docker.io/library/", "docker.io/", "library/"):
            if s.startswith(prefix):
                s = s[len(prefix) :]
        if ":" not in s.rsplit("/", 1)[-1] and "@" not in s:
            s += ":latest"
        return s

    return isinstance(found, str) and norm(found) == norm(expected)


def _injection_diagnosis(snap: Snapshot, dep: dict, bare: list[dict]) -> tuple[str, str]:
    """Why pods of ``dep`` have no sidecar, in the snapshot's flavour, and what to do."""
    ns_obj = snap.get(K.NAMESPACE, namespace_of(dep))
    ns_labels = labels_of(ns_obj) if ns_obj else {}
    restart = f"{_cli(snap)} rollout restart deployment/{name_of(dep)} -n {namespace_of(dep)}"
    diagnose = _diagnose_ossm2 if snap.flavour == "ossm2" else _diagnose_istio
    return diagnose(snap, dep, _names(bare), ns_obj is not None, ns_labels, restart)


def _diagnose_istio(
    snap: Snapshot, dep: dict, pods: str, ns_known: bool, ns_labels: dict, restart: str
) -> tuple[str, str]:
    """Upstream Istio (and Sail-based OSSM 3): the webhook selects on LABELS only.

    istio-discovery mutatingwebhook.yaml: namespace istio-injection=enabled, or
    istio.io/rev, or (neither) pod label sidecar.istio.io/inject=true; the pod label
    "false" always opts out.
    """
    ns, cli = namespace_of(dep), _cli(snap)
    t_labels = M.template_labels(dep)
    label_v, ann_v = t_labels.get(M.INJECT_KEY), M.template_annotations(dep).get(M.INJECT_KEY)
    ns_inj = ns_labels.get("istio-injection")
    if label_v is not None and M.label_str(label_v).lower() == "false":
        return (
            f"the pod template of {ref(dep)} sets label sidecar.istio.io/inject=false (spec.template.metadata.labels), "
            f"which opts out; pods without sidecar: {pods}",
            f"remove that label, then {restart}",
        )
    if ns_inj == "disabled":
        return (
            f"Namespace {ns} has label istio-injection=disabled, so no pod in it is injected; pods without sidecar: "
            f"{pods}",
            f"{cli} label namespace {ns} istio-injection=enabled --overwrite, then {restart}",
        )
    webhook_applies = (
        ns_inj == "enabled"
        or (ns_inj is None and bool(ns_labels.get("istio.io/rev")))
        or M.inject_value_true(label_v)
        or bool(t_labels.get("istio.io/rev"))
    )
    if webhook_applies:
        return (
            f"injection is now enabled for {ref(dep)} but pods {pods} have no istio-proxy sidecar: "
            "they were created before injection was enabled",
            f"restart them: {restart}",
        )
    why = (
        f"Namespace {ns} has neither label istio-injection=enabled nor istio.io/rev"
        if ns_known
        else f"Namespace {ns} could not be read to confirm its injection labels"
    )
    if M.inject_value_true(ann_v):
        why += (
            f', and the pod template of {ref(dep)} carries sidecar.istio.io/inject: "true" only as an annotation '
            "(spec.template.metadata.annotations); upstream Istio's webhook selects on labels, so an annotation "
            "alone does not trigger injection"
        )
    else:
        why += (
            f", and the pod template of {ref(dep)} has no label sidecar.istio.io/inject=true "
            "(spec.template.metadata.labels)"
        )
    return (
        why + f"; pods without sidecar: {pods}",
        f"{cli} label namespace {ns} istio-injection=enabled, then {restart}",
    )


def _diagnose_ossm2(
    snap: Snapshot, dep: dict, pods: str, ns_known: bool, ns_labels: dict, restart: str
) -> tuple[str, str]:
    """OSSM 2.x: member namespace + pod label/annotation sidecar.istio.io/inject=true.

    maistra/istio inject.go injectRequired (autoInject disabled): only the pod's own
    label or annotation triggers injection; the label wins when both are set.
    """
    ns, name, cp = namespace_of(dep), name_of(dep), snap.control_plane_namespace
    cli = _cli(snap)
    label_v = M.template_labels(dep).get(M.INJECT_KEY)
    ann_v = M.template_annotations(dep).get(M.INJECT_KEY)
    problems: list[str] = []
    hints: list[str] = []
    member = ns_labels.get(M.MEMBER_OF_LABEL)
    if not ns_known:
        problems.append(f"Namespace {ns} could not be read to confirm it is a mesh member (label {M.MEMBER_OF_LABEL})")
    elif member is None:
        problems.append(
            f"Namespace {ns} is not a member of the mesh: it has no label {M.MEMBER_OF_LABEL}={cp}, "
            "so the injection webhook never sees its pods"
        )
        hints.append(f"add {ns} to spec.members of ServiceMeshMemberRoll default in {cp}")
    elif M.label_str(member) != cp:
        problems.append(
            f"Namespace {ns} has label {M.MEMBER_OF_LABEL}={M.label_str(member)}; expected the control plane "
            f"namespace {cp}"
        )
        hints.append(f"add {ns} to the ServiceMeshMemberRoll default in {cp}")
    if "maistra.io/ignore-namespace" in ns_labels:
        problems.append(f"Namespace {ns} has label maistra.io/ignore-namespace, which excludes it from injection")
        hints.append(f"{cli} label namespace {ns} maistra.io/ignore-namespace-")
    if ns_labels.get("istio-injection") == "disabled":
        problems.append(f"Namespace {ns} has label istio-injection=disabled, which excludes it from injection")
        hints.append(f"{cli} label namespace {ns} istio-injection-")
    ns_problem = bool(problems)
    decisive, where = (label_v, "label") if label_v is not None else (ann_v, "annotation")
    asks = M.inject_value_true(decisive)
    patch = (
        f"{cli} patch deployment/{name} -n {ns} --type merge -p "
        '\'{"spec":{"template":{"metadata":{"annotations":{"sidecar.istio.io/inject":"true"}}}}}\''
    )
    if not asks:
        if decisive is not None:
            field = "labels" if where == "label" else "annotations"
            extra = " (the label wins over the annotation)" if where == "label" and ann_v is not None else ""
            problems.append(
                f"the pod template of {ref(dep)} sets {where} sidecar.istio.io/inject: "
                f"{M.short(M.label_str(decisive))} "
                f'(spec.template.metadata.{field}){extra}; expected "true"'
            )
            hints.append(f'set spec.template.metadata.{field} sidecar.istio.io/inject: "true"')
        elif ns_labels.get("istio-injection") == "enabled":
            problems.append(
                f"Namespace {ns} has label istio-injection=enabled, but on OpenShift Service Mesh 2.x that label is "
                "neither "
                f'needed nor enough: the pod template of {ref(dep)} lacks annotation sidecar.istio.io/inject: "true" '
                "(spec.template.metadata.annotations)"
            )
            hints.append(patch)
        else:
            problems.append(
                f'the pod template of {ref(dep)} lacks annotation sidecar.istio.io/inject: "true" '
                "(spec.template.metadata.annotations); OpenShift Service Mesh 2.x injects only pods that ask for it"
            )
            hints.append(patch)
    elif not problems:
        problems.append(
            f'the pod template of {ref(dep)} asks for injection ({where} sidecar.istio.io/inject: "true") but pods '
            f"{pods} have no istio-proxy sidecar: they were created before injection was enabled"
        )
        hints.append(f"restart them: {restart}")
        return _join(problems), "; ".join(hints)
    if ns_problem:  # namespace label changes do not roll existing pods
        hints.append(f"then {restart}")
    return _join(problems) + f"; pods without sidecar: {pods}", "; ".join(hints)


@_check("workload-sidecar", reads=[K.DEPLOYMENT, K.REPLICA_SET, K.POD, K.NAMESPACE], needs=[K.DEPLOYMENT, K.POD])
def workload_sidecar(
    snap: Snapshot,
    *,
    namespace: str,
    deployment: str,
    min_ready: int = 1,
    labels: dict | None = None,
    image: str | None = None,
) -> Outcome:
    """A Deployment's current pods are Running, Ready and carry a ready istio-proxy sidecar."""
    bad = _str_params(namespace=namespace, deployment=deployment) or _int_param("min_ready", min_ready)
    if bad:
        return bad
    if labels is not None and not isinstance(labels, dict):
        return _bad_param("labels", labels, "a map of label -> value")
    if image is not None and not isinstance(image, str):
        return _bad_param("image", image, "an image reference string")
    dep, missing = _find_deployment(snap, namespace, deployment)
    if missing:
        return missing
    problems = _template_problems(dep, labels, image)
    hints = ["fix the Deployment's pod template"] if problems else []
    pods = M.deployment_pods(snap, dep)
    if not pods:
        problems.append(_no_pods_reason(dep))
        return failed(
            _join(problems),
            f"check {_cli(snap)} get rs,pods -n {namespace} and {_cli(snap)} describe deployment/{deployment} -n "
            f"{namespace}",
        )
    bare = [p for p in pods if not M.sidecar_status(p).present]
    if bare:
        why, hint = _injection_diagnosis(snap, dep, bare)
        problems.append(why)
        hints.append(hint)
    for p in pods:
        sc = M.sidecar_status(p)
        if sc.present and not sc.annotated:
            problems.append(
                f"pod {name_of(p)} has an istio-proxy container but no {M.SIDECAR_STATUS_ANNOTATION} annotation: "
                "it was not added by the injector"
            )
            hints.append("let the injector add the sidecar instead of declaring istio-proxy by hand")
        elif sc.present and not sc.ready and M.pod_running(p):
            problems.append(f"pod {name_of(p)}: its istio-proxy container is not ready")
    problems += _readiness_problems(dep, pods, min_ready)
    if problems:
        hints.append(f"inspect with {_cli(snap)} describe pod -n {namespace}")
        return failed(_join(problems), "; ".join(dict.fromkeys(hints)))
    kind = "native sidecar" if all(M.sidecar_status(p).native for p in pods) else "sidecar"
    return passed(f"{ref(dep)}: {len(pods)} pod(s) Running and Ready with a ready istio-proxy {kind}")


@_check("workload-ready", reads=[K.DEPLOYMENT, K.REPLICA_SET, K.POD], needs=[K.DEPLOYMENT, K.POD])
def workload_ready(snap: Snapshot, *, namespace: str, deployment: str, min_ready: int = 1) -> Outcome:
    """A Deployment's current pods are Running and Ready."""
    bad = _str_params(namespace=namespace, deployment=deployment) or _int_param("min_ready", min_ready)
    if bad:
        return bad
    dep, missing = _find_deployment(snap, namespace, deployment)
    if missing:
        return missing
    pods = M.deployment_pods(snap, dep)
    if not pods:
        return failed(_no_pods_reason(dep), f"check {_cli(snap)} get rs,pods -n {namespace}")
    problems = _readiness_problems(dep, pods, min_ready)
    if problems:
        return failed(_join(problems), f"inspect with {_cli(snap)} describe pod -n {namespace} and {_cli(snap)} logs")
    return passed(f"{ref(dep)}: {len(pods)} pod(s) Running and Ready")


# -- 3: DestinationRule subsets ----------------------------------------------------------------
def _rules_for_host(snap: Snapshot, fqdn: str, namespace: str | None) -> list[dict]:
    """DestinationRules whose host resolves to fqdn (oldest first), optionally in one namespace."""

    def by_host() -> dict[str, list[dict]]:  # once per snapshot: many namespaces share it
        index: dict[str, list[dict]] = {}
        for dr in sorted(snap.list(K.DESTINATION_RULE), key=M.creation_key):
            index.setdefault(M.resolve_host(M.spec_of(dr).get("host"), namespace_of(dr)), []).append(dr)
        return index

    rules = snap.memo(("destinationrules_by_host",), by_host).get(fqdn, [])
    return [dr for dr in rules if namespace is None or namespace_of(dr) == namespace]


def _no_rule(snap: Snapshot, namespace: str, host: str, fqdn: str) -> Outcome:
    others = snap.list(K.DESTINATION_RULE, namespace)
    found = (
        "found "
        + ", ".join(f"{ref(d)} with spec.host {M.short(M.spec_of(d).get('host'))}" for d in others[:_MAX_LISTED])
        if others
        else f"namespace {namespace} has no DestinationRules"
    )
    return failed(
        f"no DestinationRule in namespace {namespace} has spec.host {host} ({fqdn}); {found}",
        f"create a DestinationRule in {namespace} with spec.host: {host}",
    )


def _host_pods(snap: Snapshot, fqdn: str) -> tuple[list[dict] | None, str, str | None]:
    """Running pods behind a host (None for a ServiceEntry host), its description, and a problem."""
    svc_ref = M.service_of_host(fqdn)
    if svc_ref:
        svc_ns, svc_name = svc_ref
        svc = snap.get(K.SERVICE, svc_name, svc_ns)
        if svc is not None:
            sel = M.spec_of(svc).get("selector")
            pods = [
                p for p in snap.list(K.POD, svc_ns) if M.pod_running(p) and M.map_selector_matches(sel, labels_of(p))
            ]
            return pods, ref(svc), None
    entries = [
        se
        for se in snap.list(K.SERVICE_ENTRY)
        if any(M.host_matches(h, fqdn) for h in M.as_list(M.spec_of(se).get("hosts")))
    ]
    if entries:
        return None, ref(entries[0]), None
    desc = f"Service {svc_ref[0]}/{svc_ref[1]}" if svc_ref else fqdn
    return [], desc, f"{desc} does not exist, so the DestinationRule host matches nothing (IST0174)"


def _subset_problems(dr: dict, expected: dict, pods: list[dict] | None, where: str) -> list[str]:
    """Problems of one DestinationRule's subsets; ``pods`` None = endpoints not judged (ServiceEntry)."""
    subsets = M.spec_of(dr).get("subsets")
    if subsets is not None and not isinstance(subsets, list):
        return [f"{ref(dr)} spec.subsets is {M.short(subsets)}, not a list"]
    entries = M.as_list(subsets)
    names = [M.as_dict(s).get("name") for s in entries]
    shown = "[" + ", ".join(M.label_str(n) for n in names) + "]"
    problems = []
    for sname, exp_labels in expected.items():
        if sname not in names:
            problems.append(f"{ref(dr)} has subsets {shown}; expected a subset named {sname}")
            continue
        idx = names.index(sname)
        field = f"spec.subsets[{idx}].labels"
        sub_labels = M.as_dict(entries[idx]).get("labels")
        if sub_labels is not None and not isinstance(sub_labels, dict):
            problems.append(f"{ref(dr)} {field} is {M.short(sub_labels)}, not a label map")
            continue
        if pods is None:
            continue
        selected = [p for p in pods if M.subset_selects(sub_labels, labels_of(p))]
        wanted = [p for p in pods if M.map_selector_matches(exp_labels, labels_of(p))]
        selected_ids, wanted_ids = {id(p) for p in selected}, {id(p) for p in wanted}
        shown_labels = (
            f"{field} {M.format_labels(sub_labels)}"
            if sub_labels
            else f"{field} not set, so every pod of the host (KIA0209)"
        )
        if not selected:
            keys = list(M.as_dict(sub_labels)) or list(exp_labels)
            seen = sorted({f"{k}={M.label_str(labels_of(p)[k])}" for p in pods for k in keys if k in labels_of(p)})
            problems.append(
                f"{ref(dr)} subset {sname} ({shown_labels}) selects no running pod of {where}; "
                f"requests routed to it get 503 UH (IST0173)"
                + (
                    f"; running pods carry {', '.join(seen[:_MAX_LISTED])}"
                    if seen
                    else f"; {where} has no running pods"
                )
            )
            continue
        if not wanted:
            problems.append(
                f"no running pod of {where} carries the labels {M.format_labels(exp_labels)} expected for subset "
                f"{sname}"
            )
            continue
        not_selected = [p for p in wanted if id(p) not in selected_ids]
        if not_selected:
            problems.append(
                f"{ref(dr)} subset {sname} ({shown_labels}) does not select pod(s) "
                f"{_names(not_selected)}, which carry {M.format_labels(exp_labels)}"
            )
        for other, other_labels in expected.items():
            if other == sname:
                continue
            foreign = [
                p for p in selected if id(p) not in wanted_ids and M.map_selector_matches(other_labels, labels_of(p))
            ]
            if foreign:
                problems.append(
                    f"{ref(dr)} subset {sname} ({shown_labels}) also selects pod(s) "
                    f"{_names(foreign)} of subset {other} ({M.format_labels(other_labels)})"
                )
    return problems


@_check(
    "destinationrule-subsets",
    reads=[K.DESTINATION_RULE, K.SERVICE, K.POD, K.SERVICE_ENTRY],
    needs=[K.DESTINATION_RULE, K.SERVICE, K.POD],
)
def destinationrule_subsets(snap: Snapshot, *, namespace: str, host: str, subsets: dict) -> Outcome:
    """A DestinationRule for the host defines the subsets, and each selects the right running pods."""
    bad = _str_params(namespace=namespace, host=host)
    if bad:
        return bad
    if (
        not isinstance(subsets, dict)
        or not subsets
        or not all(isinstance(k, str) and isinstance(v, dict) and v for k, v in subsets.items())
    ):
        return _bad_param("subsets", subsets, "a map of subset name -> non-empty label map")
    fqdn = M.resolve_host(host, namespace)
    rules = _rules_for_host(snap, fqdn, namespace)
    if not rules:
        return _no_rule(snap, namespace, host, fqdn)
    pods, where, host_problem = _host_pods(snap, fqdn)
    if host_problem:
        return failed(
            f"{ref(rules[0])} spec.host {M.short(M.spec_of(rules[0]).get('host'))}: {host_problem}",
            f"create the Service or fix spec.host of {ref(rules[0])}",
        )
    results = [(dr, _subset_problems(dr, subsets, pods, where)) for dr in rules]
    for dr, problems in results:
        if not problems:
            return passed(
                f"{ref(dr)} defines subsets {', '.join(subsets)} and each selects its running pods of {where}"
            )
    dr, problems = min(results, key=lambda r: len(r[1]))
    return failed(
        _join(problems),
        f"edit spec.subsets of {ref(dr)}: names {', '.join(subsets)} with labels that select those pods",
    )


# -- 4/5: VirtualService bound to a Gateway, traffic split -----------------------------------
def _gateway_key(gateway: str, namespace: str) -> str:
    """``ns/name`` of a check's gateway parameter (``name`` means the check's namespace)."""
    return M.resolve_gateway_ref(gateway, namespace)


def _vs_gateway_issues(snap: Snapshot, vs: dict, gw_key: str) -> list[str]:
    raw = M.spec_of(vs).get("gateways")
    listed = M.as_list(raw)
    if raw is None or listed == []:
        text = f"{ref(vs)} spec.gateways is not set, which means [mesh] (sidecars only)"
    elif not isinstance(raw, list):
        text = f"{ref(vs)} spec.gateways is {M.short(raw)}, not a list"
    else:
        text = f"{ref(vs)} spec.gateways is [{', '.join(M.label_str(g) for g in listed)}]"
    issues = [f"{text}; expected it to list {gw_key}"]
    vs_ns = namespace_of(vs)
    for i, g in enumerate(listed):
        key = M.resolve_gateway_ref(g, vs_ns)
        if key in ("", M.MESH_GATEWAY) or key == gw_key:
            continue
        gns, _, gname = key.partition("/")
        if snap.get(K.GATEWAY, gname, gns) is None:
            issues.append(
                f"spec.gateways[{i}] {M.short(g)} refers to Gateway {key}, which does not exist (IST0101, KIA1102)"
            )
    return issues


def _gateway_hosts_text(gw: dict) -> str:
    hosts = [h if ns == "*" else f"{ns}/{h}" for ns, h in M.gateway_server_hosts(gw)]
    return "[" + ", ".join(hosts[:_MAX_LISTED]) + "]"


def _bound_vs(snap: Snapshot, namespace: str, host: str, gateway: str) -> tuple[list[dict], str, str, Outcome | None]:
    """VirtualServices in ``namespace`` bound to the gateway, matching its hosts and routing to host.

    Returns (candidates oldest first, gateway key, host FQDN, failure when there are none).
    """
    gw_key = _gateway_key(gateway, namespace)
    fqdn = M.resolve_host(host, namespace)
    gw = None
    if gw_key != M.MESH_GATEWAY:
        gns, _, gname = gw_key.partition("/")
        gw = snap.get(K.GATEWAY, gname, gns)
        if gw is None:
            listed = snap.list(K.GATEWAY, gns)
            found = f"Gateways in {gns}: {_names(listed)}" if listed else f"namespace {gns} has no Gateways"
            return (
                [],
                gw_key,
                fqdn,
                failed(
                    f"Gateway {gw_key} does not exist, so no VirtualService can be bound to it (IST0101, KIA1102); "
                    f"{found}",
                    f"create Gateway {gname} in namespace {gns}",
                ),
            )
    vss = sorted(snap.list(K.VIRTUAL_SERVICE, namespace), key=M.creation_key)
    if not vss:
        return (
            [],
            gw_key,
            fqdn,
            failed(
                f"no VirtualService in namespace {namespace}; expected one bound to Gateway {gw_key} routing to {fqdn}",
                f"create a VirtualService in {namespace} with spec.gateways [{gateway}] and a route to {host}",
            ),
        )

    def facts(vs: dict) -> tuple[bool, bool, bool]:
        bound = gw_key in M.vs_gateways(vs)
        if gw is not None:
            hosts_ok = M.vs_hosts_in_gateway(vs, gw)
        else:
            hosts_ok = any(
                M.host_matches(M.resolve_host(h, namespace_of(vs)), fqdn) for h in M.as_list(M.spec_of(vs).get("hosts"))
            )
        routes = fqdn in M.route_destination_hosts(vs)
        return bound, hosts_ok, routes

    scored = [(vs, *facts(vs)) for vs in vss]
    good = [vs for vs, b, h, r in scored if b and h and r]
    if good:
        return good, gw_key, fqdn, None
    vs, bound, hosts_ok, routes = max(scored, key=lambda s: s[3] * 4 + s[1] * 2 + s[2])
    issues: list[str] = []
    hints: list[str] = []
    if not bound:
        issues += _vs_gateway_issues(snap, vs, gw_key)
        hints.append(f"list {gateway} in spec.gateways of {ref(vs)}")
    if bound and not hosts_ok:
        vs_hosts = ", ".join(M.label_str(h) for h in M.as_list(M.spec_of(vs).get("hosts"))[:_MAX_LISTED])
        if gw is not None:
            issues.append(
                f"{ref(vs)} spec.hosts [{vs_hosts}] match none of the hosts of {ref(gw)} spec.servers[*].hosts "
                f"{_gateway_hosts_text(gw)} (IST0132)"
            )
        else:
            issues.append(f"{ref(vs)} spec.hosts [{vs_hosts}] do not include {fqdn}")
        hints.append(f"make spec.hosts of {ref(vs)} match a host of the Gateway")
    if not routes:
        dests = sorted(set(M.route_destination_hosts(vs)))
        found = f"routes to [{', '.join(dests[:_MAX_LISTED])}]" if dests else "has no routes"
        issues.append(f"{ref(vs)} {found} (spec.http[*].route[*].destination.host); expected a route to {fqdn}")
        hints.append(f"route to destination.host {host}")
    others = [o for o in vss if o is not vs]
    if others:
        issues.append(f"other VirtualServices in {namespace}: {_names(others)}")
    return [], gw_key, fqdn, failed(_join(issues), "; ".join(hints))


@_check("virtualservice-bound", reads=[K.VIRTUAL_SERVICE, K.GATEWAY])
def virtualservice_bound(snap: Snapshot, *, namespace: str, host: str, gateway: str) -> Outcome:
    """A VirtualService is bound to the Gateway, matches its hosts and routes to the host."""
    bad = _str_params(namespace=namespace, host=host, gateway=gateway)
    if bad:
        return bad
    good, gw_key, fqdn, problem = _bound_vs(snap, namespace, host, gateway)
    if problem:
        return problem
    return passed(f"{ref(good[0])} is bound to Gateway {gw_key}, matches its hosts and routes to {fqdn}")


def _weights_param(weights: Any) -> dict[str, int] | None:
    if not isinstance(weights, dict) or not weights:
        return None
    if not all(isinstance(k, str) and M.is_int(v) and v >= 0 for k, v in weights.items()):
        return None
    return weights if sum(weights.values()) > 0 else None


def _split_text(shares: dict[str, Fraction], order: list[str]) -> str:
    return " / ".join(f"{s} {M.percent(shares.get(s, Fraction(0)))}" for s in order)


def _subset_shares(rw: M.RouteWeights, fqdn: str) -> tuple[dict[str, Fraction], dict[str, int], dict[str, list[str]]]:
    """Per-subset traffic share, written weight and weight fields of destinations to ``fqdn``."""
    actual: dict[str, Fraction] = {}
    raw: dict[str, int] = {}
    fields: dict[str, list[str]] = {}
    for s in rw.shares:
        if s.host != fqdn or s.subset is None:
            continue
        actual[s.subset] = actual.get(s.subset, Fraction(0)) + s.share
        raw[s.subset] = raw.get(s.subset, 0) + (s.weight if M.is_int(s.weight) else 0)
        fields.setdefault(s.subset, []).append(f"route[{s.index}].weight")
    return actual, raw, fields


def _same_split(actual: dict[str, Fraction], want: dict[str, Fraction]) -> bool:
    """Exact rational comparison of two share maps (a missing subset counts as 0)."""
    return all(actual.get(s, Fraction(0)) == want.get(s, Fraction(0)) for s in set(actual) | set(want))


def _entry_weights(vs: dict, idx: int, entry: dict, *, hint: str, expected: str = "",
                   example_weight: int = 100) -> M.RouteWeights | Outcome:
    """The weights of the route in http[idx] (the entry a plain GET / takes), or a failure when
    that entry has no route or its weights are not integers."""
    where = f"spec.http[{idx}]"
    route = entry.get("route")
    if route is None:
        kind = next((k for k in ("redirect", "directResponse", "delegate") if k in entry), None)
        return failed(
            f"{ref(vs)} {where} (the route a plain GET / takes) has no route"
            + (f"; it uses {kind}" if kind else "") + (f"; {expected}" if expected else ""),
            hint,
        )
    rw = M.route_weights(route, namespace_of(vs))
    if not rw.ok:
        return failed(
            _join([f"{ref(vs)} {where}.{path} {why}" for path, why in rw.errors]),
            f'weights must be integers, e.g. weight: {example_weight} (not "{example_weight}")',
        )
    return rw


def _effective_entry(
    snap: Snapshot, namespace: str, host: str, gateway: str, wanted: str
) -> tuple[dict, int, dict, str, list[str]] | Outcome:
    """``(vs, index, entry, fqdn, notes)`` of the http[] entry a plain GET / takes, or a failure.

    ``wanted`` describes what the entry should carry, for the failure reasons.
    """
    good, gw_key, fqdn, problem = _bound_vs(snap, namespace, host, gateway)
    if problem:
        return problem
    vs = good[0]
    notes = [f"{ref(o)} also binds {gw_key}; {ref(vs)} is the oldest and was judged" for o in good[1:2]]
    https = M.as_list(M.spec_of(vs).get("http"))
    eff = M.effective_http_route(vs, gw_key if gw_key != M.MESH_GATEWAY else None)
    if eff is None:
        if not https:
            return failed(f"{ref(vs)} has no spec.http routes; expected an HTTP route with {wanted}", "add spec.http[]")
        described = "; ".join(f"spec.http[{i}] {M.describe_match(h)}" for i, h in enumerate(https[:4]))
        return failed(
            f"no spec.http entry of {ref(vs)} matches a plain GET / : {described}",
            f"add a final spec.http entry without match (or with uri prefix /) carrying {wanted}",
        )
    idx, entry = eff
    if idx > 0:
        notes.append(
            f"spec.http[{idx}] is the first entry a plain GET / takes (spec.http[0] {M.describe_match(https[0])})"
        )
    return vs, idx, entry, fqdn, notes



@_check("traffic-split", reads=[K.VIRTUAL_SERVICE, K.GATEWAY, K.DESTINATION_RULE])
def traffic_split(snap: Snapshot, *, namespace: str, host: str, gateway: str, weights: dict) -> Outcome:
    """The effective route of the VirtualService bound to the gateway splits traffic by subset in the expected ratio."""
    bad = _str_params(namespace=namespace, host=host, gateway=gateway)
    if bad:
        return bad
    expected = _weights_param(weights)
    if expected is None:
        return _bad_param("weights", weights, "a map of subset -> non-negative integer weight with a positive sum")
    found = _effective_entry(snap, namespace, host, gateway, "the split")
    if isinstance(found, Outcome):
        return found
    vs, idx, entry, fqdn, notes = found
    https = M.as_list(M.spec_of(vs).get("http"))
    where = f"spec.http[{idx}]"
    rw = _entry_weights(vs, idx, entry, hint=f"give {where} a route with weighted destinations", example_weight=80)
    if isinstance(rw, Outcome):
        return rw
    problems: list[str] = []
    hints: list[str] = []
    set_weights = f"set the weights of {where}.route to " + ", ".join(f"{s}: {v}" for s, v in expected.items())
    actual, raw, fields = _subset_shares(rw, fqdn)
    for s in rw.shares:
        field = f"{where}.route[{s.index}]"
        if s.share == 0 or (s.host == fqdn and s.subset is not None):
            continue
        if s.host != fqdn:
            problems.append(
                f"{ref(vs)} {field}.destination.host {s.host or 'missing'} gets {M.percent(s.share)}; expected only "
                f"{fqdn}"
            )
            hints.append(f"route only to {host} subsets")
        else:
            problems.append(
                f"{ref(vs)} {field}.destination has no subset and gets {M.percent(s.share)} (it goes to every pod of "
                f"{fqdn})"
            )
            hints.append(f"give {field}.destination a subset")
    defined = {
        M.as_dict(sub).get("name")
        for dr in _rules_for_host(snap, fqdn, None)
        for sub in M.as_list(M.spec_of(dr).get("subsets"))
        if isinstance(M.as_dict(sub).get("name"), str)
    }
    undefined = sorted(s for s in actual if s not in defined)
    if undefined:
        problems.append(
            f"{ref(vs)} {where} routes to subset(s) {', '.join(undefined)}, defined in no DestinationRule for {fqdn}; "
            "those requests fail with 503 (IST0101, KIA1107)"
        )
        hints.append(f"define subset(s) {', '.join(undefined)} in the DestinationRule for {host}")
    total = sum(expected.values())
    want = {k: Fraction(v, total) for k, v in expected.items()}
    order = list(expected) + [s for s in actual if s not in expected]
    exp_text = ":".join(str(v) for v in expected.values())
    want_text = f"expected {_split_text(want, order)} ({exp_text})"
    if not _same_split(actual, want):
        if len(rw.shares) == 1:
            only = rw.shares[0]
            problems.append(
                f"{ref(vs)} {where}.route has a single destination "
                f"({'subset ' + str(only.subset) if only.subset else 'no subset'}), which gets 100%; {want_text}"
            )
        else:
            written = ", ".join(f"{s}={raw[s]} ({'+'.join(fields[s])})" if s in raw else f"{s} absent" for s in order)
            weight_sum = sum(raw.values())
            if weight_sum != 100:
                problems.append(
                    f"{ref(vs)} {where}.route weights {written} sum to {weight_sum}; weights are relative (weight/sum) "
                    f"since Istio 1.15, so they give {_split_text(actual, order)}; {want_text}"
                )
            else:
                problems.append(
                    f"{ref(vs)} {where}.route weights {written} give {_split_text(actual, order)}; {want_text}"
                )
        hints.append(set_weights)
        for j, other in enumerate(https):
            if j == idx:
                continue
            orw = M.route_weights(M.as_dict(other).get("route"), namespace_of(vs))
            if orw.ok and _same_split(_subset_shares(orw, fqdn)[0], want):
                described = "" if j == 0 and idx > 0 else f" (it {M.describe_match(other)})"
                notes.append(f"spec.http[{j}] has the expected split, but a plain GET / never takes it{described}")
                hints.append(f"or move the split of spec.http[{j}] into the entry a plain GET / takes")
                break
    if problems:
        return failed(_join(problems + notes), "; ".join(dict.fromkeys(hints)))
    split = _split_text(actual, list(expected))
    reason = f"{ref(vs)} {where} splits {split} as expected"
    if len(rw.shares) > 1 and any(raw.get(s, 0) != expected[s] for s in expected):
        got = "/".join(str(raw.get(s, 0)) for s in expected)
        reason += f"; weights {got} give the same {exp_text} split; weights are relative"
    return passed("; ".join([reason] + notes))


# -- 6: Gateway bound to ingress pods ------------------------------------------------------------
@_check("gateway-bound", reads=[K.GATEWAY, K.POD, K.SERVICE])
def gateway_bound(snap: Snapshot, *, namespace: str, gateway: str, selector: dict | None = None) -> Outcome:
    """A Gateway selects running gateway pods and every server port is exposed by their Service."""
    bad = _str_params(namespace=namespace, gateway=gateway)
    if bad:
        return bad
    if selector is not None and (not isinstance(selector, dict) or not selector):
        return _bad_param("selector", selector, "a non-empty label map")
    gw_key = _gateway_key(gateway, namespace)
    gns, _, gname = gw_key.partition("/")
    gw = snap.get(K.GATEWAY, gname, gns) if gw_key != M.MESH_GATEWAY else None
    if gw is None:
        listed = snap.list(K.GATEWAY, gns)
        found = f"Gateways in {gns}: {_names(listed)}" if listed else f"namespace {gns} has no Gateways"
        return failed(f"Gateway {gw_key} not found; {found}", f"create Gateway {gname} in namespace {gns}")
    sel = M.spec_of(gw).get("selector")
    if not isinstance(sel, dict) or not sel:
        return failed(
            f"{ref(gw)} spec.selector is {M.short(sel) if sel is not None else 'not set'}; expected the labels of the "
            "ingress gateway pods, e.g. istio: ingressgateway",
            "set spec.selector to istio: ingressgateway",
        )
    if selector is not None and {k: M.label_str(v) for k, v in sel.items()} != {
        k: M.label_str(v) for k, v in selector.items()
    }:
        return failed(
            f"{ref(gw)} spec.selector is {M.format_labels(sel)}; expected {M.format_labels(selector)}",
            f"set spec.selector to {M.format_labels(selector)}",
        )
    pods = M.gateway_pods(snap, gw)
    if not pods:
        not_running = [p for p in snap.list(K.POD) if M.map_selector_matches(sel, labels_of(p))]
        ingress = [p for p in snap.list(K.POD) if labels_of(p).get("istio") == "ingressgateway"]
        reason = f"{ref(gw)} spec.selector {M.format_labels(sel)} matches no running pod in any namespace (IST0101)"
        if not_running:
            reason += f"; it matches pod(s) {_names(not_running, with_ns=True)}, which {M.pod_problem(not_running[0])}"
        elif ingress:
            reason += "; pods with label istio=ingressgateway: " + ", ".join(
                f"{namespace_of(p)}/{name_of(p)} {M.format_labels(labels_of(p))}" for p in ingress[:3]
            )
        else:
            reason += "; no pod carries label istio=ingressgateway"
        return failed(reason, "set spec.selector to labels the ingress gateway pods carry, e.g. istio: ingressgateway")
    services = M.services_selecting(snap, pods)
    servers = M.gateway_server_ports(gw)
    if not servers:
        return failed(
            f"{ref(gw)} has no spec.servers; expected at least one server with a port and hosts", "add spec.servers"
        )
    if not services:
        return failed(
            f"no Service selects the gateway pods {_names(pods, with_ns=True)} of {ref(gw)}, so no server port is "
            "exposed (IST0162)",
            "expose the gateway pods with a Service",
        )
    exposed: set[int] = set()
    for svc in services:
        exposed |= M.service_exposed_ports(svc, pods)
    svc_text = ", ".join(f"{ref(s)} (ports {M.describe_service_ports(s)})" for s in services[:3])
    problems = []
    for i, number in servers:
        field = f"spec.servers[{i}].port.number"
        if not M.is_int(number):
            problems.append(
                f"{ref(gw)} {field} is {M.short(number) if number is not None else 'missing'}; expected a port number"
            )
        elif number not in exposed:
            problems.append(f"{ref(gw)} {field} {number} is not a port or targetPort of {svc_text} (IST0162)")
    if problems:
        return failed(
            _join(problems), f"use a port the gateway Service exposes: {', '.join(str(p) for p in sorted(exposed))}"
        )
    return passed(f"{ref(gw)} selects {_names(pods, with_ns=True)} and every server port is exposed by {svc_text}")


# -- 7: generic field ------------------------------------------------------------------
def _path_parts(path: str) -> list[str]:
    return [p for p in path.replace("[", ".").replace("]", "").split(".") if p != ""]


_MISSING = object()


def value_at(obj: Any, path: str) -> Any:
    """The value at a path as resource-field reads it (``spec.http[0].timeout``, dotted keys
    such as ``metadata.annotations.sidecar.istio.io/inject``), or None when there is none."""
    found, _ = _walk(obj, _path_parts(path))
    return None if found is _MISSING else found


def _walk(value: Any, parts: list[str]) -> tuple[Any, int]:
    """Value at ``parts`` (keys may themselves contain dots) and how many parts were consumed."""
    if not parts:
        return value, 0
    if isinstance(value, list):
        head = parts[0]
        if head.lstrip("-").isdigit() and -len(value) <= int(head) < len(value):
            found, used = _walk(value[int(head)], parts[1:])
            return found, used + 1
        return _MISSING, 0
    if isinstance(value, dict):
        best = 0
        for j in range(1, len(parts) + 1):  # shortest key first, longer ones for dotted keys
            key = ".".join(parts[:j])
            if key in value:
                found, used = _walk(value[key], parts[j:])
                if found is not _MISSING:
                    return found, used + j
                best = max(best, used + j)
        return _MISSING, best
    return _MISSING, 0


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@_check("resource-field", reads=list(K.ALL), needs=[])
def resource_field(snap: Snapshot, *, kind: str, name: str, path: str, expected: Any, namespace: str = "") -> Outcome:
    """An object's field at a dotted path (``spec.http.0.timeout``) equals the expected value.

    ``namespace`` is ignored for cluster-scoped kinds; ``spec.http[0]`` and dotted keys
    such as ``metadata.annotations.sidecar.istio.io/inject`` are understood.
    """
    bad = _str_params(kind=kind, name=name, path=path)
    if bad:
        return bad
    try:
        k = K.by_name(kind)
    except KeyError:
        return _bad_param("kind", kind, "a known kind, e.g. " + ", ".join(x.kind for x in K.ALL[:6]))
    if k.kind in snap.missing_kinds:
        return failed(
            f"the cluster does not serve {k.kind} ({k.group or 'core'})", "install the operator that provides it"
        )
    if k.kind not in snap.read_kinds:
        return Outcome(Status.ERROR, f"resource-field: kind {k.kind} was not read from the cluster")
    if k.namespaced and (not isinstance(namespace, str) or not namespace):
        return _bad_param("namespace", namespace, "a non-empty string")
    obj = snap.get(k, name, namespace if k.namespaced else None)
    label = f"{k.kind} {namespace}/{name}" if k.namespaced else f"{k.kind} {name}"
    if obj is None:
        return failed(f"{label} not found", f"create {label}")
    parts = _path_parts(path)
    found, used = _walk(obj, parts)
    if found is _MISSING:
        at = ".".join(parts[: used + 1]) if parts else path
        return failed(
            f"{ref(obj)} has no field {path} (missing at {at}); expected {M.short(expected)}",
            f"set {path} to {M.short(expected)}",
        )
    if _equal(found, expected):
        return passed(f"{ref(obj)} {path} is {M.short(found)}")
    note = ""
    if M.label_str(found) == M.label_str(expected):
        note = f" (a {type(found).__name__}, not a {type(expected).__name__})"
    return failed(
        f"{ref(obj)} {path} is {M.short(found)}{note}; expected {M.short(expected)}",
        f"set {path} to {M.short(expected)}",
    )


# -- 8/9: mTLS -------------------------------------------------------------------------------------
def _decided_by(decision: M.MtlsDecision) -> str:
    if decision.decided_by is None:
        return "no PeerAuthentication sets a mode, so the default PERMISSIVE applies"
    level = {"workload": "workload selector", "namespace": "namespace-wide", "mesh": "mesh-wide"}[decision.level]
    return f"set by {ref(decision.decided_by)} ({level}, spec.mtls.mode)"


def _invalid_modes(decision: M.MtlsDecision) -> Outcome | None:
    if not decision.invalid:
        return None
    pa, mode = decision.invalid[0]
    return failed(
        f"{ref(pa)} spec.mtls.mode is {M.short(mode)}; expected one of {', '.join(M.MTLS_MODES)}",
        "fix spec.mtls.mode (e.g. STRICT)",
    )


@_check("peer-authentication-mode", reads=[K.PEER_AUTHENTICATION])
def peer_authentication_mode(
    snap: Snapshot, *, namespace: str, mode: str = "STRICT", workload_labels: dict | None = None
) -> Outcome:
    """The effective PeerAuthentication mTLS mode of a namespace (or workload) is the expected one."""
    bad = _str_params(namespace=namespace)
    if bad:
        return bad
    if not isinstance(mode, str) or mode.upper() not in ("STRICT", "PERMISSIVE", "DISABLE"):
        return _bad_param("mode", mode, "STRICT, PERMISSIVE or DISABLE")
    if workload_labels is not None and (not isinstance(workload_labels, dict) or not workload_labels):
        return _bad_param("workload_labels", workload_labels, "a non-empty label map")
    want = mode.upper()
    decision = M.effective_mtls(snap, namespace, workload_labels)
    invalid = _invalid_modes(decision)
    if invalid:
        return invalid
    scope = f"namespace {namespace}"
    if workload_labels:
        scope = f"workloads {M.format_labels(workload_labels)} in namespace {namespace}"
    text = f"effective mTLS mode for {scope} is {decision.mode}, {_decided_by(decision)}"
    notes = list(decision.notes)
    ignored = _ignored_policies(snap, namespace, decision)
    if decision.mode == want:
        return passed("; ".join([text] + notes))
    return failed(
        "; ".join([f"{text}; expected {want}"] + notes + ignored),
        f"create PeerAuthentication default in namespace {namespace} with spec.mtls.mode: {want}"
        + (" and a selector matching the workload" if workload_labels else ""),
    )


def _ignored_policies(snap: Snapshot, namespace: str, decision: M.MtlsDecision) -> list[str]:
    """Explain policies a student may expect to count but Istio ignores."""
    root = snap.control_plane_namespace
    out = [
        f"{ref(pa)} has a selector in the root namespace {root}, which Istio ignores"
        for pa in snap.list(K.PEER_AUTHENTICATION, root)
        if M.as_dict(M.as_dict(M.spec_of(pa).get("selector")).get("matchLabels"))
    ]
    decider = decision.decided_by
    if decider is not None:
        level_ns = namespace_of(decider)
        for pa in snap.list(K.PEER_AUTHENTICATION, level_ns):
            same_level = not M.as_dict(M.as_dict(M.spec_of(pa).get("selector")).get("matchLabels"))
            if pa is not decider and same_level and decision.level in ("namespace", "mesh"):
                out.append(f"{ref(pa)} is ignored: the oldest {decision.level}-wide policy, {ref(decider)}, wins")
    return out[:3]


def _tls_disables(dr: dict) -> list[str]:
    """Field paths in a DestinationRule that set tls.mode DISABLE."""
    spec = M.spec_of(dr)
    policies: list[tuple[str, Any]] = [("spec.trafficPolicy", spec.get("trafficPolicy"))]
    for i, sub in enumerate(M.as_list(spec.get("subsets"))):
        policies.append((f"spec.subsets[{i}].trafficPolicy", M.as_dict(sub).get("trafficPolicy")))
    out = []
    for base, tp in policies:
        tp = M.as_dict(tp)
        if M.as_dict(tp.get("tls")).get("mode") == "DISABLE":
            out.append(f"{base}.tls.mode")
        for j, pls in enumerate(M.as_list(tp.get("portLevelSettings"))):
            if M.as_dict(M.as_dict(pls).get("tls")).get("mode") == "DISABLE":
                out.append(f"{base}.portLevelSettings[{j}].tls.mode")
    return out


@_check("no-mtls-disable", reads=[K.DESTINATION_RULE, K.PEER_AUTHENTICATION])
def no_mtls_disable(snap: Snapshot, *, namespace: str) -> Outcome:
    """No DestinationRule disables TLS toward the namespace while its mTLS mode is STRICT."""
    bad = _str_params(namespace=namespace)
    if bad:
        return bad
    scope = f"*.{namespace}.svc.{M.CLUSTER_DOMAIN}"
    offenders = []
    for dr in sorted(snap.list(K.DESTINATION_RULE), key=M.creation_key):
        fqdn = M.resolve_host(M.spec_of(dr).get("host"), namespace_of(dr))
        if fqdn and M.host_matches(fqdn, scope):
            offenders += [(dr, fqdn, f) for f in _tls_disables(dr)]
    decision = M.effective_mtls(snap, namespace)
    if not offenders:
        return passed(f"no DestinationRule disables TLS for hosts in namespace {namespace}")
    if decision.mode != "STRICT":
        dr, fqdn, field = offenders[0]
        return passed(
            f"{ref(dr)} sets {field} DISABLE for {fqdn}, but the effective mTLS mode of namespace {namespace} "
            f"is {decision.mode} ({_decided_by(decision)}), which accepts plain text"
        )
    code = "KIA0207" if decision.level == "namespace" else "KIA0208"
    problems = [
        f"{ref(dr)} sets {field} DISABLE for {fqdn} while the effective mTLS mode of namespace {namespace} is STRICT "
        f"({_decided_by(decision)}): clients send plain text that the server rejects ({code})"
        for dr, fqdn, field in offenders
    ]
    return failed(_join(problems), "remove the tls DISABLE setting (or use mode ISTIO_MUTUAL)")


# -- 10: outlier detection -------------------------------------------------------------------------
def _outlier_problems(dr: dict, consecutive: int, durations: list[tuple[str, str, Any]]) -> list[str]:
    base = "spec.trafficPolicy.outlierDetection"
    tp = M.spec_of(dr).get("trafficPolicy")
    od = M.as_dict(tp).get("outlierDetection")
    if not isinstance(od, dict):
        found = "not set" if od is None else f"{M.short(od)}, not an object"
        return [f"{ref(dr)} {base} is {found}; expected consecutive5xxErrors: {consecutive}"]
    problems = []
    c5, legacy = od.get("consecutive5xxErrors"), od.get("consecutiveErrors")
    if c5 is None and legacy is not None:
        problems.append(
            f"{ref(dr)} sets {base}.consecutiveErrors ({M.short(legacy)}) but not consecutive5xxErrors: "
            "consecutiveErrors "
            "is deprecated and pilot ignores it in every Istio release OSSM 2.x ships, so it configures no outlier "
            f"detection; use consecutive5xxErrors: {consecutive}"
        )
    elif c5 is None:
        problems.append(f"{ref(dr)} {base}.consecutive5xxErrors is not set; expected {consecutive}")
    elif not M.is_int(c5):
        problems.append(
            f"{ref(dr)} {base}.consecutive5xxErrors is {M.short(c5)} (not an integer); expected {consecutive}"
        )
    elif c5 != consecutive:
        problems.append(f"{ref(dr)} {base}.consecutive5xxErrors is {c5}; expected {consecutive}")
    for field, text, want in durations:
        value = od.get(field)
        got = M.parse_duration(value)
        if value is None:
            problems.append(f"{ref(dr)} {base}.{field} is not set; expected {text}")
        elif got is None:
            problems.append(f"{ref(dr)} {base}.{field} is {M.short(value)}, not a duration; expected {text}")
        elif got != want:
            problems.append(f"{ref(dr)} {base}.{field} is {M.short(value)} ({M.format_duration(got)}); expected {text}")
    return problems


@_check("outlier-detection", reads=[K.DESTINATION_RULE])
def outlier_detection(
    snap: Snapshot,
    *,
    namespace: str,
    host: str,
    consecutive_5xx: int = 5,
    interval: str | None = "30s",
    base_ejection_time: str | None = "30s",
) -> Outcome:
    """A DestinationRule for the host configures outlier detection with consecutive5xxErrors."""
    bad = _str_params(namespace=namespace, host=host) or _int_param("consecutive_5xx", consecutive_5xx, 1)
    if bad:
        return bad
    durations: list[tuple[str, str, Any]] = []
    for pname, field, value in (
        ("interval", "interval", interval),
        ("base_ejection_time", "baseEjectionTime", base_ejection_time),
    ):
        if value is None:
            continue
        parsed = M.parse_duration(value)
        if parsed is None:
            return _bad_param(pname, value, "a duration such as 30s")
        durations.append((field, value, parsed))
    fqdn = M.resolve_host(host, namespace)
    rules = _rules_for_host(snap, fqdn, namespace)
    if not rules:
        return _no_rule(snap, namespace, host, fqdn)
    results = [(dr, _outlier_problems(dr, consecutive_5xx, durations)) for dr in rules]
    for dr, problems in results:
        if not problems:
            return passed(
                f"{ref(dr)} spec.trafficPolicy.outlierDetection ejects after {consecutive_5xx} consecutive 5xx errors"
            )
    dr, problems = min(results, key=lambda r: len(r[1]))
    want = ", ".join(
        [f"consecutive5xxErrors: {consecutive_5xx}"] + [f"{field}: {text}" for field, text, _ in durations]
    )
    return failed(_join(problems), f"set spec.trafficPolicy.outlierDetection of {ref(dr)} to {want}")
