"""The lifecycle verbs: start (and reset), solve, finish. They drive a Cluster through a lab's
steps; no printing here: progress is reported through the `Progress` callbacks."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable
from typing import Protocol

from grader import controlplane as CP
from grader import flavour as F
from grader import kinds as K
from grader import manifests as M
from grader import student as S
from grader.cluster import Cluster, ClusterError
from grader.labs import Lab, Lookup, Step, substitute
from grader.objects import as_dict, as_list, is_terminating, name_of, spec_of, value_at


class Progress(Protocol):
    def step(self, text: str) -> contextlib.AbstractContextManager[None]: ...
    def note(self, text: str) -> None: ...


def decide_flavour(cluster: Cluster, requested: str | None) -> str:
    return F.of_cluster(requested, cluster)[0]


def on_control_plane(lab: Lab, cluster: Cluster, flavour: str, progress: Progress) -> Lab:
    """The lab on the cluster's own control plane when it is not the guide's `basic` in
    istio-system (grader.controlplane); says so once."""
    cp = CP.find(cluster, flavour)
    adapted = CP.for_control_plane(lab, cp)
    if adapted is not lab and cp is not None:
        progress.note(f"this cluster's control plane is {cp.describe()}: the lab uses it "
                      f"instead of {CP.GUIDE.name} in {CP.GUIDE.namespace}")
    return adapted


def start(lab: Lab, cluster: Cluster, progress: Progress, flavour: str | None = None) -> str:
    """Bring the cluster to the exercise's starting point; running it again resets the exercise."""
    flavour = decide_flavour(cluster, flavour)
    if flavour not in lab.flavours:
        raise ClusterError(f"lab {lab.name} does not support the {flavour} flavour (it supports "
                           f"{', '.join(lab.flavours)})")
    check_requires(lab, cluster, flavour)
    lab = on_control_plane(lab, cluster, flavour, progress)
    _reset(lab, cluster, progress, empty_first=True)
    run_steps(lab, lab.cleanup, cluster, flavour, progress)
    run_steps(lab, lab.setup, cluster, flavour, progress)
    return flavour


# What serves an API group a lab `requires`, and how to get it.
REQUIRED_GROUPS = {
    "maistra.io": "the OpenShift Service Mesh 2.x operator beside OSSM 3 (on the sandbox: lab sandbox down, "
                  "then lab sandbox up --flavour ossm3 --with-ossm2)",
}


def check_requires(lab: Lab, cluster: Cluster, flavour: str) -> None:
    """The API groups a lab needs beyond its flavour's (migrate-3: maistra.io beside sailoperator.io)."""
    missing = [g for g in lab.requires if g not in cluster.groups()]
    if missing and cluster.refresh_discovery():
        missing = [g for g in lab.requires if g not in cluster.groups()]
    if missing:
        what = "; ".join(f"{g}: {REQUIRED_GROUPS.get(g, 'install the operator that serves it')}" for g in missing)
        raise ClusterError(f"lab {lab.name} needs the {', '.join(missing)} API, which this {flavour} cluster does "
                           f"not serve; {what}")


def solve(lab: Lab, cluster: Cluster, progress: Progress, flavour: str | None = None) -> str:
    flavour = decide_flavour(cluster, flavour)
    lab = on_control_plane(lab, cluster, flavour, progress)
    run_steps(lab, lab.solution, cluster, flavour, progress)
    return flavour


def finish(lab: Lab, cluster: Cluster, progress: Progress, flavour: str | None = None) -> None:
    """Delete exactly what the lab created (its label), the namespaces it owns, and what its
    `cleanup` steps name (e.g. operator Subscriptions a student created)."""
    flavour = decide_flavour(cluster, flavour)
    lab = on_control_plane(lab, cluster, flavour, progress)
    _reset(lab, cluster, progress)
    run_steps(lab, lab.cleanup, cluster, flavour, progress)


