"""Platform check types: the mesh operators (OLM), the control plane (SMCP), the member roll
(SMMR), mesh membership of a namespace, and the addon Routes, judged as the operators
themselves report them.

Status shapes follow maistra/istio-operator (maistra-2.5): pkg/apis/maistra/status/status.go,
the control plane reconciler's readiness.go and status.go, servicemeshmemberroll_types.go and
the member roll controller; OLM's Subscription/ClusterServiceVersion status. Like every check
type, these read only the Snapshot, name object, field, expected and found value in their
reason, and never raise on odd content.
"""

from __future__ import annotations

import difflib
from fractions import Fraction
from typing import Any

from grader import kinds as K
from grader.checks.framework import bad_param, check, cli_name, not_found, str_params
from grader.mesh.membership import IGNORE_NAMESPACE_LABEL, MEMBER_OF_LABEL, never_member, smmr_lists
from grader.model import Outcome, failed, passed, skipped
from grader.objects import (
    MISSING,
    as_dict,
    as_list,
    condition,
    creation_key,
    is_int,
    is_true,
    json_equal,
    label_str,
    labels_of,
    name_of,
    namespace_of,
    path_parts,
    ref,
    spec_of,
    status_of,
    walk,
)
from grader.snapshot import Snapshot
from grader.text import MAX_LISTED, clip, join, percent, short, show_list

MARKETPLACE = "openshift-marketplace"


def _describe_condition(cond: dict | None, ctype: str) -> str:
    """``condition Ready is False (ComponentsNotReady: the following ...)``."""
    if cond is None:
        return f"has no {ctype} condition"
    text = f"condition {ctype} is {label_str(cond.get('status')) or 'not set'}"
    reason, message = label_str(cond.get("reason")), label_str(cond.get("message"))
    detail = ": ".join(x for x in (reason, clip(message, 200)) if x)
    return text + (f" ({detail})" if detail else "")


def _str_list(value: Any) -> list[str]:
    return [v for v in as_list(value) if isinstance(v, str)]


def _generation_lag(obj: dict) -> str | None:
    """A reason when the operator has not reconciled the latest spec yet."""
    gen = as_dict(obj.get("metadata")).get("generation")
    observed = status_of(obj).get("observedGeneration")
    if is_int(gen) and is_int(observed) and observed < gen:
        return (
            f"{ref(obj)} status.observedGeneration is {observed} but metadata.generation is {gen}: the operator has "
            "not reconciled the latest spec yet, so its status describes an older one"
        )
    return None


def _csv_phase(csv: dict) -> str:
    return label_str(status_of(csv).get("phase"))


def _csv_text(csv: dict) -> str:
    spec = spec_of(csv)
    display, version = label_str(spec.get("displayName")), label_str(spec.get("version"))
    what = " ".join(x for x in (display, version) if x)
    return ref(csv) + (f" ({what})" if what else "")


def _csv_problem(csv: dict) -> str:
    st = status_of(csv)
    phase = _csv_phase(csv) or "not set"
    reason, message = label_str(st.get("reason")), label_str(st.get("message"))
    detail = ": ".join(x for x in (reason, clip(message, 160)) if x)
    return f"{_csv_text(csv)} status.phase is {phase}; expected Succeeded" + (f" ({detail})" if detail else "")


def _has_prefix(name: str, prefix: str) -> bool:
    """CSV names are ``<operator>.v<version>``: ``servicemeshoperator.v2.5.2``."""
    return name == prefix or name.startswith(prefix if prefix.endswith((".", "-")) else prefix + ".")


def _looks_like(sub: dict, package: str) -> bool:
    """A Subscription that was probably meant for ``package`` (a typo in spec.name)."""
    name = spec_of(sub).get("name")
    if name_of(sub) == package:
        return True
    if not isinstance(name, str) or not name:
        return False
    a, b = name.lower(), package.lower()
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.7 or (min(len(a), len(b)) >= 4 and (a in b or b in a))


