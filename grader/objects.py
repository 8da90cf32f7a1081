"""Tolerant accessors over Kubernetes objects as plain dicts (no I/O, no Istio rules).

Every function accepts ill-typed input (a string where a map is expected, None, a
missing field): what it cannot read counts as absent, and it never raises. Istio and
OpenShift Service Mesh semantics live in grader.mesh; wording of reasons in grader.text.
"""

from __future__ import annotations

from datetime import datetime, timezone
from fractions import Fraction
from typing import Any


def as_dict(value: Any) -> dict:
    """``value`` if it is a dict, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    """``value`` if it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def metadata_of(obj: Any) -> dict:
    return as_dict(as_dict(obj).get("metadata"))


def spec_of(obj: Any) -> dict:
    return as_dict(as_dict(obj).get("spec"))


def status_of(obj: Any) -> dict:
    return as_dict(as_dict(obj).get("status"))


def name_of(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def namespace_of(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "default")


def labels_of(obj: dict) -> dict:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels if isinstance(labels, dict) else {}


def annotations_of(obj: dict) -> dict:
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    return ann if isinstance(ann, dict) else {}


def ref(obj: dict) -> str:
    """Human name of an object, e.g. ``VirtualService webapp/web``."""
    kind = obj.get("kind", "object")
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    return f"{kind} {ns}/{md.get('name')}" if ns else f"{kind} {md.get('name')}"


def label_str(value: Any) -> str:
    """A label value as the API would hold it (YAML ``true`` -> ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def is_int(value: Any) -> bool:
    """True for a real integer (``bool`` is not one, neither is ``"80"``)."""
    return isinstance(value, int) and not isinstance(value, bool)


def json_number(value: Any) -> Fraction | None:
    """A JSON number as an exact Fraction (bool, strings, NaN and infinities are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        try:
            return Fraction(value)
        except (OverflowError, ValueError):
            return None
    return None


def creation_key(obj: dict) -> tuple:
    """Sort key: oldest first by metadata.creationTimestamp, then namespace/name.

    A missing or unreadable timestamp sorts first, like Go's zero time.
    """
    ts = metadata_of(obj).get("creationTimestamp")
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


def is_terminating(obj: dict) -> bool:
    return bool(metadata_of(obj).get("deletionTimestamp"))


# -- status conditions --------------------------------------------------------------------
def conditions(obj: Any) -> list[dict]:
    """``status.conditions`` entries that are maps."""
    return [c for c in as_list(status_of(obj).get("conditions")) if isinstance(c, dict)]


def condition(obj: Any, ctype: str) -> dict | None:
    """The first ``status.conditions`` entry of a type, or None."""
    return next((c for c in conditions(obj) if c.get("type") == ctype), None)


def is_true(cond: dict | None) -> bool:
    """A condition whose status is ``True``."""
    return cond is not None and label_str(cond.get("status")) == "True"


# -- paths ------------------------------------------------------------------------------------
MISSING: Any = object()  # what `walk` finds where a path leads nowhere (None is a value)


def path_parts(path: str) -> list[str]:
    """``spec.http[0].timeout`` -> ``["spec", "http", "0", "timeout"]``."""
    return [p for p in path.replace("[", ".").replace("]", "").split(".") if p != ""]


def walk(value: Any, parts: list[str]) -> tuple[Any, int]:
    """Value at ``parts`` (keys may themselves contain dots) and how many parts were consumed;
    ``MISSING`` when there is none."""
    if not parts:
        return value, 0
    if isinstance(value, list):
        head = parts[0]
        if head.lstrip("-").isdigit() and -len(value) <= int(head) < len(value):
            found, used = walk(value[int(head)], parts[1:])
            return found, used + 1
        return MISSING, 0
    if isinstance(value, dict):
        best = 0
        for j in range(1, len(parts) + 1):  # shortest key first, longer ones for dotted keys
            key = ".".join(parts[:j])
            if key in value:
                found, used = walk(value[key], parts[j:])
                if found is not MISSING:
                    return found, used + j
                best = max(best, used + j)
        return MISSING, best
    return MISSING, 0


def value_at(obj: Any, path: str) -> Any:
    """The value at a path as resource-field reads it (``spec.http[0].timeout``, dotted keys
    such as ``metadata.annotations.sidecar.istio.io/inject``), or None when there is none."""
    found, _ = walk(obj, path_parts(path))
    return None if found is MISSING else found


def json_equal(a: Any, b: Any) -> bool:
    """Equality of two JSON values by meaning: ``1 == 1.0``, but ``True != 1`` and ``"1" != 1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b