def run_shared(lab: Lab, steps: tuple[Step, ...], cluster: Cluster, flavour: str, progress: Progress) -> None:
    """Shared setup steps gathered from several labs (a class's, an exam's), run once on the
    cluster's control plane."""
    cp = CP.find(cluster, flavour)
    run_steps(CP.for_control_plane(lab, cp), CP.steps_for(steps, cp), cluster, flavour, progress)


def run_steps(lab: Lab, steps: tuple[Step, ...], cluster: Cluster, flavour: str, progress: Progress) -> None:
    try:
        for step in steps:
            if flavour in step.flavours:
                _STEPS[step.type](lab, step, cluster, flavour, progress)
    except M.ManifestError as e:
        raise ClusterError(str(e)) from None


def _apply(lab: Lab, step: Step, cluster: Cluster, flavour: str, progress: Progress) -> None:
    if lab.student and step.shared:
        # shared parts (operators, control plane) are the instructor's: applied once by `lab class create`
        progress.note(f"shared {step.args['path'].name}: set up by the instructor, not by a student")
        return
    values = {name: _look_up(cluster, lookup, name) for name, lookup in step.args["values"].items()}
    for obj in M.apply_order([S.prepare(o, lab) for o in M.read(step.args["path"]) if M.for_flavour(o, flavour)]):
        existing = _existing_instead(cluster, obj)
        if existing:
            progress.note(f"{M.describe(obj)}: not applied, {existing} is already there")
            continue
        obj = M.prepare(substitute(obj, values) if values else obj, lab.name, step.shared)
        verb = "Ensuring" if step.shared else "Applying"
        with progress.step(f"{verb} {M.describe(obj)}"):
            cluster.apply(obj)


def _delete(lab: Lab, step: Step, cluster: Cluster, flavour: str, progress: Progress) -> None:
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


def _label(lab: Lab, step: Step, cluster: Cluster, flavour: str, progress: Progress) -> None:
    a = step.args
    field = "labels" if step.type == "label" else "annotations"
    values = a.get(field) or a.get("values") or {}
    text = ", ".join(f"{k}={v}" if v is not None else f"{k}-" for k, v in values.items())
    with progress.step(step.title or f"{'Labelling' if field == 'labels' else 'Annotating'} "
                                     f"{a['kind']} {a['name']} {text}"):
        cluster.patch(a.get("apiVersion", "v1"), a["kind"], a["name"], a.get("namespace"),
                      {"metadata": {field: values}})


def _restart(lab: Lab, step: Step, cluster: Cluster, flavour: str, progress: Progress) -> None:
    a = step.args
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with progress.step(step.title or f"Restarting {a['kind']} {a['name']} (rollout restart)"):
        cluster.patch(a.get("apiVersion", "apps/v1"), a["kind"], a["name"], a.get("namespace"),
                      {"spec": {"template": {"metadata": {"annotations": {
                          "kubectl.kubernetes.io/restartedAt": stamp}}}}})


def _wait(lab: Lab, step: Step, cluster: Cluster, flavour: str, progress: Progress) -> None:
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
        until, what = (lambda o: condition_true(o, ctype)), f"{ctype}"
    elif target.startswith("phase="):
        phase = target.split("=", 1)[1]
        until, what = (lambda o: ((o or {}).get("status") or {}).get("phase") == phase), phase
    elif target.startswith("label="):
        # e.g. Maistra's maistra.io/member-of on a namespace it has configured as a member: a
        # member roll's Ready can still be the one from before its members changed
        key, _, value = target.split("=", 1)[1].partition("=")
        until, what = (lambda o: o is not None and key in ((o.get("metadata") or {}).get("labels") or {})
                       and (not value or o["metadata"]["labels"][key] == value)), f"labelled {key}"
    elif target.startswith("label-absent="):
        # e.g. an operator taking its label away (Maistra's maistra.io/member-of once the member is gone)
        key = target.split("=", 1)[1]
        until, what = (lambda o: o is not None and key not in ((o.get("metadata") or {}).get("labels") or {})), \
            f"without label {key}"
    elif target == "endpoints":
        _wait_endpoints(a, cluster, progress, step.title, timeout)
        return
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


