"""A class on one cluster: a roster of students, each with namespaces of their own, a
ServiceAccount that is admin there and may read what the labs read elsewhere, and a kubeconfig
that makes `lab` run every class-safe lab in that student's namespaces (grader.student).

Everything `lab class create` makes carries CLASS_LABEL, so `lab class delete` removes exactly
that. The shared parts (operators, the control plane) are applied once here, by the instructor;
students never apply or reset them. Mesh membership is per student namespace: each lab's own
ServiceMeshMember (OSSM 2.x: "Creating the Red Hat OpenShift Service Mesh members",
docs.openshift.com/container-platform/4.14/service_mesh/v2x/ossm-create-mesh.html), so one
student joining never rewrites the ServiceMeshMemberRoll another depends on.
"""

from __future__ import annotations

import base64
import csv
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from grader import grading, lifecycle
from grader import kinds as K
from grader import student as S
from grader.cluster import Cluster, ClusterError, Target
from grader.errors import UserError
from grader.labs import Lab, Step
from grader.model import LabReport
from grader.snapshot import Snapshot

CLASS_LABEL = "lab.grader/class"  # "true" on every object `lab class create` makes
HOME_LABEL = "lab.grader/class-home"  # "true" on a student's home namespace (the ServiceAccount's)
EMAIL_ANNOTATION = "lab.grader/email"
MANAGER = "lab-class"  # the field manager of the class's objects (a student's applies use "lab")
SERVICE_ACCOUNT = "student"
STUDENT_ROLE = "lab-class-student"  # everything inside the student's own namespaces
READER_ROLE = "lab-class-reader"  # what the labs read in the shared namespaces
TOKEN_SECONDS = 7 * 24 * 3600


class ClassError(UserError):
    """A roster or class problem; str() is one line naming file/line or object."""


@dataclass(frozen=True)
class Student:
    name: str
    email: str = ""


