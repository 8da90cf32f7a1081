"""grader/mesh/mtls.py: the effective PeerAuthentication mode."""

from __future__ import annotations

from grader.mesh.mtls import effective_mtls
from grader.objects import name_of
from grader.snapshot import Snapshot


# -- mTLS ---------------------------------------------------------------------------------------
def _pa(name, ns, mode=None, ts="2024-05-01T00:00:00Z", selector=None):
    spec = {}
    if mode is not None:
        spec["mtls"] = {"mode": mode}
    if selector is not None:
        spec["selector"] = {"matchLabels": selector}
    return {
        "apiVersion": "security.istio.io/v1beta1",
        "kind": "PeerAuthentication",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": ts},
        "spec": spec,
    }


def test_effective_mtls_default_permissive():
    d = effective_mtls(Snapshot.from_objects([]), "webapp")
    assert d.mode == "PERMISSIVE" and d.decided_by is None and d.level == "default"


def test_effective_mtls_precedence():
    objs = [
        _pa("default", "istio-system", "STRICT"),
        _pa("ns", "webapp", "PERMISSIVE"),
        _pa("wl", "webapp", "DISABLE", selector={"app": "web"}),
    ]
    snap = Snapshot.from_objects(objs)
    assert effective_mtls(snap, "webapp").mode == "PERMISSIVE"
    d = effective_mtls(snap, "webapp", {"app": "web", "version": "v1"})
    assert d.mode == "DISABLE" and d.level == "workload"
    assert effective_mtls(snap, "other").mode == "STRICT"


def test_effective_mtls_unset_inherits_and_oldest_wins():
    objs = [
        _pa("mesh", "istio-system", "STRICT"),
        _pa("old", "webapp", "UNSET", ts="2024-01-01T00:00:00Z"),
        _pa("new", "webapp", "DISABLE", ts="2024-06-01T00:00:00Z"),
    ]
    d = effective_mtls(Snapshot.from_objects(objs), "webapp")
    # the oldest namespace-wide policy is UNSET: it inherits STRICT from the mesh; "new" is ignored
    assert d.mode == "STRICT" and name_of(d.decided_by) == "mesh"
    assert any("UNSET" in n for n in d.notes)


def test_effective_mtls_selector_in_root_namespace_ignored():
    objs = [_pa("wl", "istio-system", "STRICT", selector={"app": "web"})]
    d = effective_mtls(Snapshot.from_objects(objs), "webapp", {"app": "web"})
    assert d.mode == "PERMISSIVE"


def test_effective_mtls_invalid_mode_reported():
    d = effective_mtls(Snapshot.from_objects([_pa("default", "webapp", "STRICTT")]), "webapp")
    assert d.invalid and d.invalid[0][1] == "STRICTT"