_STEPS: dict[str, Callable[[Lab, Step, Cluster, str, Progress], None]] = {
    "apply": _apply, "delete": _delete, "label": _label, "annotate": _label, "restart": _restart, "wait": _wait,
}


def _existing_instead(cluster: Cluster, obj: dict) -> str | None:
    """What makes a manifest with the unless-exists annotation unnecessary, if anything."""
    spec = M.unless_exists(obj)
    if spec is None:
        return None
    api_version, kind, selector = spec
    names = cluster.names(api_version, kind, (obj.get("metadata") or {}).get("namespace"), selector)
    return f"{kind} {names[0]}" if names else None


def _look_up(cluster: Cluster, lookup: Lookup, name: str) -> str:
    """The live value an apply step's ${name} stands for; a clear error when it is missing."""
    if lookup.promql:
        return _prometheus_now(cluster, lookup.promql, name)
    obj = cluster.get(lookup.api_version, lookup.kind, lookup.name, lookup.namespace)
    if obj is None:
        raise ClusterError(f"{lookup.describe()} not found: it provides ${{{name}}} ({lookup.field}); "
                           "run the labs it depends on first (lab start shows them)")
    value = value_at(obj, lookup.field)
    if value is None or isinstance(value, (dict, list)):
        raise ClusterError(f"{lookup.describe()} has no {lookup.field} (needed for ${{{name}}}); "
                           f"check it with kubectl get {lookup.kind.lower()} {lookup.name} -o yaml")
    return str(value)


def _prometheus_now(cluster: Cluster, promql: str, name: str) -> str:
    """What a PromQL query answers now (its latest point of the last minute; "0" when it has no
    data), from the sandbox's Prometheus or, on a cluster, the one PROMETHEUS_URL names. With no
    Prometheus to ask (or none answering) also "0": grading then skips the check that reads it."""
    from grader import probe as P
    dest = P.sandbox_destination(cluster.target.kubeconfig, cluster.host)
    url = dest.prometheus if isinstance(dest, P.Destination) else (
        None if isinstance(dest, str) else os.environ.get("PROMETHEUS_URL", "").strip() or None)
    if not url:
        return "0"
    try:
        samples, error = P.query_range(url, promql, 60.0)
    except OSError:
        return "0"
    if error:
        raise ClusterError(f"Prometheus at {url} could not answer {promql} (needed for ${{{name}}}): {error}")
    if not samples:
        return "0"
    value = samples[-1][1]
    return str(int(value)) if value.is_integer() else repr(value)


def condition_true(obj: dict | None, ctype: str) -> bool:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c.get("status") == "True"
    return False


def endpoints_current(service: dict | None, pods: list[dict], endpoints: dict | None) -> bool:
    """A Service's Endpoints list exactly the ready pods its selector matches (`pods`: those the
    selector matches). The endpoints controller writes them after the pods turn ready, so a
    Deployment's rollout can be complete while the Endpoints still name the pods it replaced."""
    if not spec_of(service).get("selector"):
        return False
    ready = {name_of(p) for p in pods if not is_terminating(p) and condition_true(p, "Ready")}
    listed = {as_dict(addr.get("targetRef")).get("name")
              for subset in as_list(as_dict(endpoints).get("subsets")) for addr in as_list(subset.get("addresses"))}
    return bool(ready) and ready == listed


def _wait_endpoints(a: dict, cluster: Cluster, progress: Progress, title: str | None, timeout: float) -> None:
    if a.get("kind") != "Service" or "name" not in a:
        raise ClusterError("wait for: endpoints needs a Service by name (kind: Service, name: ...)")
    name, ns = a["name"], a.get("namespace")
    with progress.step(title or f"Waiting for Service {name} in {ns} to list its ready pods"):
        wait_endpoints(cluster, name, ns, timeout)