def _sub_problem(
    sub: dict, package: str, source: str, source_ns: str, csvs: dict[str, dict], cli: str
) -> tuple[str, str]:
    """Why a Subscription has not installed its operator, and what to do."""
    spec, st = spec_of(sub), status_of(sub)
    ns, name = namespace_of(sub), name_of(sub)
    fields = []
    if spec.get("name") != package:
        fields.append(f"spec.name is {short(spec.get('name'))} (expected package {package})")
    if spec.get("source") != source:
        fields.append(f"spec.source is {short(spec.get('source'))} (expected catalog {source})")
    if spec.get("sourceNamespace") != source_ns:
        fields.append(f"spec.sourceNamespace is {short(spec.get('sourceNamespace'))} (expected {source_ns})")
    failed_res = condition(sub, "ResolutionFailed")
    if is_true(failed_res):
        text = f"{ref(sub)} cannot be resolved"
        if fields:
            text += ": " + ", ".join(fields)
        text += (
            f"; OLM reports ResolutionFailed ({label_str(failed_res.get('reason'))}): "
            f"{label_str(failed_res.get('message'))}"
        )
        return text, (
            f"fix the Subscription: spec.name: {package}, spec.source: {source}, spec.sourceNamespace: {source_ns} "
            f"({cli} get packagemanifests -n {source_ns} lists the packages)"
        )
    plan = as_dict(st.get("installPlanRef")).get("name") or as_dict(st.get("installplan")).get("name")
    if is_true(condition(sub, "InstallPlanPending")) or st.get("state") == "UpgradePending":
        plan_text = f"InstallPlan {ns}/{label_str(plan)}" if plan else "its InstallPlan"
        return (
            f"{ref(sub)} is waiting for approval: {plan_text} has not been approved "
            f"(spec.installPlanApproval is {short(spec.get('installPlanApproval'))}; status.state "
            f"{short(st.get('state'))})",
            f"approve it: {cli} patch installplan {label_str(plan) or '<name>'} -n {ns} --type merge "
            "-p '{\"spec\":{\"approved\":true}}' (or use installPlanApproval: Automatic)",
        )
    installed = st.get("installedCSV")
    if isinstance(installed, str) and installed:
        csv = csvs.get(installed)
        if csv is None:
            return (
                f"{ref(sub)} status.installedCSV is {installed!r} but namespace {ns} has no ClusterServiceVersion "
                f"{installed}",
                f"OLM re-creates it while the Subscription exists; check {cli} get csv -n {ns}",
            )
        return _csv_problem(csv), f"inspect it: {cli} describe csv {installed} -n {ns}"
    if not st:
        return (
            f"{ref(sub)} has no status: OLM has not resolved it yet",
            f"wait a moment, then {cli} get subscription {name} -n {ns} -o yaml",
        )
    current = st.get("currentCSV")
    return (
        f"{ref(sub)} has not installed an operator (status.state {short(st.get('state'))}, status.currentCSV "
        f"{short(current)}, no status.installedCSV)",
        f"inspect it: {cli} describe subscription {name} -n {ns}",
    )


