"""Webhook retries: exponential backoff from the base, capped, with jitter (pure logic)."""

from __future__ import annotations

from datetime import timedelta

from customs_shared.notifications.service import retry_delay
from tests.support.webhooks import delivery_policy

DRAWS = 400


def test_each_failure_doubles_the_wait_up_to_the_cap_drawn_in_its_upper_half() -> None:
    policy = delivery_policy(retry_base=timedelta(seconds=2), retry_cap=timedelta(minutes=5))
    expected = [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]  # seconds, before the draw
    for failures, full in enumerate(expected, start=1):
        waits = [retry_delay(failures, policy).total_seconds() for _ in range(DRAWS)]
        assert all(full / 2 <= wait <= full for wait in waits), (failures, min(waits))
        # Jitter: the draws spread over the half (not one value, not bunched at one end).
        assert max(waits) - min(waits) > full / 4
        assert min(waits) < full * 0.6
        assert max(waits) > full * 0.9


def test_a_long_outage_waits_the_cap_without_overflowing() -> None:
    policy = delivery_policy(retry_base=timedelta(seconds=1), retry_cap=timedelta(hours=1))
    wait = retry_delay(10_000, policy)
    assert timedelta(minutes=30) <= wait <= timedelta(hours=1)