def wait_endpoints(cluster: Cluster, name: str, namespace: str | None, timeout: float) -> None:
    """Until Service `name`'s Endpoints are current (`endpoints_current`); ClusterError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        service = cluster.get("v1", "Service", name, namespace)
        selector = ",".join(f"{k}={v}" for k, v in sorted(as_dict(spec_of(service).get("selector")).items()))
        pods = cluster.list(K.POD, namespace, selector) if selector else []
        if endpoints_current(service, pods, cluster.get("v1", "Endpoints", name, namespace)):
            return
        if time.monotonic() >= deadline:
            raise ClusterError(f"Service {namespace}/{name}: its Endpoints did not list its ready pods within "
                               f"{timeout:.0f} s; see kubectl get endpoints {name} -n {namespace} and its pods")
        time.sleep(0.2)


def rollout_complete(obj: dict | None) -> bool:
    """A Deployment's rollout is complete: observed, every replica updated and available."""
    if not obj:
        return False
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    want = spec.get("replicas", 1)
    return (st.get("observedGeneration", 0) >= obj["metadata"].get("generation", 0)
            and st.get("updatedReplicas", 0) == want and st.get("availableReplicas", 0) == want
            and st.get("replicas", 0) == want)


# -- reset ------------------------------------------------------------------------------
def _reset(lab: Lab, cluster: Cluster, progress: Progress, empty_first: bool = False) -> None:
    """Delete what the lab labelled outside its namespaces, and its namespaces with everything
    in them (the namespace controller empties them; with `empty_first`, start's reset, `lab` does
    the controller's work itself: `_empty_deleted`). A student's namespaces are the class's:
    they are emptied instead (`_empty`), with the student's rights."""
    if lab.student:
        _empty(lab, cluster, progress)
        return
    for kind in lab_kinds(lab, cluster):
        # students' objects (labelled with the student) are their own: never the instructor's reset
        for obj in cluster.list(kind, label_selector=f"{M.LAB_LABEL}={lab.name},!{S.STUDENT_LABEL}"):
            md = obj["metadata"]
            if md.get("namespace") in lab.owns or kind.kind == "Namespace":
                continue  # goes with its namespace
            with progress.step(f"Deleting {M.describe(obj)}"):
                cluster.delete(obj["apiVersion"], obj["kind"], md["name"], md.get("namespace"))
    for ns in lab.owns:
        delete_namespace(cluster, ns, progress, empty_first)


def delete_namespace(cluster: Cluster, ns: str, progress: Progress, empty_first: bool = True) -> None:
    """Delete a namespace and wait until it is gone (one still Terminating refuses new content:
    the next start could not create anything in it). With `empty_first`, `lab` empties it
    itself instead of waiting for the namespace controller (`_empty_deleted`)."""
    existing = cluster.get("v1", "Namespace", ns)
    if existing is None:
        return
    with progress.step(f"Deleting namespace {ns}"):
        deleted_at = time.monotonic()
        cluster.delete("v1", "Namespace", ns)
        if empty_first:
            _empty_deleted(cluster, ns, deleted_at)
        cluster.wait("v1", "Namespace", ns, None, _namespace_gone(ns), timeout=180, what="deleted")


def wait_namespace_free(cluster: Cluster, ns: str, progress: Progress) -> None:
    """Before a namespace is created again: wait out an earlier deletion still in progress."""
    existing = cluster.get("v1", "Namespace", ns)
    if existing is None or not (existing.get("metadata") or {}).get("deletionTimestamp"):
        return
    with progress.step(f"Waiting for the earlier namespace {ns} to be deleted"):
        cluster.wait("v1", "Namespace", ns, None, _namespace_gone(ns), timeout=180, what="deleted")


SETTLE_S = 1.0  # after the delete, before a namespace seen empty is finalized
EMPTY_WITHIN_S = 10.0


