"""Istio and Kubernetes semantics over plain dict objects and a Snapshot.

Pure functions, no I/O. Every function tolerates ill-typed input (strings where
maps are expected, None, missing fields): it treats what it cannot read as absent
and never raises. The rules follow /work/shared/MESH-FACTS.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any

from grader import kinds as K
from grader.snapshot import Snapshot, annotations_of, labels_of, name_of, namespace_of

CLUSTER_DOMAIN = "cluster.local"
MESH_GATEWAY = "mesh"
SIDECAR_CONTAINER = "istio-proxy"
SIDECAR_STATUS_ANNOTATION = "sidecar.istio.io/status"
INJECT_KEY = "sidecar.istio.io/inject"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
MEMBER_OF_LABEL = "maistra.io/member-of"


# -- tolerant accessors -----------------------------------------------------
def as_dict(value: Any) -> dict:
    """``value`` if it is a dict, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    """``value`` if it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def spec_of(obj: Any) -> dict:
    return as_dict(as_dict(obj).get("spec"))


def status_of(obj: Any) -> dict:
    return as_dict(as_dict(obj).get("status"))


def label_str(value: Any) -> str:
    """A label value as the API would hold it (YAML ``true`` -> ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def is_int(value: Any) -> bool:
    """True for a real integer (``bool`` is not one, neither is ``"80"``)."""
    return isinstance(value, int) and not isinstance(value, bool)


def short(value: Any, limit: int = 60) -> str:
    """A compact, bounded repr of a found value for failure reasons."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_labels(labels: Any) -> str:
    """``{app: web, version: v1}`` style rendering of a label map."""
    d = as_dict(labels)
    if not d:
        return "{}" if isinstance(labels, dict) else short(labels)
    return "{" + ", ".join(f"{k}: {label_str(v)}" for k, v in list(d.items())[:20]) + "}"


def creation_key(obj: dict) -> tuple:
    """Sort key: oldest first by metadata.creationTimestamp, then namespace/name.

    A missing or unreadable timestamp sorts first, like Go's zero time.
    """
    ts = as_dict(as_dict(obj).get("metadata")).get("creationTimestamp")
    when = datetime.min.replace(tzinfo=timezone.utc)
    if isinstance(ts, datetime):
        when = ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
    elif isinstance(ts, str):
        try:
            when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return (when, namespace_of(obj), name_of(obj))


# -- label selectors --------------------------------------------------------
def _is_label_selector(selector: dict) -> bool:
    return (
        bool(selector)
        and set(selector) <= {"matchLabels", "matchExpressions"}
        and all(isinstance(v, (dict, list)) or v is None for v in selector.values())
    )


def map_selector_matches(selector: Any, labels: Any, *, empty_matches: bool = False) -> bool:
    """A plain ``{key: value}`` selector (Service, Gateway, subset labels)."""
    if not isinstance(selector, dict):
        return False
    if not selector:
        return empty_matches
    have = as_dict(labels)
    return all(k in have and label_str(have[k]) == label_str(v) for k, v in selector.items())


def label_selector_matches(selector: Any, labels: Any) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions); ``{}`` matches everything."""
    if not isinstance(selector, dict):
        return False
    have = as_dict(labels)
    match_labels = selector.get("matchLabels")
    if match_labels is not None and not isinstance(match_labels, dict):
        return False
    if not map_selector_matches(match_labels or {}, have, empty_matches=True):
        return False
    exprs = selector.get("matchExpressions")
    if exprs is None:
        return True
    if not isinstance(exprs, list):
        return False
    for expr in exprs:
        if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
            return False
        key, op = expr["key"], expr.get("operator")
        values = [label_str(v) for v in as_list(expr.get("values"))]
        if op == "In":
            ok = key in have and label_str(have[key]) in values
        elif op == "NotIn":
            ok = key not in have or label_str(have[key]) not in values
        elif op == "Exists":
            ok = key in have
        elif op == "DoesNotExist":
            ok = key not in have
        else:
            return False
        if not ok:
            return False
    return True


def selector_matches(selector: Any, labels: Any, *, empty_matches: bool = False) -> bool:
    """Match either a LabelSelector (matchLabels/matchExpressions) or a plain label map."""
    if isinstance(selector, dict) and _is_label_selector(selector):
        return label_selector_matches(selector, labels)
    return map_selector_matches(selector, labels, empty_matches=empty_matches)


# Locality labels of a subset are matched against the pod's Node, which the grader
# does not read (istio analyzers/destinationrule/pod_not_selected.go): a non-empty
# value is assumed to match, an empty one never does.
TOPOLOGY_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone")


def subset_selects(subset_labels: Any, pod_labels: Any) -> bool:
    """Does a DestinationRule subset's ``labels`` select a pod? No labels = every pod of the host."""
    if subset_labels is None:
        return True
    if not isinstance(subset_labels, dict):
        return False
    plain = {}
    for key, value in subset_labels.items():
        if key in TOPOLOGY_LABELS and key not in as_dict(pod_labels):
            if not label_str(value):
                return False
            continue
        plain[key] = value
    return map_selector_matches(plain, pod_labels, empty_matches=True)


# -- pods and workloads -----------------------------------------------------
def is_terminating(obj: dict) -> bool:
    return bool(as_dict(obj.get("metadata")).get("deletionTimestamp"))


def pod_phase(pod: dict) -> str:
    return label_str(status_of(pod).get("phase")) or "Unknown"


def pod_running(pod: dict) -> bool:
    return pod_phase(pod) == "Running" and not is_terminating(pod)


def pod_ready(pod: dict) -> bool:
    """Phase Running and condition Ready=True."""
    if not pod_running(pod):
        return False
    for cond in as_list(status_of(pod).get("conditions")):
        c = as_dict(cond)
        if c.get("type") == "Ready":
            return label_str(c.get("status")) == "True"
    return False


def pod_problem(pod: dict) -> str:
    """A short human explanation of why a pod is not Running+Ready ('' when it is)."""
    if pod_ready(pod):
        return ""
    if is_terminating(pod):
        return "is terminating"
    status = status_of(pod)
    details: list[str] = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in as_list(status.get(key)):
            cs = as_dict(cs)
            state = as_dict(cs.get("state"))
            waiting = as_dict(state.get("waiting"))
            terminated = as_dict(state.get("terminated"))
            if waiting.get("reason"):
                details.append(f"container {label_str(cs.get('name'))} waiting: {label_str(waiting['reason'])}")
            elif terminated.get("reason") and key == "containerStatuses":
                details.append(f"container {label_str(cs.get('name'))} terminated: {label_str(terminated['reason'])}")
            elif cs.get("ready") is False and key == "containerStatuses":
                details.append(f"container {label_str(cs.get('name'))} not ready")
    for cond in as_list(status.get("conditions")):
        c = as_dict(cond)
        if c.get("type") == "PodScheduled" and label_str(c.get("status")) == "False":
            details.append(f"unschedulable: {label_str(c.get('message') or c.get('reason'))}"[:160])
    text = f"is {pod_phase(pod)}"
    if pod_phase(pod) == "Running":
        text = "is Running but not Ready"
    return text + (f" ({'; '.join(details[:3])})" if details else "")


def _owned_by(obj: dict, kind: str, name: str, uid: Any = None) -> bool:
    for ref in as_list(as_dict(obj.get("metadata")).get("ownerReferences")):
        r = as_dict(ref)
        if r.get("kind") == kind and r.get("name") == name:
            if uid and r.get("uid") and r.get("uid") != uid:
                continue
            return True
    return False


def _revision(obj: dict) -> int | None:
    value = annotations_of(obj).get(REVISION_ANNOTATION)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def current_replicaset(snap: Snapshot, deployment: dict) -> dict | None:
    """The Deployment's current ReplicaSet (same revision annotation), if any is in the snapshot.

    Without a revision annotation on the Deployment, the owned RS with the highest revision.
    """
    ns, name = namespace_of(deployment), name_of(deployment)
    uid = as_dict(deployment.get("metadata")).get("uid")
    owned = [rs for rs in snap.list(K.REPLICA_SET, ns) if _owned_by(rs, "Deployment", name, uid)]
    if not owned:
        return None
    want = _revision(deployment)
    if want is not None:
        for rs in owned:
            if _revision(rs) == want:
                return rs
        return None
    return max(owned, key=lambda rs: (_revision(rs) or -1, creation_key(rs)))


def deployment_pods(snap: Snapshot, deployment: dict) -> list[dict]:
    """Non-terminating pods of a Deployment's current ReplicaSet (or its selector alone)."""
    ns = namespace_of(deployment)
    selector = spec_of(deployment).get("selector")
    if not isinstance(selector, dict) or not selector:
        return []
    pods = [p for p in snap.list(K.POD, ns) if not is_terminating(p) and label_selector_matches(selector, labels_of(p))]
    uid = as_dict(deployment.get("metadata")).get("uid")
    if not any(_owned_by(rs, "Deployment", name_of(deployment), uid) for rs in snap.list(K.REPLICA_SET, ns)):
        return pods
    rs = current_replicaset(snap, deployment)
    if rs is None:
        return []
    rs_name = name_of(rs)
    rs_hash = labels_of(rs).get("pod-template-hash")
    result = []
    for p in pods:
        refs = as_list(as_dict(p.get("metadata")).get("ownerReferences"))
        if refs:
            if _owned_by(p, "ReplicaSet", rs_name):
                result.append(p)
        elif rs_hash is not None and labels_of(p).get("pod-template-hash") == rs_hash:
            result.append(p)
    return result


def template_metadata(deployment: dict) -> dict:
    return as_dict(as_dict(spec_of(deployment).get("template")).get("metadata"))


def template_labels(deployment: dict) -> dict:
    return as_dict(template_metadata(deployment).get("labels"))


def template_annotations(deployment: dict) -> dict:
    return as_dict(template_metadata(deployment).get("annotations"))


def template_containers(deployment: dict) -> list[dict]:
    pod_spec = as_dict(as_dict(spec_of(deployment).get("template")).get("spec"))
    return [as_dict(c) for c in as_list(pod_spec.get("containers"))]


# -- sidecars ----------------------------------------------------------------
@dataclass(frozen=True)
class SidecarStatus:
    """What a pod shows about its Envoy sidecar."""

    present: bool = False  # an istio-proxy container (regular or native sidecar)
    native: bool = False  # in initContainers with restartPolicy Always (Istio >= 1.27, kubelet >= 1.33)
    ready: bool = False  # its container status says ready
    annotated: bool = False  # sidecar.istio.io/status annotation present (added by the injector)

    @property
    def ok(self) -> bool:
        return self.present and self.ready and self.annotated


def sidecar_status(pod: dict) -> SidecarStatus:
    """Find the istio-proxy sidecar in ``containers`` or as a native sidecar init container."""
    spec = spec_of(pod)
    status = status_of(pod)
    present = native = False
    if any(as_dict(c).get("name") == SIDECAR_CONTAINER for c in as_list(spec.get("containers"))):
        present = True
    elif any(
        as_dict(c).get("name") == SIDECAR_CONTAINER and as_dict(c).get("restartPolicy") == "Always"
        for c in as_list(spec.get("initContainers"))
    ):
        present = native = True
    statuses = as_list(status.get("initContainerStatuses" if native else "containerStatuses"))
    ready = present and any(
        as_dict(cs).get("name") == SIDECAR_CONTAINER and as_dict(cs).get("ready") is True for cs in statuses
    )
    annotated = SIDECAR_STATUS_ANNOTATION in annotations_of(pod)
    return SidecarStatus(present, native, ready, annotated)


def inject_value_true(value: Any) -> bool:
    """maistra/istio inject.go injectRequired: y/yes/true/on (case-insensitive) mean inject."""
    return label_str(value).strip().lower() in ("y", "yes", "true", "on")


# -- hosts -------------------------------------------------------------------
def resolve_host(host: Any, namespace: str) -> str:
    """FQDN of a rule's host; short names resolve against the RULE's namespace.

    istio/api virtual_service.proto: ``reviews`` in a rule in ``default`` means
    ``reviews.default.svc.cluster.local``, whatever namespace the service is in.
    """
    if not isinstance(host, str):
        return ""
    h = host.strip().lower().rstrip(".")
    if not h or h.startswith("*"):
        return h
    parts = h.split(".")
    if len(parts) == 1:
        return f"{h}.{namespace}.svc.{CLUSTER_DOMAIN}"
    if len(parts) == 2:
        return f"{h}.svc.{CLUSTER_DOMAIN}"
    if len(parts) == 3 and parts[2] == "svc":
        return f"{h}.{CLUSTER_DOMAIN}"
    return h


def service_of_host(fqdn: str) -> tuple[str, str] | None:
    """``(namespace, name)`` when the FQDN is a cluster Service name."""
    suffix = f".svc.{CLUSTER_DOMAIN}"
    if not fqdn.endswith(suffix):
        return None
    parts = fqdn[: -len(suffix)].split(".")
    return (parts[1], parts[0]) if len(parts) == 2 and all(parts) and "*" not in fqdn else None


def host_matches(a: Any, b: Any) -> bool:
    """Istio host.Name.Matches: equal, or one wildcard covers the other ("*" matches all)."""
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    a, b = a.lower(), b.lower()
    aw, bw = a.startswith("*"), b.startswith("*")
    if aw and bw:
        return b[1:].endswith(a[1:]) if len(a) < len(b) else a[1:].endswith(b[1:])
    if aw:
        return b.endswith(a[1:])
    if bw:
        return a.endswith(b[1:])
    return a == b


# -- gateways ----------------------------------------------------------------
def resolve_gateway_ref(ref: Any, namespace: str) -> str:
    """``<ns>/<name>`` for a VirtualService ``gateways`` entry; ``mesh`` stays ``mesh``.

    A short name resolves to the VirtualService's namespace (virtual_service.proto);
    ``./name`` too; the legacy ``name.ns[.svc.cluster.local]`` form means ``ns/name``.
    """
    if not isinstance(ref, str):
        return ""
    r = ref.strip()
    if r == MESH_GATEWAY:
        return MESH_GATEWAY
    if "/" in r:
        ns, _, name = r.partition("/")
        return f"{namespace if ns in ('', '.') else ns}/{name}"
    if "." in r:
        parts = r.split(".")
        return f"{parts[1]}/{parts[0]}"
    return f"{namespace}/{r}"


def vs_gateways(vs: dict) -> list[str]:
    """Resolved gateways of a VirtualService; none listed means ``[mesh]``."""
    raw = spec_of(vs).get("gateways")
    if not isinstance(raw, list) or not raw:
        return [MESH_GATEWAY]
    ns = namespace_of(vs)
    return [resolve_gateway_ref(g, ns) for g in raw]


def gateway_server_hosts(gateway: dict) -> list[tuple[str, str]]:
    """``(namespace filter, host)`` of every server host; filter ``*`` = any namespace.

    gateway.proto: a host may be ``ns/host``; ``./host`` is the Gateway's namespace.
    """
    out: list[tuple[str, str]] = []
    gw_ns = namespace_of(gateway)
    for server in as_list(spec_of(gateway).get("servers")):
        for h in as_list(as_dict(server).get("hosts")):
            if not isinstance(h, str):
                continue
            if "/" in h:
                ns, _, host = h.partition("/")
                out.append((gw_ns if ns == "." else ns, host))
            else:
                out.append(("*", h))
    return out


def vs_hosts_in_gateway(vs: dict, gateway: dict) -> bool:
    """Some VirtualService host matches some Gateway server host visible to its namespace."""
    vs_ns = namespace_of(vs)
    gw_hosts = [h for ns, h in gateway_server_hosts(gateway) if ns in ("*", vs_ns)]
    return any(host_matches(g, v) for g in gw_hosts for v in as_list(spec_of(vs).get("hosts")))


def gateway_pods(snap: Snapshot, gateway: dict) -> list[dict]:
    """Running pods in ANY namespace matched by the Gateway's selector.

    gateway.proto: the selector searches all namespaces unless
    PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true (default false).
    """
    selector = spec_of(gateway).get("selector")
    key = ("gateway_pods", json.dumps(selector, sort_keys=True, default=str))
    return snap.memo(key, lambda: [p for p in snap.list(K.POD)
                                   if pod_running(p) and map_selector_matches(selector, labels_of(p))])


def services_selecting(snap: Snapshot, pods: list[dict]) -> list[dict]:
    """Services (with a non-empty selector) that select at least one of the pods."""
    key = ("services_selecting", tuple(sorted(id(p) for p in pods)))
    return snap.memo(key, lambda: _services_selecting(snap, pods))


def _services_selecting(snap: Snapshot, pods: list[dict]) -> list[dict]:
    out = []
    for svc in snap.list(K.SERVICE):
        sel = spec_of(svc).get("selector")
        if any(namespace_of(p) == namespace_of(svc) and map_selector_matches(sel, labels_of(p)) for p in pods):
            out.append(svc)
    return out


def _named_container_ports(pods: list[dict], name: str) -> set[int]:
    ports: set[int] = set()
    for p in pods:
        for c in as_list(spec_of(p).get("containers")):
            for cp in as_list(as_dict(c).get("ports")):
                cp = as_dict(cp)
                if cp.get("name") == name and is_int(cp.get("containerPort")):
                    ports.add(cp["containerPort"])
    return ports


def service_exposed_ports(svc: dict, pods: list[dict] | None = None) -> set[int]:
    """Every ``port`` and ``targetPort`` of a Service (named targetPorts resolved on the pods)."""
    ports: set[int] = set()
    for sp in as_list(spec_of(svc).get("ports")):
        sp = as_dict(sp)
        if sp.get("protocol", "TCP") not in ("TCP", None):
            continue
        if is_int(sp.get("port")):
            ports.add(sp["port"])
        target = sp.get("targetPort")
        if is_int(target):
            ports.add(target)
        elif isinstance(target, str):
            if target.isdigit():
                ports.add(int(target))
            else:
                ports |= _named_container_ports(pods or [], target)
    return ports


def describe_service_ports(svc: dict) -> str:
    """``80->8080, 443->8443`` rendering of a Service's ports."""
    parts = []
    for sp in as_list(spec_of(svc).get("ports"))[:12]:
        sp = as_dict(sp)
        port, target = sp.get("port"), sp.get("targetPort")
        parts.append(f"{label_str(port)}->{label_str(target)}" if target is not None else label_str(port))
    return ", ".join(parts) or "none"


def gateway_server_ports(gateway: dict) -> list[tuple[int, Any]]:
    """``(index, spec.servers[index].port.number)`` for every server (number may be ill-typed)."""
    return [
        (i, as_dict(as_dict(server).get("port")).get("number"))
        for i, server in enumerate(as_list(spec_of(gateway).get("servers")))
    ]


# -- HTTP routes ---------------------------------------------------------------
_CONDITIONAL_KEYS = ("authority", "sourceLabels", "sourceNamespace", "port", "scheme", "statPrefix")


def _string_match(cond: Any, value: str, *, ignore_case: bool = False) -> bool:
    """istio StringMatch (exact/prefix/regex) against a value; regex is a full match (RE2)."""
    if not isinstance(cond, dict) or len(cond) != 1:
        return False
    kind, pattern = next(iter(cond.items()))
    if not isinstance(pattern, str):
        return False
    v = value.lower() if ignore_case else value
    p = pattern.lower() if ignore_case and kind != "regex" else pattern
    if kind == "exact":
        return v == p
    if kind == "prefix":
        return v.startswith(p)
    if kind == "regex":
        try:
            return re.fullmatch(pattern, value) is not None
        except (re.error, RecursionError, OverflowError):
            return False
    return False


def match_clause_matches_plain_get(clause: Any, gateway: str | None = None) -> bool:
    """Does one HTTPMatchRequest match ``GET /`` with no headers or query parameters?"""
    if not isinstance(clause, dict):
        return False
    if clause.get("headers") or clause.get("queryParams"):
        return False
    if any(clause.get(k) not in (None, {}, "") for k in _CONDITIONAL_KEYS):
        return False
    ignore_case = clause.get("ignoreUriCase") is True
    if clause.get("uri") is not None and not _string_match(clause["uri"], "/", ignore_case=ignore_case):
        return False
    if clause.get("method") is not None and not _string_match(clause["method"], "GET"):
        return False
    gws = clause.get("gateways")
    if gws not in (None, []):
        if gateway is None or not isinstance(gws, list):
            return False
        ns = gateway.split("/")[0]
        if gateway not in (resolve_gateway_ref(g, ns) for g in gws):
            return False
    # withoutHeaders: a plain request has none of the headers, so it is satisfied.
    return True


def http_route_matches_plain_get(http: Any, gateway: str | None = None) -> bool:
    """An http[] entry applies to a plain GET / when it has no match or one clause matches."""
    if not isinstance(http, dict):
        return False
    match = http.get("match")
    if match is None or match == []:
        return True
    if not isinstance(match, list):
        return False
    return any(match_clause_matches_plain_get(c, gateway) for c in match)


def effective_http_route(vs: dict, gateway: str | None = None) -> tuple[int, dict] | None:
    """``(index, entry)`` of the first http[] entry a plain GET / takes (Envoy: first match wins)."""
    for i, http in enumerate(as_list(spec_of(vs).get("http"))):
        if http_route_matches_plain_get(http, gateway):
            return i, http
    return None


def describe_match(http: Any) -> str:
    """Short description of an http[] entry's match conditions."""
    match = as_dict(http).get("match") if isinstance(http, dict) else None
    if match is None or match == []:
        return "matches every request"
    if not isinstance(match, list):
        return f"has an unreadable match {short(match)}"
    clauses = []
    for clause in match[:4]:
        c = as_dict(clause)
        clauses.append(", ".join(f"{k} {short(v, 40)}" for k, v in list(c.items())[:4]) or "{}")
    return "matches only " + " or ".join(f"[{c}]" for c in clauses)


def route_destination_hosts(vs: dict) -> list[str]:
    """Resolved destination hosts of every http/tcp/tls route of a VirtualService."""
    ns = namespace_of(vs)
    out = []
    spec = spec_of(vs)
    for section in ("http", "tcp", "tls"):
        for entry in as_list(spec.get(section)):
            for dest in as_list(as_dict(entry).get("route")):
                host = as_dict(as_dict(dest).get("destination")).get("host")
                resolved = resolve_host(host, ns)
                if resolved:
                    out.append(resolved)
    return out


@dataclass(frozen=True)
class RouteShare:
    """One destination of a route and the share of traffic it gets."""

    index: int
    host: str  # resolved FQDN ('' when missing)
    subset: str | None
    weight: Any  # as written
    share: Fraction  # weight / sum, in [0, 1]


@dataclass
class RouteWeights:
    shares: list[RouteShare] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field path suffix, problem)

    @property
    def ok(self) -> bool:
        return not self.errors


