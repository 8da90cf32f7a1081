"""grader/mesh/durations.py: protobuf durations."""

from __future__ import annotations

from fractions import Fraction

import pytest

from grader.mesh.durations import parse_duration


# -- durations --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, seconds",
    [
        ("30s", 30),
        ("30000ms", 30),
        ("0.5m", 30),
        ("1m30s", 90),
        ("1h", 3600),
        ("1.5s", Fraction(3, 2)),
        ("100us", Fraction(1, 10000)),
        ("250µs", Fraction(1, 4000)),
        ("10ns", Fraction(1, 10**8)),
        ("0", 0),
        (".5s", Fraction(1, 2)),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["30", "-30s", "thirty", "", "30 s", "s", 30, None, ["30s"], "1d"])
def test_parse_duration_invalid(bad):
    assert parse_duration(bad) is None