def _empty_deleted(cluster: Cluster, ns: str, deleted_at: float) -> None:
    """Do the namespace controller's work for a terminating namespace, without its delay.

    The controller starts on a deleted namespace only 5 s after the deletion
    (namespaceDeletionGracePeriod in kubernetes pkg/controller/namespace/namespace_controller.go,
    there so that HA API servers see the deletion first), and while pods terminate it looks
    again only after about half their grace period (estimateGracefulTermination in
    pkg/controller/namespace/deletion): a reset took 5-11 s. Here every namespaced collection
    the server stores is deleted (pods without a grace period; nothing new can be created in a
    terminating namespace), the namespace is seen empty twice, the second time at least
    SETTLE_S after the deletion, and only then is it finalized, as the controller would. The end
    state is the controller's: the namespace and everything in it are gone. Whatever does not
    go (an object held by a finalizer past EMPTY_WITHIN_S, a verb RBAC forbids) leaves the
    namespace to the controller."""
    from grader.cluster import parallel

    try:
        collections = [(path.format(ns=ns), verbs) for path, verbs in cluster.namespaced_collections()]

        def wipe(collection: tuple[str, set[str]]) -> None:
            path, verbs = collection
            if "deletecollection" in verbs:
                cluster.delete_collection(path, grace_period_s=0 if path.endswith("/pods") else None)
            elif "delete" in verbs:
                for item in cluster.request("GET", path).get("items", []):
                    if name := (item.get("metadata") or {}).get("name"):
                        cluster.delete_collection(f"{path}/{name}")

        def holds(collection: tuple[str, set[str]]) -> bool:
            return bool(cluster.request("GET", collection[0], query=[("limit", 1)]).get("items"))

        parallel(wipe, collections)
        seen_empty, deadline = 0, time.monotonic() + EMPTY_WITHIN_S
        while seen_empty < 2:
            if any(parallel(holds, collections)):
                if time.monotonic() > deadline:
                    return
                seen_empty = 0
                time.sleep(0.2)
                continue
            seen_empty += 1
            if seen_empty == 1:
                time.sleep(max(0.0, deleted_at + SETTLE_S - time.monotonic()))
        cluster.finalize_namespace(ns)
    except ClusterError:
        return


# What a student works with: every object of these kinds in the student's namespace goes at a
# reset, labelled or not (the ServiceMeshMember stays: the namespace stays a mesh member).
_STUDENT_WORK = (K.DEPLOYMENT, K.SERVICE, K.GATEWAY, K.VIRTUAL_SERVICE, K.DESTINATION_RULE, K.SERVICE_ENTRY,
                 K.SIDECAR, K.PEER_AUTHENTICATION, K.AUTHORIZATION_POLICY)


def _empty(lab: Lab, cluster: Cluster, progress: Progress, timeout: float = 120.0) -> None:
    """A student's reset: the namespaces stay (the class made them, the student may not delete
    them); the student's work in them and what the lab labelled go, and the pods with them."""
    labelled = [k for k in lab_kinds(lab, cluster) if k.namespaced and k not in _STUDENT_WORK and k is not K.SMM]
    work = [k for k in _STUDENT_WORK if cluster.served_version(k)]
    for ns in lab.owns:
        for kind, selector in [(k, None) for k in work] + [(k, f"{M.LAB_LABEL}={lab.name}") for k in labelled]:
            for obj in cluster.list(kind, ns, label_selector=selector):
                with progress.step(f"Deleting {M.describe(obj)}"):
                    cluster.delete(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], ns)
        if cluster.list(K.POD, ns):
            with progress.step(f"Waiting for the pods in {ns} to be deleted"):
                deadline = time.monotonic() + timeout
                while cluster.list(K.POD, ns):
                    if time.monotonic() > deadline:
                        raise ClusterError(f"pods in namespace {ns} still there after {timeout:.0f}s; "
                                           f"check them with kubectl get pods -n {ns}")
                    time.sleep(0.5)


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


def lab_kinds(lab: Lab, cluster: Cluster) -> list[K.Kind]:
    """Kinds the lab's manifests (setup and solution) create, as known kinds the cluster serves."""
    names: list[str] = []
    for steps in (lab.setup, lab.solution):
        for s in steps:
            if s.type == "apply" and not s.shared:
                for o in M.read(s.args["path"]):
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
