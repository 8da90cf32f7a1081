"""The shape every lab's integration test follows, driven by the lab's case file
(tests/integration/lifecycle/<lab>.yaml; its format: test_lab_lifecycle.py):

start → grade fails with exactly the expected checks → solve → full score → each wrong
answer fails exactly its expected checks, with reasons naming object and field → solve
repairs it → finish leaves nothing.

The same case files drive istioctl as an outside referee (tests/sandbox/test_istioctl.py):
their `istioctl` block says, case by case, what `istioctl analyze` reports on the
upstream-Istio flavour and which check of the grader fails on the same object.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from grader import kinds as K
from grader.checks.observed import PROBES
from grader.cluster import Cluster
from grader.labs import Lab, data_root, load
from grader.lifecycle import rollout_complete, wait_endpoints

# The manifest preparation (lab label, `protocol` keys for server-side apply, flavour
# annotations): a wrong answer is applied as `solve` applies the reference answer.
from grader.manifests import LAB_LABEL, for_flavour, prepare

from .helpers import assert_exit_code, by_id, failing, grade_json, run

CASES = Path(__file__).resolve().parent / "lifecycle"
TIMEOUT = 90.0
ACTIONS = ("apply", "delete", "patch", "restart", "wait", "endpoints", "absent")
WAIT_TESTS = ("rollout", "deleted", "reconciled", "condition", "reason", "label-absent")


# -- the case files ----------------------------------------------------------------------------------
def case_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(CASES.glob("*.yaml"))}


def load_case(lab_name: str) -> dict:
    return yaml.safe_load(case_files()[lab_name].read_text()) or {}


def lifecycle_params() -> list[tuple[str, str]]:
    """(lab, flavour) for every flavour a case file describes, ossm2 first (the session's sandbox;
    the others start their own sandbox once, after it)."""
    pairs = [(name, flavour) for name in case_files() for flavour in load_case(name).get("flavours", {})]
    return sorted(pairs, key=lambda p: (p[1] != "ossm2", p[1], p[0]))


# -- istioctl as an outside referee (tests/sandbox/test_istioctl.py) ----------------------------------
ISTIOCTL_FLAVOUR = "istio"  # the istioctl the module proxy serves reads networking.istio.io/v1: not OSSM 2.x
ISTIOCTL_CASES = ("start", "solved")  # besides the wrong answers, by name


def istioctl_labs() -> list[str]:
    """The labs that run on the upstream-Istio flavour, where istioctl can read the mesh's objects."""
    return [name for name in case_files() if ISTIOCTL_FLAVOUR in load(name).flavours]


def istioctl_params() -> list[tuple[str, str]]:
    """(lab, case) for every such lab: the lab as set up, the reference answer, then each wrong answer
    of its case file in order (all of them, whatever flavours they name: istioctl sees the istio one)."""
    return [(name, case) for name in istioctl_labs()
            for case in (*ISTIOCTL_CASES, *(w["name"] for w in load_case(name).get("wrong_answers") or []))]


def istioctl_expected(lab_name: str, case_name: str) -> tuple[list[dict], set[str]]:
    """What the case file says of one case: istioctl's findings (each {code, object, check?}) and the
    grader checks, traffic checks aside, that fail on the upstream-Istio flavour (`fails` there, else
    the case's own: the flavour's start, none for the reference answer, a wrong answer's fails)."""
    case = load_case(lab_name)
    entry = (case.get("istioctl") or {})[case_name]
    if isinstance(entry, list):
        entry = {"finds": entry}
    if "fails" in entry:
        fails = set(entry["fails"] or [])
    elif case_name == "start":
        flavours = case["flavours"]
        fails = set(((flavours.get(ISTIOCTL_FLAVOUR) or flavours["ossm2"]) or {}).get("start") or {})
    elif case_name == "solved":
        fails = set()
    else:
        wrong = next(w for w in case["wrong_answers"] if w["name"] == case_name)
        fails = set(wrong.get("fails") or {})
    traffic = {c.id for c in load(lab_name).checks if c.check in PROBES}
    return list(entry.get("finds") or []), fails - traffic


def istioctl_wrong_answer(lab_name: str, case_name: str) -> dict:
    return next(w for w in load_case(lab_name)["wrong_answers"] if w["name"] == case_name)


# -- paths into objects (spec.http[0].fault.abort) -------------------------------------------------------
_STEP = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def _keys(path: str) -> list[str | int]:
    keys: list[str | int] = []
    for part in path.split("."):
        m = _STEP.fullmatch(part)
        assert m, f"bad path {path!r}"
        keys.append(m.group(1))
        keys += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
    return keys


