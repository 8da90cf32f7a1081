"""Running labs: grade (read once, judge many), start, solve and finish.

Grading is a pure function of a Snapshot; the lifecycle verbs drive a Cluster.
No printing here: progress is reported through the `Progress` callbacks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import yaml

from grader import checks as C
from grader import kinds as K
from grader import yamlio
from grader.cluster import LAB_LABEL, SHARED_LABEL, Cluster, ClusterError
from grader.labs import Lab, Lookup, Step, substitute
from grader.model import CheckResult, LabReport, Status
from grader.snapshot import Snapshot, labels_of, unpack_lists

FLAVOUR_ANNOTATION = "lab.grader/flavours"  # on a manifest: apply it only for these flavours
# On a manifest: "<apiVersion> <Kind> [<label selector>]"; the object is not applied when such an
# object exists in its namespace (e.g. a Subscription when the operator's CSV is installed under
# another Subscription, or the SMCP when the cluster already has a control plane).
UNLESS_ANNOTATION = "lab.grader/unless-exists"


class Progress(Protocol):
    def step(self, text: str) -> contextlib.AbstractContextManager[None]: ...
    def note(self, text: str) -> None: ...


class QuietProgress:
    @contextlib.contextmanager
    def step(self, text: str) -> Iterator[None]:
        yield

    def note(self, text: str) -> None:
        pass


# -- grading --------------------------------------------------------------------------
def kinds_read_by(lab: Lab) -> list[K.Kind]:
    out: list[K.Kind] = []
    for spec in lab.checks:
        for k in C.get(spec.check).reads:
            if k not in out:
                out.append(k)
    return out


def grade_snapshot(lab: Lab, snap: Snapshot, namespace: str | None = None) -> LabReport:
    """Run every check of the lab against one snapshot; a crashing check is an ERROR, not a crash."""
    start = time.perf_counter()
    results = []
    for spec in lab.checks:
        ctype = C.get(spec.check)
        try:
            outcome = ctype.fn(snap, **lab.params_for(spec, namespace))
            status, reason, hint = outcome.status, outcome.reason, outcome.hint or spec.hint
        except Exception as e:  # noqa: BLE001 - one broken check must not hide the others
            status, reason, hint = Status.ERROR, f"check crashed: {type(e).__name__}: {e}", ""
        if status is Status.PASS:
            hint = ""
        results.append(CheckResult(id=spec.id, description=spec.description, status=status,
                                   points=spec.points if status is Status.PASS else 0,
                                   max_points=spec.points, reason=reason, hint=hint))
    return LabReport(lab=lab.name, title=lab.title, pass_mark=lab.pass_mark, results=tuple(results),
                     flavour=snap.flavour, duration_s=time.perf_counter() - start)


def grade(lab: Lab, cluster: Cluster, namespace: str | None = None, flavour: str | None = None) -> LabReport:
    return grade_many(lab, cluster, [namespace or lab.namespace], flavour)[0]


def grade_many(lab: Lab, cluster: Cluster, namespaces: list[str], flavour: str | None = None) -> list[LabReport]:
    """Grade several namespaces (e.g. one per student) from ONE snapshot of the cluster."""
    start = time.perf_counter()
    _detect(cluster, flavour)  # fails with a clear message when no mesh API is served at all
    snap = cluster.snapshot(kinds_read_by(lab), namespaces=[*namespaces, "istio-system"], flavour=flavour)
    if snap.flavour == "ossm2" and K.SMCP.kind in snap.missing_kinds:
        raise ClusterError("Service Mesh is not installed on this cluster (no maistra.io API); "
                           "install the operator or use 'lab sandbox up'")
    return _graded(lab, snap, namespaces, start)


def _graded(lab: Lab, snap: Snapshot, namespaces: list[str], start: float) -> list[LabReport]:
    """One report per namespace from one snapshot, each timed from `start` (reading included)."""
    reports = [grade_snapshot(lab, snap, ns) for ns in namespaces]
    elapsed = time.perf_counter() - start
    return [LabReport(lab=r.lab, title=r.title, pass_mark=r.pass_mark, results=r.results, flavour=r.flavour,
                      duration_s=elapsed, notes=r.notes, namespace=ns) for r, ns in zip(reports, namespaces, strict=True)]


def watch_grades(lab: Lab, cluster: Cluster, namespaces: list[str], flavour: str | None,
                 emit: Callable[[list[LabReport], str | None], None], settle: float = 0.5) -> None:
    """Grade, then grade again each time an object of a kind the checks read changes; runs
    until interrupted. Read-only like `grade`: one LIST per kind per round, then watches
    from the LISTs' resourceVersions. `emit(reports, cause)` gets each round's reports."""
    cause: str | None = None
    while True:
        cluster.list_versions.clear()
        emit(grade_many(lab, cluster, namespaces, flavour), cause)
        changes = cluster.changes(dict(cluster.list_versions))
        try:
            cause = None
            while cause is None:
                cause = changes.next(timeout=60)
            # let a burst settle (a rollout changes a Deployment, ReplicaSets and pods in a row)
            while changes.next(timeout=settle) is not None:
                pass
        finally:
            changes.close()


def grade_files(lab: Lab, paths: list[Path], namespaces: list[str], flavour: str | None = None
                ) -> tuple[list[LabReport], int]:
    """Grade YAML files offline (manifests, or `oc get ... -o yaml` dumps with status): the
    same checks on a snapshot made of the files. Returns the reports and the object count."""
    start = time.perf_counter()
    # documents that are not Kubernetes objects (a solution.yaml's steps, kustomization files) are left out
    docs = [d for p in paths for d in manifests(p) if isinstance(d.get("kind"), str) and d.get("apiVersion")]
    if not docs:
        raise ClusterError(f"no Kubernetes objects in {', '.join(map(str, paths))}; "
                           "give YAML files such as the output of oc get ... -o yaml")
    snap = Snapshot.from_objects(_last_wins(docs), flavour=flavour or "istio")
    groups = {str(o.get("apiVersion", "")).split("/")[0] for o in snap}
    snap.openshift = bool(groups & {"route.openshift.io", "maistra.io", "operators.coreos.com"})
    # Without --flavour: Maistra's objects, or its labels (a member namespace carries
    # maistra.io/member-of, control-plane objects maistra-version), mean OpenShift Service Mesh 2.x.
    if flavour is None and ("maistra.io" in groups or any(
            isinstance(k, str) and (k.startswith("maistra.io/") or k == "maistra-version")
            for o in snap for k in labels_of(o))):
        snap.flavour = "ossm2"
    return _graded(lab, snap, namespaces, start), sum(1 for _ in snap)


def _last_wins(docs: list[dict]) -> list[dict]:
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


# -- manifests ------------------------------------------------------------------------
def manifests(path: Path) -> list[dict]:
    files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
    docs: list[dict] = []
    for f in files:
        try:
            docs.extend(d for d in yamlio.load_all(f.read_text()) if isinstance(d, dict))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise ClusterError(f"{f}{where}: invalid YAML ({getattr(e, 'problem', None) or e})") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ClusterError(f"{f}: cannot read it ({e})") from None
    return docs


_ORDER = ("CustomResourceDefinition", "Namespace", "ServiceAccount", "Role", "ClusterRole", "RoleBinding",
          "ClusterRoleBinding", "ConfigMap", "Secret", "OperatorGroup", "Subscription")


def _sorted(objs: list[dict]) -> list[dict]:
    """Namespaces and CRDs before what lives in them (stable otherwise)."""
    def rank(o: dict) -> int:
        k = o.get("kind", "")
        return _ORDER.index(k) if k in _ORDER else len(_ORDER)
    return sorted(objs, key=rank)


def _for_flavour(obj: dict, flavour: str) -> bool:
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    allowed = ann.get(FLAVOUR_ANNOTATION)
    return allowed is None or flavour in [a.strip() for a in allowed.split(",")]


def _prepare(obj: dict, lab: Lab, shared: bool) -> dict:
    obj = yaml.safe_load(yaml.safe_dump(obj))  # deep copy
    md = obj.setdefault("metadata", {})
    ann = md.get("annotations") or {}
    ann.pop(FLAVOUR_ANNOTATION, None)
    ann.pop(UNLESS_ANNOTATION, None)
    if ann:
        md["annotations"] = ann
    else:
        md.pop("annotations", None)
    labels = md.setdefault("labels", {}) or {}
    md["labels"] = labels
    if shared:
        labels[SHARED_LABEL] = "true"
    else:
        labels[LAB_LABEL] = lab.name
    _default_protocols(obj)
    return obj


def _default_protocols(obj: dict) -> None:
    """Server-side apply on Kubernetes < 1.21 rejects list entries that omit the `protocol`
    key of Service and container ports ("associative list ... omits key field"); set TCP."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Service":
        for p in spec.get("ports") or []:
            p.setdefault("protocol", "TCP")
    template = (spec.get("template") or {}).get("spec") or {}
    for c in (template.get("containers") or []) + (template.get("initContainers") or []):
        for p in c.get("ports") or []:
            p.setdefault("protocol", "TCP")


