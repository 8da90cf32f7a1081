"""The one base class of the errors a user can cause or fix (a bad lab name, an unreachable
cluster, a missing binary, ...). The CLI turns any of them into one line and exit code 2 without
importing the modules that raise them (grading must not pay for the classroom's imports)."""

from __future__ import annotations


class UserError(Exception):
    """An error worth one line to the user, not a traceback."""
