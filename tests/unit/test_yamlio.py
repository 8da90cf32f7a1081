"""The YAML parse cache: keyed by the text, so an edit is never missed, and never needed."""

from __future__ import annotations

import datetime as dt

import pytest

from grader import yamlio


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_parse_is_cached_and_an_edit_is_seen(tmp_path):
    f = tmp_path / "lab.yaml"
    f.write_text("name: canary\npoints: [1, 2]\n")
    assert yamlio.load_file(f) == {"name": "canary", "points": [1, 2]}
    assert len(list(yamlio.cache_dir().glob("*.json"))) == 1
    assert yamlio.load_file(f) == {"name": "canary", "points": [1, 2]}  # from the cache
    f.write_text("name: canarz\npoints: [1, 2]\n")  # same size, written at once: still seen
    assert yamlio.load_file(f) == {"name": "canarz", "points": [1, 2]}
    assert len(list(yamlio.cache_dir().glob("*.json"))) == 2


def test_content_json_cannot_hold_is_parsed_every_time(tmp_path):
    f = tmp_path / "dates.yaml"
    f.write_text("when: 2026-12-07\n")
    assert yamlio.load_file(f) == {"when": dt.date(2026, 12, 7)}
    assert not list(yamlio.cache_dir().glob("*.json"))
    assert yamlio.load_file(f) == {"when": dt.date(2026, 12, 7)}


@pytest.mark.parametrize("text, data", [("ports: {80: http}\n", {"ports": {80: "http"}}),
                                        ("t: (1, 2)\n", {"t": "(1, 2)"})])
def test_what_json_would_change_is_not_cached(tmp_path, text, data):
    """JSON turns an int key into a string: such a file is parsed every time, never read back changed."""
    f = tmp_path / "keys.yaml"
    f.write_text(text)
    assert yamlio.load_file(f) == data
    assert yamlio.load_file(f) == data
    assert len(list(yamlio.cache_dir().glob("*.json"))) == (0 if text.startswith("ports") else 1)


def test_an_unwritable_cache_still_reads(tmp_path, cache_home):
    cache_home.mkdir()
    (cache_home / "lab-grader").write_text("not a folder")  # the cache cannot be made
    f = tmp_path / "x.yaml"
    f.write_text("a: 1\n")
    assert yamlio.load_file(f) == {"a": 1}


def test_a_corrupt_cache_entry_is_parsed_again(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("a: 1\n")
    yamlio.load_file(f)
    (entry,) = yamlio.cache_dir().glob("*.json")
    entry.write_text("{truncated")
    assert yamlio.load_file(f) == {"a": 1}