def _existing_instead(cluster: Cluster, obj: dict) -> str | None:
    """What makes a manifest with the unless-exists annotation unnecessary, if anything."""
    md = obj.get("metadata") or {}
    spec = str((md.get("annotations") or {}).get(UNLESS_ANNOTATION) or "").split(maxsplit=2)
    if not spec:
        return None
    if len(spec) < 2:
        raise ClusterError(f"{_describe(obj)}: annotation {UNLESS_ANNOTATION} must be "
                           "'<apiVersion> <Kind> [<label selector>]'")
    api_version, kind = spec[0], spec[1]
    names = cluster.names(api_version, kind, md.get("namespace"), spec[2] if len(spec) > 2 else "")
    return f"{kind} {names[0]}" if names else None


def _describe(obj: dict) -> str:
    md = obj.get("metadata") or {}
    ns = f" in {md['namespace']}" if md.get("namespace") else ""
    return f"{obj.get('kind')} {md.get('name')}{ns}"


# -- lifecycle ------------------------------------------------------------------------
def run_steps(lab: Lab, steps: tuple[Step, ...], cluster: Cluster, flavour: str, progress: Progress) -> None:
    for step in steps:
        if flavour not in step.flavours:
            continue
        if step.type == "apply":
            values = {name: _look_up(cluster, lookup, name) for name, lookup in step.args["values"].items()}
            for obj in _sorted([o for o in manifests(step.args["path"]) if _for_flavour(o, flavour)]):
                existing = _existing_instead(cluster, obj)
                if existing:
                    progress.note(f"{_describe(obj)}: not applied, {existing} is already there")
                    continue
                obj = _prepare(substitute(obj, values) if values else obj, lab, step.shared)
                verb = "Ensuring" if step.shared else "Applying"
                with progress.step(f"{verb} {_describe(obj)}"):
                    cluster.apply(obj)
        elif step.type == "wait":
            _wait(cluster, step, progress)
        elif step.type == "delete":
            a = step.args
            api_version, ns = a.get("apiVersion", "v1"), a.get("namespace")
            if "selector" in a:
                names = cluster.names(api_version, a["kind"], ns, a["selector"])
            elif cluster.get(api_version, a["kind"], a["name"], ns) is not None:
                names = [a["name"]]
            else:
                names = []  # nothing to delete: say nothing
            for name in names:
                with progress.step(step.title or f"Deleting {a['kind']} {name}{' in ' + ns if ns else ''}"):
                    cluster.delete(api_version, a["kind"], name, ns)
                    if a.get("wait", True):
                        cluster.wait(api_version, a["kind"], name, ns, lambda o: o is None,
                                     timeout=float(a.get("timeout", 180)), what="deleted")
        elif step.type in ("label", "annotate"):
            a = step.args
            field = "labels" if step.type == "label" else "annotations"
            values = a.get(field) or a.get("values") or {}
            text = ", ".join(f"{k}={v}" if v is not None else f"{k}-" for k, v in values.items())
            with progress.step(step.title or f"{'Labelling' if field == 'labels' else 'Annotating'} "
                                             f"{a['kind']} {a['name']} {text}"):
                cluster.patch(a.get("apiVersion", "v1"), a["kind"], a["name"], a.get("namespace"),
                              {"metadata": {field: values}})
        elif step.type == "restart":
            a = step.args
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            with progress.step(step.title or f"Restarting {a['kind']} {a['name']} (rollout restart)"):
                cluster.patch(a.get("apiVersion", "apps/v1"), a["kind"], a["name"], a.get("namespace"),
                              {"spec": {"template": {"metadata": {"annotations": {
                                  "kubectl.kubernetes.io/restartedAt": stamp}}}}})


