from __future__ import annotations

import time

import pytest

from gateway.breaker import BreakerState, CircuitBreaker
from gateway.errors import UpstreamUnavailable
from gateway_tests.support import GatewayFactory, get_token


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_failures_in_a_row_then_lets_one_trial_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ipr", failures=3, open_seconds=10, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.failed()
    breaker.before_call()
    breaker.succeeded()  # a success in between resets the count
    for _ in range(3):
        breaker.before_call()
        breaker.failed()
    assert breaker.state is BreakerState.OPEN

    clock.now += 4
    with pytest.raises(UpstreamUnavailable) as refused:
        breaker.before_call()
    assert refused.value.headers() == {"Retry-After": "6"}

    clock.now += 6
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.before_call()  # the one trial
    with pytest.raises(UpstreamUnavailable):
        breaker.before_call()  # others wait while it runs
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED
    breaker.before_call()


def test_a_failed_trial_opens_it_again_for_a_full_period() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ipr", failures=1, open_seconds=10, clock=clock)
    breaker.failed()
    clock.now += 10
    breaker.before_call()
    breaker.failed()
    assert breaker.state is BreakerState.OPEN
    clock.now += 9.5
    with pytest.raises(UpstreamUnavailable):
        breaker.before_call()


def test_an_abandoned_trial_frees_the_slot() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ipr", failures=1, open_seconds=1, clock=clock)
    breaker.failed()
    clock.now += 1
    breaker.before_call()
    breaker.abandoned()
    breaker.before_call()


async def test_upstream_timing_out_is_refused_at_once_when_the_breaker_opens(
    gateway_factory: GatewayFactory,
) -> None:
    async with gateway_factory(
        upstream_timeout_seconds=0.5, upstream_breaker_failures=2, upstream_breaker_open_seconds=30
    ) as gw:
        token = await get_token(gw.client)
        headers = {"Authorization": f"Bearer {token}"}
        slow = [
            await gw.client.get("/api/v1/declarations/slow", params={"sleep": "2"}, headers=headers)
            for _ in range(2)
        ]
        started = time.perf_counter()
        refused = await gw.client.get("/api/v1/declarations/x", headers=headers)
        elapsed = time.perf_counter() - started
        other = await gw.client.get("/api/v1/ipr/x", headers=headers)

    assert [r.status_code for r in slow] == [504, 504]
    assert refused.status_code == 503
    assert elapsed < 0.1  # well under the 0.5 s timeout
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/upstream-unavailable")
    assert 1 <= int(refused.headers["retry-after"]) <= 30
    # Each upstream has its own breaker (ipr is the same echo service here, still closed).
    assert other.status_code != 503


async def test_upstream_down_opens_its_breaker(gateway_factory: GatewayFactory) -> None:
    async with gateway_factory(upstream_breaker_failures=1) as gw:
        token = await get_token(gw.client)
        headers = {"Authorization": f"Bearer {token}"}
        first = await gw.client.get("/api/v1/signatures/reports/1", headers=headers)
        second = await gw.client.get("/api/v1/signatures/reports/1", headers=headers)

    assert first.status_code == 502
    assert second.status_code == 503
    assert "retry-after" in second.headers
