"""Grading a live cluster (grader/grading.py, the discovery cache of grader/cluster.py): named
namespaces must exist, and a cached discovery answer is used but never trusted beyond what it
holds."""

from __future__ import annotations

import json

import pytest

from grader.cluster import Cluster, DiscoveryCache, Target

from .helpers import audit_events, audit_lines, grade_json, run, without_traffic

pytestmark = pytest.mark.sandbox


def test_missing_namespace_is_named_not_graded(kubeconfig):
    """A typo in a class roster is an error naming the namespace, never a score of 0."""
    code, out, err = run(kubeconfig, "grade", "canary", "-n", "default", "-n", "studnet-7", "-o", "json")
    assert code == 2 and out == ""
    assert "namespace studnet-7 not found" in err and len(err.strip().splitlines()) == 1, err
    code, out, _ = run(kubeconfig, "grade", "canary", "-n", "default", "-o", "json")
    assert code == 1 and json.loads(out)["namespace"] == "default"  # an existing one is graded


def test_invalid_namespace_is_a_usage_error(kubeconfig):
    code, out, err = run(kubeconfig, "grade", "canary", "-n", "bad ns!")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "-n 'bad ns!' is not a namespace name" in err


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return DiscoveryCache.default()


def _discovery_requests(sandbox, since: int) -> list[str]:
    return [e["requestURI"] for e in audit_events(sandbox.audit_log, since, "lab-grader/0.1.0 (grade)")
            if e["stage"] == "ResponseComplete" and e["requestURI"].split("?")[0] in ("/api", "/apis")]


def test_second_grade_reads_discovery_from_the_cache(kubeconfig, sandbox, cache_home):
    before = audit_lines(sandbox.audit_log)
    first = grade_json(kubeconfig, "canary")
    assert _discovery_requests(sandbox, before) == ["/apis"]
    before = audit_lines(sandbox.audit_log)
    second = grade_json(kubeconfig, "canary")
    assert _discovery_requests(sandbox, before) == []
    assert second[0] == first[0] and without_traffic(second[1]) == without_traffic(first[1])


def _identity(kubeconfig: str) -> str:
    return Cluster(Target(kubeconfig, None)).transport.identity


@pytest.mark.parametrize("stale", [
    pytest.param(lambda g: {k: v for k, v in g.items() if k != "maistra.io"}, id="lacks-maistra"),
    pytest.param(lambda g: {k: v for k, v in g.items() if k != "networking.istio.io"}, id="lacks-a-group-read"),
    pytest.param(lambda g: {**g, "maistra.io": {"versions": ["v9"], "preferred": "v9"}},
                 id="names-only-a-version-not-served"),
])
def test_an_out_of_date_cache_is_corrected_by_the_server(kubeconfig, sandbox, cache_home, stale):
    """Whatever the cache lacks or gets wrong, the grade is the uncached one, and the cache is
    rewritten from the server's answer."""
    expected = grade_json(kubeconfig, "canary")
    right = cache_home.load(_identity(kubeconfig))
    assert right and "maistra.io" in right
    cache_home.save(_identity(kubeconfig), stale(right))
    before = audit_lines(sandbox.audit_log)
    got = grade_json(kubeconfig, "canary")
    assert got[0] == expected[0] and got[1]["flavour"] == "ossm2"
    assert without_traffic(got[1]) == without_traffic(expected[1])
    assert _discovery_requests(sandbox, before) == ["/apis"]
    assert cache_home.load(_identity(kubeconfig)) == right


def test_a_cache_claiming_maistra_on_upstream_istio(istio_kubeconfig, cache_home):
    """The one answer taken from the cache on trust (maistra.io served: ossm2) is corrected when
    a LIST of a Maistra kind finds nothing there (404): the grade is decided and read again."""
    expected = grade_json(istio_kubeconfig, "canary")
    assert expected[1]["flavour"] == "istio"
    right = cache_home.load(_identity(istio_kubeconfig))
    assert right and "maistra.io" not in right
    cache_home.save(_identity(istio_kubeconfig), {**right, "maistra.io": {"versions": ["v2", "v1"], "preferred": "v2"}})
    got = grade_json(istio_kubeconfig, "canary")
    assert got[1]["flavour"] == "istio" and got[0] == expected[0]
    assert without_traffic(got[1]) == without_traffic(expected[1])
    assert cache_home.load(_identity(istio_kubeconfig)) == right
