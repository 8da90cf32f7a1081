"""The check framework: registration, the guard every check type runs behind, and the
helpers check types share to validate their parameters and to say what is missing.

A check type is ``fn(snapshot, **params) -> Outcome`` registered with ``@check``. The
guard makes three promises for every check type:

- a kind the check needs that the cluster does not serve is a FAIL naming the operator
  to install; a kind the grader did not read is an ERROR (a grader bug);
- a check that raises is an ERROR whose reason says the grader could not judge it: it
  awards no points and is never worded as the student's mistake (one policy, whichever
  path the exception takes; the engine applies the same to anything it calls);
- a parameter name the function does not take raises TypeError: that is a bug in the
  lab definition, which the engine reports as an ERROR too.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from grader.kinds import Kind
from grader.model import Outcome, Status, failed
from grader.snapshot import Snapshot
from grader.text import name_list, short

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


def _origin(fn: Callable) -> tuple[str, str]:
    fn = inspect.unwrap(fn)
    return fn.__module__, fn.__qualname__


def crashed(name: str, exc: BaseException) -> Outcome:
    """The outcome of a check that raised: an ERROR of the grader, not a failure of the student."""
    return Outcome(
        Status.ERROR,
        f"grader error: check {name} could not judge the cluster ({type(exc).__name__}: {short(str(exc), 120)}); "
        "this is a fault of the grader or of the lab definition, not a mistake in your work",
        "report it to the lab's maintainers with the output of lab grade -o json",
    )


def check(name: str, *, reads: Sequence[Kind], needs: Sequence[Kind] | None = None) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn(snapshot, **params) -> Outcome`` under a stable kebab-case name, behind the guard.

    ``reads`` are the kinds the grader must read for it; ``needs`` those without which
    it cannot judge at all (default: ``reads``). Registering another function under a
    name already taken raises; loading the same module again replaces its own entries.
    """
    required = tuple(reads if needs is None else needs)

    def deco(fn: CheckFn) -> CheckFn:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def guarded(snap: Snapshot, **params: Any) -> Outcome:
            sig.bind(snap, **params)  # a wrong parameter name is a lab-definition bug: let it raise
            unserved = [k for k in required if k.kind in snap.missing_kinds]
            if unserved:
                return unserved_kind(unserved[0], name)
            unread = [k.kind for k in required if k.kind not in snap.read_kinds]
            if unread:
                return Outcome(Status.ERROR, f"{name}: kinds not read from the cluster: {', '.join(unread)}")
            try:
                return fn(snap, **params)
            except Exception as exc:  # noqa: BLE001 - a check never raises on odd input
                return crashed(name, exc)

        taken = REGISTRY.get(name)
        if taken is not None and _origin(taken.fn) != _origin(fn):
            raise ValueError(f"check type {name!r} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        REGISTRY[name] = CheckType(name, guarded, tuple(reads), doc[0] if doc else "")
        return guarded

    return deco


# -- outcomes check types share -----------------------------------------------------------
def unserved_kind(kind: Kind, name: str) -> Outcome:
    return failed(
        f"the cluster does not serve {kind.kind} ({kind.group or 'core'}); cannot check {name}",
        f"install the operator that provides {kind.kind} (for Istio kinds: the Service Mesh operator and "
        "control plane)",
    )


def bad_param(name: str, value: Any, expected: str) -> Outcome:
    """A check parameter of the lab definition is wrong (not the student's doing)."""
    return failed(
        f"check parameter {name} is {short(value)}; expected {expected}",
        "fix the check parameters in the lab definition",
    )


def str_params(**values: Any) -> Outcome | None:
    """The first parameter that is not a non-empty string, as a failure; None when all are."""
    for key, value in values.items():
        if not isinstance(value, str) or not value.strip():
            return bad_param(key, value, "a non-empty string")
    return None


def int_param(name: str, value: Any, minimum: int = 0) -> Outcome | None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        return bad_param(name, value, f"an integer >= {minimum}")
    return None


def port_param(name: str, value: Any) -> Outcome | None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
        return bad_param(name, value, "a port number (1-65535)")
    return None


def others_in(snap: Snapshot, kind: Kind, namespace: str) -> str:
    """What a namespace holds of a kind instead: ``Gateways in webapp: a, b`` or ``namespace webapp has no Gateways``."""
    found = snap.list(kind, namespace)
    plural = kind.kind + "s"
    return f"{plural} in {namespace}: {name_list(found)}" if found else f"namespace {namespace} has no {plural}"


def not_found(snap: Snapshot, kind: Kind, namespace: str, name: str, hint: str = "", *, why: str = "") -> Outcome:
    """``<Kind> <ns>/<name> not found[<why>]; <what the namespace holds instead>``."""
    return failed(
        f"{kind.kind} {namespace}/{name} not found{why}; {others_in(snap, kind, namespace)}",
        hint or f"create {kind.kind} {name} in namespace {namespace}",
    )


def cli_name(snap: Snapshot) -> str:
    """The command-line tool the student uses on this cluster."""
    return "oc" if snap.openshift or snap.flavour in ("ossm2", "ossm3") else "kubectl"