def route_weights(route: Any, namespace: str) -> RouteWeights:
    """Relative weights of an HTTP route's destinations.

    istio/api virtual_service.proto: weights are relative (weight/sum) since Istio 1.15
    (istio #39544); a single destination gets all traffic; with several, a missing
    weight counts as 0 and a total of 0 is invalid (validation.go).
    """
    result = RouteWeights()
    dests = route if isinstance(route, list) else None
    if not dests:
        result.errors.append(("route", "has no destinations" if dests == [] else f"is {short(route)}, not a list"))
        return result
    weights: list[int] = []
    for j, d in enumerate(dests):
        d = as_dict(d)
        w = d.get("weight")
        if w is None:
            weights.append(0)
        elif is_int(w) and w >= 0:
            weights.append(w)
        else:
            why = "a string" if isinstance(w, str) else ("negative" if is_int(w) else type(w).__name__)
            result.errors.append(
                (f"route[{j}].weight", f"is {short(w)} ({why}); a weight must be a non-negative integer")
            )
            weights.append(0)
    if result.errors:
        return result
    single = len(dests) == 1
    total = sum(weights)
    if not single and total == 0:
        result.errors.append(("route", "has total destination weight 0 (istio validation rejects it)"))
        return result
    for j, d in enumerate(dests):
        dest = as_dict(as_dict(d).get("destination"))
        subset = dest.get("subset")
        share = Fraction(1) if single else Fraction(weights[j], total)
        result.shares.append(
            RouteShare(
                j,
                resolve_host(dest.get("host"), namespace),
                subset if isinstance(subset, str) and subset else None,
                as_dict(d).get("weight"),
                share,
            )
        )
    return result