def _operator_state(
    snap: Snapshot, namespace: str, package: str, csv_prefix: str, source: str, source_ns: str
) -> tuple[str | None, list[str], list[str], bool]:
    """(pass reason or None, problems, hints, anything at all found for this package)."""
    cli = cli_name(snap)
    subs = sorted(snap.list(K.SUBSCRIPTION, namespace), key=creation_key)
    csvs = {name_of(c): c for c in snap.list(K.CSV, namespace)}
    mine = [s for s in subs if spec_of(s).get("name") == package]
    for sub in mine:
        installed = status_of(sub).get("installedCSV")
        csv = csvs.get(installed) if isinstance(installed, str) else None
        if csv is not None and _csv_phase(csv) == "Succeeded":
            return f"{ref(sub)} (package {package}) installed {_csv_text(csv)}: status.phase Succeeded", [], [], True
    prefixed = [c for n, c in sorted(csvs.items()) if _has_prefix(n, csv_prefix)]
    ok = [c for c in prefixed if _csv_phase(c) == "Succeeded"]
    problems, hints = [], []
    lookalikes = [
        s for s in subs if s not in mine and not status_of(s).get("installedCSV") and _looks_like(s, package)
    ]
    for sub in mine + lookalikes:
        text, hint = _sub_problem(sub, package, source, source_ns, csvs, cli)
        problems.append(text)
        hints.append(hint)
    if ok:
        text = f"{_csv_text(ok[0])} status.phase is Succeeded"
        if not mine:
            text += (
                f"; no Subscription in {namespace} has spec.name {package} any more: OLM leaves an operator installed "
                "when its Subscription is deleted, but it gets no updates"
            )
        if problems:
            text += "; but " + problems[0]
        return text, [], [], True
    mentioned = {status_of(s).get("installedCSV") for s in mine}
    problems += [_csv_problem(c) for c in prefixed if name_of(c) not in mentioned]
    elsewhere = [
        s
        for s in snap.list(K.SUBSCRIPTION)
        if namespace_of(s) != namespace and spec_of(s).get("name") == package
    ]
    for sub in elsewhere[:2]:
        problems.append(
            f"{ref(sub)} subscribes to package {package} in namespace {namespace_of(sub)}, not in {namespace} "
            "(operators for the whole cluster are installed in openshift-operators)"
        )
        hints.append(
            f"create the Subscription in namespace {namespace} (spec.name: {package}, spec.source: {source}, "
            f"spec.sourceNamespace: {source_ns})"
        )
    found_any = bool(problems)
    if not problems:
        listed = ", ".join(f"{name_of(s)} (package {label_str(spec_of(s).get('name'))})" for s in subs[:8])
        problems.append(
            f"no Subscription in {namespace} has spec.name {package} and no ClusterServiceVersion {csv_prefix}.* "
            f"is installed there; "
            + (f"Subscriptions in {namespace}: {listed}" if subs else f"namespace {namespace} has no Subscriptions")
        )
    if not hints:
        hints.append(
            f"create a Subscription in {namespace} with spec.name: {package}, spec.source: {source}, "
            f"spec.sourceNamespace: {source_ns} (OperatorHub does the same)"
        )
    return None, problems, hints, found_any


@check("operator-installed", reads=[K.SUBSCRIPTION, K.CSV])
def operator_installed(
    snap: Snapshot,
    *,
    namespace: str,
    package: str,
    csv_prefix: str,
    source: str = "redhat-operators",
    source_namespace: str = MARKETPLACE,
    optional: bool = False,
) -> Outcome:
    """An operator package is installed through OLM: its ClusterServiceVersion is Succeeded.

    The CSV is found through the Subscription's status.installedCSV, or by name prefix
    (OLM keeps a CSV when its Subscription is deleted). ``optional: true`` never fails:
    the check passes when the operator is installed or absent, and SKIPs with the reason
    when a Subscription for it is broken (give it 0 points).
    """
    bad = str_params(
        namespace=namespace, package=package, csv_prefix=csv_prefix, source=source, source_namespace=source_namespace
    )
    if bad:
        return bad
    if not isinstance(optional, bool):
        return bad_param("optional", optional, "true or false")
    ok, problems, hints, found_any = _operator_state(snap, namespace, package, csv_prefix, source, source_namespace)
    if not optional:
        return passed(ok) if ok else failed(join(problems), "; ".join(dict.fromkeys(hints)))
    if ok:
        return passed(f"optional operator installed: {ok}")
    if not found_any:
        return passed(
            f"optional operator {package} is not installed in {namespace}, which is fine: it is optional and this "
            "check awards no points"
        )
    return skipped(
        f"optional operator {package} (0 points, never fails) is not installed: {join(problems)}",
        "; ".join(dict.fromkeys(hints)),
    )


def _find_smcp(snap: Snapshot, namespace: str, name: str) -> tuple[dict | None, Outcome | None]:
    smcp = snap.get(K.SMCP, name, namespace)
    if smcp is not None:
        return smcp, None
    elsewhere = [s for s in snap.list(K.SMCP) if name_of(s) == name]
    missing = not_found(snap, K.SMCP, namespace, name)
    if elsewhere:
        missing = failed(f"{missing.reason}; {ref(elsewhere[0])} exists in another namespace", missing.hint)
    return None, missing


