"""The fault-delay lab end to end on the sandbox (guide step 9): start → grade fails →
solve → full score → realistic wrong answers each fail exactly the fault check → finish."""

from __future__ import annotations

import pytest
import yaml

from grader.labs import data_root

from .lab_harness import WrongAnswer, assert_lab_lifecycle

pytestmark = pytest.mark.sandbox
SOLUTION = data_root() / "solutions" / "fault-delay"


def _vs_with_delay(**delay) -> dict:
    vs = yaml.safe_load((SOLUTION / "10-virtualservice.yaml").read_text())
    vs["spec"]["http"][0]["fault"]["delay"] = delay
    return vs


def test_fault_delay_lifecycle(kubeconfig, cluster):
    assert_lab_lifecycle(
        kubeconfig,
        cluster,
        "fault-delay",
        fails_at_start={"fault-delay-5s"},
        wrong_answers=[
            WrongAnswer(
                "5ms instead of 5s",
                lambda c: c.apply(_vs_with_delay(fixedDelay="5ms", percentage={"value": 100})),
                {"fault-delay-5s"},
                {"fault-delay-5s": ["VirtualService webapp/web", "spec.http[0].fault.delay.fixedDelay", "'5ms'",
                                    "expected 5s"]},
            ),
            WrongAnswer(
                "10 % of the requests",
                lambda c: c.apply(_vs_with_delay(fixedDelay="5s", percentage={"value": 10})),
                {"fault-delay-5s"},
                {"fault-delay-5s": ["VirtualService webapp/web", "spec.http[0].fault.delay.percentage.value is 10",
                                    "expected 100"]},
            ),
            WrongAnswer(
                "no percentage at all",
                lambda c: c.apply(_vs_with_delay(fixedDelay="5s")),
                {"fault-delay-5s"},
                {"fault-delay-5s": ["spec.http[0].fault.delay sets no percentage.value", "nothing is delayed"]},
            ),
        ],
    )
