"""Grading: read once, judge many. One snapshot of the cluster (or of YAML files), every check
of the lab judged against it for each namespace, one LabReport per namespace.

Checks are pure functions of the Snapshot; a check that raises is an ERROR in its own row.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from grader import checks as C
from grader import controlplane as CP
from grader import flavour as F
from grader import kinds as K
from grader.checks.framework import crashed
from grader.cluster import Cluster, ClusterError
from grader.labs import Lab
from grader.model import CheckResult, LabReport, Status
from grader.observations import Probe, not_sent
from grader.snapshot import Snapshot, unpack_lists


@dataclass(frozen=True)
class Graded:
    """One round of grading: the reports (one per namespace) and the snapshot they judged."""

    reports: list[LabReport]
    snapshot: Snapshot


def kinds_read_by(lab: Lab) -> list[K.Kind]:
    """Every kind the lab's checks read, in first-use order (one LIST each), and the control
    planes (grader.controlplane: the checks judge the cluster's own; no request where the
    cluster serves no maistra.io)."""
    out: list[K.Kind] = []
    for spec in lab.checks:
        for k in C.get(spec.check).reads:
            if k not in out:
                out.append(k)
    return out if K.SMCP in out else [*out, K.SMCP]


def probes_of(lab: Lab, namespaces: list[str]) -> list[Probe]:
    """The requests the lab's observed checks need, for every namespace graded (duplicates once)."""
    from grader.checks.observed import probe_for
    C.load_builtin()
    out: list[Probe] = []
    for spec in lab.checks:
        for ns in namespaces:
            p = probe_for(spec.check, lab.params_for(spec, ns))
            if p is not None and p not in out:
                out.append(p)
    return out


def send_traffic(lab: Lab, snap: Snapshot, cluster: Cluster, namespaces: list[str], traffic: bool) -> None:
    """Send the lab's probes (sandbox: its data plane's gateway; a cluster: the ingress Route's host)
    and put what came back into the snapshot, before any check judges it."""
    probes = probes_of(lab, namespaces)
    if not probes:
        return
    if not traffic:
        snap.traffic = not_sent("--no-traffic given: no requests sent")
        return
    if len(namespaces) > 1:
        # the probes do not say which namespace's routes answer them through the one shared gateway
        snap.traffic = not_sent(f"{len(namespaces)} namespaces graded at once: requests through the shared "
                                  "ingress gateway cannot be told apart by namespace; grade one namespace (-n NS) "
                                  "to check its traffic")
        return
    from grader import probe as P  # the HTTP client and the sandbox's data plane: only when requests are sent

    dest = P.sandbox_destination(cluster.target.kubeconfig, cluster.host)
    if dest is None:  # a real cluster: GET the ingress gateway's Route and Service (reads only, not in the sandbox)
        found = []
        for kind in (K.ROUTE, K.SERVICE):
            try:
                version = cluster.served_version(kind)
                obj = cluster.get(kind.api_version(version), kind.kind, P.INGRESS, snap.control_plane_namespace) \
                    if version else None
            except ClusterError:   # e.g. forbidden: then the address is unknown and the reason says so
                obj = None
            found += [{**obj, "kind": kind.kind}] if obj else []
        dest = P.cluster_destination(Snapshot.from_objects(found, control_plane_namespace=snap.control_plane_namespace))
    snap.traffic = P.gather(probes, dest)


def judge(lab: Lab, snap: Snapshot, namespace: str | None = None) -> tuple[CheckResult, ...]:
    """Every check of the lab against one snapshot for one namespace (on the snapshot's
    control plane when it is not the guide's, grader.controlplane)."""
    lab = CP.for_control_plane(lab, CP.of_snapshot(snap))
    results = []
    for spec in lab.checks:
        ctype = C.get(spec.check)
        try:
            outcome = ctype.fn(snap, **lab.params_for(spec, namespace))
            status, reason, hint = outcome.status, outcome.reason, outcome.hint or spec.hint
        except Exception as e:  # noqa: BLE001 - one broken check must not hide the others
            outcome = crashed(spec.check, e)  # the guard's own wording: an ERROR of the grader
            status, reason, hint = outcome.status, outcome.reason, outcome.hint
        if status is Status.PASS:
            hint = ""
        results.append(CheckResult(id=spec.id, description=spec.description, status=status,
                                   points=spec.points if status is Status.PASS else 0,
                                   max_points=spec.points, reason=reason, hint=hint))
    return tuple(results)