def _sampling_text(value: Any) -> str:
    if is_int(value) and 0 <= value <= 10000:
        return f"{percent(Fraction(value, 10000))} of requests"
    return "not a number from 0 to 10000"


def _smcp_field_note(path: str, found: Any, expected: Any) -> str:
    """What a wrong SMCP value means (maistra/istio-operator pkg/apis/maistra/v2 and the v2.5 helm
    charts, e.g. resources/helm/v2.5/mesh-config/templates/enable-mesh-*.yaml for security.dataPlane.mtls)."""
    if path == "tracing.sampling":
        return (
            f": spec.tracing.sampling is in hundredths of a percent (0-10000), so {short(found)} traces "
            f"{_sampling_text(found)} and {short(expected)} traces {_sampling_text(expected)}"
        )
    if path == "security.dataPlane.mtls":
        return (
            ": with mtls true the operator makes the mesh-wide PeerAuthentication default in the control plane "
            "namespace STRICT and adds DestinationRule default (*.cluster.local, ISTIO_MUTUAL); without it the mesh "
            "stays PERMISSIVE and accepts plain text"
        )
    if path.startswith("addons.") and path.endswith(".enabled") and found is False:
        return f": the operator does not deploy the {path.split('.')[1]} addon (nor its Route)"
    if path == "tracing.type":
        return ": tracing.type None turns tracing off (no Jaeger addon, no traces)"
    if path == "addons.jaeger.install.storage.type":
        return ": Memory keeps traces in the all-in-one Jaeger pod; Elasticsearch needs an Elasticsearch cluster"
    if path == "version":
        return ": the operator (2.5) supports control planes v2.3, v2.4 and v2.5"
    return ""


@check("smcp-spec", reads=[K.SMCP])
def smcp_spec(snap: Snapshot, *, namespace: str, name: str, fields: dict) -> Outcome:
    """ServiceMeshControlPlane spec fields (paths relative to spec) have the expected values.

    A field left out of spec counts with the value the operator applied
    (status.appliedSpec: the v2.5 profile defaults), as the control plane runs with it.
    """
    bad = str_params(namespace=namespace, name=name)
    if bad:
        return bad
    if not isinstance(fields, dict) or not fields or not all(isinstance(k, str) and k for k in fields):
        return bad_param("fields", fields, "a map of spec paths to expected values")
    smcp, missing = _find_smcp(snap, namespace, name)
    if missing:
        return missing
    spec, applied = spec_of(smcp), as_dict(status_of(smcp).get("appliedSpec"))
    problems, shown, hints = [], [], []
    for path, expected in fields.items():
        parts = path_parts(path)
        found, _ = walk(spec, parts)
        defaulted = found is MISSING
        if defaulted:
            found, _ = walk(applied, parts)
            if found is MISSING:
                problems.append(f"{ref(smcp)} spec.{path} is not set; expected {short(expected)}")
                hints.append(f"spec.{path}: {short(expected)}")
                continue
        field = f"spec.{path} (not set; the operator applied {short(found)} from its profile)" if defaulted else (
            f"spec.{path} is {short(found)}"
        )
        if json_equal(found, expected):
            shown.append(field)
            continue
        typed = ""
        if label_str(found) == label_str(expected):
            typed = f" (a {type(found).__name__}, not a {type(expected).__name__})"
        note = _smcp_field_note(path, found, expected)
        problems.append(f"{ref(smcp)} {field}{typed}; expected {short(expected)}{note}")
        hints.append(f"spec.{path}: {short(expected)}")
    if problems:
        return failed(join(problems), f"set {', '.join(hints)} in ServiceMeshControlPlane {name} -n {namespace}")
    return passed(f"{ref(smcp)}: " + "; ".join(shown))


