"""The check library: named, parameterised check functions judged against a Snapshot.

A check type is registered once by name (``@check`` in grader.checks.framework) and used
by any number of labs through their lab.yaml (``check: <name>`` plus ``params``). Check
functions are pure: they read only the Snapshot, never the cluster, never print, never
exit. Every module of this package is imported by ``load_builtin`` (found with pkgutil,
no list to keep): a new check module registers its check types by being there.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from grader.checks.framework import REGISTRY, CheckFn, CheckType, check

__all__ = ["REGISTRY", "CheckFn", "CheckType", "catalogue", "check", "get", "load_builtin"]


def load_builtin() -> None:
    """Import every module of this package (check modules register on import)."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def get(name: str) -> CheckType:
    load_builtin()
    return REGISTRY[name]


def catalogue(labs: list | None = None) -> list[dict]:
    """Every check type as data: name, description (the docstring's first paragraph), params
    (required first), kinds read, and the labs (with check ids) that use it."""
    load_builtin()
    used: dict[str, list[str]] = {}
    for lab in labs or []:
        for spec in lab.checks:
            used.setdefault(spec.check, []).append(f"{lab.name}/{spec.id}")
    out = []
    for name in sorted(REGISTRY):
        ct = REGISTRY[name]
        doc = inspect.getdoc(ct.fn) or ""
        params = [{"name": n, "required": p.default is inspect.Parameter.empty,
                   "default": None if p.default is inspect.Parameter.empty else p.default}
                  for n, p in ct.params.items()]
        out.append({
            "name": name,
            "description": " ".join(doc.split("\n\n")[0].split()),
            "params": sorted(params, key=lambda p: not p["required"]),
            "reads": sorted({k.kind for k in ct.reads}),
            "used_by": used.get(name, []),
        })
    return out
