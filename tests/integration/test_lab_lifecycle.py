"""Every lab end to end on the sandbox, one case file per lab: tests/integration/lifecycle/<lab>.yaml.

For each flavour the file names: `lab start` → the grade fails exactly the expected checks →
`lab solve` → full score → each wrong answer (applied to the solved lab) fails exactly its
expected checks, with reasons naming object and field → `lab solve` repairs it → `lab finish`
leaves nothing of the lab. The exit code of every grade is asserted by helpers.assert_exit_code.

Case file format (adding a wrong answer is adding an entry to `wrong_answers`):

    flavours:                  # the sandbox flavours the lab is run on (ossm2, ossm3, istio)
      ossm2:
        start:                 # check id -> strings its reason (with hint) must contain;
          some-check: [...]    #   exactly these checks fail after `lab start`
        start_skips: {}        # optional: checks skipped after start, same form
        solved: {}             # optional: strings in the reasons of (passing) checks after solve
        always_skips: {}       # optional: checks skipped in every grade of this flavour (e.g. the
                               #   traffic checks where the flavour's sandbox has no data plane)
    wrong_answers:
      - name: what the student did wrong
        flavours: [ossm2]      # optional, default [ossm2]
        do:                    # actions, in order, on the solved lab:
          - apply: solutions/LAB/FILE.yaml     # a file under the data root, or an inline manifest;
            kind: VirtualService               # kind and name pick documents (default: all);
            name: web
            set: {"spec.http[0].timeout": 1s}  # set and unset edit them (paths as in reasons; in
            unset: ["spec.http[0].retries.perTryTimeout"]  # flow style quote a path with [i]);
                                               # then they are prepared as `lab solve` applies them
          - delete: {apiVersion: v1, kind: ConfigMap, name: x, namespace: webapp}   # and wait until gone
          - patch: {apiVersion: v1, kind: Namespace, name: webapp, patch: {metadata: {labels: {a: b}}}}
          - restart: {kind: Deployment, name: web-v1, namespace: webapp}            # rollout restart
          - wait: {apiVersion: apps/v1, kind: Deployment, name: web-v1, namespace: webapp,
                   for: rollout, where: {status.replicas: 1}, timeout: 90}
              # for: one or a list of rollout | deleted | reconciled (observedGeneration is the
              # generation) | condition=TYPE (status True) | reason=REASON | label-absent=KEY;
              # where: paths that must have these values
          - endpoints: {service: web, namespace: webapp, timeout: 90}   # until its Endpoints list
              # exactly the ready pods it selects (after a restart, before a traffic check)
          - absent: {apiVersion: v1, kind: Pod, name: x, namespace: webapp}         # must not exist
        fails:                 # check id -> strings its reason (with hint) must contain (at least one);
          some-check: ["Kind ns/name", "spec.field is X; expected Y"]   # a check in the flavour's
                               #   always_skips is expected skipped there instead
        skips: {}              # optional: checks that must be skipped (an optional operator), same form
    after_finish:              # optional, checked after finish (ossm2): objects gone / still there
      absent: [{apiVersion: ..., kind: ..., name: ..., namespace: ...}]
      present: [...]
    istioctl:                  # labs that run on the upstream-Istio flavour: istioctl as an outside referee
                               #   (tests/sandbox/test_istioctl.py), one entry per case: start, solved and
                               #   each wrong answer by name, applied on that flavour
      start:                   # what `istioctl analyze -n webapp` reports beyond the reference answer
        - {code: IST0101, object: VirtualService webapp/web, check: some-check}  # the failing check naming it
      solved: []               # [] is istioctl saying nothing (for solved: on the reference answer itself)
      some wrong answer:       # a mapping when the grader's failing checks on that flavour are not the
        finds: []              #   case's own (start there, none when solved, the wrong answer's fails;
        fails: [some-check]    #   traffic checks aside)
"""

from __future__ import annotations

import re

import pytest

from grader.labs import load, load_all

from .lab_harness import (
    ACTIONS,
    ISTIOCTL_CASES,
    ISTIOCTL_FLAVOUR,
    WAIT_TESTS,
    assert_lab_lifecycle,
    case_files,
    documents,
    istioctl_expected,
    istioctl_labs,
    lifecycle_params,
    load_case,
)


def test_every_lab_has_a_case_file():
    assert set(case_files()) == {lab.name for lab in load_all()}