@check("smcp-ready", reads=[K.SMCP])
def smcp_ready(snap: Snapshot, *, namespace: str, name: str) -> Outcome:
    """The ServiceMeshControlPlane is Ready: every component Deployment is available."""
    bad = str_params(namespace=namespace, name=name)
    if bad:
        return bad
    smcp, missing = _find_smcp(snap, namespace, name)
    if missing:
        return missing
    cli = cli_name(snap)
    st = status_of(smcp)
    hint = f"{cli} get smcp -n {namespace}; {cli} describe smcp {name} -n {namespace}; {cli} get pods -n {namespace}"
    if not st:
        return failed(
            f"{ref(smcp)} has no status: the Service Mesh operator has not reconciled it (is the operator "
            f"installed? {cli} get csv -n openshift-operators)",
            hint,
        )
    count = label_str(as_dict(st.get("annotations")).get("readyComponentCount")) or "not reported"
    comps = as_dict(as_dict(st.get("readiness")).get("components"))
    ready_list, unready, pending = (_str_list(comps.get(k)) for k in ("ready", "unready", "pending"))
    problems = []
    ready = condition(smcp, "Ready")
    if not is_true(ready):
        problems.append(f"{ref(smcp)} {_describe_condition(ready, 'Ready')}")
    reconciled = condition(smcp, "Reconciled")
    if reconciled is not None and not is_true(reconciled):
        problems.append(f"{ref(smcp)} {_describe_condition(reconciled, 'Reconciled')}")
    if unready:
        problems.append(f"status.readiness.components.unready is {show_list(unready)}")
    if pending:
        problems.append(f"status.readiness.components.pending is {show_list(pending)}")
    # A status older than the spec is still what the operator reports: a note, not a failure
    # (the operator updates it within moments; a wait for Ready cannot tell the generations apart).
    lag = _generation_lag(smcp)
    if problems:
        problems += [lag] if lag else []
        return failed(f"{ref(smcp)} is not ready (readyComponentCount {count}): " + join(problems), hint)
    why = label_str(as_dict(ready).get("reason")) or "no reason"
    return passed(
        f"{ref(smcp)} condition Ready is True ({why}), readyComponentCount {count}; ready components: "
        f"{show_list(ready_list)}" + (f" (note: {lag})" if lag else "")
    )


def _member_conditions(smmr: dict, member: str) -> str:
    for entry in as_list(status_of(smmr).get("memberStatuses")):
        entry = as_dict(entry)
        if entry.get("namespace") == member:
            bad = [c for c in as_list(entry.get("conditions")) if isinstance(c, dict) and not is_true(c)]
            return "; ".join(_describe_condition(c, label_str(c.get("type"))) for c in bad[:2])
    return ""


