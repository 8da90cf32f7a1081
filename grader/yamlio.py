"""YAML reading with libyaml's C loader when PyYAML has it (several times faster), and a parse
cache for the project's own files read on every command (a lab's lab.yaml): importing PyYAML and
parsing cost ~15 ms of a `lab grade` that should take about two `kubectl get`s."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _loader() -> Any:
    import yaml
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # both are safe loaders


def load(text: str) -> Any:
    import yaml
    return yaml.load(text, Loader=_loader())  # noqa: S506


def load_all(text: str) -> Iterator[Any]:
    import yaml
    return yaml.load_all(text, Loader=_loader())  # noqa: S506


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lab-grader" / "yaml"


def load_file(path: Path) -> Any:
    """A YAML file's content, from the parse cache when the same text was parsed before (the
    cache is keyed by a hash of the text, so an edit is never missed); otherwise parsed and
    cached as JSON. Content JSON cannot hold as it is (a YAML date, an int key) is parsed every time. Errors are
    PyYAML's and OSError."""
    text = path.read_text()
    cached = cache_dir() / f"{hashlib.sha256(text.encode()).hexdigest()[:40]}.json"
    with contextlib.suppress(OSError, ValueError):
        return json.loads(cached.read_text())
    data = load(text)
    with contextlib.suppress(OSError, TypeError, ValueError):  # a read-only home: no cache, still correct
        encoded = json.dumps(data)
        if json.loads(encoded) != data:  # e.g. an int key JSON turns into a string: not cacheable
            return data
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(encoded)
        tmp.replace(cached)  # atomic: a concurrent reader sees the whole file or none
    return data