def percent(share: Fraction) -> str:
    """``80%`` or ``72.7%``."""
    value = share * 100
    if value.denominator == 1:
        return f"{value.numerator}%"
    return f"{float(value):.1f}%"


# -- durations ------------------------------------------------------------------
_DURATION_UNITS = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6),
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(value: Any) -> Fraction | None:
    """Seconds in a Go/protobuf duration string (``30s``, ``30000ms``, ``0.5m``, ``1m30s``).

    Returns None for anything unreadable (bare numbers, negative values, wrong types).
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text == "0":
        return Fraction(0)
    if not text or len(text) > 64:
        return None
    pos, total = 0, Fraction(0)
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m:
            return None
        total += Fraction(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return total


def format_duration(seconds: Fraction) -> str:
    if seconds.denominator == 1:
        return f"{seconds.numerator}s"
    return f"{float(seconds):g}s"


# -- mTLS --------------------------------------------------------------------------
MTLS_MODES = ("UNSET", "DISABLE", "PERMISSIVE", "STRICT")


@dataclass(frozen=True)
class MtlsDecision:
    """The effective PeerAuthentication mode and the policy that decided it."""

    mode: str
    decided_by: dict | None = None  # the PeerAuthentication, None = built-in default
    level: str = "default"  # workload | namespace | mesh | default
    notes: tuple[str, ...] = ()
    invalid: tuple[tuple[dict, Any], ...] = ()  # (policy, mode as written) with an unknown mode


def _pa_mode(pa: dict) -> Any:
    mtls = spec_of(pa).get("mtls")
    if mtls is None:
        return "UNSET"
    if not isinstance(mtls, dict):
        return mtls
    mode = mtls.get("mode")
    return "UNSET" if mode is None else mode


def _pa_selector_labels(pa: dict) -> dict | None:
    """Non-empty matchLabels of a PeerAuthentication's selector, else None (namespace/mesh-wide)."""
    sel = spec_of(pa).get("selector")
    labels = as_dict(as_dict(sel).get("matchLabels"))
    return labels or None