def grade_snapshot(lab: Lab, snap: Snapshot, namespaces: list[str] | None = None,
                   started: float | None = None) -> list[LabReport]:
    """One report per namespace (default: the lab's own) from one snapshot, each timed from
    `started` (reading included) when given."""
    start = time.perf_counter() if started is None else started
    namespaces = namespaces or [lab.namespace]
    judged = [judge(lab, snap, ns) for ns in namespaces]
    elapsed = time.perf_counter() - start
    return [report_of(lab, results, snap, ns, elapsed) for results, ns in zip(judged, namespaces, strict=True)]


def report_of(lab: Lab, results: tuple[CheckResult, ...], snap: Snapshot, namespace: str,
              elapsed: float = 0.0) -> LabReport:
    """The one way a lab's report is built from its judged checks (one student, one exam task
    or one namespace): the requests sent, and traffic checks that sent none weighed as below."""
    sent = snap.traffic.sent if snap.traffic is not None else 0
    return _traffic_points(lab, LabReport(lab=lab.name, title=lab.title, pass_mark=lab.pass_mark, results=results,
                                          flavour=snap.flavour, duration_s=elapsed, namespace=namespace, requests=sent))


def _traffic_points(lab: Lab, report: LabReport) -> LabReport:
    """Traffic checks that could not send their requests (offline, --no-traffic, unreachable
    gateway) weigh nothing: their points leave the total and the pass mark is scaled to what is
    left (rounded up), so a configuration judged without traffic is held to the same share."""
    from grader.checks.observed import PROBES
    observed = {s.id for s in lab.checks if s.check in PROBES}
    left_out = sum(r.max_points for r in report.results if r.id in observed and r.status is Status.SKIP)
    full = report.total
    if not left_out or not full:
        return report
    results = tuple(replace(r, max_points=0) if r.id in observed and r.status is Status.SKIP else r
                    for r in report.results)
    rest = full - left_out
    mark = math.ceil(report.pass_mark * rest / full)
    note = (f"traffic checks skipped: their {left_out} point{'s' if left_out != 1 else ''} are left out of the "
            f"total; pass mark {report.pass_mark} of {full} scaled to {mark} of {rest}")
    return replace(report, results=results, pass_mark=mark, notes=(*report.notes, note))


def read_cluster(cluster: Cluster, kinds: list[K.Kind], namespaces: list[str], flavour: str | None) -> Snapshot:
    """The snapshot a grade judges: the flavour decided (`flavour` wins), then one LIST per kind.
    Kinds of groups the decided flavour rules out are marked missing without a request, so a
    cached discovery that lacks them is not sent back to the server (a check that reads the Sail
    kinds only on ossm3 would otherwise refresh discovery on every ossm2 grade)."""
    for _ in range(2):
        decided, openshift = F.of_cluster(flavour, cluster)
        seen = cluster.discovery_reads
        # ossm2 decided from a cached discovery: reading the control planes (in parallel with the
        # rest) proves maistra.io is still served, or finds it gone (404) and refreshes discovery
        proof = [K.SMCP] if decided == "ossm2" and cluster.discovery_cached and K.SMCP not in kinds else []
        ruled_out = F.ruled_out_groups(decided) if flavour is None else frozenset()
        snap = cluster.snapshot([*(k for k in kinds if k.group not in ruled_out), *proof], namespaces, decided,
                                openshift)
        for k in kinds:
            if k.group in ruled_out:  # the flavour detected rules the group out: not served, no request
                snap.mark_read(k)
                snap.missing_kinds.add(k.kind)
        if cluster.discovery_reads == seen:
            break  # else a cached discovery proved out of date while reading: decide and read again
    return snap


