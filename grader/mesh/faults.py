"""HTTP fault injection: the share of requests a VirtualService ``fault.delay`` or
``fault.abort`` applies to, as pilot computes it.

pilot/pkg/networking/core/route/route.go TranslateFault: ``percentage.value`` when set
(a percent 0-100; pilot sends Envoy value*10000 per million); otherwise, for a delay
only, the deprecated integer ``percent`` (per hundred, translateIntegerToFractionalPercent);
otherwise 0: nothing is delayed or aborted. istio/api HTTPFaultInjection.Abort has no
``percent`` field: the Maistra 2.5 and Istio CRD schemas prune it and pilot never reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from grader.objects import is_int, json_number

# Why a fault part's percentage is not simply what percentage.value says.
NOT_AN_OBJECT = "percentage is not an object"
VALUE_UNSET = "percentage.value is not set"
NOT_A_NUMBER = "percentage.value is not a number"
OUT_OF_RANGE = "percentage.value is outside 0-100"
BAD_LEGACY = "the deprecated percent is not an integer from 0 to 100"
NOT_A_FIELD = "abort has no percent field"
UNSET = "no percentage is set"


@dataclass(frozen=True)
class FaultShare:
    """The percent of requests a fault part applies to, and how pilot arrived at it."""

    percent: Fraction | None  # 0-100; None when the field cannot be read
    issue: str = ""  # one of the constants above; "" when percentage.value holds a valid percent
    legacy: bool = False  # taken from the deprecated integer ``percent`` (delay only)
    legacy_ignored: bool = False  # ``percent`` is set beside ``percentage``, which wins


def fault_share(part: dict, kind: str) -> FaultShare:
    """The share of requests a ``delay`` or ``abort`` (``kind``) object applies to."""
    pct = part.get("percentage")
    legacy = part.get("percent")
    if pct is not None:
        if not isinstance(pct, dict):
            return FaultShare(None, NOT_AN_OBJECT)
        ignored = legacy is not None
        value = pct.get("value")
        if value is None:
            return FaultShare(Fraction(0), VALUE_UNSET, legacy_ignored=ignored)
        number = json_number(value)
        if number is None:
            return FaultShare(None, NOT_A_NUMBER, legacy_ignored=ignored)
        if not 0 <= number <= 100:
            return FaultShare(None, OUT_OF_RANGE, legacy_ignored=ignored)
        return FaultShare(number, legacy_ignored=ignored)
    if legacy is not None and kind == "delay":
        if not is_int(legacy) or not 0 <= legacy <= 100:
            return FaultShare(None, BAD_LEGACY)
        return FaultShare(Fraction(legacy), legacy=True)
    if legacy is not None:
        return FaultShare(Fraction(0), NOT_A_FIELD)
    return FaultShare(Fraction(0), UNSET)