def _walk(obj: Any, keys: list[str | int]) -> Any:
    for k in keys:
        obj = obj[k]
    return obj


def value_of(obj: Any, path: str) -> Any:
    try:
        return _walk(obj, _keys(path))
    except (KeyError, IndexError, TypeError):
        return None


def _set(obj: dict, path: str, value: Any) -> None:
    keys = _keys(path)
    _walk(obj, keys[:-1])[keys[-1]] = value


def _unset(obj: dict, path: str) -> None:
    keys = _keys(path)
    del _walk(obj, keys[:-1])[keys[-1]]


# -- what a wrong answer does --------------------------------------------------------------------------
def _ref(a: dict) -> tuple[str, str, str, str | None]:
    return a.get("apiVersion", "v1"), a["kind"], a["name"], a.get("namespace")


def _shared(lab: Lab, path: Path) -> bool:
    """Whether the lab applies this file as shared (it survives finish), as its own steps say."""
    for step in (*lab.setup, *lab.solution):
        if step.type == "apply" and (step.args["path"] == path or step.args["path"] in path.parents):
            return step.shared
    return False


def documents(lab: Lab, action: dict, flavour: str) -> list[dict]:
    """The documents an `apply` action applies, edited and prepared as the lab applies them."""
    source = action["apply"]
    if isinstance(source, dict):
        docs, shared = [source], False
    else:
        path = (data_root() / source).resolve()
        docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        shared = _shared(lab, path)
    docs = [d for d in docs if for_flavour(d, flavour)
            and d["kind"] == action.get("kind", d["kind"])
            and d["metadata"]["name"] == action.get("name", d["metadata"]["name"])]
    assert docs, f"apply {source}: no document of kind {action.get('kind')} named {action.get('name')}"
    out = []
    for doc in docs:
        for path_, value in (action.get("set") or {}).items():
            _set(doc, path_, value)
        for path_ in action.get("unset") or []:
            _unset(doc, path_)
        out.append(prepare(doc, lab.name, shared=shared))
    return out


def _holds(test: str, obj: dict | None) -> bool:
    """One test of a `wait` action's `for` (see test_lab_lifecycle.py)."""
    if test == "deleted":
        return obj is None
    if obj is None:
        return False
    conditions = (obj.get("status") or {}).get("conditions") or []
    name, _, arg = test.partition("=")
    if test == "rollout":
        return rollout_complete(obj)
    if test == "reconciled":
        return (obj.get("status") or {}).get("observedGeneration") == obj["metadata"].get("generation")
    if name == "condition":
        return any(c.get("type") == arg and c.get("status") == "True" for c in conditions)
    if name == "reason":
        return any(c.get("reason") == arg for c in conditions)
    if name == "label-absent":
        return arg not in (obj["metadata"].get("labels") or {})
    raise AssertionError(f"unknown wait test {test!r}")


def _wait(cluster: Cluster, a: dict) -> None:
    tests = a.get("for", [])
    tests = [tests] if isinstance(tests, str) else list(tests)
    where = a.get("where") or {}

    def done(obj: dict | None) -> bool:
        return all(_holds(t, obj) for t in tests) and all(value_of(obj, p) == v for p, v in where.items())

    cluster.wait(*_ref(a), done, timeout=float(a.get("timeout", TIMEOUT)), what=f"{tests} {where}")


def do(cluster: Cluster, lab: Lab, action: dict, flavour: str) -> None:
    """Run one action of a wrong answer (apply, delete, patch, restart, wait, absent)."""
    if "apply" in action:
        for doc in documents(lab, action, flavour):
            cluster.apply(doc)
        return
    (verb, a), = action.items()
    if verb == "delete":
        cluster.delete(*_ref(a))
        cluster.wait(*_ref(a), lambda o: o is None, timeout=float(a.get("timeout", TIMEOUT)), what="deleted")
    elif verb == "patch":
        cluster.patch(*_ref(a), a["patch"])
    elif verb == "restart":  # kubectl rollout restart
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        cluster.patch(a.get("apiVersion", "apps/v1"), a["kind"], a["name"], a.get("namespace"),
                      {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}})
    elif verb == "wait":
        _wait(cluster, a)
    elif verb == "endpoints":  # lab solve's `wait ... for: endpoints`
        wait_endpoints(cluster, a["service"], a["namespace"], float(a.get("timeout", TIMEOUT)))
    elif verb == "absent":
        assert cluster.get(*_ref(a)) is None, f"{a['kind']} {a['name']} exists"
    else:
        raise AssertionError(f"unknown action {verb!r}")


