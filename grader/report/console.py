"""Human-readable reporter: a rich table plus a score line.

rich is imported lazily inside the functions so that importing the grader (and
the JSON/JUnit paths) stays fast.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from grader.model import CheckResult, LabReport, Status

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text


# (label, rich style) of each status in the Result column; every Status has one (a unit test says so).
LABELS: dict[Status, tuple[str, str]] = {
    Status.PASS: ("PASS", "bold green"),
    Status.FAIL: ("FAIL", "bold red"),
    Status.ERROR: ("ERROR", "bold magenta"),
    Status.SKIP: ("SKIP", "yellow"),
}


def _details(result: CheckResult) -> Text:
    """Reason, plus a dim ``hint: ...`` line for anything that did not pass."""
    from rich.text import Text

    text = Text(result.reason)
    if result.hint and result.status is not Status.PASS:
        if result.reason:
            text.append("\n")
        text.append(f"hint: {result.hint}", style="dim")
    return text


def _table(report: LabReport) -> Table:
    from rich.table import Table
    from rich.text import Text

    heading = f"{report.lab}: {report.title}" if report.title else report.lab
    if report.flavour:
        heading += f" [{report.flavour}]"
    table = Table(title=Text(heading, style="bold"), title_justify="left")
    table.add_column("Check", overflow="fold")
    table.add_column("Result", no_wrap=True)
    table.add_column("Points", justify="right", no_wrap=True)
    table.add_column("Details", overflow="fold", ratio=1)
    for r in report.results:
        label, style = LABELS[r.status]
        table.add_row(
            Text(r.id),
            Text(label, style=style),
            Text(f"{r.points}/{r.max_points}"),
            _details(r),
        )
    return table


def _dash(console: Console) -> str:
    """An em dash, or a plain hyphen when the output encoding cannot take it."""
    return "—" if console.encoding.lower().startswith("utf") else "-"


def print_report(report: LabReport, console: Console) -> None:
    """Print the results table, any notes, and the final score line to *console*."""
    from rich.text import Text

    console.print(_table(report))
    for note in report.notes:
        console.print(Text(f"note: {note}", style="dim"))
    verdict = Text("PASSED", style="bold green") if report.passed else Text(
        "NOT PASSED", style="bold red"
    )
    line = Text(
        f"Score: {report.score}/{report.total} (pass mark {report.pass_mark}) {_dash(console)} "
    )
    line.append_text(verdict)
    console.print(line)


class _Text(io.StringIO):
    """A string buffer that says which encoding its text is going to (rich asks the file)."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def render_text(report: LabReport, width: int = 100, color: bool = False, encoding: str = "utf-8") -> str:
    """Render the console report to a string (deterministic; for tests and goldens). `encoding`
    is where the text goes (an ASCII terminal gets a hyphen instead of an em dash)."""
    from rich.console import Console

    console = Console(
        file=_Text(encoding),
        width=width,
        no_color=not color,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
        _environ={},  # ignore COLUMNS / NO_COLOR / FORCE_COLOR / TERM of the caller
    )
    print_report(report, console)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    if not color:
        out = "\n".join(line.rstrip() for line in out.split("\n"))
    return out
