"""Workload check types: Deployments whose pods run and carry the sidecar, namespaces whose
pods all do, and Services that declare their protocol and reach their pods."""

from __future__ import annotations

from typing import Any

from grader import kinds as K
from grader.checks.framework import bad_param, check, cli_name, int_param, not_found, port_param, str_params
from grader.checks.lookup import find_deployment
from grader.mesh.membership import IGNORE_NAMESPACE_LABEL, MEMBER_OF_LABEL
from grader.mesh.sail import INJECTION_LABEL, REV_LABEL, injector_names, namespace_injection, revision_name, strategy
from grader.mesh.selectors import map_selector_matches
from grader.mesh.services import HTTP_PROTOCOLS, describe_service_ports, istio_protocol
from grader.mesh.workloads import (
    INJECT_KEY,
    SIDECAR_CONTAINER,
    SIDECAR_STATUS_ANNOTATION,
    deployment_pods,
    inject_value_true,
    owner_deployment,
    pod_phase,
    pod_problem,
    pod_ready,
    pod_running,
    sidecar_status,
    template_annotations,
    template_containers,
    template_labels,
)
from grader.model import Outcome, failed, passed
from grader.objects import (
    as_dict,
    as_list,
    conditions,
    is_int,
    is_terminating,
    label_str,
    labels_of,
    name_of,
    namespace_of,
    ref,
    spec_of,
)
from grader.snapshot import Snapshot
from grader.text import MAX_LISTED, format_labels, join, name_list, short


def _no_pods_reason(dep: dict) -> str:
    spec = spec_of(dep)
    details = []
    if is_int(spec.get("replicas")) and spec["replicas"] == 0:
        details.append("spec.replicas is 0")
    for c in conditions(dep):
        if c.get("type") == "ReplicaFailure" or (
            c.get("type") in ("Available", "Progressing") and c.get("status") == "False"
        ):
            details.append(
                f"condition {label_str(c.get('type'))}: {short(c.get('message') or c.get('reason'), 160)}"
            )
    return f"{ref(dep)} has no current pods" + (f" ({'; '.join(details[:3])})" if details else "")


def _readiness_problems(dep: dict, pods: list[dict], min_ready: int) -> list[str]:
    problems = []
    for p in pods:
        why = pod_problem(p)
        if why:
            problems.append(f"pod {name_of(p)} {why}")
    ready = sum(1 for p in pods if pod_ready(p))
    if ready < min_ready:
        problems.append(f"{ref(dep)} has {ready} ready pod(s); expected at least {min_ready}")
    return problems


def _template_problems(dep: dict, labels: Any, image: Any) -> list[str]:
    problems = []
    if labels is not None:
        have = template_labels(dep)
        for key, value in as_dict(labels).items():
            if key not in have:
                problems.append(
                    f"{ref(dep)} spec.template.metadata.labels lacks {key}: {label_str(value)} (has "
                    f"{format_labels(have)})"
                )
            elif label_str(have[key]) != label_str(value):
                problems.append(
                    f"{ref(dep)} spec.template.metadata.labels.{key} is {short(have[key])}; expected "
                    f"{short(label_str(value))}"
                )
    if image is not None:
        containers = template_containers(dep)
        images = [c.get("image") for c in containers]
        if not any(_same_image(i, image) for i in images):
            problems.append(
                f"{ref(dep)} spec.template.spec.containers[*].image is "
                f"{', '.join(short(i) for i in images) or 'not set'}; "
                f"expected a container with image {image}"
            )
    return problems


def _same_image(found: Any, expected: Any) -> bool:
    def norm(i: Any) -> str:
        s = label_str(i).strip()
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
    restart = f"{cli_name(snap)} rollout restart deployment/{name_of(dep)} -n {namespace_of(dep)}"
    diagnose = _diagnose_ossm2 if snap.flavour == "ossm2" else _diagnose_istio
    return diagnose(snap, dep, name_list(bare), ns_obj is not None, ns_labels, restart)


