"""The CLI without a cluster: listing, showing, bad input and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.labs import data_root


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["--no-color", *args], env=env, catch_exceptions=False)


@pytest.fixture
def no_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("LAB_SANDBOX_DIR", str(tmp_path / "no-sandbox"))
    return tmp_path


def test_version():
    res = invoke("--version")
    assert res.exit_code == 0 and "0.1.0" in res.stdout


def test_list_json_contract(no_cluster):
    res = invoke("list", "-o", "json")
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    canary = next(r for r in rows if r["name"] == "canary")
    assert canary["step"] == "8" and canary["title"] and canary["status"] == "unknown"
    assert canary["flavours"] == ["ossm2", "istio", "ossm3"]


def test_list_table(no_cluster):
    res = invoke("list")
    assert res.exit_code == 0 and "canary" in res.stdout


def test_show_renders_task_for_flavour(no_cluster):
    res = invoke("--flavour", "ossm2", "show", "canary")
    assert res.exit_code == 0
    assert "istio-injection=enabled" in res.stdout and "kubectl get svc istio-ingressgateway" not in res.stdout
    res = invoke("--flavour", "istio", "show", "canary")
    assert "kubectl get svc istio-ingressgateway" in res.stdout


@pytest.mark.parametrize("verb", ["show", "start", "grade", "solve", "finish"])
def test_unknown_lab_suggests_closest(no_cluster, verb):
    res = invoke(verb, "canery")
    assert res.exit_code == 2
    assert "unknown lab 'canery'" in res.stderr and "did you mean 'canary'" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("verb", ["start", "grade", "solve", "finish"])
def test_no_cluster_is_one_line(no_cluster, verb):
    res = invoke(verb, "canary")
    assert res.exit_code == 2
    assert "no cluster configured" in res.stderr and "lab sandbox up" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_missing_kubeconfig_file(no_cluster):
    res = invoke("--kubeconfig", str(no_cluster / "nope"), "grade", "canary")
    assert res.exit_code == 2 and "does not exist" in res.stderr


def test_unreachable_server_fails_fast(no_cluster):
    import time

    from grader.sandbox.control_plane import free_port
    cfg = no_cluster / "kubeconfig"
    port = free_port()
    cfg.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "x", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}]}))
    t0 = time.monotonic()
    res = invoke("--kubeconfig", str(cfg), "grade", "canary")
    assert time.monotonic() - t0 < 5
    assert res.exit_code == 2
    assert f"127.0.0.1:{port}" in res.stderr and "Traceback" not in res.stderr


def test_bad_output_format_is_usage_error(no_cluster):
    res = invoke("grade", "canary", "-o", "yaml")
    assert res.exit_code == 2


def _copy_data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(data_root() / "labs", root / "labs")
    shutil.copytree(data_root() / "solutions", root / "solutions")
    return root


@pytest.mark.parametrize("mutation, expected", [
    (lambda m: m.pop("title"), "field 'title': is required"),
    (lambda m: m["checks"][0].update(check="workload-sidecars"), "did you mean 'workload-sidecar'"),
    (lambda m: m["checks"][0].update(id="V2 Sidecar"), "is not kebab-case"),
    (lambda m: m["checks"][0].update(points="twenty"), "expected int"),
    (lambda m: m["checks"][0]["params"].update(colour="blue"), "unknown parameter(s) colour"),
    (lambda m: m["checks"][1].update(id=m["checks"][0]["id"]), "duplicate check ids"),
    (lambda m: m.update(pass_mark=1000), "field 'pass_mark'"),
    (lambda m: m["setup"].append({"apply": "nope/"}), "does not exist"),
    (lambda m: m["setup"].append({"delete": {"kind": "ConfigMap"}}), "expected exactly one of name, selector"),
    (lambda m: m["setup"].append({"delete": {"kind": "ConfigMap", "name": "a", "selector": "b=c"}}),
     "expected exactly one of name, selector"),
    (lambda m: m["setup"].append({"delete": {"kind": "ConfigMap", "selector": ""}}), "expected a label selector"),
    (lambda m: m["setup"].append({"wait": {"kind": "ConfigMap", "name": "a", "selector": "b=c"}}),
     "expected exactly one of name, selector"),
    (lambda m: m["setup"].append({"wait": {"kind": "ConfigMap", "selector": "b=c", "for": "deleted"}}),
     "name one to wait for its deletion"),
    (lambda m: m["setup"].append({"apply": "setup/", "values": ["host"]}), "expected a mapping of NAME"),
    (lambda m: m["setup"].append({"apply": "setup/", "values": {"my-host": {"kind": "Route", "name": "r",
                                                                           "field": "spec.host"}}}),
     "a value name must be letters, digits and underscores"),
    (lambda m: m["setup"].append({"apply": "setup/", "values": {"host": {"kind": "Route", "name": "r"}}}),
     ".values.host.field': is required"),
])
def test_malformed_lab_names_file_and_field(no_cluster, tmp_path, monkeypatch, mutation, expected):
    import yaml
    root = _copy_data(tmp_path)
    meta_file = root / "labs" / "canary" / "lab.yaml"
    meta = yaml.safe_load(meta_file.read_text())
    mutation(meta)
    meta_file.write_text(yaml.safe_dump(meta))
    monkeypatch.setenv("LAB_DATA_DIR", str(root))
    res = invoke("show", "canary")
    assert res.exit_code == 2
    assert str(meta_file) in res.stderr and expected in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_invalid_yaml_names_line(no_cluster, tmp_path, monkeypatch):
    root = _copy_data(tmp_path)
    meta_file = root / "labs" / "canary" / "lab.yaml"
    meta_file.write_text("title: [unclosed\n")
    monkeypatch.setenv("LAB_DATA_DIR", str(root))
    res = invoke("show", "canary")
    assert res.exit_code == 2 and "invalid YAML" in res.stderr and "line" in res.stderr


def test_installed_entry_point_runs():
    beside = Path(sys.executable).parent / "lab"  # the venv's script, even when not activated
    exe = str(beside) if beside.exists() else shutil.which("lab")
    if exe is None:
        pytest.skip("the package is not installed (pip install .)")
    out = subprocess.run([exe, "list", "-o", "json"], capture_output=True, text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    assert any(r["name"] == "canary" for r in json.loads(out.stdout))


def test_help_lists_the_verbs():
    res = invoke("--help")
    for verb in ("list", "show", "start", "grade", "solve", "finish", "sandbox"):
        assert verb in res.stdout


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"


def test_grade_from_files_offline(no_cluster):
    """The solved canary state as YAML grades 100 with no cluster at all; Maistra labels in the
    files make the flavour ossm2 unless --flavour says otherwise."""
    res = invoke("grade", "canary", "-f", str(FIXTURES / "cluster"), "-f", str(FIXTURES / "webapp"), "-o", "json")
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["score"] == report["total"] == 100 and report["flavour"] == "ossm2"
    assert "Graded offline from" in res.stderr and "sandbox" not in res.stderr

    wrong = FIXTURES / "variants" / "vs-weights-70-30.yaml"
    res = invoke("--flavour", "istio", "grade", "canary", "-f", str(FIXTURES / "cluster"),
                 "-f", str(FIXTURES / "webapp"), "-f", str(wrong), "-o", "json")
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    assert report["flavour"] == "istio"
    assert [c["id"] for c in report["checks"] if c["status"] != "pass"] == ["traffic-split-80-20", "split-observed"]
    assert report["requests"] == 0 and "graded offline from files" in report["checks"][-1]["reason"]


@pytest.mark.parametrize("content, expected", [
    ("kind: [unclosed\n", "bad.yaml line 2: invalid YAML"),
    ("steps:\n  - apply: x.yaml\n", "no Kubernetes objects in"),
    (b"\xff\xfe\x00binary", "cannot read it"),
])
def test_grade_from_bad_file_is_one_line(no_cluster, tmp_path, content, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    res = invoke("grade", "canary", "-f", str(bad))
    assert res.exit_code == 2 and expected in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


def test_grade_from_missing_file_is_usage_error(no_cluster, tmp_path):
    res = invoke("grade", "canary", "-f", str(tmp_path / "nope.yaml"))
    assert res.exit_code == 2 and "does not exist" in res.stderr


def test_grade_from_absurd_objects_is_a_result_not_a_crash(no_cluster, tmp_path):
    """Objects no API server would return (a numeric kind, no kind in a plain List, metadata
    that is not a mapping, labels as a list) are left out or judged, never a traceback."""
    odd = tmp_path / "odd.yaml"
    odd.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "  - {apiVersion: v1, kind: 7, metadata: {name: x}}\n"
        "  - {apiVersion: v1, metadata: {name: y}}\n"
        "  - {apiVersion: v1, kind: ConfigMap, metadata: not a mapping}\n"
        "  - {apiVersion: v1, kind: Namespace, metadata: {name: webapp, labels: [a, b]}}\n"
        "  - a string\n")
    res = invoke("grade", "canary", "-f", str(odd), "-o", "json")
    assert res.exit_code == 1, res.stderr
    assert "Graded offline from 1 object in" in res.stderr and "Traceback" not in res.stderr
    assert all(c["status"] in ("fail", "skip") and c["reason"] for c in json.loads(res.stdout)["checks"])


def _with_lab_yaml(tmp_path: Path, monkeypatch, lab: str, **fields) -> Path:
    """A copy of the labs with fields of one lab.yaml changed, used through LAB_DATA_DIR."""
    import yaml
    root = _copy_data(tmp_path)
    meta_file = root / "labs" / lab / "lab.yaml"
    meta_file.write_text(yaml.safe_dump({**yaml.safe_load(meta_file.read_text()), **fields}))
    monkeypatch.setenv("LAB_DATA_DIR", str(root))
    return meta_file


# -- the exit code of grade: one rule with the JSON's "passed" ------------------------
def test_grade_exit_code_follows_passed(no_cluster, tmp_path, monkeypatch):
    """Score at or above the pass mark with a failed check: "passed": true and exit 0; below: exit 1.
    Offline the traffic check (25 of 125 points) is left out and the pass mark scaled by 100/125:
    93 becomes 75, 94 becomes 76."""
    _with_lab_yaml(tmp_path, monkeypatch, "canary", pass_mark=93)
    files = ["-f", str(FIXTURES / "cluster"), "-f", str(FIXTURES / "webapp")]
    wrong = ["-f", str(FIXTURES / "variants" / "vs-weights-70-30.yaml")]
    res = invoke("grade", "canary", *files, *wrong, "-o", "json")
    report = json.loads(res.stdout)
    assert report["score"] == 75 and report["pass_mark"] == 75 and report["passed"] is True
    assert [c["id"] for c in report["checks"] if c["status"] == "fail"] == ["traffic-split-80-20"]
    assert res.exit_code == 0, "passed, so exit 0 although a check failed"
    _with_lab_yaml(tmp_path / "again", monkeypatch, "canary", pass_mark=94)
    res = invoke("grade", "canary", *files, *wrong, "-o", "json")
    assert json.loads(res.stdout)["passed"] is False and res.exit_code == 1


def test_grade_help_states_the_exit_rule():
    res = invoke("grade", "--help")
    assert "Exit code 0 when the lab is passed" in " ".join(res.stdout.split())


# -- global flags after the subcommand, as kubectl and oc take them --------------------
def test_global_flags_after_the_subcommand(no_cluster):
    res = invoke("grade", "canary", "--kubeconfig", str(no_cluster / "nope"), "--context", "x")
    assert res.exit_code == 2 and f"kubeconfig {no_cluster / 'nope'} does not exist" in res.stderr
    res = CliRunner().invoke(main, ["show", "canary", "--flavour", "istio", "--no-color", "--debug"],
                             catch_exceptions=False)
    assert res.exit_code == 0
    assert "kubectl get svc istio-ingressgateway" in res.stdout and "\x1b[" not in res.stdout
    res = invoke("list", "-o", "json", "--flavour", "auto", "--kubeconfig", str(no_cluster / "nope"))
    assert res.exit_code == 0  # list still lists; status unknown without a cluster
    assert {r["status"] for r in json.loads(res.stdout)} == {"unknown"}


def test_flag_after_the_subcommand_wins_over_the_one_before(no_cluster):
    res = invoke("--flavour", "ossm2", "show", "canary", "--flavour", "istio")
    assert "kubectl get svc istio-ingressgateway" in res.stdout


def test_debug_after_the_subcommand_shows_the_traceback(no_cluster):
    from grader.cluster import ClusterError
    with pytest.raises(ClusterError):
        invoke("grade", "canary", "--debug")


# -- -n: a namespace name, never graded as empty work -----------------------------------
@pytest.mark.parametrize("bad", ["bad ns!", "Webapp", "-webapp", "a" * 64, "web_app", ""])
def test_grade_invalid_namespace_is_a_usage_error(no_cluster, bad):
    res = invoke("grade", "canary", "-n", "webapp", "-n", bad)
    assert res.exit_code == 2
    assert f"-n {bad!r} is not a namespace name" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


# -- labs bring no Python of their own ---------------------------------------------------
def test_lab_with_its_own_checks_py_is_refused(no_cluster, tmp_path, monkeypatch):
    """A lab's checks.py would run an instructor folder's code inside the grader and add check
    types that CHECKS.md and the library's tests never see; it is refused, by name, every time."""
    root = _copy_data(tmp_path)
    py = root / "labs" / "canary" / "checks.py"
    py.write_text("from grader.checks import check_type\n\n"
                  "@check_type('always-pass', reads=[])\ndef always_pass(snapshot):\n    '''Passes.'''\n")
    monkeypatch.setenv("LAB_DATA_DIR", str(root))
    for _ in range(2):
        res = invoke("show", "canary")
        assert res.exit_code == 2 and f"{py}: a lab cannot bring its own check types" in res.stderr
        assert "Traceback" not in res.stderr


