"""Generic check types: any field of any object the grader reads."""

from __future__ import annotations

from typing import Any

from grader import kinds as K
from grader.checks.framework import bad_param, check, str_params
from grader.model import Outcome, Status, failed, passed
from grader.objects import MISSING, json_equal, label_str, path_parts, ref, walk
from grader.snapshot import Snapshot
from grader.text import short


@check("resource-field", reads=list(K.ALL), needs=[])
def resource_field(snap: Snapshot, *, kind: str, name: str, path: str, expected: Any, namespace: str = "") -> Outcome:
    """An object's field at a dotted path (``spec.http.0.timeout``) equals the expected value.

    ``namespace`` is ignored for cluster-scoped kinds; ``spec.http[0]`` and dotted keys
    such as ``metadata.annotations.sidecar.istio.io/inject`` are understood.
    """
    bad = str_params(kind=kind, name=name, path=path)
    if bad:
        return bad
    try:
        k = K.by_name(kind)
    except KeyError:
        return bad_param("kind", kind, "a known kind, e.g. " + ", ".join(x.kind for x in K.ALL[:6]))
    if k.kind in snap.missing_kinds:
        return failed(
            f"the cluster does not serve {k.kind} ({k.group or 'core'})", "install the operator that provides it"
        )
    if k.kind not in snap.read_kinds:
        return Outcome(Status.ERROR, f"resource-field: kind {k.kind} was not read from the cluster")
    if k.namespaced and (not isinstance(namespace, str) or not namespace):
        return bad_param("namespace", namespace, "a non-empty string")
    obj = snap.get(k, name, namespace if k.namespaced else None)
    label = f"{k.kind} {namespace}/{name}" if k.namespaced else f"{k.kind} {name}"
    if obj is None:
        return failed(f"{label} not found", f"create {label}")
    parts = path_parts(path)
    found, used = walk(obj, parts)
    if found is MISSING:
        at = ".".join(parts[: used + 1]) if parts else path
        return failed(
            f"{ref(obj)} has no field {path} (missing at {at}); expected {short(expected)}",
            f"set {path} to {short(expected)}",
        )
    if json_equal(found, expected):
        return passed(f"{ref(obj)} {path} is {short(found)}")
    note = ""
    if label_str(found) == label_str(expected):
        note = f" (a {type(found).__name__}, not a {type(expected).__name__})"
    return failed(
        f"{ref(obj)} {path} is {short(found)}{note}; expected {short(expected)}",
        f"set {path} to {short(expected)}",
    )