def _with_namespace_injection(snap: Snapshot, namespace: str, missing: Outcome) -> Outcome:
    """A missing Deployment's verdict, plus, where the webhook selects namespaces by label (upstream Istio,
    OSSM 3), that its namespace injects no pod either: what `istioctl analyze` reports as IST0102
    NamespaceNotInjected (istio/istio pkg/config/analysis/analyzers/injection/injection.go), before any pod."""
    if snap.flavour not in ("istio", "ossm3"):
        return missing
    ns_obj = snap.get(K.NAMESPACE, namespace)
    ns_labels = labels_of(ns_obj) if ns_obj else {}
    inj = ns_labels.get("istio-injection")
    if ns_obj is None or inj == "enabled" or (inj is None and ns_labels.get("istio.io/rev")):
        return missing
    why = (f"label istio-injection={label_str(inj)}" if inj is not None
           else "neither label istio-injection=enabled nor istio.io/rev")
    return failed(
        f"{missing.reason}; and Namespace {namespace} has {why}, so pods created there get no sidecar unless "
        "their template carries label sidecar.istio.io/inject=true (IST0102)",
        f"{missing.hint}; {cli_name(snap)} label namespace {namespace} istio-injection=enabled --overwrite",
    )


def _diagnose_istio(
    snap: Snapshot, dep: dict, pods: str, ns_known: bool, ns_labels: dict, restart: str
) -> tuple[str, str]:
    """Upstream Istio (and Sail-based OSSM 3): the webhook selects on LABELS only.

    istio-discovery mutatingwebhook.yaml: namespace istio-injection=enabled, or
    istio.io/rev, or (neither) pod label sidecar.istio.io/inject=true; the pod label
    "false" always opts out.
    """
    ns, cli = namespace_of(dep), cli_name(snap)
    t_labels = template_labels(dep)
    label_v, ann_v = t_labels.get(INJECT_KEY), template_annotations(dep).get(INJECT_KEY)
    ns_inj = ns_labels.get("istio-injection")
    if label_v is not None and label_str(label_v).lower() == "false":
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
    no_injector = _ossm3_no_injector(snap, dep, pods, ns_labels, restart)
    if no_injector is not None:
        return no_injector
    webhook_applies = (
        ns_inj == "enabled"
        or (ns_inj is None and bool(ns_labels.get("istio.io/rev")))
        or inject_value_true(label_v)
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
    if inject_value_true(ann_v):
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


def _ossm3_no_injector(snap: Snapshot, dep: dict, pods: str, ns_labels: dict, restart: str) -> tuple[str, str] | None:
    """OSSM 3: the namespace's labels ask for injection, but no revision's webhook honours them, so
    restarting does not help (None when one does, or when the snapshot has no Istio to judge by).

    Which labels reach which revision: grader/mesh/sail.py. `istio-injection=enabled` reaches only
    a revision or IstioRevisionTag named `default` (a RevisionBased Istio's revision is
    `default-v1-30-3`), `istio-injection` wins over `istio.io/rev`, and with either label on the
    namespace the pod's own labels are not looked at (the webhooks' namespaceSelectors, istio/istio
    manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml)."""
    if snap.flavour != "ossm3" or K.ISTIO.kind not in snap.read_kinds:
        return None
    istios = snap.list(K.ISTIO)
    if not istios or (INJECTION_LABEL not in ns_labels and REV_LABEL not in ns_labels):
        return None
    rev, why = namespace_injection(ns_labels, injector_names(istios, snap.list(K.ISTIO_REVISION_TAG), snap.list(K.ISTIO_REVISION)))
    if rev is not None:
        return None
    ns, cli = namespace_of(dep), cli_name(snap)
    based = [i for i in istios if strategy(i) == "RevisionBased"]
    if len(istios) == 1 and based:
        name, active = name_of(based[0]), revision_name(based[0])
        hint = (f"{cli} label namespace {ns} istio.io/rev={active} istio-injection- (Istio {name} is RevisionBased: "
                f"its revision is {active}), or create an IstioRevisionTag default with spec.targetRef "
                f"{{kind: Istio, name: {name}}} so that istio-injection=enabled reaches it; then {restart}")
    else:
        revisions = ", ".join(sorted({revision_name(i) for i in istios}))
        hint = f"{cli} label namespace {ns} istio.io/rev=<revision> istio-injection- (revisions: {revisions}); then {restart}"
    return (f"Namespace {ns}: {why}, so pods {pods} of {ref(dep)} get no sidecar however often they are restarted",
            hint)


def _diagnose_ossm2(
    snap: Snapshot, dep: dict, pods: str, ns_known: bool, ns_labels: dict, restart: str
) -> tuple[str, str]:
    """OSSM 2.x: member namespace + pod label/annotation sidecar.istio.io/inject=true.

    maistra/istio inject.go injectRequired (autoInject disabled): only the pod's own
    label or annotation triggers injection; the label wins when both are set.
    """
    ns, name, cp = namespace_of(dep), name_of(dep), snap.control_plane_namespace
    cli = cli_name(snap)
    label_v = template_labels(dep).get(INJECT_KEY)
    ann_v = template_annotations(dep).get(INJECT_KEY)
    problems: list[str] = []
    hints: list[str] = []
    member = ns_labels.get(MEMBER_OF_LABEL)
    if not ns_known:
        problems.append(f"Namespace {ns} could not be read to confirm it is a mesh member (label {MEMBER_OF_LABEL})")
    elif member is None:
        problems.append(
            f"Namespace {ns} is not a member of the mesh: it has no label {MEMBER_OF_LABEL}={cp}, "
            "so the injection webhook never sees its pods"
        )
        hints.append(f"add {ns} to spec.members of ServiceMeshMemberRoll default in {cp}")
    elif label_str(member) != cp:
        problems.append(
            f"Namespace {ns} has label {MEMBER_OF_LABEL}={label_str(member)}; expected the control plane "
            f"namespace {cp}"
        )
        hints.append(f"add {ns} to the ServiceMeshMemberRoll default in {cp}")
    if IGNORE_NAMESPACE_LABEL in ns_labels:
        problems.append(f"Namespace {ns} has label maistra.io/ignore-namespace, which excludes it from injection")
        hints.append(f"{cli} label namespace {ns} maistra.io/ignore-namespace-")
    if ns_labels.get("istio-injection") == "disabled":
        problems.append(f"Namespace {ns} has label istio-injection=disabled, which excludes it from injection")
        hints.append(f"{cli} label namespace {ns} istio-injection-")
    ns_problem = bool(problems)
    decisive, where = (label_v, "label") if label_v is not None else (ann_v, "annotation")
    asks = inject_value_true(decisive)
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
                f"{short(label_str(decisive))} "
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
        return join(problems), "; ".join(hints)
    if ns_problem:  # namespace label changes do not roll existing pods
        hints.append(f"then {restart}")
    return join(problems) + f"; pods without sidecar: {pods}", "; ".join(hints)


@check("workload-sidecar", reads=[K.DEPLOYMENT, K.REPLICA_SET, K.POD, K.NAMESPACE, K.ISTIO, K.ISTIO_REVISION_TAG, K.ISTIO_REVISION],
       needs=[K.DEPLOYMENT, K.POD])
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
    bad = str_params(namespace=namespace, deployment=deployment) or int_param("min_ready", min_ready)
    if bad:
        return bad
    if labels is not None and not isinstance(labels, dict):
        return bad_param("labels", labels, "a map of label -> value")
    if image is not None and not isinstance(image, str):
        return bad_param("image", image, "an image reference string")
    dep, missing = find_deployment(snap, namespace, deployment)
    if missing:
        return _with_namespace_injection(snap, namespace, missing)
    problems = _template_problems(dep, labels, image)
    hints = ["fix the Deployment's pod template"] if problems else []
    pods = deployment_pods(snap, dep)
    if not pods:
        problems.append(_no_pods_reason(dep))
        return failed(
            join(problems),
            f"check {cli_name(snap)} get rs,pods -n {namespace} and {cli_name(snap)} describe deployment/{deployment} -n "
            f"{namespace}",
        )
    bare = [p for p in pods if not sidecar_status(p).present]
    if bare:
        why, hint = _injection_diagnosis(snap, dep, bare)
        problems.append(why)
        hints.append(hint)
    for p in pods:
        sc = sidecar_status(p)
        if sc.present and not sc.annotated:
            problems.append(
                f"pod {name_of(p)} has an istio-proxy container but no {SIDECAR_STATUS_ANNOTATION} annotation: "
                "it was not added by the injector"
            )
            hints.append("let the injector add the sidecar instead of declaring istio-proxy by hand")
        elif sc.present and not sc.ready and pod_running(p):
            problems.append(f"pod {name_of(p)}: its istio-proxy container is not ready")
    problems += _readiness_problems(dep, pods, min_ready)
    if problems:
        hints.append(f"inspect with {cli_name(snap)} describe pod -n {namespace}")
        return failed(join(problems), "; ".join(dict.fromkeys(hints)))
    kind = "native sidecar" if all(sidecar_status(p).native for p in pods) else "sidecar"
    return passed(f"{ref(dep)}: {len(pods)} pod(s) Running and Ready with a ready istio-proxy {kind}")


@check("workload-ready", reads=[K.DEPLOYMENT, K.REPLICA_SET, K.POD], needs=[K.DEPLOYMENT, K.POD])
def workload_ready(snap: Snapshot, *, namespace: str, deployment: str, min_ready: int = 1) -> Outcome:
    """A Deployment's current pods are Running and Ready."""
    bad = str_params(namespace=namespace, deployment=deployment) or int_param("min_ready", min_ready)
    if bad:
        return bad
    dep, missing = find_deployment(snap, namespace, deployment)
    if missing:
        return missing
    pods = deployment_pods(snap, dep)
    if not pods:
        return failed(_no_pods_reason(dep), f"check {cli_name(snap)} get rs,pods -n {namespace}")
    problems = _readiness_problems(dep, pods, min_ready)
    if problems:
        return failed(join(problems), f"inspect with {cli_name(snap)} describe pod -n {namespace} and {cli_name(snap)} logs")
    return passed(f"{ref(dep)}: {len(pods)} pod(s) Running and Ready")


@check(
    "namespace-sidecars",
    reads=[K.POD, K.DEPLOYMENT, K.REPLICA_SET, K.NAMESPACE, K.ISTIO, K.ISTIO_REVISION_TAG, K.ISTIO_REVISION],
    needs=[K.POD, K.DEPLOYMENT],
)
def namespace_sidecars(snap: Snapshot, *, namespace: str, deployments: list | None = None) -> Outcome:
    """Every running pod in the namespace carries an istio-proxy sidecar (STRICT mTLS needs all of them).

    ``deployments`` names workloads that must exist with current pods, so deleting a
    workload does not count as giving it a sidecar.
    """
    bad = str_params(namespace=namespace)
    if bad:
        return bad
    if deployments is not None and (
        not isinstance(deployments, list) or not all(isinstance(d, str) and d for d in deployments)
    ):
        return bad_param("deployments", deployments, "a list of Deployment names")
    problems: list[str] = []
    hints: list[str] = []
    for name in deployments or []:
        dep, missing = find_deployment(snap, namespace, name)
        if missing:
            problems.append(missing.reason)
            hints.append(f"keep Deployment {name} running in {namespace}")
        elif not deployment_pods(snap, dep):
            problems.append(f"{ref(dep)} has no current pods")
            hints.append(f"scale {ref(dep)} up")
    pods = [
        p for p in snap.list(K.POD, namespace)
        if not is_terminating(p) and pod_phase(p) not in ("Succeeded", "Failed")
    ]
    bare = [p for p in pods if not sidecar_status(p).present]
    if bare:
        groups: dict[str, tuple[dict | None, list[dict]]] = {}
        for p in bare:
            dep = owner_deployment(snap, p)
            key = f"d/{name_of(dep)}" if dep else f"p/{name_of(p)}"
            groups.setdefault(key, (dep, []))[1].append(p)
        problems.insert(
            0,
            f"{len(bare)} of {len(pods)} pod(s) in namespace {namespace} run without an istio-proxy sidecar "
            f"({name_list(bare)}): under STRICT mTLS their plain-text requests to meshed workloads are rejected and "
            "their own traffic is outside mutual TLS",
        )
        for dep, group in list(groups.values())[:4]:
            if dep is not None:
                why, hint = _injection_diagnosis(snap, dep, group)
                problems.append(why)
                hints.append(hint)
            else:
                problems.append(f"pod {name_of(group[0])} has no controller and no sidecar; recreate it with "
                                'sidecar.istio.io/inject: "true"')
                hints.append(f"recreate pod {name_of(group[0])} with the injection annotation")
    if problems:
        return failed(join(problems), "; ".join(dict.fromkeys(hints)))
    if not pods:
        return passed(f"namespace {namespace} has no running pods, so none lacks a sidecar")
    owners = sorted({name_of(d) for d in (owner_deployment(snap, p) for p in pods) if d})
    return passed(
        f"all {len(pods)} pod(s) in namespace {namespace} carry an istio-proxy sidecar"
        + (f" (Deployments {', '.join(owners)})" if owners else "")
    )


def _port_text(i: int, sp: dict) -> str:
    parts = [f"spec.ports[{i}]"]
    if "name" in sp:
        parts.append(f"name {short(sp.get('name'))}")
    if "appProtocol" in sp:
        parts.append(f"appProtocol {short(sp.get('appProtocol'))}")
    return " ".join(parts)


def _app_containers(pod_or_spec_owner: list[dict]) -> list[dict]:
    """Application containers (not the injected istio-proxy)."""
    return [c for c in pod_or_spec_owner if c.get("name") != SIDECAR_CONTAINER]


def _pod_containers(pod: dict) -> list[dict]:
    return _app_containers([as_dict(c) for c in as_list(spec_of(pod).get("containers"))])


def _declared_ports(containers: list[dict]) -> list[tuple[str, Any, Any]]:
    """``(container, port name, containerPort)`` of every declared container port."""
    out = []
    for c in containers:
        for cp in as_list(c.get("ports")):
            cp = as_dict(cp)
            out.append((label_str(c.get("name")), cp.get("name"), cp.get("containerPort")))
    return out


def _ports_text(declared: list[tuple[str, Any, Any]]) -> str:
    if not declared:
        return "none declared"
    return ", ".join(
        f"{c}:{label_str(p)}" + (f" ({label_str(n)})" if n else "") for c, n, p in declared[:MAX_LISTED]
    )


def _target_problem(svc: dict, i: int, sp: dict, containers: list[dict], where: str) -> tuple[str | None, str]:
    """Does ``targetPort`` of a Service port reach a container port? (problem, description)."""
    target = sp.get("targetPort", sp.get("port"))
    declared = _declared_ports(containers)
    field = f"{ref(svc)} spec.ports[{i}].targetPort"
    if isinstance(target, str) and target.isdigit():
        target = int(target)
    if is_int(target):
        if not declared:
            return None, f"targetPort {target} (the containers of {where} declare no ports; not verifiable)"
        if any(is_int(p) and p == target for _c, _n, p in declared):
            return None, f"targetPort {target} reaches container port {target}"
        return (
            f"{field} is {target}, but no container of {where} declares containerPort {target} (declared: "
            f"{_ports_text(declared)}); traffic to the Service would hit a port nothing listens on",
            "",
        )
    if isinstance(target, str) and target:
        hits = [p for _c, n, p in declared if n == target and is_int(p)]
        if hits:
            return None, f"targetPort {target!r} resolves to container port {hits[0]}"
        return (
            f"{field} is {target!r}, but no container of {where} has a port named {target!r} (declared: "
            f"{_ports_text(declared)}); a named targetPort that resolves to nothing gives the Service no endpoints",
            "",
        )
    return f"{field} is {short(target)}; expected a port number or a container port name", ""


@check(
    "service-port",
    reads=[K.SERVICE, K.DEPLOYMENT, K.REPLICA_SET, K.POD],
    needs=[K.SERVICE, K.POD],
)
def service_port(
    snap: Snapshot,
    *,
    namespace: str,
    service: str,
    port: int = 80,
    protocol: str = "http",
    deployment: str | None = None,
) -> Outcome:
    """A Service port declares its protocol to Istio, selects the workload's pods and reaches a container port.

    ``protocol: http`` accepts every protocol Istio treats as HTTP (http, http2, http_proxy,
    grpc, grpc-web), declared by the port name ``<protocol>[-<suffix>]`` or by appProtocol.
    """
    bad = str_params(namespace=namespace, service=service, protocol=protocol)
    if bad:
        return bad
    bad = port_param("port", port)
    if bad:
        return bad
    if deployment is not None and (not isinstance(deployment, str) or not deployment.strip()):
        return bad_param("deployment", deployment, "a Deployment name")
    want = protocol.strip().lower()
    svc = snap.get(K.SERVICE, service, namespace)
    if svc is None:
        return not_found(snap, K.SERVICE, namespace, service,
                         f"create Service {service} in {namespace} with a port {port} named {want}")
    raw_ports = spec_of(svc).get("ports")
    entries = [(i, as_dict(sp)) for i, sp in enumerate(as_list(raw_ports))]
    matching = [(i, sp) for i, sp in entries if is_int(sp.get("port")) and sp["port"] == port]
    if not matching:
        return failed(
            f"{ref(svc)} spec.ports has no port {port} (ports: {describe_service_ports(svc)}); expected port {port}",
            f"expose port {port} on Service {service}",
        )
    i, sp = next(((i, sp) for i, sp in matching if sp.get("protocol", "TCP") == "TCP"), matching[0])
    problems: list[str] = []
    hints: list[str] = []
    proto, source = istio_protocol(sp)
    ok_proto = proto in HTTP_PROTOCOLS if want == "http" else proto == want
    if not ok_proto:
        declared = _port_text(i, sp)
        expect = (
            f"a name {want} (or {want}-<suffix>) or appProtocol: {want}"
            if want != "http"
            else "a name http (or http-<suffix>, http2, grpc) or appProtocol: http"
        )
        if proto == "unsupported":
            why = (
                f"{ref(svc)} {declared} (port {port}) declares no protocol Istio knows: Istio reads it from "
                f"appProtocol or from the name's <protocol>[-<suffix>] prefix, so it falls back to protocol sniffing "
                f"(Kiali KIA0601)"
            )
        else:
            what = "opaque TCP: no HTTP routing, retries or fault injection" if proto in ("tcp", "tls", "https") \
                else proto.upper()
            why = f"{ref(svc)} {declared} (port {port}) makes Istio treat the traffic as {what} (from the {source})"
        problems.append(f"{why}; expected {expect}")
        hints.append(f"name port {port} of Service {service} {want} (or set appProtocol: {want})")
    # selector -> pods
    sel = spec_of(svc).get("selector")
    pods: list[dict] = []
    where = f"Service {service}'s pods"
    containers: list[dict] = []
    if deployment is not None:
        dep, missing = find_deployment(snap, namespace, deployment)
        if missing:
            return failed(join(problems + [missing.reason]), "; ".join(hints + [missing.hint]))
        where = f"{ref(dep)}"
        dep_pods = deployment_pods(snap, dep)
        if not isinstance(sel, dict) or not sel:
            problems.append(
                f"{ref(svc)} spec.selector is {short(sel) if sel is not None else 'not set'}, so Kubernetes "
                f"manages no endpoints; expected labels of {ref(dep)}'s pods "
                f"{format_labels(template_labels(dep))}"
            )
            hints.append(f"set spec.selector of Service {service} to the pod labels, e.g. app: "
                         f"{label_str(template_labels(dep).get('app', deployment))}")
        elif not map_selector_matches(sel, template_labels(dep)):
            problems.append(
                f"{ref(svc)} spec.selector {format_labels(sel)} does not select the pods of {ref(dep)} "
                f"(pod template labels {format_labels(template_labels(dep))}), so they are not its endpoints"
            )
            hints.append(f"make spec.selector of Service {service} a subset of the pod labels")
        pods = [p for p in dep_pods if map_selector_matches(sel, labels_of(p))] if isinstance(sel, dict) else []
        containers = _pod_containers(pods[0]) if pods else _app_containers(template_containers(dep))
    else:
        if not isinstance(sel, dict) or not sel:
            problems.append(
                f"{ref(svc)} spec.selector is {short(sel) if sel is not None else 'not set'}, so Kubernetes "
                "manages no endpoints"
            )
            hints.append(f"set spec.selector of Service {service} to the labels of its pods")
        else:
            pods = [
                p for p in snap.list(K.POD, namespace)
                if pod_running(p) and map_selector_matches(sel, labels_of(p))
            ]
            if not pods:
                problems.append(f"{ref(svc)} spec.selector {format_labels(sel)} selects no running pod in "
                                f"{namespace}")
                hints.append(f"make spec.selector of Service {service} match the pod labels")
            else:
                where = f"pod {name_of(pods[0])}"
        containers = _pod_containers(pods[0]) if pods else []
    target_text = ""
    if containers:
        problem, target_text = _target_problem(svc, i, sp, containers, where)
        if problem:
            problems.append(problem)
            hints.append(f"set targetPort of port {port} to the port the container listens on")
    if problems:
        return failed(join(problems), "; ".join(dict.fromkeys(hints)))
    proto_text = f"{proto.upper()} from its {source}"
    selected = f"selects {name_list(pods)}" if pods else f"selects {where}"
    return passed(
        f"{ref(svc)} port {port} ({_port_text(i, sp)}) is {proto_text}, {selected}"
        + (f", {target_text}" if target_text else "")
    )
