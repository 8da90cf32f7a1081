"""Reporters: turn a LabReport into table (human), JSON or JUnit XML text.

Only ``console`` (and grader/cli.py) may import rich; every reporter module is
imported lazily so ``import grader.report`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from grader.model import LabReport

Format = Literal["table", "json", "junit"]
FORMATS: tuple[Format, ...] = ("table", "json", "junit")

Renderer = Callable[[LabReport], str]


def _renderer(fmt: str) -> Renderer:
    """Resolve *fmt* to its renderer (exhaustive over FORMATS)."""
    match fmt:
        case "table":
            from grader.report.console import render_text

            return render_text
        case "json":
            from grader.report.json import to_json

            return to_json
        case "junit":
            from grader.report.junit import to_junit

            return to_junit
        case _:
            raise ValueError(f"unknown report format {fmt!r} (expected one of: {', '.join(FORMATS)})")


class _Renderers(Mapping[str, Renderer]):
    """Read-only mapping ``format -> renderer`` that imports each reporter on first use."""

    def __getitem__(self, fmt: str) -> Renderer:
        if fmt not in FORMATS:
            raise KeyError(fmt)
        return _renderer(fmt)

    def __iter__(self):  # type: ignore[override]
        return iter(FORMATS)

    def __len__(self) -> int:
        return len(FORMATS)


RENDERERS: Mapping[str, Renderer] = _Renderers()


def render(report: LabReport, fmt: str) -> str:
    """Render *report* as *fmt* ("json", "junit", or "table" as plain uncoloured text).

    Raises ValueError for an unknown format. For a coloured terminal table use
    ``grader.report.console.print_report`` with a rich Console instead.
    """
    return _renderer(fmt)(report)


__all__ = ["FORMATS", "Format", "RENDERERS", "render"]