# -- the verdicts --------------------------------------------------------------------------------------
def assert_graded(code: int, report: dict, fails: dict, skips: dict | None = None, passes: dict | None = None,
                  what: str = "") -> None:
    """Exactly the checks in `fails` fail (and those in `skips` are skipped), each reason (with
    its hint) containing every listed string; points and exit code follow."""
    skips = skips or {}
    checks = by_id(report)
    unexpected = failing(report) ^ (set(fails) | set(skips))
    # the checks that differ first, whole: a long report is cut in the middle when printed
    assert not unexpected, (what, {i: checks.get(i) for i in sorted(unexpected)}, checks)
    for check_id in skips:
        assert checks[check_id]["status"] == "skip", (what, checks[check_id])
    for check in report["checks"]:
        if check["status"] == "pass":
            assert check["points"] == check["max_points"], (what, check)
        else:
            assert check["reason"] and check["points"] == 0, (what, check)
    for check_id, needles in {**fails, **skips, **(passes or {})}.items():
        text = checks[check_id]["reason"] + " " + checks[check_id]["hint"]
        for needle in needles or []:
            assert needle in text, (what, check_id, needle, text)
    assert report["score"] == sum(c["points"] for c in report["checks"]), report
    assert_exit_code(code, report)


def assert_lab_lifecycle(kubeconfig: str, cluster: Cluster, lab_name: str, flavour: str) -> None:
    lab = load(lab_name)
    case = load_case(lab_name)
    expected = case["flavours"][flavour] or {}
    always = expected.get("always_skips") or {}  # e.g. traffic checks where the flavour has no data plane
    code, _, err = run(kubeconfig, "start", lab_name)
    assert code == 0, err
    if flavour != "ossm2" and "maistra.io" not in lab.requires:  # OSSM 2-only steps are skipped (not in a migration)
        assert "ServiceMeshControlPlane" not in err and "ServiceMeshMember" not in err, err
    try:
        code, report = grade_json(kubeconfig, lab_name)
        assert report["flavour"] == flavour, report["flavour"]
        assert_graded(code, report, expected.get("start") or {}, {**(expected.get("start_skips") or {}), **always},
                      what="start")
        assert report["passed"] is False, "the start state must not pass the lab"

        code, _, err = run(kubeconfig, "solve", lab_name)
        assert code == 0, err
        code, report = grade_json(kubeconfig, lab_name)
        assert_graded(code, report, {}, always, passes=expected.get("solved"), what="solved")
        left_out = sum(c.points for c in lab.checks if c.id in always)  # a skipped traffic check weighs nothing
        assert report["score"] == report["total"] == lab.total - left_out, by_id(report)

        for wrong in case.get("wrong_answers") or []:
            if flavour not in wrong.get("flavours", ["ossm2"]):
                continue
            verdicts = {**(wrong.get("fails") or {}), **(wrong.get("skips") or {})}
            assert verdicts and all(verdicts.values()), f"{wrong['name']}: every expected verdict names its reason"
            # a check the flavour always skips (a traffic check without a data plane) fails on no flavour of it
            fails = {k: v for k, v in (wrong.get("fails") or {}).items() if k not in always}
            assert fails or wrong.get("skips"), f"{wrong['name']}: nothing left to fail on {flavour}"
            for action in wrong["do"]:
                do(cluster, lab, action, flavour)
            code, report = grade_json(kubeconfig, lab_name)
            assert_graded(code, report, fails, {**(wrong.get("skips") or {}), **always}, what=wrong["name"])
            code, _, err = run(kubeconfig, "solve", lab_name)  # back to the reference answer
            assert code == 0, err
            code, report = grade_json(kubeconfig, lab_name)
            assert_graded(code, report, {}, always, what=f"solve did not repair {wrong['name']}")
    finally:
        code, _, err = run(kubeconfig, "finish", lab_name)
    assert code == 0, err
    for ns in lab.owns:
        assert cluster.get("v1", "Namespace", ns) is None
    for kind in (K.NAMESPACE, K.DEPLOYMENT, K.SERVICE, K.CONFIG_MAP, K.GATEWAY, K.VIRTUAL_SERVICE,
                 K.DESTINATION_RULE, K.PEER_AUTHENTICATION):
        assert cluster.list(kind, label_selector=f"{LAB_LABEL}={lab_name}") == [], kind.kind
    after = case.get("after_finish") or {}
    if flavour in after.get("flavours", ["ossm2"]):
        for ref in after.get("absent") or []:
            assert cluster.get(*_ref(ref)) is None, f"left after finish: {ref}"
        for ref in after.get("present") or []:
            assert cluster.get(*_ref(ref)) is not None, f"finish removed {ref}"
