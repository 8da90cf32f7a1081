"""Check tests: ``objs`` here is the sandbox scenario (tests/fixtures/checks/sandbox); the
canary fixtures (variant, check, get, make_snap, load_scenario) come from tests/unit/conftest.py."""

from __future__ import annotations

import pytest
from harness import scenario


@pytest.fixture
def objs() -> list[dict]:
    return scenario(base="sandbox")
