"""Lab step types a lab author uses beyond plain manifests, on a small lab of the test's own
(LAB_DATA_DIR): `delete` and `wait` by label selector, `apply` with `values:` read from live
objects, and manifests skipped by the unless-exists annotation."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from .helpers import assert_exit_code, grade_json, run

pytestmark = pytest.mark.sandbox

NS = "lab-steps"


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def steps_lab(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    _write(root, "labs/steps/lab.yaml", f"""\
        name: steps
        title: Step types
        step: 0
        namespace: {NS}
        owns: [{NS}]
        pass_mark: 10
        flavours: [ossm2, istio]
        setup:
          - apply: setup/
          - wait: {{kind: ConfigMap, namespace: {NS}, selector: tier=extra, for: exists}}
        checks:
          - id: answer-host
            check: resource-field
            points: 10
            params: {{kind: ConfigMap, name: answer, namespace: "${{namespace}}", path: data.host,
                      expected: web.apps.example.com}}
        """)
    _write(root, "labs/steps/task.md", "Copy the host.\n")
    _write(root, "labs/steps/setup/objects.yaml", f"""\
        apiVersion: v1
        kind: Namespace
        metadata: {{name: {NS}}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: source, namespace: {NS}}}
        data: {{host: web.apps.example.com}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: extra-one, namespace: {NS}, labels: {{tier: extra}}}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: extra-two, namespace: {NS}, labels: {{tier: extra}}}}
        """)
    _write(root, "labs/steps/setup/optional.yaml", f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: guarded
          namespace: {NS}
          annotations: {{lab.grader/unless-exists: v1 ConfigMap tier=extra}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: applied
          namespace: {NS}
          annotations: {{lab.grader/unless-exists: v1 ConfigMap tier=absent, keep: "yes"}}
        """)
    _write(root, "solutions/steps/solution.yaml", f"""\
        steps:
          - delete: {{kind: ConfigMap, namespace: {NS}, selector: tier=extra}}
          - apply: answer.yaml
            values:
              host: {{kind: ConfigMap, namespace: {NS}, name: source, field: data.host}}
        """)
    _write(root, "solutions/steps/answer.yaml", f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: answer, namespace: {NS}}}
        data: {{host: "${{host}}", untouched: "${{not_a_value}}"}}
        """)
    monkeypatch.setenv("LAB_DATA_DIR", str(root))
    return root


def test_selector_delete_and_live_values(kubeconfig, cluster, steps_lab):
    code, _, err = run(kubeconfig, "start", "steps")
    assert code == 0, err
    said = " ".join(err.split())  # rich wraps long progress lines
    assert "Waiting for a ConfigMap labelled tier=extra in lab-steps to be created ... SUCCESS" in said
    assert "ConfigMap guarded in lab-steps: not applied, ConfigMap extra-one is already there" in said
    assert cluster.get("v1", "ConfigMap", "guarded", NS) is None
    applied = cluster.get("v1", "ConfigMap", "applied", NS)
    assert applied["metadata"]["annotations"] == {"keep": "yes"}  # the engine's annotation is not applied
    try:
        assert {cluster.get("v1", "ConfigMap", n, NS) is not None for n in ("extra-one", "extra-two")} == {True}
        assert grade_json(kubeconfig, "steps")[0] == 1

        code, _, err = run(kubeconfig, "solve", "steps")
        assert code == 0, err
        assert "Deleting ConfigMap extra-one" in err and "Deleting ConfigMap extra-two" in err
        assert cluster.get("v1", "ConfigMap", "extra-one", NS) is None
        assert cluster.get("v1", "ConfigMap", "extra-two", NS) is None
        assert cluster.get("v1", "ConfigMap", "source", NS) is not None  # not matched by the selector
        answer = cluster.get("v1", "ConfigMap", "answer", NS)
        assert answer["data"] == {"host": "web.apps.example.com", "untouched": "${not_a_value}"}
        code, report = grade_json(kubeconfig, "steps")
        assert_exit_code(code, report)
        assert report["score"] == 10, report

        # a value read from another live value: change the source, solve again
        cluster.patch("v1", "ConfigMap", "source", NS, {"data": {"host": "other.example.com"}})
        assert run(kubeconfig, "solve", "steps")[0] == 0
        assert cluster.get("v1", "ConfigMap", "answer", NS)["data"]["host"] == "other.example.com"
    finally:
        assert run(kubeconfig, "finish", "steps")[0] == 0


@pytest.mark.parametrize("break_source, expected", [
    (lambda cluster: cluster.delete("v1", "ConfigMap", "source", NS),
     f"ConfigMap {NS}/source not found: it provides ${{host}} (data.host)"),
    (lambda cluster: cluster.patch("v1", "ConfigMap", "source", NS, {"data": {"host": None}}),
     f"ConfigMap {NS}/source has no data.host (needed for ${{host}})"),
])
def test_missing_value_is_one_line_and_changes_nothing(kubeconfig, cluster, steps_lab, break_source, expected):
    assert run(kubeconfig, "start", "steps")[0] == 0
    try:
        break_source(cluster)
        cluster.wait("v1", "ConfigMap", "source", NS,
                     lambda o: o is None or "host" not in (o.get("data") or {}), timeout=30)
        code, _, err = run(kubeconfig, "solve", "steps")
        assert code == 2 and expected in err, err
        assert "Traceback" not in err
        assert cluster.get("v1", "ConfigMap", "answer", NS) is None  # nothing half-applied
    finally:
        assert run(kubeconfig, "finish", "steps")[0] == 0
