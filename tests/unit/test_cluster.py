"""The discovery cache on its own (the Cluster's use of it is tested on the sandbox:
tests/integration/test_grade_cluster.py)."""

from __future__ import annotations

import os
import time

from grader.cluster import DiscoveryCache

GROUPS = {"": {"versions": ["v1"], "preferred": "v1"}, "maistra.io": {"versions": ["v2", "v1"], "preferred": "v2"}}


def test_round_trip_per_cluster(tmp_path):
    cache = DiscoveryCache(tmp_path / "d")
    assert cache.load("a") is None
    cache.save("a", GROUPS)
    assert cache.load("a") == GROUPS
    assert cache.load("b") is None  # another cluster (address or CA) has its own entry
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["a.json"]  # no temporary file left


def test_expires_after_ttl(tmp_path):
    cache = DiscoveryCache(tmp_path, ttl=60)
    cache.save("a", GROUPS)
    old = time.time() - 61
    os.utime(tmp_path / "a.json", (old, old))
    assert cache.load("a") is None


def test_unreadable_entries_are_a_miss(tmp_path):
    cache = DiscoveryCache(tmp_path)
    (tmp_path / "a.json").write_text("{not json")
    (tmp_path / "b.json").write_text('["a", "list"]')
    assert cache.load("a") is None and cache.load("b") is None


def test_save_is_best_effort(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    DiscoveryCache(blocker / "sub").save("a", GROUPS)  # a folder it cannot make: no error


def test_default_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert DiscoveryCache.default().folder == tmp_path / "lab-grader" / "discovery"