def _look_up(cluster: Cluster, lookup: Lookup, name: str) -> str:
    """The live value an apply step's ${name} stands for; a clear error when it is missing."""
    from grader.objects import value_at

    obj = cluster.get(lookup.api_version, lookup.kind, lookup.name, lookup.namespace)
    if obj is None:
        raise ClusterError(f"{lookup.describe()} not found: it provides ${{{name}}} ({lookup.field}); "
                           "run the labs it depends on first (lab start shows them)")
    value = value_at(obj, lookup.field)
    if value is None or isinstance(value, (dict, list)):
        raise ClusterError(f"{lookup.describe()} has no {lookup.field} (needed for ${{{name}}}); "
                           f"check it with kubectl get {lookup.kind.lower()} {lookup.name} -o yaml")
    return str(value)


def _condition_true(obj: dict | None, ctype: str) -> bool:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c.get("status") == "True"
    return False


def rollout_complete(obj: dict | None) -> bool:
    if not obj:
        return False
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    want = spec.get("replicas", 1)
    return (st.get("observedGeneration", 0) >= obj["metadata"].get("generation", 0)
            and st.get("updatedReplicas", 0) == want and st.get("availableReplicas", 0) == want
            and st.get("replicas", 0) == want)


def _wait(cluster: Cluster, step: Step, progress: Progress) -> None:
    a = step.args
    target = a.get("for", "exists")
    timeout = float(a.get("timeout", 180))
    if target == "rollout":
        until, what = rollout_complete, "rolled out"
    elif target == "deleted":
        until, what = (lambda o: o is None), "deleted"
    elif target == "exists":
        until, what = (lambda o: o is not None), "created"
    elif target.startswith("condition="):
        ctype = target.split("=", 1)[1]
        until, what = (lambda o: _condition_true(o, ctype)), f"{ctype}"
    elif target.startswith("phase="):
        phase = target.split("=", 1)[1]
        until, what = (lambda o: ((o or {}).get("status") or {}).get("phase") == phase), phase
    else:
        raise ClusterError(f"unknown wait target {target!r}")
    ns = a.get("namespace")
    where = f"{' in ' + ns if ns else ''}"
    if "selector" in a:
        if target == "deleted":
            raise ClusterError("a wait by selector cannot wait for deletion; name the object")
        with progress.step(step.title or f"Waiting for a {a['kind']} labelled {a['selector']}{where} to be {what}"):
            cluster.wait_any(a.get("apiVersion", "v1"), a["kind"], ns, a["selector"], until, timeout=timeout,
                             what=what)
        return
    with progress.step(step.title or f"Waiting for {a['kind']} {a['name']}{where} to be {what}"):
        cluster.wait(a.get("apiVersion", "v1"), a["kind"], a["name"], ns, until, timeout=timeout, what=what)