@pytest.mark.parametrize("lab_name", sorted(case_files()))
def test_case_file_names_real_checks_and_documents(lab_name: str):
    """Offline (no sandbox): a case file's check ids are the lab's, its actions are known and
    every document it applies exists, so a typo fails here before a sandbox run."""
    lab, case = load(lab_name), load_case(lab_name)
    ids = {c.id for c in lab.checks}
    assert set(case) <= {"flavours", "wrong_answers", "after_finish", "istioctl"}, set(case)
    for flavour, expected in case["flavours"].items():
        assert flavour in lab.flavours, flavour
        for key in ("start", "start_skips", "solved", "always_skips"):
            assert set((expected or {}).get(key) or {}) <= ids, (flavour, key)
    for wrong in case.get("wrong_answers") or []:
        assert set(wrong) <= {"name", "flavours", "do", "fails", "skips"}, wrong.get("name")
        assert set(wrong.get("fails") or {}) | set(wrong.get("skips") or {}) <= ids, wrong["name"]
        for action in wrong["do"]:
            verb = "apply" if "apply" in action else next(iter(action))
            assert verb in ACTIONS, (wrong["name"], verb)
            if verb == "apply":
                for flavour in wrong.get("flavours", ["ossm2"]):
                    assert documents(lab, action, flavour), (wrong["name"], action)
            elif verb == "wait":
                tests = action["wait"].get("for", [])
                for test in [tests] if isinstance(tests, str) else tests:
                    assert test.partition("=")[0] in WAIT_TESTS, (wrong["name"], test)


@pytest.mark.parametrize("lab_name", sorted(case_files()))
def test_case_file_says_what_istioctl_reports(lab_name: str):
    """Offline: a lab that runs on the upstream-Istio flavour says, for its start, its reference answer and
    every wrong answer (each applicable there), what istioctl reports and which check names the object."""
    lab, case = load(lab_name), load_case(lab_name)
    if lab_name not in istioctl_labs():
        assert "istioctl" not in case, "istioctl is only run on the upstream-Istio flavour"
        return
    wrong = [w["name"] for w in case.get("wrong_answers") or []]
    assert list(case.get("istioctl") or {}) == [*ISTIOCTL_CASES, *wrong], "one entry per case, in order"
    ids = {c.id for c in lab.checks}
    for name in (*ISTIOCTL_CASES, *wrong):
        entry = case["istioctl"][name]
        assert isinstance(entry, list) or set(entry) <= {"finds", "fails"}, name
        finds, fails = istioctl_expected(lab_name, name)
        assert fails <= ids, (name, fails - ids)
        for f in finds:
            assert set(f) <= {"code", "object", "check"} and re.fullmatch(r"IST\d{4}", f["code"]), (name, f)
            assert re.fullmatch(r"[A-Za-z]+ ([a-z0-9-]+/)?[a-z0-9.-]+", f["object"]), (name, f)
            assert f.get("check") is None or f["check"] in fails, (name, f, "the check must fail")
    for w in case.get("wrong_answers") or []:
        for action in w["do"]:
            if "apply" in action:
                assert documents(lab, action, ISTIOCTL_FLAVOUR), (w["name"], action)


@pytest.mark.sandbox
@pytest.mark.parametrize(("lab", "flavour"), lifecycle_params(), ids=lambda v: v)
def test_lab_lifecycle(lab: str, flavour: str, request):
    fixture = {"ossm2": "kubeconfig", "ossm3": "ossm3_kubeconfig"}.get(flavour, "istio_kubeconfig")
    if flavour == "ossm3" and "maistra.io" in load(lab).requires:
        fixture = "ossm3_with_ossm2_kubeconfig"  # a migration lab: both operators side by side
    kubeconfig = request.getfixturevalue(fixture)
    cluster = request.getfixturevalue("cluster") if flavour == "ossm2" else _cluster(kubeconfig)
    assert_lab_lifecycle(kubeconfig, cluster, lab, flavour)


def _cluster(kubeconfig: str):
    from grader.cluster import Cluster, Target
    return Cluster(Target(kubeconfig, None))


def test_readme_states_the_istioctl_agreement():
    """Offline: the README's agreement figures are the case files' (the sandbox test asserts each case)."""
    from pathlib import Path
    cases = [(lab, name) for lab in istioctl_labs() for name in load_case(lab)["istioctl"] if name != "solved"]
    finds = {(lab, name): istioctl_expected(lab, name)[0] for lab, name in cases}
    reported = [c for c in cases if finds[c]]
    agree = [c for c in reported if all(f.get("check") for f in finds[c])]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    figures = (f"**{len(agree)} of {len(reported)}** wrong answers istioctl reports something about agree with the "
               f"grader; it says nothing about the other {len(cases) - len(reported)} of the {len(cases)}")
    assert figures in " ".join(readme.split()), figures


@pytest.mark.sandbox
def test_migration_lab_needs_the_2x_operator_beside_ossm3(ossm3_kubeconfig):
    """migrate-3 requires maistra.io: on an ossm3 cluster without the 2.x operator `lab start`
    stops with one line naming the API and the sandbox option, and changes nothing."""
    from .helpers import run
    code, _, err = run(ossm3_kubeconfig, "start", "migrate-3")
    assert code == 2, err
    assert err.strip().splitlines() == [
        "error: lab migrate-3 needs the maistra.io API, which this ossm3 cluster does not serve; maistra.io: the "
        "OpenShift Service Mesh 2.x operator beside OSSM 3 (on the sandbox: lab sandbox down, then lab sandbox up "
        "--flavour ossm3 --with-ossm2)"], err
    assert _cluster(ossm3_kubeconfig).get("v1", "Namespace", "webapp") is None