@check("smmr-member", reads=[K.SMMR, K.NAMESPACE], needs=[K.SMMR])
def smmr_member(snap: Snapshot, *, cp_namespace: str, member: str) -> Outcome:
    """A namespace is a configured member of the mesh in the ServiceMeshMemberRoll `default`.

    Membership as the operator reports it: the roll (which must be named default) lists
    the namespace (spec.members, "*" or memberSelectors as resolved in status.members),
    status.configuredMembers includes it, the roll is Ready and the namespace carries
    maistra.io/member-of=<control plane namespace>.
    """
    bad = str_params(cp_namespace=cp_namespace, member=member)
    if bad:
        return bad
    cli = cli_name(snap)
    roll_hint = (
        f"create ServiceMeshMemberRoll default in {cp_namespace} with spec.members: [{member}] (the operator only "
        "reconciles a member roll named default)"
    )
    smmr = snap.get(K.SMMR, "default", cp_namespace)
    if smmr is None:
        problems = [f"no ServiceMeshMemberRoll named default in namespace {cp_namespace}"]
        problems += [
            f"{ref(other)} is ignored: the operator only reconciles a ServiceMeshMemberRoll named default "
            f"({_describe_condition(cond, 'Ready') if (cond := condition(other, 'Ready')) else 'no status'})"
            for other in snap.list(K.SMMR, cp_namespace)
        ]
        for other in snap.list(K.SMMR):
            if namespace_of(other) != cp_namespace and member in _str_list(spec_of(other).get("members")):
                problems.append(
                    f"{ref(other)} lists {member} but is in namespace {namespace_of(other)}, not in the control plane "
                    f"namespace {cp_namespace}"
                )
        return failed(join(problems), roll_hint)
    spec, st = spec_of(smmr), status_of(smmr)
    spec_members = as_list(spec.get("members"))
    lag = _generation_lag(smmr)
    # status.members resolves memberSelectors (and ServiceMeshMembers); trust it only when current.
    listed = member in spec_members or "*" in spec_members or (not lag and member in _str_list(st.get("members")))
    count = label_str(as_dict(st.get("annotations")).get("configuredMemberCount")) or "not reported"
    if not listed:
        text = f"{ref(smmr)} spec.members is {short(spec_members, 120)}; expected it to list {member}"
        close = difflib.get_close_matches(member, [m for m in spec_members if isinstance(m, str)], n=1, cutoff=0.7)
        if close:
            text += f" ({close[0]!r} is not {member!r}"
            why = _member_conditions(smmr, close[0])
            text += f"; the operator reports for {close[0]}: {why})" if why else ")"
        return failed(text, f"{cli} edit smmr default -n {cp_namespace}: spec.members: [{member}]")
    problems = []
    configured = _str_list(st.get("configuredMembers"))
    if member not in configured:
        text = (
            f"{ref(smmr)} status.configuredMembers is {show_list(configured)} (configuredMemberCount {count}); "
            f"{member} is not configured"
        )
        if member in _str_list(st.get("pendingMembers")):
            text += " (it is in status.pendingMembers)"
        why = _member_conditions(smmr, member)
        problems.append(text + (f": {why}" if why else ""))
    ready = condition(smmr, "Ready")
    if not is_true(ready):
        problems.append(f"{ref(smmr)} {_describe_condition(ready, 'Ready')}")
    if K.NAMESPACE.kind in snap.read_kinds:
        ns = snap.get(K.NAMESPACE, member)
        if ns is None:
            problems.append(f"Namespace {member} does not exist")
        else:
            label = labels_of(ns).get(MEMBER_OF_LABEL)
            if label_str(label) != cp_namespace:
                shown = short(label) if label is not None else "not set"
                problems.append(
                    f"Namespace {member} label {MEMBER_OF_LABEL} is {shown}; expected {cp_namespace} (the operator "
                    "sets it once the namespace is configured)"
                )
    if problems:
        return failed(
            join(problems + ([lag] if lag else [])),
            f"{cli} get smmr default -n {cp_namespace} -o yaml shows the member status",
        )
    return passed(
        f"{ref(smmr)} lists {member}, status.configuredMembers includes it (configuredMemberCount {count}), "
        f"condition Ready is True, and Namespace {member} is labelled {MEMBER_OF_LABEL}={cp_namespace}"
    )