def _detect(cluster: Cluster, flavour: str | None) -> str:
    if flavour:
        return flavour
    detected, _ = cluster.detect_flavour()
    if detected is None:
        raise ClusterError("Service Mesh is not installed on this cluster (no maistra.io or networking.istio.io "
                           "API); install it or use 'lab sandbox up'")
    return detected


def start(lab: Lab, cluster: Cluster, progress: Progress, flavour: str | None = None) -> str:
    """Bring the cluster to the exercise's starting point; running it again resets the exercise."""
    flavour = _detect(cluster, flavour)
    if flavour not in lab.flavours:
        raise ClusterError(f"lab {lab.name} does not support the {flavour} flavour (it supports "
                           f"{', '.join(lab.flavours)})")
    _reset(lab, cluster, progress)
    run_steps(lab, lab.cleanup, cluster, flavour, progress)
    run_steps(lab, lab.setup, cluster, flavour, progress)
    return flavour


def solve(lab: Lab, cluster: Cluster, progress: Progress, flavour: str | None = None) -> str:
    flavour = _detect(cluster, flavour)
    run_steps(lab, lab.solution, cluster, flavour, progress)
    return flavour


def finish(lab: Lab, cluster: Cluster, progress: Progress, flavour: str | None = None) -> None:
    """Delete exactly what the lab created (its label), the namespaces it owns, and what its
    `cleanup` steps name (e.g. operator Subscriptions a student created)."""
    _reset(lab, cluster, progress, delete_labelled=True)
    run_steps(lab, lab.cleanup, cluster, _detect(cluster, flavour), progress)