def effective_mtls(snap: Snapshot, namespace: str, workload_labels: dict | None = None) -> MtlsDecision:
    """Effective PeerAuthentication mTLS mode for a namespace (or a workload in it).

    pilot/pkg/security/authn/policy_applier.go ComposePeerAuthentication: the oldest
    policy of each level counts; mesh (root namespace, no selector) < namespace (no
    selector) < workload (selector, not in the root namespace); UNSET inherits; the
    default is PERMISSIVE.
    """
    root = snap.control_plane_namespace
    mesh_cfg = ns_cfg = wl_cfg = None
    candidates = snap.list(K.PEER_AUTHENTICATION, root) + (
        snap.list(K.PEER_AUTHENTICATION, namespace) if namespace != root else []
    )
    for pa in sorted(candidates, key=creation_key):
        sel = _pa_selector_labels(pa)
        pa_ns = namespace_of(pa)
        if sel is None:
            if pa_ns == root:
                mesh_cfg = mesh_cfg or pa
            if pa_ns == namespace and namespace != root:
                ns_cfg = ns_cfg or pa
        elif pa_ns != root and workload_labels is not None and map_selector_matches(sel, workload_labels):
            wl_cfg = wl_cfg or pa
    mode, decided, level = "PERMISSIVE", None, "default"
    notes: list[str] = []
    invalid: list[tuple[dict, Any]] = []
    for cfg, lvl in ((mesh_cfg, "mesh"), (ns_cfg, "namespace"), (wl_cfg, "workload")):
        if cfg is None:
            continue
        m = _pa_mode(cfg)
        if m not in MTLS_MODES:
            invalid.append((cfg, m))
            continue
        if m == "UNSET":
            notes.append(f"PeerAuthentication {namespace_of(cfg)}/{name_of(cfg)} ({lvl}) has mode UNSET and inherits")
            continue
        mode, decided, level = m, cfg, lvl
    return MtlsDecision(mode, decided, level, tuple(notes), tuple(invalid))
