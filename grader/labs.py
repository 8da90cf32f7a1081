"""Lab definitions: one folder per lab in labs/ (lab.yaml, task.md, setup manifests)
and one per lab in solutions/ (solution.yaml and manifests). Loading validates them
and reports a malformed file with file, field and reason."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import checks as C
from grader import yamlio
from grader.errors import UserError
from grader.flavour import FLAVOURS

PACKAGE_ROOT = Path(__file__).resolve().parent
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
STEP_TYPES = ("apply", "wait", "delete", "label", "annotate", "restart")


class LabError(UserError):
    """A lab is missing or malformed; str() names file, field and reason."""


def data_root() -> Path:
    """Where labs/ and solutions/ live: $LAB_DATA_DIR (an instructor's own labs), inside the
    installed package, or the source tree."""
    import os
    if env := os.environ.get("LAB_DATA_DIR"):
        if not (Path(env) / "labs").is_dir():
            raise LabError(f"LAB_DATA_DIR={env} has no labs/ folder")
        return Path(env)
    for root in (PACKAGE_ROOT / "data", PACKAGE_ROOT.parent):
        if (root / "labs").is_dir():
            return root
    raise LabError(f"no labs/ folder found next to {PACKAGE_ROOT}; reinstall the package")


@dataclass(frozen=True)
class Step:
    type: str
    args: dict
    flavours: tuple[str, ...]
    shared: bool  # objects applied by this step survive `finish` (e.g. the mesh control plane)
    title: str


@dataclass(frozen=True)
class CheckSpec:
    id: str
    check: str
    points: int
    description: str
    params: dict
    hint: str


@dataclass
class Lab:
    name: str
    title: str
    step: str  # the guide's step, as the guide says it ("8", "4-5")
    order: int  # position in `lab list`
    namespace: str
    owns: tuple[str, ...]
    pass_mark: int
    flavours: tuple[str, ...]
    setup: tuple[Step, ...]
    cleanup: tuple[Step, ...]  # extra steps of `finish` (and of the reset `start` begins with)
    solution: tuple[Step, ...]
    checks: tuple[CheckSpec, ...]
    task_file: Path
    requires: tuple[str, ...] = ()  # API groups the cluster must serve beyond the flavour's (e.g. maistra.io)
    student: str | None = None  # set by grader.student.for_student: the lab as one student of a class runs it
    renames: dict[str, str] = field(default_factory=dict)  # owned namespace -> the student's

    @property
    def total(self) -> int:
        return sum(c.points for c in self.checks)

    def task(self) -> str:
        return self.task_file.read_text()

    def params_for(self, spec: CheckSpec, namespace: str | None = None) -> dict:
        return substitute(spec.params, {"namespace": namespace or self.namespace})


def substitute(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


def lab_names(root: Path | None = None) -> list[str]:
    root = root or data_root()
    return sorted(p.name for p in (root / "labs").iterdir()
                  if p.is_dir() and not p.name.startswith(("_", ".")) and (p / "lab.yaml").exists())


def load_all(root: Path | None = None) -> list[Lab]:
    return [load(n, root) for n in lab_names(root)]


def load(name: str, root: Path | None = None) -> Lab:
    root = root or data_root()
    names = lab_names(root)
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; 'lab list' shows the labs"
        raise LabError(f"unknown lab '{name}'{hint}")
    lab_dir = root / "labs" / name
    meta_file = lab_dir / "lab.yaml"
    meta = _read_yaml(meta_file)
    v = _Validator(meta_file)
    if not isinstance(meta, dict):
        v.fail("(top level)", "expected a mapping")
    v.require(meta, "title", str)
    if meta.get("name", name) != name:
        v.fail("name", f"is {meta.get('name')!r} but the folder is {name!r}")
    step = meta.get("step")
    if not isinstance(step, (int, str)):
        v.fail("step", "expected the guide step number (e.g. 8)")
    order = meta.get("order", 1000)
    if not isinstance(order, int) or isinstance(order, bool):
        v.fail("order", "expected an integer: the lab's position in 'lab list' (e.g. 70)")
    namespace = v.require(meta, "namespace", str)
    owns = meta.get("owns", [namespace])
    if not isinstance(owns, list) or not all(isinstance(o, str) for o in owns):
        v.fail("owns", "expected a list of namespace names")
    flavours = tuple(meta.get("flavours", FLAVOURS))
    for f in flavours:
        if f not in FLAVOURS:
            v.fail("flavours", f"unknown flavour {f!r}; use {', '.join(FLAVOURS)}")

    requires = meta.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(g, str) and g for g in requires):
        v.fail("requires", "expected a list of API groups the cluster must serve, e.g. [maistra.io]")

    if (lab_dir / "checks.py").exists():
        raise LabError(f"{lab_dir / 'checks.py'}: a lab cannot bring its own check types; add the check type to "
                       "the library (grader/checks, documented in CHECKS.md) and use it from lab.yaml")
    checks = tuple(_check_spec(v, i, c) for i, c in enumerate(_list(v, meta, "checks")))
    if not checks:
        v.fail("checks", "a lab needs at least one check")
    ids = [c.id for c in checks]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        v.fail("checks", f"duplicate check ids: {', '.join(sorted(dupes))}")
    total = sum(c.points for c in checks)
    pass_mark = meta.get("pass_mark", total)
    if not isinstance(pass_mark, int) or not 0 < pass_mark <= total:
        v.fail("pass_mark", f"expected an integer between 1 and the total of points ({total})")

    setup = tuple(_step(v, f"setup[{i}]", s, lab_dir) for i, s in enumerate(_list(v, meta, "setup")))
    cleanup = tuple(_step(v, f"cleanup[{i}]", s, lab_dir) for i, s in enumerate(_list(v, meta, "cleanup")))
    sol_dir = root / "solutions" / name
    sol_file = sol_dir / "solution.yaml"
    if not sol_file.exists():
        raise LabError(f"{sol_file}: missing; every lab needs a reference solution")
    sol_meta = _read_yaml(sol_file)
    sv = _Validator(sol_file)
    if not isinstance(sol_meta, dict):
        sv.fail("(top level)", "expected a mapping with 'steps'")
    solution = tuple(_step(sv, f"steps[{i}]", s, sol_dir) for i, s in enumerate(_list(sv, sol_meta, "steps")))
    task_file = lab_dir / "task.md"
    if not task_file.exists():
        raise LabError(f"{task_file}: missing; every lab needs a task description")
    return Lab(name=name, title=meta["title"], step=str(step), order=order, namespace=namespace, owns=tuple(owns),
               pass_mark=pass_mark, flavours=flavours, setup=setup, cleanup=cleanup, solution=solution, checks=checks,
               task_file=task_file, requires=tuple(requires))


def _read_yaml(path: Path) -> Any:
    try:
        return yamlio.load_file(path)
    except FileNotFoundError:
        raise LabError(f"{path}: missing") from None
    except Exception as e:
        import yaml  # here only: a cached parse needs no PyYAML at all

        if not isinstance(e, yaml.YAMLError):
            raise
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise LabError(f"{path}{where}: invalid YAML ({getattr(e, 'problem', e)})") from None


class _Validator:
    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, fld: str, reason: str) -> None:
        raise LabError(f"{self.file}: field '{fld}': {reason}")

    def require(self, d: dict, key: str, typ: type, where: str = "") -> Any:
        fld = f"{where}.{key}" if where else key
        if key not in d:
            self.fail(fld, "is required")
        if not isinstance(d[key], typ) or (typ is int and isinstance(d[key], bool)):
            self.fail(fld, f"expected {typ.__name__}, found {type(d[key]).__name__}")
        return d[key]


def _list(v: _Validator, d: dict, key: str) -> list:
    value = d.get(key, [])
    if not isinstance(value, list):
        v.fail(key, "expected a list")
    return value


def _check_spec(v: _Validator, i: int, c: Any) -> CheckSpec:
    where = f"checks[{i}]"
    if not isinstance(c, dict):
        v.fail(where, "expected a mapping with id, check, points")
    cid = v.require(c, "id", str, where)
    if not ID_RE.match(cid):
        v.fail(f"{where}.id", f"{cid!r} is not kebab-case (e.g. traffic-split)")
    name = v.require(c, "check", str, where)
    try:
        ctype = C.get(name)
    except KeyError:
        known = sorted(C.REGISTRY)
        close = difflib.get_close_matches(name, known, n=1)
        v.fail(f"{where}.check", f"unknown check {name!r}" + (f"; did you mean {close[0]!r}?" if close else ""))
        raise
    points = v.require(c, "points", int, where)
    if points < 0:
        v.fail(f"{where}.points", "must be 0 or more")
    params = c.get("params", {})
    if not isinstance(params, dict):
        v.fail(f"{where}.params", "expected a mapping")
    known_params = set(ctype.params)
    unknown = set(params) - known_params
    if unknown:
        v.fail(f"{where}.params", f"unknown parameter(s) {', '.join(sorted(unknown))} for check {name!r}; "
                                  f"it takes {', '.join(sorted(known_params))}")
    missing = ctype.required_params() - set(params)
    if missing:
        v.fail(f"{where}.params", f"missing parameter(s) {', '.join(sorted(missing))} for check {name!r}")
    return CheckSpec(id=cid, check=name, points=points, description=str(c.get("description", ctype.description)),
                     params=params, hint=str(c.get("hint", "")))


def _step(v: _Validator, where: str, s: Any, base: Path) -> Step:
    if not isinstance(s, dict):
        v.fail(where, f"expected a mapping with one of {', '.join(STEP_TYPES)}")
    types = [t for t in STEP_TYPES if t in s]
    if len(types) != 1:
        v.fail(where, f"expected exactly one of {', '.join(STEP_TYPES)}")
    typ = types[0]
    args = s[typ]
    if typ == "apply":
        if not isinstance(args, str):
            v.fail(f"{where}.apply", "expected a file or folder path")
        path = (base / args).resolve()
        if not path.exists():
            v.fail(f"{where}.apply", f"{path} does not exist")
        args = {"path": path, "values": _lookups(v, f"{where}.values", s.get("values", {}))}
    elif not isinstance(args, dict):
        v.fail(f"{where}.{typ}", "expected a mapping")
    elif typ in ("delete", "wait"):
        # by name, or (delete: every, wait: any) object matching a label selector, e.g. OLM's
        # operators.coreos.com/<package>.<namespace> label, whatever the CSV's version is
        if "kind" not in args:
            v.fail(f"{where}.{typ}.kind", "is required")
        if ("name" in args) == ("selector" in args):
            v.fail(f"{where}.{typ}", "expected exactly one of name, selector")
        if "selector" in args and not (isinstance(args["selector"], str) and args["selector"].strip()):
            v.fail(f"{where}.{typ}.selector", "expected a label selector string, e.g. app=web")
        if typ == "wait" and "selector" in args and args.get("for") == "deleted":
            v.fail(f"{where}.wait.for", "a wait by selector waits for any object to be ready; name one to wait "
                                        "for its deletion")
    elif typ in ("label", "annotate", "restart"):
        for key in ("kind", "name"):
            if key not in args:
                v.fail(f"{where}.{typ}.{key}", "is required")
    flavours = tuple(s.get("flavours", FLAVOURS))
    return Step(type=typ, args=args, flavours=flavours, shared=bool(s.get("shared", False)),
                title=str(s.get("title", "")))


@dataclass(frozen=True)
class Lookup:
    """A value read from the live cluster when a step runs: `field` of one object, a path as
    the resource-field check reads it (spec.host, spec.ports[0].port, dotted annotation keys);
    or, with `promql`, the number that query answers now in the mesh's Prometheus (0 without data)."""

    api_version: str
    kind: str
    name: str
    namespace: str | None
    field: str
    promql: str = ""

    def describe(self) -> str:
        if self.promql:
            return f"Prometheus query {self.promql}"
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


def _lookups(v: _Validator, where: str, raw: Any) -> dict[str, Lookup]:
    """`values:` of an apply step: NAME -> {apiVersion, kind, name, namespace, field}; the
    manifests' ${NAME} placeholders get the field's live value (e.g. a Route's spec.host,
    which differs from cluster to cluster). NAME -> {prometheus: QUERY}: what the query
    answers now (a solution's record of a query result)."""
    if not isinstance(raw, dict):
        v.fail(where, "expected a mapping of NAME: {apiVersion, kind, name, namespace, field}")
    out = {}
    for key, spec in raw.items():
        here = f"{where}.{key}"
        if not (isinstance(key, str) and re.fullmatch(r"\w+", key)):
            v.fail(here, "a value name must be letters, digits and underscores (used as ${NAME})")
        if not isinstance(spec, dict):
            v.fail(here, "expected a mapping with apiVersion, kind, name, namespace and field")
        if "prometheus" in spec:
            if set(spec) != {"prometheus"} or not isinstance(spec["prometheus"], str) or not spec["prometheus"].strip():
                v.fail(f"{here}.prometheus", "expected a PromQL query (a string) and nothing else")
            out[key] = Lookup(api_version="", kind="", name="", namespace=None, field="",
                              promql=" ".join(spec["prometheus"].split()))
            continue
        for req in ("kind", "name", "field"):
            if not isinstance(spec.get(req), str) or not spec[req]:
                v.fail(f"{here}.{req}", "is required (a string)")
        out[key] = Lookup(api_version=str(spec.get("apiVersion", "v1")), kind=spec["kind"], name=spec["name"],
                          namespace=spec.get("namespace"), field=spec["field"])
    return out
