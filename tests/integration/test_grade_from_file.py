"""`lab grade NAME -f FILE` grades YAML offline with the same checks: a dump of the live
cluster (every kind the lab reads, as `oc get ... -o yaml` writes it) grades exactly as
the live cluster does without traffic (`--no-traffic`: offline sends none), before and after
the solution."""

from __future__ import annotations

import json

import pytest
import yaml

from grader.grading import kinds_read_by
from grader.labs import load

from .helpers import run

pytestmark = pytest.mark.sandbox


def _dump(cluster, lab_name: str, path) -> None:
    """What `oc get <every kind the lab reads> -A -o yaml` would dump (kinds this cluster does not
    serve, e.g. the Sail kinds some checks read on OSSM 3, are left out as oc would refuse them)."""
    items = [obj for kind in kinds_read_by(load(lab_name)) if cluster.served_version(kind)
             for obj in cluster.list(kind)]
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))


def _checks(report: dict) -> list[tuple]:
    return [(c["id"], c["status"], c["points"], c["reason"], c["hint"]) for c in report["checks"]]


@pytest.mark.parametrize("lab_name", ["canary", "observability"])
def test_offline_grade_of_a_dump_equals_live_grade(kubeconfig, cluster, tmp_path, lab_name):
    assert run(kubeconfig, "start", lab_name)[0] == 0
    try:
        for stage in ("started", "solved"):
            if stage == "solved":
                assert run(kubeconfig, "solve", lab_name)[0] == 0
            live_code, out, _ = run(kubeconfig, "grade", lab_name, "--no-traffic", "-o", "json")
            live = json.loads(out)
            dump = tmp_path / f"{stage}.yaml"
            _dump(cluster, lab_name, dump)
            code, out, err = run(kubeconfig, "grade", lab_name, "-f", str(dump), "-o", "json")
            offline = json.loads(out)
            assert "Graded offline from" in err
            assert (code, offline["score"]) == (live_code, live["score"]), (stage, err)
            # the traffic checks SKIP in both, each with its own reason (no traffic / offline)
            assert [c[:3] for c in _checks(offline)] == [c[:3] for c in _checks(live)], stage
            assert [c for c in _checks(offline) if c[1] != "skip"] == [c for c in _checks(live) if c[1] != "skip"]
            assert offline["requests"] == live["requests"] == 0
            assert offline["flavour"] == live["flavour"] == "ossm2"
        assert live["score"] == live["total"]
    finally:
        assert run(kubeconfig, "finish", lab_name)[0] == 0