@check(
    "namespace-member",
    reads=[K.NAMESPACE, K.SMM, K.SMMR, K.SMCP],
    needs=[K.NAMESPACE, K.SMM, K.SMMR],
)
def namespace_member(snap: Snapshot, *, namespace: str, control_plane: str = "") -> Outcome:
    """The namespace is a member of the OpenShift Service Mesh 2.x control plane.

    Membership comes from a ServiceMeshMember ``default`` in the namespace or the
    ServiceMeshMemberRoll ``default`` of the control plane; the operator then labels the
    namespace ``maistra.io/member-of=<cp ns>``, the label the injection webhook selects on
    (grader.mesh.membership; maistra istio-operator memberroll and member controllers).
    """
    bad = str_params(namespace=namespace)
    if bad:
        return bad
    if not isinstance(control_plane, str):
        return bad_param("control_plane", control_plane, "a namespace name")
    cp = control_plane.strip() or snap.control_plane_namespace
    cli = cli_name(snap)
    if never_member(namespace, cp):
        return failed(
            f"namespace {namespace} can never be a mesh member: the control plane namespace and kube-*, "
            "openshift-* and ibm-* namespaces are always excluded",
            "deploy the application in its own namespace",
        )
    ns = snap.get(K.NAMESPACE, namespace)
    if ns is None:
        return failed(f"Namespace {namespace} does not exist", f"{cli} create namespace {namespace}")
    ns_labels = labels_of(ns)
    label = ns_labels.get(MEMBER_OF_LABEL)
    smcps = snap.list(K.SMCP, cp) if K.SMCP.kind in snap.read_kinds and K.SMCP.kind not in snap.missing_kinds else []
    smcp_names = [name_of(s) for s in smcps]
    smms = snap.list(K.SMM, namespace)
    smm = next((m for m in smms if name_of(m) == "default"), None)
    smm_yaml = (f"create a ServiceMeshMember default in {namespace} with spec.controlPlaneRef "
                f"{{name: {smcp_names[0] if smcp_names else '<SMCP name>'}, namespace: {cp}}} (or add {namespace} "
                f"to spec.members of ServiceMeshMemberRoll default in {cp})")
    misnamed = [m for m in smms if name_of(m) != "default"]
    smmr = snap.get(K.SMMR, "default", cp)
    listed = smmr_lists(smmr, namespace, ns_labels) if smmr else None
    problems: list[str] = []
    hints: list[str] = []
    for m in misnamed:
        problems.append(f"{ref(m)} is ignored: a ServiceMeshMember must be named default")
        hints.append(f"rename it: a ServiceMeshMember named default in {namespace}")
    via = ""
    if smm is not None:
        cref = as_dict(spec_of(smm).get("controlPlaneRef"))
        cns, cname = cref.get("namespace"), cref.get("name")
        if cns != cp:
            problems.append(
                f"{ref(smm)} spec.controlPlaneRef.namespace is {short(cns) if cns else 'not set'}; expected {cp}"
            )
            hints.append(f"set spec.controlPlaneRef.namespace: {cp}")
        elif smcps and cname not in smcp_names:
            problems.append(
                f"{ref(smm)} spec.controlPlaneRef.name is {short(cname) if cname else 'not set'}, but the "
                f"ServiceMeshControlPlane in {cp} is {', '.join(smcp_names)}"
            )
            hints.append(f"set spec.controlPlaneRef.name: {smcp_names[0]}")
        else:
            ready = condition(smm, "Ready")
            if ready is not None and label_str(ready.get("status")) == "False":
                problems.append(
                    f"{ref(smm)} is not Ready ({label_str(ready.get('reason'))}: "
                    f"{short(ready.get('message'), 160)})"
                )
                hints.append(f"{cli} describe servicemeshmember default -n {namespace}")
            via = f"{ref(smm)}"
    elif listed:
        via = f"ServiceMeshMemberRoll {cp}/default {listed}"
    else:
        if smmr is None:
            roll = f"there is no ServiceMeshMemberRoll default in {cp}"
        else:
            members = ", ".join(label_str(m) for m in as_list(spec_of(smmr).get("members"))[:MAX_LISTED])
            roll = f"ServiceMeshMemberRoll {cp}/default spec.members [{members}] does not include it"
        problems.append(
            f"Namespace {namespace} is not a member of the mesh: there is no ServiceMeshMember default in "
            f"{namespace} and {roll}"
        )
        hints.append(smm_yaml)
    if label_str(label) == cp and not problems:
        ignore = IGNORE_NAMESPACE_LABEL in ns_labels
        if ignore:
            return failed(
                f"Namespace {namespace} has label maistra.io/ignore-namespace, which the injection webhook excludes",
                f"{cli} label namespace {namespace} maistra.io/ignore-namespace-",
            )
        return passed(f"Namespace {namespace} is a member of the mesh in {cp} (label {MEMBER_OF_LABEL}={cp}, "
                      f"through {via})")
    if label is None:
        if problems and not via:
            problems[-1] += (
                f", so the operator never labels it {MEMBER_OF_LABEL}={cp} and the sidecar injection webhook "
                "never sees its pods"
            )
        else:
            problems.append(
                f"Namespace {namespace} has no label {MEMBER_OF_LABEL}={cp} yet: the operator has not configured "
                "it, so the injection webhook does not see its pods"
                + ("" if not via else f" (membership through {via})")
            )
            hints.append(f"wait for the operator, then check {cli} get servicemeshmemberroll default -n {cp} -o yaml")
    elif label_str(label) != cp:
        problems.append(
            f"Namespace {namespace} has label {MEMBER_OF_LABEL}={label_str(label)}: it belongs to the control "
            f"plane in {label_str(label)}, not {cp}"
        )
        hints.append(f"remove it from the member roll of {label_str(label)} first")
    elif not via:
        problems.append(
            f"Namespace {namespace} carries label {MEMBER_OF_LABEL}={cp}, but nothing makes it a member: the "
            "operator only configures member namespaces (RoleBindings, NetworkPolicies, the istio-cni "
            "NetworkAttachmentDefinition), so a hand-set label does not make a working member"
        )
    return failed(join(problems), "; ".join(dict.fromkeys(hints)))


