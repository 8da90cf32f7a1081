"""The check library: named, parameterised check functions judged against a Snapshot.

A check type is registered once by name and used by any number of labs through
their lab.yaml (``check: <name>`` plus ``params``). Check functions are pure: they
read only the Snapshot, never the cluster, never print, never exit.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from grader.kinds import Kind
from grader.model import Outcome

CheckFn = Callable[..., Outcome]


@dataclass(frozen=True)
class CheckType:
    name: str
    fn: CheckFn
    reads: tuple[Kind, ...]
    description: str

    @property
    def params(self) -> dict[str, inspect.Parameter]:
        sig = inspect.signature(self.fn)
        return dict(list(sig.parameters.items())[1:])

    def required_params(self) -> set[str]:
        return {n for n, p in self.params.items() if p.default is inspect.Parameter.empty}


REGISTRY: dict[str, CheckType] = {}


def check_type(name: str, *, reads: list[Kind] | tuple[Kind, ...]) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn(snapshot, **params) -> Outcome`` under a stable kebab-case name."""

    def deco(fn: CheckFn) -> CheckFn:
        if name in REGISTRY and REGISTRY[name].fn is not fn:
            raise ValueError(f"check type {name!r} registered twice")
        REGISTRY[name] = CheckType(name, fn, tuple(reads), (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "")
        return fn

    return deco


def get(name: str) -> CheckType:
    load_builtin()
    return REGISTRY[name]


def load_builtin() -> None:
    """Import the built-in library modules (they register on import)."""
    import importlib

    for module in ("library", "platform", "workloads", "traffic"):
        try:
            importlib.import_module(f"grader.checks.{module}")
        except ModuleNotFoundError as e:
            if e.name != f"grader.checks.{module}":
                raise


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
