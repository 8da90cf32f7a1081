"""Security check types: the PeerAuthentication mode in force, the policy a student wrote, and
DestinationRules that would send plain text into STRICT mTLS.

Two PeerAuthentication check types, on purpose: ``peer-authentication-mode`` asks which mode
Istio applies to a namespace (or to the workloads with given labels), whoever set it, and
ignores workload policies of other workloads; ``peer-authentication-policy`` asks whether the
student wrote the policy at the level the exercise teaches (``level: namespace``: a
namespace-wide policy in the namespace itself) and whether any workload policy weakens it
for some pod. A mesh-wide STRICT passes the first and fails the second; a namespace STRICT
with one PERMISSIVE workload policy passes the first and fails the second.
"""

from __future__ import annotations

from grader import kinds as K
from grader.checks.framework import bad_param, check, str_params
from grader.mesh.destinationrules import client_tls_mode, dr_subset_names, reaches_strict_server, traffic_policy_for
from grader.mesh.hosts import CLUSTER_DOMAIN, host_matches, resolve_host
from grader.mesh.mtls import MTLS_MODES, MtlsDecision, effective_mtls, pa_mode, pa_selector_labels
from grader.mesh.selectors import map_selector_matches
from grader.mesh.services import service_ports
from grader.model import Outcome, failed, passed
from grader.objects import as_dict, creation_key, is_terminating, label_str, labels_of, namespace_of, ref, spec_of
from grader.snapshot import Snapshot
from grader.text import format_labels, join, name_list, short


def _decided_by(decision: MtlsDecision) -> str:
    if decision.decided_by is None:
        return "no PeerAuthentication sets a mode, so the default PERMISSIVE applies"
    level = {"workload": "workload selector", "namespace": "namespace-wide", "mesh": "mesh-wide"}[decision.level]
    return f"set by {ref(decision.decided_by)} ({level}, spec.mtls.mode)"


def _invalid_modes(decision: MtlsDecision) -> Outcome | None:
    if not decision.invalid:
        return None
    pa, mode = decision.invalid[0]
    return failed(
        f"{ref(pa)} spec.mtls.mode is {short(mode)}; expected one of {', '.join(MTLS_MODES)}",
        "fix spec.mtls.mode (e.g. STRICT)",
    )


@check("peer-authentication-mode", reads=[K.PEER_AUTHENTICATION])
def peer_authentication_mode(
    snap: Snapshot, *, namespace: str, mode: str = "STRICT", workload_labels: dict | None = None
) -> Outcome:
    """The effective PeerAuthentication mTLS mode of a namespace (or workload) is the expected one.

    What Envoy gets (pilot security/authn policy_applier.go): the inbound listeners of the
    workload accept mTLS only (STRICT), mTLS or plain text (PERMISSIVE) or plain text only
    (DISABLE). Inputs that change it: the oldest policy of each level, workload (a selector,
    outside the root namespace) over namespace over mesh (root namespace); UNSET inherits;
    ``portLevelMtls`` overrides per port; with nothing set the mode is PERMISSIVE.
    """
    bad = str_params(namespace=namespace)
    if bad:
        return bad
    if not isinstance(mode, str) or mode.upper() not in ("STRICT", "PERMISSIVE", "DISABLE"):
        return bad_param("mode", mode, "STRICT, PERMISSIVE or DISABLE")
    if workload_labels is not None and (not isinstance(workload_labels, dict) or not workload_labels):
        return bad_param("workload_labels", workload_labels, "a non-empty label map")
    want = mode.upper()
    decision = effective_mtls(snap, namespace, workload_labels)
    invalid = _invalid_modes(decision)
    if invalid:
        return invalid
    scope = f"namespace {namespace}"
    if workload_labels:
        scope = f"workloads {format_labels(workload_labels)} in namespace {namespace}"
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


def _ignored_policies(snap: Snapshot, namespace: str, decision: MtlsDecision) -> list[str]:
    """Explain policies a student may expect to count but Istio ignores."""
    root = snap.control_plane_namespace
    out = [
        f"{ref(pa)} has a selector in the root namespace {root}, which Istio ignores"
        for pa in snap.list(K.PEER_AUTHENTICATION, root)
        if as_dict(as_dict(spec_of(pa).get("selector")).get("matchLabels"))
    ]
    decider = decision.decided_by
    if decider is not None:
        level_ns = namespace_of(decider)
        for pa in snap.list(K.PEER_AUTHENTICATION, level_ns):
            same_level = not as_dict(as_dict(spec_of(pa).get("selector")).get("matchLabels"))
            if pa is not decider and same_level and decision.level in ("namespace", "mesh"):
                out.append(f"{ref(pa)} is ignored: the oldest {decision.level}-wide policy, {ref(decider)}, wins")
    return out[:3]


