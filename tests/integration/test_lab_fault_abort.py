"""The fault-abort lab end to end on the sandbox (guide step 9): start → grade fails →
solve → full score → realistic wrong answers each fail exactly the fault check → finish."""

from __future__ import annotations

import pytest
import yaml

from grader.labs import data_root

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox
SOLUTION = data_root() / "solutions" / "fault-abort"


def _vs_with_abort(**abort) -> dict:
    vs = yaml.safe_load((SOLUTION / "10-virtualservice.yaml").read_text())
    vs["spec"]["http"][0]["fault"]["abort"] = abort
    return vs


def test_fault_abort_lifecycle(kubeconfig, cluster):
    assert_lab_lifecycle(
        kubeconfig,
        cluster,
        "fault-abort",
        fails_at_start={"fault-abort-500"},
        wrong_answers=[
            WrongAnswer(
                "HTTP 503 instead of 500",
                lambda c: c.apply(_vs_with_abort(httpStatus=503, percentage={"value": 50})),
                {"fault-abort-500"},
                {"fault-abort-500": ["VirtualService webapp/web", "spec.http[0].fault.abort.httpStatus is 503",
                                     "expected 500"]},
            ),
            WrongAnswer(
                "a fraction instead of a percent",
                lambda c: c.apply(_vs_with_abort(httpStatus=500, percentage={"value": 0.5})),
                {"fault-abort-500"},
                {"fault-abort-500": ["VirtualService webapp/web", "spec.http[0].fault.abort.percentage.value is 0.5",
                                     "expected 50", "a percent from 0 to 100, not a fraction"]},
            ),
            WrongAnswer(
                "the guide's integer percent",
                lambda c: c.apply(_vs_with_abort(httpStatus=500, percent=50)),
                {"fault-abort-500"},
                {"fault-abort-500": ["spec.http[0].fault.abort.percent (50) is not a field of the Istio API",
                                     "no request is aborted"]},
            ),
        ],
    )