def _route_host(route: dict) -> str:
    host = spec_of(route).get("host")
    if isinstance(host, str) and host.strip():
        return host.strip().lower()
    for ingress in as_list(status_of(route).get("ingress")):
        h = as_dict(ingress).get("host")
        if isinstance(h, str) and h.strip():
            return h.strip().lower()
    return ""


def _answer_host(value: str) -> tuple[str, str]:
    """(host, problem) of an answer: a bare host or an http(s):// URL of it, trailing slash optional."""
    text = value.strip()
    rest = text
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme.lower() not in ("http", "https"):
            return "", f"uses scheme {scheme!r}; expected a host name or an http(s):// URL"
    rest = rest.rstrip("/")
    if "/" in rest:
        return rest.split("/", 1)[0].lower(), f"has a path ({'/' + rest.split('/', 1)[1]!r}); expected only the host"
    return rest.lower(), ""


@check("route-answer", reads=[K.CONFIG_MAP, K.ROUTE])
def route_answer(
    snap: Snapshot, *, configmap_namespace: str, configmap: str, key: str, route_namespace: str, route: str
) -> Outcome:
    """A ConfigMap key holds the host of a live Route (bare host or http(s):// URL)."""
    bad = str_params(
        configmap_namespace=configmap_namespace, configmap=configmap, key=key, route_namespace=route_namespace,
        route=route,
    )
    if bad:
        return bad
    cli = cli_name(snap)
    rt = snap.get(K.ROUTE, route, route_namespace)
    if rt is None:
        return not_found(snap, K.ROUTE, route_namespace, route, "the control plane creates it: check that the addon is "
                         "enabled in the ServiceMeshControlPlane", why=", so the answer cannot be checked")
    host = _route_host(rt)
    if not host:
        return failed(f"{ref(rt)} has no spec.host (nor status.ingress[].host)", f"{cli} describe route {route}")
    how = f"find it with {cli} get route {route} -n {route_namespace} -o jsonpath='{{.spec.host}}'"
    cm = snap.get(K.CONFIG_MAP, configmap, configmap_namespace)
    if cm is None:
        return failed(
            f"ConfigMap {configmap_namespace}/{configmap} not found; expected data.{key} with the host of {ref(rt)}",
            f"{cli} create configmap {configmap} -n {configmap_namespace} --from-literal={key}=<host>; {how}",
        )
    data = cm.get("data")
    if not isinstance(data, dict) or key not in data:
        keys = sorted(str(k) for k in as_dict(data))
        return failed(
            f"{ref(cm)} has no key {key} in data (keys: {', '.join(keys) if keys else 'none'}); expected the host "
            f"of {ref(rt)}",
            f"add data.{key}: <host>; {how}",
        )
    value = data[key]
    if not isinstance(value, str):
        return failed(f"{ref(cm)} data.{key} is {short(value)}, not a string; expected {host}", how)
    answer, problem = _answer_host(value)
    if problem:
        return failed(f"{ref(cm)} data.{key} is {short(value, 120)}: it {problem} ({host})", how)
    if answer == host:
        return passed(f"{ref(cm)} data.{key} is {short(value, 120)}: the host of {ref(rt)}")
    other = next((r for r in snap.list(K.ROUTE) if r is not rt and _route_host(r) == answer), None)
    text = f"{ref(cm)} data.{key} is {short(value, 120)}"
    if other is not None:
        text += f", the host of {ref(other)}"
    return failed(f"{text}; expected the host of {ref(rt)}: {host}", how)