# -- lab list: the guide's order comes from lab.yaml -------------------------------------
def test_list_order_comes_from_lab_yaml(no_cluster, tmp_path, monkeypatch):
    res = invoke("list", "-o", "json")
    names = [r["name"] for r in json.loads(res.stdout)]
    assert names[0] == "operators" and names[-2:] == ["review", "review-3"]
    _with_lab_yaml(tmp_path, monkeypatch, "review", order=1)
    assert json.loads(invoke("list", "-o", "json").stdout)[0]["name"] == "review"


# -- lab class gradebook: reports handed in as files ---------------------------------
def test_class_gradebook_merges_handed_in_reports(no_cluster, tmp_path):
    """Two students grade their own (offline) canary and hand in -o json; a third edits a
    failed report into a pass. The gradebook flags it on stderr and in the output, exit 1;
    without it every student passed, exit 0; a report of another lab is exit 2, one line."""
    solved = ["-f", str(FIXTURES / "cluster"), "-f", str(FIXTURES / "webapp")]
    wrong = [*solved, "-f", str(FIXTURES / "variants" / "vs-weights-70-30.yaml")]
    out = tmp_path / "handed-in"
    out.mkdir()
    for student, files, lab in (("alice", solved, "canary"), ("bob", solved, "canary"), ("carol", wrong, "canary"),
                                ("eve", solved, "mtls")):
        res = invoke("grade", lab, *files, "-o", "json")
        (out / f"{student}.json").write_text(res.stdout)
    carol = json.loads((out / "carol.json").read_text())
    carol["passed"], carol["score"] = True, carol["total"]
    (out / "carol.json").write_text(json.dumps(carol))
    class_files = [str(out / f"{s}.json") for s in ("alice", "bob", "carol")]

    res = invoke("class", "gradebook", *class_files[:2])
    assert res.exit_code == 0 and res.stderr == "", res.stderr
    assert [line.split()[0] for line in res.stdout.splitlines()[1:3]] == ["alice", "bob"]

    res = invoke("class", "gradebook", *class_files, "-o", "csv")
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [f"warning: {out / 'carol.json'}: carol's report was edited after grading "
                                       "(checksum does not match); flagged, not counted as passed"]
    assert res.stdout.splitlines()[-1].endswith(",false,edited,checksum does not match")

    page = tmp_path / "class.html"
    res = invoke("class", "gradebook", *class_files, "-o", "html", "--output", str(page))
    assert res.exit_code == 1 and "<td class='edited'" in page.read_text() and "Wrote" in res.stderr

    res = invoke("class", "gradebook", *class_files, str(out / "eve.json"))
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.strip() == (f"error: {out / 'eve.json'}: a report of lab mtls, but {out / 'alice.json'} is of "
                                  "lab canary; one gradebook per lab")


@pytest.mark.parametrize("args", [(), ("--mock", "--labs", "canary"), ("--mock", "--random", "2")])
def test_exam_start_takes_one_way_to_choose(no_cluster, args):
    res = invoke("exam", "start", *args)
    assert res.exit_code == 2 and res.stderr.strip() == "error: give exactly one of --labs a,b, --random N or --mock"


def test_exam_start_help_names_the_mock():
    assert "mock EX328 exam" in " ".join(invoke("exam", "start", "--help").stdout.split())