def grade_cluster(lab: Lab, cluster: Cluster, namespaces: list[str] | None = None,
                  flavour: str | None = None, traffic: bool = True) -> Graded:
    """Grade several namespaces (e.g. one per student) from ONE snapshot of the cluster.

    Namespaces named by the caller (`-n`) must exist: a missing one is an error naming it, so
    that a typo in a class roster is never graded as a student's empty work. Without them the
    lab's own namespace is graded, and an unstarted lab is simply a report of what is missing."""
    start = time.perf_counter()
    kinds = kinds_read_by(lab)
    if namespaces and K.NAMESPACE not in kinds:
        kinds.append(K.NAMESPACE)
    targets = list(namespaces or [lab.namespace])
    snap = read_cluster(cluster, kinds, [*targets, "istio-system"], flavour)
    if snap.flavour == "ossm2" and K.SMCP.kind in snap.missing_kinds:
        raise ClusterError("Service Mesh is not installed on this cluster (no maistra.io API); "
                           "install the operator or use 'lab sandbox up'")
    if namespaces:
        present = {str((o.get("metadata") or {}).get("name")) for o in snap.list(K.NAMESPACE)}
        missing = [ns for ns in namespaces if ns not in present]
        if missing:
            raise ClusterError(f"namespace{'s' if len(missing) > 1 else ''} {', '.join(missing)} not found on the "
                               f"cluster {cluster.host}; check the name (kubectl get namespaces)")
    send_traffic(lab, snap, cluster, targets, traffic)
    return Graded(grade_snapshot(lab, snap, targets, start), snap)


def watch(lab: Lab, cluster: Cluster, namespaces: list[str] | None, flavour: str | None,
          emit: Callable[[list[LabReport], str | None], None], settle: float = 0.5,
          traffic: bool = True) -> None:
    """Grade, then grade again each time an object of a kind the checks read changes; runs
    until interrupted. Read-only like grading: one LIST per kind per round, then watches
    from the resourceVersions of the snapshot just graded. `emit(reports, cause)` gets each
    round's reports."""
    cause: str | None = None
    while True:
        graded = grade_cluster(lab, cluster, namespaces, flavour, traffic)
        emit(graded.reports, cause)
        cause = next_change(cluster, graded.snapshot, settle)


def next_change(cluster: Cluster, snap: Snapshot, settle: float = 0.5) -> str:
    """Block until an object of a kind in the snapshot changes after it was read (watches from
    the snapshot's resourceVersions), then until the burst has been quiet for `settle` s (a
    rollout changes a Deployment, ReplicaSets and pods in a row); the first change's cause."""
    changes = cluster.changes(snap.list_versions)
    try:
        cause = None
        while cause is None:
            cause = changes.next(timeout=60)
        while changes.next(timeout=settle) is not None:
            pass
        return cause
    finally:
        changes.close()


def grade_files(lab: Lab, paths: list[Path], namespaces: list[str] | None = None, flavour: str | None = None) -> Graded:
    """Grade YAML files offline (manifests, or `oc get ... -o yaml` dumps with status): the
    same checks on a snapshot made of the files."""
    from grader import manifests  # YAML files: only this path reads them

    start = time.perf_counter()
    try:
        # documents that are not Kubernetes objects (a solution.yaml's steps, kustomization files) are left out
        docs = [d for p in paths for d in manifests.read(p) if isinstance(d.get("kind"), str) and d.get("apiVersion")]
    except manifests.ManifestError as e:
        raise ClusterError(str(e)) from None
    if not docs:
        raise ClusterError(f"no Kubernetes objects in {', '.join(map(str, paths))}; "
                           "give YAML files such as the output of oc get ... -o yaml")
    snap = Snapshot.from_objects(last_wins(docs))
    snap.flavour, snap.openshift = F.of_objects(flavour, snap)
    return Graded(grade_snapshot(lab, snap, list(namespaces or [lab.namespace]), start), snap)


def last_wins(docs: list[dict]) -> list[dict]:
    """One object per kind/namespace/name: a later file overrides an earlier one, as applying
    them in that order would (List documents are unpacked first)."""
    # a kind that is not a non-empty string is what no API server would return
    flat = [d for d in unpack_lists(docs) if isinstance(d.get("kind"), str) and d["kind"]]
    out: dict[tuple, dict] = {}
    for d in flat:
        md = d.get("metadata") if isinstance(d.get("metadata"), dict) else {}
        key = (str(d.get("apiVersion", "")).split("/")[0], d.get("kind"), str(md.get("namespace") or ""),
               str(md.get("name")), id(d) if md.get("name") is None else 0)
        out.pop(key, None)
        out[key] = d
    return list(out.values())
