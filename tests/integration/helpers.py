"""Helpers for integration tests: run the CLI, read the audit log."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from grader.cli import main


def run(kubeconfig: str, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    res = runner.invoke(main, ["--kubeconfig", kubeconfig, "--no-color", *args], catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def grade_json(kubeconfig: str, lab: str) -> tuple[int, dict]:
    code, out, err = run(kubeconfig, "grade", lab, "-o", "json")
    assert out.strip(), f"no JSON on stdout; stderr: {err}"
    return code, json.loads(out)


# `lab grade`'s exit-code rule, asserted in this one place (issue 8, defect 2): exit 0 exactly
# when the lab is passed (score >= pass mark), as `passed` says.
def assert_exit_code(code: int, report: dict) -> None:
    """The exit code of one `lab grade` agrees with its report, and `passed` with the pass mark."""
    assert report["passed"] is (report["score"] >= report["pass_mark"]), report
    expected = 0 if report["passed"] else 1
    assert code == expected, (code, expected, {c["id"]: c["status"] for c in report["checks"]})


def without_traffic(report: dict) -> list[dict]:
    """The report's checks but its traffic checks (their answers are random samples: a split's
    counts differ from one grade to the next)."""
    from grader.checks.observed import PROBES
    from grader.labs import load
    observed = {s.id for s in load(report["lab"]).checks if s.check in PROBES}
    return [c for c in report["checks"] if c["id"] not in observed]


def failing(report: dict) -> set[str]:
    return {c["id"] for c in report["checks"] if c["status"] != "pass"}


def by_id(report: dict) -> dict[str, dict]:
    return {c["id"]: c for c in report["checks"]}


def audit_events(audit_log: Path, since_line: int = 0, user_agent_prefix: str = "lab-grader/") -> list[dict]:
    events = []
    with open(audit_log) as f:
        for i, line in enumerate(f):
            if i < since_line:
                continue
            ev = json.loads(line)
            if ev.get("userAgent", "").startswith(user_agent_prefix):
                events.append(ev)
    return events


def audit_lines(audit_log: Path) -> int:
    with open(audit_log) as f:
        return sum(1 for _ in f)


def ctrl_c_works() -> None:
    """preexec_fn for a command the test stops with SIGINT, as Ctrl-C in a terminal would: a test
    run started in the background by a shell without job control (`cmd &`) inherits SIGINT
    ignored, and Python then installs no KeyboardInterrupt handler, so the signal would do nothing."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)
