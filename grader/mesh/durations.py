"""Go/protobuf durations as Istio fields hold them (``30s``, ``1m30s``)."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_DURATION_UNITS = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6),
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(value: Any) -> Fraction | None:
    """Seconds in a Go/protobuf duration string (``30s``, ``30000ms``, ``0.5m``, ``1m30s``).

    Returns None for anything unreadable (bare numbers, negative values, wrong types).
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text == "0":
        return Fraction(0)
    if not text or len(text) > 64:
        return None
    pos, total = 0, Fraction(0)
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m:
            return None
        total += Fraction(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return total


def format_duration(seconds: Fraction) -> str:
    if seconds.denominator == 1:
        return f"{seconds.numerator}s"
    return f"{float(seconds):g}s"
