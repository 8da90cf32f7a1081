"""A lab for one student of a class: the lab's owned namespaces renamed `<student>-<namespace>`
everywhere they appear (check params, step arguments, manifests, task text), so that several
students practise the same lab on one cluster. Pure functions; no cluster here.

A name is renamed where it stands as a whole DNS label: `webapp`, `web.webapp.svc.cluster.local`,
`webapp/web-gateway` (a Gateway reference, istio.io/latest/docs/reference/config/networking/
virtual-service/#VirtualService-gateways), never inside another word (`webapp2`, `my-webapp`).

A lab is *class-safe* when nothing it writes outside the shared steps (which the instructor
applies once with `lab class create`) lies outside its owned namespaces; others change what
every student shares (operators, the control plane, the member roll) and are refused in a class.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from grader import manifests as M
from grader.errors import UserError
from grader.labs import Lab, Step

if TYPE_CHECKING:
    from grader.cluster import Target

STUDENT_EXTENSION = "lab.grader/student"  # kubeconfig context extension naming the student

STUDENT_LABEL = "lab.grader/student"  # on every object a student's lab creates, and on the class's own objects
# A student name becomes part of namespace names: a DNS-1123 label, short enough for `<name>-<namespace>`.
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME = 30
# Where the shared parts live in the labs' own manifests (labs/_base/control-plane): the
# operators' namespace and the control plane's (OSSM 2.x docs: istio-system by default).
SHARED_NAMESPACES = frozenset({"openshift-operators", "istio-system"})


class StudentError(UserError):
    """A student name or a lab cannot be used in a class; str() is one line."""


def check_name(name: str) -> str:
    if not NAME_RE.match(name) or len(name) > MAX_NAME:
        raise StudentError(f"student name {name!r} is not usable in namespace names: use lowercase letters, "
                           f"digits and '-', at most {MAX_NAME} characters, starting and ending with a letter or digit")
    return name


def namespace_for(student: str, namespace: str) -> str:
    return f"{student}-{namespace}"


def renames_for(lab: Lab, student: str) -> dict[str, str]:
    return {ns: namespace_for(student, ns) for ns in lab.owns}


def _pattern(renames: dict[str, str]) -> re.Pattern[str] | None:
    if not renames:
        return None
    names = "|".join(re.escape(n) for n in sorted(renames, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_-])({names})(?![A-Za-z0-9_-])")


def rename(value: Any, renames: dict[str, str]) -> Any:
    """`value` (a string, or lists/dicts of them: mapping values only, keys stay) with every
    whole-label occurrence of a renamed namespace replaced."""
    pattern = _pattern(renames)
    if pattern is None:
        return value

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return pattern.sub(lambda m: renames[m.group(1)], v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v
    return walk(value)


def rename_step(step: Step, renames: dict[str, str]) -> Step:
    """A step with the namespaces (or names) in `renames` renamed in its arguments and title."""
    args = dict(step.args)
    if step.type == "apply":
        args["values"] = {k: dataclasses.replace(lk, namespace=rename(lk.namespace, renames), name=rename(lk.name, renames),
                                                 promql=rename(lk.promql, renames))
                          for k, lk in args["values"].items()}
        return dataclasses.replace(step, args=args, title=rename(step.title, renames))
    return dataclasses.replace(step, args=rename(args, renames), title=rename(step.title, renames))


def for_student(lab: Lab, student: str, checked: bool = False) -> Lab:
    """The lab as `student` runs it: owned namespaces renamed everywhere, objects labelled with
    the student. Refuses a lab that is not class-safe (`checked`: the caller has made sure)."""
    check_name(student)
    unsafe = "" if checked else class_unsafe(lab)
    if unsafe:
        raise StudentError(f"lab {lab.name} cannot run in a class: {unsafe}")
    renames = renames_for(lab, student)
    return dataclasses.replace(
        lab, namespace=rename(lab.namespace, renames), owns=tuple(renames[n] for n in lab.owns),
        title=rename(lab.title, renames),
        setup=tuple(rename_step(s, renames) for s in lab.setup), cleanup=tuple(rename_step(s, renames) for s in lab.cleanup),
        solution=tuple(rename_step(s, renames) for s in lab.solution),
        checks=tuple(dataclasses.replace(c, params=rename(c.params, renames), description=rename(c.description, renames),
                                         hint=rename(c.hint, renames)) for c in lab.checks),
        student=student, renames={**lab.renames, **renames})


def prepare(obj: dict, lab: Lab) -> dict:
    """A manifest as this student applies it (or as the lab applies it on the cluster's own
    control plane, grader.controlplane): renamed, and labelled with the student."""
    if not lab.renames:
        return obj
    obj = rename(obj, lab.renames)
    if lab.student:
        md = obj.setdefault("metadata", {})
        md["labels"] = {**(md.get("labels") or {}), STUDENT_LABEL: lab.student}
    return obj


def _namespaces_of_step(step: Step) -> list[tuple[str, str | None]]:
    """(what, namespace) for everything a step writes; namespace None = cluster-scoped."""
    if step.type == "wait":
        return []
    if step.type == "apply":
        out = []
        for o in M.read(step.args["path"]):
            md = o.get("metadata") or {}
            if o.get("kind") == "Namespace":
                out.append((M.describe(o), md.get("name")))
            else:
                out.append((M.describe(o), md.get("namespace")))
        return out
    a = step.args
    what = f"{step.type} {a.get('kind')} {a.get('name') or a.get('selector')}"
    if a.get("kind") == "Namespace":
        return [(what, a.get("name"))]
    return [(what, a.get("namespace"))]


def shared_namespaces(lab: Lab) -> set[str]:
    """Namespaces the lab's shared steps write to (the operators', the control plane's)."""
    return {ns for steps in (lab.setup, lab.cleanup, lab.solution) for s in steps if s.shared
            for _, ns in _namespaces_of_step(s) if ns}


def class_unsafe(lab: Lab) -> str:
    """Why the lab cannot run per student ('' when it can): it owns a shared namespace (one
    that the shared steps write to), or writes outside its owned namespaces; shared steps
    themselves are applied once by the instructor."""
    if lab.student:
        return ""  # already renamed for a student, so checked
    if not lab.owns:
        return "it owns no namespace (it changes cluster-wide state)"
    common = sorted(set(lab.owns) & (shared_namespaces(lab) | SHARED_NAMESPACES))
    if common:
        return f"it owns namespace {common[0]}, which every student shares"
    for steps in (lab.setup, lab.cleanup, lab.solution):
        for step in steps:
            if step.shared:
                continue
            for what, ns in _namespaces_of_step(step):
                if ns not in lab.owns:
                    where = f"namespace {ns}" if ns else "the cluster scope"
                    return f"{what} writes to {where}, which every student shares"
    return ""


def student_of(target: Target) -> str | None:
    """The student a kubeconfig belongs to (its context's lab.grader/student extension), if any."""
    from grader import transport as T
    if target.in_cluster or not target.kubeconfig:
        return None
    try:
        ctx = T.load_kubeconfig(target.kubeconfig.split(":"), target.context)["context_entry"]
    except (T.ConfigError, OSError):
        return None
    for ext in ctx.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == STUDENT_EXTENSION:
            name = (ext.get("extension") or {}).get("name")
            return check_name(str(name)) if name else None
    return None