def read_roster(path: Path) -> list[Student]:
    """`name[,email]` a line; blank lines and lines starting with # are skipped."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ClassError(f"cannot read roster {path}: {e.strerror or e}") from None
    out: list[Student] = []
    for i, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not row[0].strip() or row[0].strip().startswith("#"):
            continue
        if len(row) > 2:
            raise ClassError(f"{path} line {i}: expected 'name' or 'name,email', found {len(row)} fields")
        name = row[0].strip()
        try:
            S.check_name(name)
        except S.StudentError as e:
            raise ClassError(f"{path} line {i}: {e}") from None
        if any(s.name == name for s in out):
            raise ClassError(f"{path} line {i}: student {name!r} is listed twice")
        out.append(Student(name, row[1].strip() if len(row) > 1 else ""))
    if not out:
        raise ClassError(f"{path}: no students (one 'name[,email]' a line)")
    return out


def class_labs(labs: Iterable[Lab]) -> list[Lab]:
    return [lab for lab in labs if not S.class_unsafe(lab)]


def student_namespaces(labs: Iterable[Lab], name: str) -> list[str]:
    owned = sorted({ns for lab in class_labs(labs) for ns in lab.owns})
    return [S.namespace_for(name, ns) for ns in owned]


def home(name: str) -> str:
    return f"lab-class-{name}"


def _meta(name: str, namespace: str | None = None, student: str | None = None, **labels: str) -> dict:
    md: dict = {"name": name, "labels": {CLASS_LABEL: "true", **labels}}
    if student:
        md["labels"][S.STUDENT_LABEL] = student
    if namespace:
        md["namespace"] = namespace
    return md


def _rbac(kind: str, name: str, namespace: str | None = None, student: str | None = None, **body: object) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
            "metadata": _meta(name, namespace, student), **body}


_READ = ["get", "list", "watch"]


def class_roles() -> list[dict]:
    """The two ClusterRoles every student shares (bound per namespace by RoleBindings)."""
    return [
        # RoleBindings limit it to the student's own namespaces: there the student is all-powerful
        _rbac("ClusterRole", STUDENT_ROLE, rules=[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
        _rbac("ClusterRole", READER_ROLE, rules=[
            {"apiGroups": [""], "resources": ["pods", "services", "endpoints", "configmaps", "serviceaccounts"],
             "verbs": _READ},
            {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": _READ},
            {"apiGroups": ["networking.istio.io", "security.istio.io", "route.openshift.io",
                           "operators.coreos.com"], "resources": ["*"], "verbs": _READ},
            # `use` the control plane: what OSSM 2.x asks of whoever creates a ServiceMeshMember
            {"apiGroups": ["maistra.io"], "resources": ["*"], "verbs": [*_READ, "use"]},
        ]),
    ]


def student_objects(s: Student, namespaces: list[str], shared: list[str]) -> list[dict]:
    """A student's home namespace, ServiceAccount, namespaces and bindings (no token)."""
    sa = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": home(s.name)}
    own = f"lab-class-{s.name}"
    home_ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(home(s.name), student=s.name,
                                                                          **{HOME_LABEL: "true"})}
    if s.email:
        home_ns["metadata"]["annotations"] = {EMAIL_ANNOTATION: s.email}
    objs = [home_ns,
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(SERVICE_ACCOUNT, home(s.name), s.name)}]
    objs += [{"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns, student=s.name)} for ns in namespaces]
    objs.append(_rbac("ClusterRole", own, student=s.name, rules=[
        # a lab's Namespace manifest (labels) is applied by the student: only their own namespaces
        {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": namespaces,
         "verbs": ["get", "patch", "update"]},
        {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": shared, "verbs": ["get"]},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": _READ},
    ]))
    objs.append(_rbac("ClusterRoleBinding", own, student=s.name, subjects=[sa],
                      roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": own}))
    for ns, role in [(ns, STUDENT_ROLE) for ns in namespaces] + [(ns, READER_ROLE) for ns in shared]:
        objs.append(_rbac("RoleBinding", own, ns, s.name, subjects=[sa],
                          roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}))
    return objs


def _shared_steps(labs: list[Lab]) -> tuple[Lab, tuple[Step, ...]] | None:
    """The shared setup of the class's labs (applies and the waits on what they make), once."""
    seen: set[str] = set()
    steps: list[Step] = []
    for lab in labs:
        for s in lab.setup:
            key = str(s.args.get("path")) if s.type == "apply" else repr(sorted(s.args.items()))
            wanted = s.shared or (s.type == "wait" and s.args.get("namespace") in S.SHARED_NAMESPACES)
            if wanted and key not in seen:
                seen.add(key)
                steps.append(s)
    return (labs[0], tuple(steps)) if labs and steps else None


def create(cluster: Cluster, students: list[Student], out_dir: Path, labs: list[Lab], flavour: str | None,
           progress: lifecycle.Progress) -> list[Path]:
    """Make (or bring up to date) every student's namespaces, rights and kubeconfig; idempotent."""
    labs = class_labs(labs)
    decided = lifecycle.decide_flavour(cluster, flavour)
    shared = _shared_steps([lab for lab in labs if decided in lab.flavours])
    if shared:
        lifecycle.run_shared(shared[0], shared[1], cluster, decided, progress)
    shared_ns = [ns for ns in sorted(S.SHARED_NAMESPACES) if cluster.get("v1", "Namespace", ns) is not None]
    for obj in class_roles():
        with progress.step(f"Ensuring ClusterRole {obj['metadata']['name']}"):
            cluster.apply(obj, manager=MANAGER)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for s in students:
        for obj in student_objects(s, student_namespaces(labs, s.name), shared_ns):
            md = obj["metadata"]
            where = f" in {md['namespace']}" if md.get("namespace") else ""
            if obj["kind"] == "Namespace":  # a class deleted just before: its namespaces may still be going
                lifecycle.wait_namespace_free(cluster, md["name"], progress)
            with progress.step(f"Ensuring {obj['kind']} {md['name']}{where}"):
                cluster.apply(obj, manager=MANAGER)
        with progress.step(f"Writing {out_dir / (s.name + '.kubeconfig')}"):
            files.append(_write_kubeconfig(cluster, s, out_dir, student_namespaces(labs, s.name)))
    return files


def _token(cluster: Cluster, name: str) -> str:
    """A token for the student's ServiceAccount: the TokenRequest API (Kubernetes >= 1.20 with a
    signing key), else a legacy kubernetes.io/service-account-token Secret filled by the token
    controller (kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/)."""
    ns = home(name)
    try:
        out = cluster.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts/{SERVICE_ACCOUNT}/token",
                              body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                    "spec": {"expirationSeconds": TOKEN_SECONDS}})
        token = (out.get("status") or {}).get("token")
        if token:
            return token
    except ClusterError:
        pass
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
              "metadata": {**_meta(f"{SERVICE_ACCOUNT}-token", ns, name),
                           "annotations": {"kubernetes.io/service-account.name": SERVICE_ACCOUNT}}}
    cluster.apply(secret, manager=MANAGER)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = cluster.get("v1", "Secret", f"{SERVICE_ACCOUNT}-token", ns) or {}
        if (got.get("data") or {}).get("token"):
            return base64.b64decode(got["data"]["token"]).decode()
        time.sleep(0.5)
    raise ClassError(f"no token for ServiceAccount {SERVICE_ACCOUNT} in {ns}: the TokenRequest API failed and the "
                     "token controller filled no Secret in 30 s; check kube-controller-manager")


def _cluster_entry(target: Target) -> dict:
    from grader import transport as T
    if target.in_cluster or not target.kubeconfig:
        raise ClassError("lab class create needs the instructor's kubeconfig (not the in-cluster account) "
                         "to write the students' kubeconfigs")
    cfg = T.load_kubeconfig(target.kubeconfig.split(":"), target.context)
    entry = {k: v for k, v in cfg["cluster"].items() if k != "certificate-authority"}
    if cfg["cluster"].get("certificate-authority"):
        ca = Path(cfg["cluster_base"], cfg["cluster"]["certificate-authority"]).read_bytes()
        entry["certificate-authority-data"] = base64.b64encode(ca).decode()
    return entry