@check("peer-authentication-policy", reads=[K.PEER_AUTHENTICATION, K.POD], needs=[K.PEER_AUTHENTICATION])
def peer_authentication_policy(
    snap: Snapshot, *, namespace: str, mode: str = "STRICT", level: str = "namespace"
) -> Outcome:
    """A PeerAuthentication of the given level sets the mode, and no workload policy weakens it.

    ``level: namespace`` demands a namespace-wide policy (no selector) in the namespace
    itself, so the mode does not depend on the mesh-wide default; ``level: effective``
    accepts whatever level decides. Precedence follows pilot/pkg/security/authn/policy_applier.go
    (grader.mesh.mtls.effective_mtls).

    What Envoy gets: the inbound listeners of the namespace's workloads accept mTLS only
    (STRICT), mTLS or plain text (PERMISSIVE) or plain text only (DISABLE, which an
    ISTIO_MUTUAL client cannot reach either). Inputs that change it besides the namespace
    policy: a workload policy with a selector matching running pods, and its
    ``portLevelMtls`` (a selector is required for it), which override the namespace mode.
    """
    bad = str_params(namespace=namespace)
    if bad:
        return bad
    if not isinstance(mode, str) or mode.upper() not in ("STRICT", "PERMISSIVE", "DISABLE"):
        return bad_param("mode", mode, "STRICT, PERMISSIVE or DISABLE")
    if level not in ("namespace", "effective"):
        return bad_param("level", level, "namespace or effective")
    want = mode.upper()
    root = snap.control_plane_namespace
    decision = effective_mtls(snap, namespace)
    problems: list[str] = []
    hints: list[str] = []
    notes: list[str] = []
    create = f"create PeerAuthentication default in namespace {namespace} with spec.mtls.mode: {want}"
    policies = sorted(snap.list(K.PEER_AUTHENTICATION, namespace), key=creation_key)
    ns_wide = [pa for pa in policies if not (pa_selector_labels(pa) or {})]
    decider_text = ""
    if level == "namespace" and namespace != root:
        if not ns_wide:
            text = (
                f"namespace {namespace} has no namespace-wide PeerAuthentication (one without spec.selector); its "
                f"mode comes from elsewhere: {decision.mode}, {_decided_by(decision)}"
            )
            if decision.mode == want:
                text += (
                    f". It is {want} only because of that default: if the mesh-wide policy changes, {namespace} "
                    "silently loses it"
                )
            scoped = [pa for pa in policies if (pa_selector_labels(pa) or {})]
            if scoped:
                text += f"; {name_list(scoped)} have a spec.selector, so they apply only to matching workloads"
            problems.append(text)
            hints.append(create)
        else:
            pa = ns_wide[0]
            m = pa_mode(pa)
            field = f"{ref(pa)} spec.mtls.mode"
            if m not in MTLS_MODES:
                problems.append(f"{field} is {short(m)}; expected one of {', '.join(MTLS_MODES)}")
                hints.append(f"set spec.mtls.mode: {want}")
            elif m == "UNSET":
                problems.append(
                    f"{field} is not set (UNSET), so the policy inherits the mesh-wide mode ({_decided_by(decision)}); "
                    f"expected {want}"
                )
                hints.append(f"set spec.mtls.mode: {want} on {ref(pa)}")
            elif m != want:
                problems.append(f"{field} is {m}; expected {want}")
                hints.append(f"set spec.mtls.mode: {want} on {ref(pa)}")
            notes.extend(
                f"{ref(other)} (namespace-wide, mode {short(pa_mode(other))}) is ignored: the oldest "
                f"namespace-wide policy, {ref(pa)}, wins"
                for other in ns_wide[1:]
            )
            decider_text = f"{ref(pa)} (namespace-wide) sets spec.mtls.mode {want}"
    else:
        for pa, m in decision.invalid[:1]:
            problems.append(f"{ref(pa)} spec.mtls.mode is {short(m)}; expected one of {', '.join(MTLS_MODES)}")
            hints.append("fix spec.mtls.mode")
        if not decision.invalid and decision.mode != want:
            problems.append(f"effective mTLS mode of namespace {namespace} is {decision.mode}, "
                            f"{_decided_by(decision)}; expected {want}")
            hints.append(create)
        decider_text = f"effective mode {decision.mode}, {_decided_by(decision)}"
    # Workload policies (with a selector, outside the root namespace) override the namespace level.
    pods = [p for p in snap.list(K.POD, namespace) if not is_terminating(p)]
    if namespace != root:
        for pa in policies:
            sel = (pa_selector_labels(pa) or {})
            if not sel:
                continue
            hit = [p for p in pods if map_selector_matches(sel, labels_of(p))]
            if not hit:
                continue
            m = pa_mode(pa)
            if m not in ("UNSET", want):
                problems.append(
                    f"{ref(pa)} (spec.selector {format_labels(sel)}) sets spec.mtls.mode {short(m)} for pod(s) "
                    f"{name_list(hit)}, overriding {want} for them"
                )
                hints.append(f"remove {ref(pa)} or set its mode to {want}")
            for port, pl in as_dict(spec_of(pa).get("portLevelMtls")).items():
                pm = as_dict(pl).get("mode")
                if pm not in (None, "UNSET", want):
                    problems.append(
                        f"{ref(pa)} spec.portLevelMtls.{label_str(port)}.mode is {short(pm)} for pod(s) "
                        f"{name_list(hit)}; expected {want} on every port"
                    )
                    hints.append(f"remove spec.portLevelMtls from {ref(pa)}")
    if problems:
        return failed(join(problems + notes), "; ".join(dict.fromkeys(hints)))
    return passed("; ".join([f"{decider_text}; no workload policy in {namespace} overrides it"] + notes))


