"""grader/mesh/faults.py: the share of requests a fault applies to, as pilot's TranslateFault computes it."""

from __future__ import annotations

from fractions import Fraction

import pytest

from grader.mesh import faults as F


@pytest.mark.parametrize("part, kind, percent, issue, legacy, ignored", [
    ({"fixedDelay": "5s", "percentage": {"value": 100}}, "delay", Fraction(100), "", False, False),
    ({"fixedDelay": "5s", "percentage": {"value": 0.5}}, "delay", Fraction(1, 2), "", False, False),
    ({"httpStatus": 500, "percentage": {"value": 50}}, "abort", Fraction(50), "", False, False),
    # the deprecated integer percent counts for a delay only, and only when percentage is unset
    ({"fixedDelay": "5s", "percent": 30}, "delay", Fraction(30), "", True, False),
    ({"fixedDelay": "5s", "percent": 30, "percentage": {"value": 10}}, "delay", Fraction(10), "", False, True),
    ({"httpStatus": 500, "percent": 50}, "abort", Fraction(0), F.NOT_A_FIELD, False, False),
    ({"fixedDelay": "5s", "percent": "30"}, "delay", None, F.BAD_LEGACY, False, False),
    ({"fixedDelay": "5s", "percent": 130}, "delay", None, F.BAD_LEGACY, False, False),
    # nothing set: nothing is delayed or aborted
    ({"fixedDelay": "5s"}, "delay", Fraction(0), F.UNSET, False, False),
    ({"httpStatus": 500, "percentage": {}}, "abort", Fraction(0), F.VALUE_UNSET, False, False),
    ({"httpStatus": 500, "percentage": 50}, "abort", None, F.NOT_AN_OBJECT, False, False),
    ({"httpStatus": 500, "percentage": {"value": "50"}}, "abort", None, F.NOT_A_NUMBER, False, False),
    ({"httpStatus": 500, "percentage": {"value": True}}, "abort", None, F.NOT_A_NUMBER, False, False),
    ({"httpStatus": 500, "percentage": {"value": 150}}, "abort", None, F.OUT_OF_RANGE, False, False),
    ({"httpStatus": 500, "percentage": {"value": float("nan")}}, "abort", None, F.NOT_A_NUMBER, False, False),
])
def test_fault_share(part, kind, percent, issue, legacy, ignored):
    share = F.fault_share(part, kind)
    assert (share.percent, share.issue, share.legacy, share.legacy_ignored) == (percent, issue, legacy, ignored)
