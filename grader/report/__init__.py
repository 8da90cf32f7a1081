"""Reporters: every graded report leaves through `render` (table, json, junit, or the watch's
JSON lines), as text for the CLI to write.

Only ``console`` (and grader/cli.py) may import rich; every reporter module is imported
lazily so ``import grader.report`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from grader.model import LabReport

Format = Literal["table", "json", "junit", "jsonl"]
FORMATS: tuple[Format, ...] = ("table", "json", "junit", "jsonl")


def render(reports: LabReport | Sequence[LabReport], fmt: str, *, width: int = 100, color: bool = False,
           encoding: str = "utf-8") -> str:
    """The text of one or many reports in a format, ending with a newline:

    - ``table``: the results table and score line of each report (`width` columns, ANSI
      colours when `color`, ASCII punctuation when `encoding` cannot take an em dash);
    - ``json``: one report as an object, several as a list (the README's contract);
    - ``junit``: one JUnit XML document, a testsuite per report;
    - ``jsonl``: one compact JSON object per report per line (`grade --watch -o json`).

    Raises ValueError for an unknown format.
    """
    many = list(reports) if isinstance(reports, Sequence) else [reports]
    if fmt == "table":
        from grader.report.console import render_text

        return "".join(render_text(r, width=width, color=color, encoding=encoding) for r in many)
    if fmt == "json":
        from grader.report.json import to_json

        return to_json(many[0] if isinstance(reports, LabReport) or len(many) == 1 else many)
    if fmt == "jsonl":
        from grader.report.json import to_json_lines

        return to_json_lines(many)
    if fmt == "junit":
        from grader.report.junit import to_junit

        return to_junit(many)
    raise ValueError(f"unknown report format {fmt!r} (expected one of: {', '.join(FORMATS)})")


CLASS_FORMATS = ("table", "csv", "json", "junit", "html")


def render_class(rows: Sequence[tuple[str, LabReport]], fmt: str, refresh: int | None = None,
                 flags: Mapping[str, str] | None = None) -> str:
    """A class's gradebook for one lab, one row per (student, report): table, csv, json (a list
    of reports, each with its `student`), junit (a testsuite per student) or html (a heat map).

    `flags` (reports handed in as files, `lab class gradebook`): student -> '' when the report
    is intact, else why it is flagged; every format then shows each report's integrity and
    never counts an edited report as passed."""
    from grader.report import classbook
    if fmt == "junit":
        from grader.report.junit import to_junit

        if flags is None:
            return to_junit([r for _, r in rows])
        return to_junit([r for _, r in rows], students=[s for s, _ in rows], problems=[flags.get(s, "") for s, _ in rows])
    if fmt == "html":
        return classbook.to_html(rows, refresh, flags)
    writers = {"table": classbook.to_table, "csv": classbook.to_csv, "json": classbook.to_json}
    if fmt not in writers:
        raise ValueError(f"unknown class report format {fmt!r} (expected one of: {', '.join(CLASS_FORMATS)})")
    return writers[fmt](rows, flags)


__all__ = ["CLASS_FORMATS", "FORMATS", "Format", "render", "render_class"]