def _reset(lab: Lab, cluster: Cluster, progress: Progress, delete_labelled: bool = True) -> None:
    if delete_labelled:
        for kind in _labelled_kinds(lab, cluster):
            for obj in cluster.list(kind, label_selector=f"{LAB_LABEL}={lab.name}"):
                md = obj["metadata"]
                if md.get("namespace") in lab.owns or kind.kind == "Namespace":
                    continue  # goes with its namespace
                with progress.step(f"Deleting {_describe(obj)}"):
                    cluster.delete(obj["apiVersion"], obj["kind"], md["name"], md.get("namespace"))
    for ns in lab.owns:
        existing = cluster.get("v1", "Namespace", ns)
        if existing is None:
            continue
        with progress.step(f"Deleting namespace {ns}"):
            cluster.delete("v1", "Namespace", ns)
            cluster.wait("v1", "Namespace", ns, None, _namespace_gone(ns), timeout=180, what="deleted")


STUCK_AFTER_S = 20.0


def _namespace_gone(ns: str) -> Callable[[dict | None], bool]:
    """Predicate for a namespace being deleted that fails fast, naming the culprit, when the
    namespace controller reports finalizers it cannot remove (a namespace stuck Terminating)."""
    first_seen: list[float] = []

    def gone(obj: dict | None) -> bool:
        if obj is None:
            return True
        for c in (obj.get("status") or {}).get("conditions") or []:
            if c.get("type") == "NamespaceFinalizersRemaining" and c.get("status") == "True":
                first_seen.append(time.monotonic())
                if time.monotonic() - first_seen[0] > STUCK_AFTER_S:
                    raise ClusterError(
                        f"namespace {ns} is stuck Terminating: {c.get('message', 'finalizers remain')}; remove "
                        f"the finalizers (kubectl patch ... --type=merge -p '{{\"metadata\":{{\"finalizers\":null}}}}') "
                        f"and run the command again")
        return False
    return gone


def _labelled_kinds(lab: Lab, cluster: Cluster) -> list[K.Kind]:
    """Kinds the lab's manifests (setup and solution) create, as known kinds the cluster serves."""
    names: list[str] = []
    for steps in (lab.setup, lab.solution):
        for s in steps:
            if s.type == "apply" and not s.shared:
                for o in manifests(s.args["path"]):
                    if o.get("kind") not in names:
                        names.append(o.get("kind"))
    out = []
    for n in names:
        try:
            k = K.by_name(n)
        except KeyError:
            continue
        if cluster.served_version(k):
            out.append(k)
    return out
