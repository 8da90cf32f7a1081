"""YAML reading with libyaml's C loader when PyYAML has it (several times faster)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # both are safe loaders


def load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506


def load_all(text: str) -> Iterator[Any]:
    return yaml.load_all(text, Loader=_Loader)  # noqa: S506
