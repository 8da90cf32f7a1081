"""Helpers shared by the check tests: the solved lab cluster plus YAML variants on top."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

from grader.checks import REGISTRY, load_builtin
from grader.model import Outcome
from grader.snapshot import Snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"
SHARED = Path(__file__).resolve().parents[3] / "shared"
BASE = ("cluster", "webapp")


@functools.cache
def _parsed(path: Path) -> tuple[dict, ...]:
    files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: list[dict] = []
    for f in files:
        out.extend(d for d in yaml.load_all(f.read_text(), Loader=loader) if isinstance(d, dict))
    return tuple(out)


def _docs(path: Path) -> list[dict]:
    """Fresh (deep-copied) documents of a fixture file or directory."""
    return copy.deepcopy(list(_parsed(path)))


def _key(obj: dict) -> tuple[str, str, str]:
    md = obj.get("metadata") or {}
    return obj.get("kind", ""), md.get("namespace") or "", md.get("name") or ""


def scenario(*variants: str, base: tuple[str, ...] = BASE) -> list[dict]:
    """Objects of the solved lab with each variant file's objects replacing (or adding to) them."""
    objs = [d for b in base for d in _docs(FIXTURES / b)]
    for v in variants:
        for new in _docs(FIXTURES / "variants" / v):
            objs = [o for o in objs if _key(o) != _key(new)] + [new]
    return objs


def snap_of(objs: list[dict], **kw) -> Snapshot:
    return Snapshot.from_objects(copy.deepcopy(objs), **kw)


def find(objs: list[dict], kind: str, name: str, namespace: str = "webapp") -> dict:
    for o in objs:
        if _key(o) == (kind, namespace, name):
            return o
    raise KeyError((kind, namespace, name))


def run(check: str, snap: Snapshot, **params) -> Outcome:
    load_builtin()
    return REGISTRY[check].fn(snap, **params)
