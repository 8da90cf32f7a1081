"""Wording shared by check reasons: bounded values, label maps, lists of names, percentages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from grader.objects import as_dict, label_str, name_of, namespace_of

MAX_LISTED = 8  # names listed before "and N more"
MAX_PROBLEMS = 6  # problems joined into one reason before "and N more problems"


def short(value: Any, limit: int = 60) -> str:
    """A compact, bounded repr of a found value for failure reasons."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return clip(text, limit)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_labels(labels: Any) -> str:
    """``{app: web, version: v1}`` style rendering of a label map."""
    d = as_dict(labels)
    if not d:
        return "{}" if isinstance(labels, dict) else short(labels)
    return "{" + ", ".join(f"{k}: {label_str(v)}" for k, v in list(d.items())[:20]) + "}"


def name_list(objs: Sequence[dict], *, with_ns: bool = False) -> str:
    """``web-v1, web-v2 and 3 more``: names (or namespace/name) of objects."""
    items = [f"{namespace_of(o)}/{name_of(o)}" if with_ns else name_of(o) for o in objs]
    extra = len(items) - MAX_LISTED
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {extra} more" if extra > 0 else "")


def show_list(values: list[str]) -> str:
    """``[a, b, and 3 more]``."""
    shown = values[:MAX_LISTED] + ([f"and {len(values) - MAX_LISTED} more"] if len(values) > MAX_LISTED else [])
    return "[" + ", ".join(shown) + "]"


def join(problems: Sequence[str]) -> str:
    """Problems as one reason, bounded."""
    shown = list(problems[:MAX_PROBLEMS])
    if len(problems) > MAX_PROBLEMS:
        shown.append(f"and {len(problems) - MAX_PROBLEMS} more problems")
    return "; ".join(shown)


def percent(share: Fraction) -> str:
    """``80%`` or ``72.7%``."""
    value = share * 100
    if value.denominator == 1:
        return f"{value.numerator}%"
    return f"{float(value):.1f}%"
