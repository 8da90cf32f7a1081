"""Manifests a lab applies: reading YAML files, choosing them by flavour, ordering them, and
preparing each object (lab labels, engine annotations removed) before the lifecycle applies it.
Pure functions of the files; the cluster is the lifecycle's business (grader/lifecycle.py)."""

from __future__ import annotations

import copy
from pathlib import Path

from grader import yamlio
from grader.errors import UserError

LAB_LABEL = "lab.grader/lab"  # on every object a lab creates: `finish` deletes by it
SHARED_LABEL = "lab.grader/shared"  # on objects several labs share (the control plane): `finish` keeps them
FLAVOUR_ANNOTATION = "lab.grader/flavours"  # on a manifest: apply it only for these flavours
# On a manifest: "<apiVersion> <Kind> [<label selector>]"; the object is not applied when such an
# object exists in its namespace (e.g. a Subscription when the operator's CSV is installed under
# another Subscription, or the SMCP when the cluster already has a control plane).
UNLESS_ANNOTATION = "lab.grader/unless-exists"


class ManifestError(UserError):
    """A manifest file cannot be read or is malformed; str() names the file (and line)."""


def read(path: Path) -> list[dict]:
    """The mapping documents of a YAML file, or of every *.yaml/*.yml under a folder (sorted)."""
    import yaml  # only the lifecycle verbs read manifests: grading does not pay for PyYAML

    files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
    docs: list[dict] = []
    for f in files:
        try:
            docs.extend(d for d in yamlio.load_all(f.read_text()) if isinstance(d, dict))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise ManifestError(f"{f}{where}: invalid YAML ({getattr(e, 'problem', None) or e})") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ManifestError(f"{f}: cannot read it ({e})") from None
    return docs


_ORDER = ("CustomResourceDefinition", "Namespace", "ServiceAccount", "Role", "ClusterRole", "RoleBinding",
          "ClusterRoleBinding", "ConfigMap", "Secret", "OperatorGroup", "Subscription")


def apply_order(objs: list[dict]) -> list[dict]:
    """Namespaces and CRDs before what lives in them (stable otherwise)."""
    def rank(o: dict) -> int:
        k = o.get("kind", "")
        return _ORDER.index(k) if k in _ORDER else len(_ORDER)
    return sorted(objs, key=rank)


def for_flavour(obj: dict, flavour: str) -> bool:
    """Whether a manifest applies to the flavour (its flavours annotation, when it has one)."""
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    allowed = ann.get(FLAVOUR_ANNOTATION)
    return allowed is None or flavour in [a.strip() for a in allowed.split(",")]


def prepare(obj: dict, lab_name: str, shared: bool) -> dict:
    """A copy of the manifest as it is applied: the engine's annotations removed, the lab's
    label (or the shared label) added, the ports' protocol made explicit."""
    obj = copy.deepcopy(obj)
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
        labels[LAB_LABEL] = lab_name
    default_protocols(obj)
    return obj


def default_protocols(obj: dict) -> None:
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


def unless_exists(obj: dict) -> tuple[str, str, str] | None:
    """(apiVersion, Kind, label selector) of the manifest's unless-exists annotation, if any."""
    md = obj.get("metadata") or {}
    spec = str((md.get("annotations") or {}).get(UNLESS_ANNOTATION) or "").split(maxsplit=2)
    if not spec:
        return None
    if len(spec) < 2:
        raise ManifestError(f"{describe(obj)}: annotation {UNLESS_ANNOTATION} must be "
                            "'<apiVersion> <Kind> [<label selector>]'")
    return spec[0], spec[1], spec[2] if len(spec) > 2 else ""


def describe(obj: dict) -> str:
    """`Kind name in namespace`, as progress lines say it."""
    md = obj.get("metadata") or {}
    ns = f" in {md['namespace']}" if md.get("namespace") else ""
    return f"{obj.get('kind')} {md.get('name')}{ns}"
