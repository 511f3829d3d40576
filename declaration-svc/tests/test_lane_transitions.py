"""Which lane may follow which: routing re-decides a lane before release (intelligence
raises it, an officer's override may lower it)."""

from __future__ import annotations

import pytest

from declaration_svc.declarations import lifecycle
from declaration_svc.declarations.models import DeclarationStatus as S

LANES = (S.LANE_GREEN, S.LANE_YELLOW, S.LANE_RED)


@pytest.mark.parametrize("current", LANES)
@pytest.mark.parametrize("target", LANES)
def test_a_lane_may_become_any_other_lane(current: S, target: S) -> None:
    assert lifecycle.allowed(current, target) is (current != target)


@pytest.mark.parametrize(
    "current", [S.RECEIVED, S.UNDER_INSPECTION, S.HELD, S.RELEASED, S.REJECTED, S.CANCELLED]
)
@pytest.mark.parametrize("target", LANES)
def test_only_screening_leads_into_a_lane_from_outside(current: S, target: S) -> None:
    assert lifecycle.allowed(current, target) is (current == S.RECEIVED)