def _tls_offenders(snap: Snapshot, dr: dict, fqdn: str) -> list[tuple[str, str, bool]]:
    """``(field path, mode, mode written)`` of every tls setting of a DestinationRule that Envoy
    uses for some cluster of the host (the host and each subset, on each Service port) and
    that does not present Istio's mTLS certificate. A tls block without mode is DISABLE."""
    ports: list = service_ports(snap, fqdn) or [None]
    out: list[tuple[str, str, bool]] = []
    for subset in [None, *dr_subset_names(dr)]:
        for port in ports:
            setting = traffic_policy_for(dr, subset, port)["tls"]
            mode = client_tls_mode(setting.value)
            if setting.path and not reaches_strict_server(mode):
                item = (setting.path, mode or "", as_dict(setting.value).get("mode") is not None)
                if item not in out:
                    out.append(item)
    return out


def _tls_problem(dr: dict, fqdn: str, offender: tuple[str, str, bool], namespace: str,
                 decision: MtlsDecision) -> str:
    path, mode, written = offender
    code = "KIA0207" if decision.level == "namespace" else "KIA0208"
    strict = f"while the effective mTLS mode of namespace {namespace} is STRICT ({_decided_by(decision)})"
    if not written:
        return (f"{ref(dr)} {path} sets no mode, which means DISABLE (the default of tls.mode), for {fqdn} {strict}: "
                f"clients send plain text that the server rejects ({code})")
    what = {
        "DISABLE": f"clients send plain text that the server rejects ({code})",
        "SIMPLE": "SIMPLE is TLS without a client certificate, which the STRICT server rejects; only ISTIO_MUTUAL "
                  "presents the mesh's certificate",
        "MUTUAL": "MUTUAL presents the certificate the rule names, which the mesh CA did not issue, so the STRICT "
                  "server rejects it; ISTIO_MUTUAL presents the mesh's certificate",
    }.get(mode, "only ISTIO_MUTUAL (or no tls, auto mTLS) reaches a STRICT server")
    return f"{ref(dr)} sets {path}.mode {mode} for {fqdn} {strict}: {what}"


@check("no-mtls-disable", reads=[K.DESTINATION_RULE, K.PEER_AUTHENTICATION, K.SERVICE],
        needs=[K.DESTINATION_RULE, K.PEER_AUTHENTICATION])
def no_mtls_disable(snap: Snapshot, *, namespace: str) -> Outcome:
    """No DestinationRule makes clients reach the namespace's workloads without Istio mTLS while
    the namespace's mTLS mode is STRICT.

    What Envoy gets (pilot cluster_tls.go buildUpstreamTLSSettings): a DestinationRule ``tls``
    block is used as written: DISABLE (also a block without ``mode``, the enum's zero value)
    sends plain text, SIMPLE is TLS without a client certificate, MUTUAL presents the rule's
    own certificate; only ISTIO_MUTUAL, or no block at all (auto mTLS), presents the mesh
    certificate a STRICT server (PeerAuthentication, policy_applier.go) accepts. Inputs that
    change it: every DestinationRule whose host covers a Service of the namespace, its
    subsets' ``trafficPolicy.tls`` (they replace the top-level one for the subset) and
    ``portLevelSettings`` for a Service port (they replace the whole policy); a dotted host
    such as ``web.webapp`` covers nothing (ResolveShortnameToFQDN).
    """
    bad = str_params(namespace=namespace)
    if bad:
        return bad
    scope = f"*.{namespace}.svc.{CLUSTER_DOMAIN}"
    offenders = []
    for dr in sorted(snap.list(K.DESTINATION_RULE), key=creation_key):
        fqdn = resolve_host(spec_of(dr).get("host"), namespace_of(dr))
        if fqdn and host_matches(fqdn, scope):
            offenders += [(dr, fqdn, o) for o in _tls_offenders(snap, dr, fqdn)]
    decision = effective_mtls(snap, namespace)
    if not offenders:
        return passed(f"no DestinationRule sends anything but Istio mTLS to hosts in namespace {namespace}")
    if decision.mode != "STRICT":
        dr, fqdn, (path, mode, _) = offenders[0]
        accepts = "accepts plain text" if mode == "DISABLE" else "does not require Istio mTLS"
        return passed(
            f"{ref(dr)} sets {path}.mode {mode} for {fqdn}, but the effective mTLS mode of namespace {namespace} "
            f"is {decision.mode} ({_decided_by(decision)}), which {accepts}"
        )
    problems = [_tls_problem(dr, fqdn, o, namespace, decision) for dr, fqdn, o in offenders]
    return failed(join(problems), "remove the tls setting (auto mTLS) or use mode ISTIO_MUTUAL")