def _write_kubeconfig(cluster: Cluster, s: Student, out_dir: Path, namespaces: list[str]) -> Path:
    name = f"lab-{s.name}"
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": name, "preferences": {},
           "clusters": [{"name": name, "cluster": _cluster_entry(cluster.target)}],
           "users": [{"name": name, "user": {"token": _token(cluster, s.name)}}],
           "contexts": [{"name": name, "context": {
               "cluster": name, "user": name, "namespace": namespaces[0] if namespaces else home(s.name),
               "extensions": [{"name": S.STUDENT_EXTENSION, "extension": {"name": s.name}}]}}]}
    path = out_dir / f"{s.name}.kubeconfig"
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


# what `class delete` removes, namespaces last (they take their contents): (Kind, apiVersion, collection path)
_RBAC = "rbac.authorization.k8s.io/v1"
_OWNED = (("RoleBinding", _RBAC, f"/apis/{_RBAC}/rolebindings"),
          ("ClusterRoleBinding", _RBAC, f"/apis/{_RBAC}/clusterrolebindings"),
          ("ClusterRole", _RBAC, f"/apis/{_RBAC}/clusterroles"), ("Namespace", "v1", "/api/v1/namespaces"))


def delete(cluster: Cluster, progress: lifecycle.Progress) -> int:
    """Delete every object labelled CLASS_LABEL (namespaces with what is in them); the count."""
    count = 0
    for kind, api_version, path in _OWNED:
        out = cluster.request("GET", path, query=[("labelSelector", f"{CLASS_LABEL}=true")])
        for it in out.get("items", []):
            md = it["metadata"]
            where = f" in {md['namespace']}" if md.get("namespace") else ""
            with progress.step(f"Deleting {kind} {md['name']}{where}"):
                cluster.delete(api_version, kind, md["name"], md.get("namespace"))
            count += 1
    return count


def members(cluster: Cluster) -> list[dict]:
    """[{name, email, namespaces}] from the class's namespaces."""
    nss = cluster.list(K.NAMESPACE, label_selector=f"{CLASS_LABEL}=true")
    rows: dict[str, dict] = {}
    for ns in nss:
        md = ns["metadata"]
        name = (md.get("labels") or {}).get(S.STUDENT_LABEL)
        if not name or md.get("deletionTimestamp"):
            continue  # not a student's, or on its way out (lab class delete)
        row = rows.setdefault(name, {"name": name, "email": "", "namespaces": []})
        if (md.get("labels") or {}).get(HOME_LABEL) == "true":
            row["email"] = (md.get("annotations") or {}).get(EMAIL_ANNOTATION, "")
        else:
            row["namespaces"].append(md["name"])
    return sorted(rows.values(), key=lambda r: r["name"])


def grade(lab: Lab, cluster: Cluster, students: list[str], flavour: str | None) -> list[tuple[str, LabReport]]:
    """Every student's copy of the lab judged against ONE snapshot of the cluster: one LIST per
    kind the checks read, whatever the size of the class."""
    return _grade(lab, cluster, students, flavour)[0]


def watch(lab: Lab, cluster: Cluster, flavour: str | None,
          emit: Callable[[list[tuple[str, LabReport]], str | None], None], settle: float = 0.5) -> None:
    """Grade the class, then again each time an object the checks read changes (as
    grading.watch does for one student); runs until interrupted."""
    cause: str | None = None
    while True:
        rows, snap = _grade(lab, cluster, [m["name"] for m in members(cluster)], flavour)
        emit(rows, cause)
        cause = grading.next_change(cluster, snap, settle)


def _grade(lab: Lab, cluster: Cluster, students: list[str], flavour: str | None
           ) -> tuple[list[tuple[str, LabReport]], Snapshot]:
    start = time.perf_counter()
    if not students:
        raise ClassError("no students in the class on this cluster; run lab class create ROSTER.csv first")
    unsafe = S.class_unsafe(lab)
    if unsafe:
        raise ClassError(f"lab {lab.name} cannot run in a class: {unsafe}")
    theirs = [(s, S.for_student(lab, s, checked=True)) for s in students]  # class_unsafe read the files once
    namespaces = [ns for _, sl in theirs for ns in sl.owns] + sorted(S.SHARED_NAMESPACES)
    snap = grading.read_cluster(cluster, grading.kinds_read_by(lab), namespaces, flavour)
    judged = [(s, grading.judge(sl, snap)) for s, sl in theirs]
    elapsed = time.perf_counter() - start
    return [(s, grading.report_of(lab, results, snap, sl.namespace, elapsed))
            for (s, results), (_, sl) in zip(judged, theirs, strict=True)], snap
